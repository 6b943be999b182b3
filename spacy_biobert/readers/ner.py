"""NER corpus readers: typed IOB2/IOBES TSV and BioBERT's untyped B/I/O TSV.

Both formats hold one token a line, `token<TAB>tag`, and a blank line between sentences:

- typed (`spacy_biobert.IOBTsvReader.v1`), as in cambridgeltl/MTL-Bioinformatics-2016: tags `O`,
  `B-Type`, `I-Type` (IOB2) or also `E-Type`, `S-Type` (IOBES);
- untyped (`spacy_biobert.BioBertNERReader.v1`, the same reader given a `label`), as BioBERT ships its
  corpora: tags `B`, `I`, `O`, the entity type being implied by the corpus and given as `label`.

Entities are read from the tags the way conlleval reads them (`spacy_biobert.metrics.entities.iob_to_spans`):
an `I-X` after `O` or after a tag of another type starts a new entity, as in conlleval, so the reader's
gold entities are exactly those the official evaluation counts. A line without exactly two tab-separated
columns, or with a tag outside the format, raises `CorpusError` naming the file and line.

Each sentence becomes one `Example` whose predicted and reference docs share the corpus's whitespace
tokens. The reference carries the entities in `doc.ents` and `doc.spans[spans_key]` and is marked as
annotated for `spans_key` (`spacy_biobert.annotations`), so that a `biobert_ner` component with that key
learns from it and one with another key does not.
"""
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from ..annotations import mark_annotated
from ..errors import CorpusError, Errors
from ..metrics.entities import iob_to_spans
from .text import read_lines

TYPED_TAG = re.compile(r"^(O|[BIES]-\S+)$")
UNTYPED_TAG = re.compile(r"^[BIO]$")
TYPED_EXPECTED = ("two tab-separated columns `token<TAB>tag`, the tag `O` or `B-Type`/`I-Type`/`E-Type`/`S-Type` "
                  "(BioBERT's untyped `B`/`I`/`O` tags need the reader's `label`)")
UNTYPED_EXPECTED = "two tab-separated columns `token<TAB>tag`, the tag `B`, `I` or `O`"
DEFAULT_SPANS_KEY = "biobert_ner"

Sentence = Tuple[List[str], List[str]]


@registry.readers("spacy_biobert.IOBTsvReader.v1")
@registry.readers("spacy_biobert.BioBertNERReader.v1")
def create_iob_tsv_reader(
    path: Union[str, Path],
    *,
    label: Optional[str] = None,
    spans_key: str = DEFAULT_SPANS_KEY,
    limit: int = 0,
    label_map: Optional[Dict[str, str]] = None,
    allow_empty: bool = False,
) -> Callable[[Language], Iterable[Example]]:
    """Read NER TSV from a file or a folder of .tsv files: typed IOB2/IOBES (`token<TAB>B-Type`), or with
    `label` BioBERT's untyped tags (`token<TAB>B|I|O`), every entity getting the type `label`.

    Registered twice, as the typed and as BioBERT's reader; an empty file is an error unless `allow_empty`."""
    if label is not None and (not label or any(char.isspace() for char in label)):
        raise ValueError(Errors.E005.format(label=label))
    return _NERCorpus(path, spans_key=spans_key, limit=limit, label_map=label_map, label=label, allow_empty=allow_empty)


class _NERCorpus:
    """A callable `(nlp) -> Iterator[Example]` over a NER TSV corpus, read lazily on each call."""

    def __init__(
        self,
        path: Union[str, Path],
        *,
        spans_key: str,
        limit: int,
        label_map: Optional[Dict[str, str]],
        label: Optional[str],
        allow_empty: bool = False,
    ) -> None:
        self.paths = tsv_files(path)
        self.spans_key = spans_key
        self.limit = limit
        self.label_map = dict(label_map or {})
        self.label = label
        self.allow_empty = allow_empty

    def __call__(self, nlp: Language) -> Iterator[Example]:
        count = 0
        for path in self.paths:
            for words, tags in read_iob_sentences(path, label=self.label, allow_empty=self.allow_empty):
                if self.limit and count >= self.limit:
                    return
                yield sentence_to_example(
                    nlp, words, tags, spans_key=self.spans_key, label_map=self.label_map
                )
                count += 1


def tsv_files(path: Union[str, Path]) -> List[Path]:
    """The .tsv files a path stands for: the file itself, or a folder's .tsv files in name order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".tsv" and p.is_file())
        if not files:
            raise CorpusError(Errors.E004.format(path=path))
        return files
    if not path.is_file():
        raise CorpusError(Errors.E001.format(path=path))
    return [path]


def read_iob_sentences(
    path: Union[str, Path], *, label: Optional[str] = None, allow_empty: bool = False
) -> Iterator[Sentence]:
    """Yield `(words, tags)` a sentence from a NER TSV file (or folder of them).

    Without `label` the tags must be typed (`O`, `B-Type`, ...) and are yielded as they are; with
    `label` they must be BioBERT's untyped `B`/`I`/`O` and are yielded typed (`B-label`). Blank lines
    separate sentences; several blank lines in a row are one boundary.
    """
    for file_path in tsv_files(path):
        yield from _read_file(file_path, label, allow_empty)


def _read_file(path: Path, label: Optional[str], allow_empty: bool) -> Iterator[Sentence]:
    pattern, expected = (TYPED_TAG, TYPED_EXPECTED) if label is None else (UNTYPED_TAG, UNTYPED_EXPECTED)
    words: List[str] = []
    tags: List[str] = []
    for line_no, line in read_lines(path, allow_empty=allow_empty):
        if not line.strip():
            if words:
                yield words, tags
                words, tags = [], []
            continue
        columns = line.split("\t")
        if len(columns) != 2 or not columns[0].strip() or not pattern.match(columns[1]):
            raise CorpusError.bad_line(path, line_no, expected, line)
        word, tag = columns
        words.append(word)
        tags.append(tag if label is None or tag == "O" else f"{tag}-{label}")
    if words:
        yield words, tags


def sentence_to_example(
    nlp: Language,
    words: List[str],
    tags: List[str],
    *,
    spans_key: str,
    label_map: Optional[Dict[str, str]] = None,
) -> Example:
    """One Example: predicted and reference docs on `words`, the reference annotated from `tags`."""
    label_map = label_map or {}
    predicted = Doc(nlp.vocab, words=words)
    reference = Doc(nlp.vocab, words=words)
    spans = [
        Span(reference, start, end, label=label_map.get(label, label))
        for start, end, label in iob_to_spans(tags)
    ]
    reference.ents = spans
    reference.spans[spans_key] = spans
    mark_annotated(reference, [spans_key])
    return Example(predicted, reference)
