"""Relation extraction corpora: BioBERT's placeholder TSV (GAD, EU-ADR) and a JSONL format for own data.

Both readers give `Example`s whose reference doc holds the entities in `doc.ents`, the gold relations
(readable as `doc._.relations`) and the mark `RELATIONS` (see `spacy_biobert.annotations`). By
default the entities are copied onto the predicted doc as well, so `biobert_rel` is trained and
scored on gold mentions as BioBERT is; set `predicted_ents = false` when a NER in the same pipeline
is to find them.
"""
import json
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from ..annotations import GIVEN_PAIRS, RELATIONS, mark_annotated
from ..data_classes import Relation, install_relation_extension, set_relations
from ..errors import CorpusError, Errors
from .split import check_split, in_split
from .text import read_lines

DEFAULT_PLACEHOLDERS = (("@GENE$", "GENE"), ("@DISEASE$", "DISEASE"))
DEFAULT_POSITIVE_LABEL = "ASSOCIATED"
TSV_HEADER = ("index", "sentence", "label")
NEGATIVE_VALUE = "0"
POSITIVE_VALUE = "1"


class RERow(NamedTuple):
    """One row of a BioBERT RE TSV file: the sentence with its placeholders, its 0/1 label, its line."""

    sentence: str
    label: str
    line: int


def read_re_tsv(path: Union[str, Path], *, allow_empty: bool = False) -> Iterator[RERow]:
    """Rows of a BioBERT RE TSV file: `sentence<TAB>label`, or `index<TAB>sentence<TAB>label` after a header.

    `train.tsv` has no header and two columns; `test.tsv` starts with the header `index sentence label`
    and has three. The header is detected, not assumed. Labels must be 0 or 1. An empty file is an error
    unless `allow_empty`.
    """
    path = _existing(path)
    n_columns = 2
    for line_no, line in read_lines(path, allow_empty=allow_empty):
        if not line.strip():
            continue
        columns = line.split("\t")
        if line_no == 1 and tuple(col.strip().lower() for col in columns) == TSV_HEADER:
            n_columns = 3
            continue
        if len(columns) != n_columns:
            expected = "index<TAB>sentence<TAB>label" if n_columns == 3 else "sentence<TAB>label"
            raise CorpusError.bad_line(path, line_no, f"{n_columns} tab-separated columns ({expected})", line)
        sentence, label = columns[-2], columns[-1].strip()
        if label not in (NEGATIVE_VALUE, POSITIVE_VALUE):
            raise CorpusError.bad_line(path, line_no, "the label 0 or 1 in the last column", label)
        yield RERow(sentence, label, line_no)


def placeholder_doc(
    nlp: Language,
    sentence: str,
    placeholders: Sequence[Sequence[str]],
    positive_label: Optional[str],
    *,
    path: Union[str, Path] = "<string>",
    line: int = 0,
) -> Doc:
    """A doc of a placeholder sentence: each placeholder is one token and an entity; gold relation set.

    `placeholders` holds two (placeholder, entity label) pairs: the relation's head first, then its tail.
    The text between placeholders is tokenised by `nlp`'s tokenizer; `positive_label=None` means no relation.
    """
    install_relation_extension()
    check_placeholders(placeholders)
    found = []
    for placeholder, _ in placeholders:
        start = sentence.find(placeholder)
        if start < 0 or sentence.find(placeholder, start + 1) >= 0:
            raise CorpusError.bad_line(path, line, f"exactly one {placeholder} in the sentence", sentence)
        found.append((start, start + len(placeholder), placeholder))
    words: List[str] = []
    spaces: List[bool] = []
    ent_tokens: Dict[str, int] = {}
    cursor = 0
    for start, end, placeholder in sorted(found):
        _add_chunk(nlp, sentence[cursor:start], words, spaces)
        ent_tokens[placeholder] = len(words)
        words.append(placeholder)
        spaces.append(False)
        cursor = end
    _add_chunk(nlp, sentence[cursor:], words, spaces)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    ents = [Span(doc, ent_tokens[p], ent_tokens[p] + 1, label=label) for p, label in placeholders]
    doc.ents = sorted(ents)
    if positive_label is not None:
        set_relations(doc, [Relation(ents[0], ents[1], positive_label, 1.0)])
    mark_annotated(doc, [RELATIONS, GIVEN_PAIRS])
    return doc


def _add_chunk(nlp: Language, text: str, words: List[str], spaces: List[bool]) -> None:
    """Append the tokens of `text` (between placeholders) so that the doc's text stays the original."""
    if not text:
        return
    if words and text.startswith(" "):
        spaces[-1] = True
        text = text[1:]
    for token in nlp.make_doc(text):
        words.append(token.text)
        spaces.append(bool(token.whitespace_))


def check_placeholders(placeholders: Sequence[Sequence[str]]) -> None:
    """Raise E010 unless `placeholders` is two (placeholder, entity label) pairs."""
    if len(placeholders) != 2 or any(len(pair) != 2 for pair in placeholders):
        raise ValueError(Errors.E010.format(placeholders=placeholders))


@registry.readers("spacy_biobert.BioBertRETsvReader.v1")
def create_re_tsv_reader(
    path: Path,
    placeholders: Sequence[Sequence[str]] = DEFAULT_PLACEHOLDERS,
    positive_label: str = DEFAULT_POSITIVE_LABEL,
    predicted_ents: bool = True,
    limit: int = 0,
    allow_empty: bool = False,
    split: str = "all",
    dev_fraction: float = 0.0,
) -> Callable[[Language], Iterable[Example]]:
    """Read BioBERT's RE TSV (GAD, EU-ADR): placeholder sentences labelled 0/1, one example a row.

    path (Path): a `train.tsv` (`sentence<TAB>label`) or `test.tsv` (header, `index<TAB>sentence<TAB>label`).
    placeholders (Sequence[Sequence[str]]): two [placeholder, entity label] pairs, the relation's head first,
        then its tail (a list of pairs, not a dict: config keys starting with "@" name registered functions).
    positive_label (str): the relation label a row labelled 1 gets; rows labelled 0 have no relation.
    predicted_ents (bool): also set the entities on the predicted doc (gold mentions, as BioBERT evaluates).
    limit (int): read at most this many rows; 0 for all.
    allow_empty (bool): accept an empty file (0 examples) instead of raising an error.
    split (str): "all", or "train"/"dev" to keep the rows outside/inside a held-out share: a dev set carved
        from a `train.tsv` where the corpus has none (GAD), so that checkpoints are not chosen on its test split.
    dev_fraction (float): share of rows held out for "dev", chosen by a hash of the sentence.
    """
    check_split(split, dev_fraction, "BioBERT RE TSV")
    labels = {POSITIVE_VALUE: positive_label, NEGATIVE_VALUE: None}
    check_placeholders(placeholders)
    # A saved pipeline's config.cfg holds the placeholders as confection writes a "$": "$$". confection reads
    # that back as "$" only when it interpolates while parsing, which `spacy train` does not.
    placeholders = [(placeholder.replace("$$", "$"), label) for placeholder, label in placeholders]

    def read(nlp: Language) -> Iterator[Example]:
        references = (
            placeholder_doc(nlp, row.sentence, placeholders, labels[row.label], path=path, line=row.line)
            for row in read_re_tsv(path, allow_empty=allow_empty)
            if in_split(row.sentence, split, dev_fraction)
        )
        return _examples(references, predicted_ents, limit)

    return read


class RelRecord(NamedTuple):
    """One validated line of the JSONL format: text, entity offsets and relations by entity index."""

    text: str
    entities: List[Tuple[int, int, str]]
    relations: List[Tuple[int, int, str]]
    line: int


JSONL_EXPECTED = (
    'a JSON object {"text": str, "entities": [{"start": int, "end": int, "label": str}], '
    '"relations": [{"head": int, "tail": int, "label": str}]}'
)


def read_rel_jsonl(path: Union[str, Path], *, allow_empty: bool = False) -> Iterator[RelRecord]:
    """Validated records of a relation JSONL file (format: see `create_rel_jsonl_reader`); an empty file is an
    error unless `allow_empty`."""
    path = _existing(path)
    for line_no, line in read_lines(path, allow_empty=allow_empty):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError.bad_line(path, line_no, f"valid JSON ({err.msg})", line.strip()[:80]) from None
        yield _validate_record(record, path, line_no)


def _validate_record(record: object, path: Path, line: int) -> RelRecord:
    """Check types and offsets of one JSONL record; errors name the file and line."""
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise CorpusError.bad_line(path, line, JSONL_EXPECTED, str(record)[:80])
    text = record["text"]
    entities = []
    for ent in record.get("entities", []):
        if not (isinstance(ent, dict) and _is_int(ent.get("start")) and _is_int(ent.get("end"))
                and isinstance(ent.get("label"), str)):
            raise CorpusError.bad_line(path, line, 'entities as {"start": int, "end": int, "label": str}', ent)
        if not 0 <= ent["start"] < ent["end"] <= len(text):
            raise CorpusError.bad_line(
                path, line, f"entity offsets with 0 <= start < end <= {len(text)} (the text's length)", ent
            )
        entities.append((ent["start"], ent["end"], ent["label"]))
    relations = []
    for rel in record.get("relations", []):
        if not (isinstance(rel, dict) and _is_int(rel.get("head")) and _is_int(rel.get("tail"))
                and isinstance(rel.get("label"), str)):
            raise CorpusError.bad_line(path, line, 'relations as {"head": int, "tail": int, "label": str}', rel)
        if not (0 <= rel["head"] < len(entities) and 0 <= rel["tail"] < len(entities)):
            raise CorpusError.bad_line(
                path, line, f"relation head and tail as indices into the {len(entities)} entities", rel
            )
        relations.append((rel["head"], rel["tail"], rel["label"]))
    return RelRecord(text, entities, relations, line)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def record_doc(
    nlp: Language, record: RelRecord, path: Union[str, Path] = "<string>", spans_key: Optional[str] = None
) -> Doc:
    """The reference doc of a JSONL record: entities (expanded to token boundaries) and gold relations.

    With `spans_key`, the doc is also marked as NER gold for that key (its entities are complete).
    """
    install_relation_extension()
    doc = nlp.make_doc(record.text)
    spans: List[Span] = []
    for start, end, label in record.entities:
        span = doc.char_span(start, end, label=label, alignment_mode="expand")
        if span is None:
            raise CorpusError.bad_line(path, record.line, "an entity that covers at least one token",
                                       record.text[start:end])
        spans.append(span)
    try:
        doc.ents = sorted(set(spans))
    except ValueError:
        raise CorpusError.bad_line(path, record.line, "entities that do not overlap",
                                   [(s.start_char, s.end_char, s.label_) for s in spans]) from None
    set_relations(doc, [Relation(spans[head], spans[tail], label, 1.0) for head, tail, label in record.relations])
    mark_annotated(doc, [RELATIONS] + ([spans_key] if spans_key else []))
    return doc


@registry.readers("spacy_biobert.RelJsonlReader.v1")
def create_rel_jsonl_reader(
    path: Path, predicted_ents: bool = True, spans_key: Optional[str] = None, limit: int = 0, allow_empty: bool = False
) -> Callable[[Language], Iterable[Example]]:
    """Read relation-annotated texts from JSONL, one document a line, with character offsets:

        {"text": "BRCA1 mutations cause breast cancer.",
         "entities": [{"start": 0, "end": 5, "label": "GENE"},
                      {"start": 22, "end": 35, "label": "DISEASE"}],
         "relations": [{"head": 0, "tail": 1, "label": "ASSOCIATED"}]}

    `start`/`end` are character offsets (end exclusive) into `text`; an entity that does not fall on
    token boundaries is expanded to the tokens it touches; entities must not overlap. A relation names
    its head and tail by their index in `entities`; pairs without a relation are negatives, and one pair
    may carry several labels (multi-label data). "entities" and "relations" may be left out.

    path (Path): the .jsonl file.
    predicted_ents (bool): also set the entities on the predicted doc (gold mentions); false when a
        NER of the pipeline is to find them.
    spans_key (Optional[str]): also mark the docs as complete NER gold for this spans key, so a
        `biobert_ner` with that key learns from the same data.
    limit (int): read at most this many documents; 0 for all.
    allow_empty (bool): accept an empty file (0 examples) instead of raising an error.
    """

    def read(nlp: Language) -> Iterator[Example]:
        records = read_rel_jsonl(path, allow_empty=allow_empty)
        return _examples((record_doc(nlp, record, path, spans_key) for record in records), predicted_ents, limit)

    return read


def _examples(references: Iterable[Doc], predicted_ents: bool, limit: int) -> Iterator[Example]:
    """An Example for each of the first `limit` reference docs (all for 0), its predicted doc made by
    `_predicted`."""
    for reference in islice(references, limit or None):
        yield Example(_predicted(reference, predicted_ents), reference)


def _predicted(reference: Doc, with_ents: bool) -> Doc:
    """The predicted doc of an example: the reference's tokens, and its entities when `with_ents`."""
    doc = Doc(reference.vocab, words=[t.text for t in reference], spaces=[bool(t.whitespace_) for t in reference])
    if with_ents:
        doc.ents = [Span(doc, ent.start, ent.end, label=ent.label_) for ent in reference.ents]
    return doc


def _existing(path: Union[str, Path]) -> Path:
    path = Path(path)
    if not path.is_file():
        raise CorpusError(Errors.E001.format(path=path))
    return path


def fold_files(folder: Union[str, Path]) -> Sequence[Tuple[Path, Path]]:
    """The (train.tsv, test.tsv) pairs of a cross-validation folder laid out as BioBERT's GAD: `1/`, `2/`, ..."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(Errors.E001.format(path=folder))
    folds = sorted((d for d in folder.iterdir() if d.is_dir() and d.name.isdigit()), key=lambda d: int(d.name))
    pairs = [(d / "train.tsv", d / "test.tsv") for d in folds if (d / "train.tsv").is_file()]
    if not pairs:
        raise CorpusError(Errors.E011.format(path=folder))
    return pairs
