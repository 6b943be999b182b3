"""Extractive question-answering corpora: SQuAD v1 JSON and BioASQ golden JSON.

Both readers yield one `Example` per (context, question). The doc is the context; the question goes into
`doc._.questions` (predicted and reference doc) and the gold answers, as character offsets, into the
reference's `doc._.answers` (see `spacy_biobert.pipeline.qa`), both stored as plain msgpack-serialisable
user data. Reference docs are marked as annotated for `QUESTIONS`.

SQuAD v1: `{"data": [{"paragraphs": [{"context": str, "qas": [{"id": str, "question": str, "answers":
[{"text": str, "answer_start": int}]}]}]}]}`. Questions without answers (BioASQ's test batches) are read
as questions to answer: they teach nothing but are answered when a pipeline is evaluated on them. A
question's contexts are grouped by an optional `question_id` field of the `qas` entry, else by the
question's normalised text.

BioASQ golden: `{"questions": [{"id": str, "body": str, "type": str, "exact_answer": ..., "snippets":
[{"text": str}]}]}`. Factoid and list questions become extractive examples: every distinct snippet that
contains one of the question's `exact_answer` synonyms (case-insensitively, not inside a longer word)
gives one example whose gold answers are all such occurrences; a yes/no question gives each distinct
snippet with its "yes"/"no" label. Every record carries its BioASQ question id (`QARecord.question_id`),
by which scorers group a question's contexts. Questions no snippet answers are counted
(`BioASQCorpus.unanswerable`) and reported with warning W001. `exclude` files (BioASQ or SQuAD JSON)
name questions that must never be read, by id and by question text, so test questions cannot leak
into training; `split` with `dev_fraction` holds out a stable, id-hashed share of questions for dev.
"""
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import srsly
from spacy.language import Language
from spacy.training import Example
from spacy.util import SimpleFrozenList, registry

from ..annotations import QUESTIONS, mark_annotated
from ..data_classes import set_qa_data
from ..errors import Errors, Warnings
from .split import check_split, in_split
from .text import read_text

BIOASQ_EXTRACTIVE_TYPES = ("factoid", "list")
BIOASQ_TYPES = ("factoid", "list", "yesno", "summary")


class QARecord(NamedTuple):
    """One extractive QA example: a question about a context, with its gold answers as character offsets.

    `id` names the (question, context) pair; `question_id` the question, shared by all its contexts (the
    BioASQ id, or a SQuAD question's `question_id` field, else its normalised text). Scorers group the
    answers of a question's contexts by `question_id`; "" falls back to `id`. `question_type` is BioASQ's
    ("factoid", "list", "yesno"; "" for SQuAD); a yes/no question has no answer spans but `yesno`
    ("yes" or "no").
    """

    id: str
    question: str
    context: str
    answers: List[Tuple[int, int]]
    question_id: str = ""
    question_type: str = ""
    yesno: str = ""

    @property
    def group(self) -> str:
        """The question this record belongs to."""
        return self.question_id or self.id


class BioASQQuestion(NamedTuple):
    """One question of a BioASQ golden file, as `evaluate` scores it."""

    id: str
    body: str
    type: str
    exact_answer: Any
    snippets: List[str]


@dataclass
class QAIds:
    """Question ids and normalised question texts to leave out of a corpus."""

    ids: Set[str] = field(default_factory=set)
    texts: Set[str] = field(default_factory=set)

    def __contains__(self, question: Tuple[str, str]) -> bool:
        qid, text = question
        return qid in self.ids or question_key(text) in self.texts


@registry.readers("spacy_biobert.SquadReader.v1")
def create_squad_reader(path: Path, *, limit: int = 0) -> Callable[[Language], Iterable[Example]]:
    """Read a SQuAD v1 JSON file as one Example per (context, question); `limit` > 0 keeps the first ones."""
    return QACorpus(lambda: read_squad(path), limit=limit)


@registry.readers("spacy_biobert.BioASQReader.v1")
def create_bioasq_reader(
    paths: Union[Path, List[Path]],
    *,
    question_types: List[str] = SimpleFrozenList(BIOASQ_EXTRACTIVE_TYPES),
    exclude: List[Path] = SimpleFrozenList(),
    split: str = "all",
    dev_fraction: float = 0.0,
    limit: int = 0,
) -> Callable[[Language], Iterable[Example]]:
    """Read BioASQ golden JSON files as extractive Examples (see the module docstring).

    paths (Path or List[Path]): BioASQ golden JSON files (say, one a challenge year).
    question_types (List[str]): BioASQ types to read: factoid and list give extractive examples; yesno
        gives each snippet with the question's yes/no label (for a biobert_qa with `yesno = true`).
    exclude (List[Path]): BioASQ or SQuAD files whose questions (ids and texts) are never read.
    split (str): "all", or "train"/"dev" to keep the questions outside/inside the held-out share.
    dev_fraction (float): share of questions held out for "dev", chosen by a hash of the question id.
    limit (int): keep only the first `limit` examples (0: all).
    """
    return BioASQCorpus(
        [paths] if isinstance(paths, (str, Path)) else list(paths),
        question_types=question_types,
        exclude=exclude,
        split=split,
        dev_fraction=dev_fraction,
        limit=limit,
    )


class QACorpus:
    """Turns QA records into Examples each time it is called, as spaCy's corpora do."""

    def __init__(self, get_records: Callable[[], Iterable[QARecord]], *, limit: int = 0) -> None:
        self.get_records = get_records
        self.limit = limit

    def __call__(self, nlp: Language) -> Iterator[Example]:
        for i, record in enumerate(self.get_records()):
            if self.limit and i >= self.limit:
                break
            yield record_to_example(nlp, record)


class BioASQCorpus(QACorpus):
    """A BioASQ reader that also tells how many questions no snippet answers (`unanswerable`)."""

    def __init__(
        self,
        paths: Sequence[Union[str, Path]],
        *,
        question_types: Sequence[str] = BIOASQ_EXTRACTIVE_TYPES,
        exclude: Sequence[Union[str, Path]] = (),
        split: str = "all",
        dev_fraction: float = 0.0,
        limit: int = 0,
    ) -> None:
        for qtype in question_types:
            if qtype not in BIOASQ_TYPES:
                raise ValueError(Errors.E018.format(qtype=qtype, choices=", ".join(BIOASQ_TYPES)))
        check_split(split, dev_fraction, "BioASQ")
        self.paths = [Path(p) for p in paths]
        self.question_types = tuple(question_types)
        self.excluded = read_question_ids(exclude)
        self.split = split
        self.dev_fraction = dev_fraction
        self.unanswerable: List[str] = []
        self.n_questions = 0
        super().__init__(self.records, limit=limit)

    def records(self) -> Iterator[QARecord]:
        """The extractive records of every file; counts questions and unanswerable ones as it goes."""
        self.unanswerable = []
        self.n_questions = 0
        for path in self.paths:
            file_unanswerable: List[str] = []
            file_total = 0
            questions = read_bioasq(path, question_types=self.question_types, excluded=self.excluded)
            for qid, question, records in questions:
                if not in_split(qid, self.split, self.dev_fraction):
                    continue
                file_total += 1
                if not records:
                    file_unanswerable.append(qid)
                yield from records
            if file_unanswerable:
                warnings.warn(Warnings.W001.format(count=len(file_unanswerable), total=file_total, path=path))
            self.unanswerable.extend(file_unanswerable)
            self.n_questions += file_total


def record_to_example(nlp: Language, record: QARecord) -> Example:
    """One Example: the context as doc, the question on both docs, the gold answers on the reference."""
    predicted = nlp.make_doc(record.context)
    reference = nlp.make_doc(record.context)
    set_qa_data(predicted, [record.question])
    set_qa_data(
        reference,
        [record.question],
        answers={record.question: [[start, end, 1.0] for start, end in record.answers]},
        ids={record.question: record.group},
        types={record.question: record.question_type} if record.question_type else None,
        yesno={record.question: float(record.yesno == "yes")} if record.yesno else None,
    )
    mark_annotated(reference, [QUESTIONS])
    return Example(predicted, reference)


def read_squad(path: Union[str, Path]) -> Iterator[QARecord]:
    """Yield the (question, context, answers) records of a SQuAD v1 JSON file."""
    path = Path(path)
    data = _load_json(path, "SQuAD v1 JSON: an object with a `data` list")
    articles = _field(path, data, "data", list, "the top-level object")
    for a, article in enumerate(articles):
        where = f"data[{a}]"
        for p, paragraph in enumerate(_field(path, article, "paragraphs", list, where)):
            p_where = f"{where}.paragraphs[{p}]"
            context = _field(path, paragraph, "context", str, p_where)
            for q, qa in enumerate(_field(path, paragraph, "qas", list, p_where)):
                q_where = f"{p_where}.qas[{q}]"
                qid = str(_field(path, qa, "id", (str, int), q_where))
                question = _field(path, qa, "question", str, q_where)
                question_id = str(qa.get("question_id") or question_key(question))
                answers = []
                for answer in qa.get("answers", []):
                    text = _field(path, answer, "text", str, f"{q_where}.answers")
                    start = _field(path, answer, "answer_start", int, f"{q_where}.answers")
                    if context[start : start + len(text)] != text:
                        found = context[start : start + len(text)]
                        raise ValueError(Errors.E016.format(path=path, qid=qid, answer=text, start=start, found=found))
                    if (start, start + len(text)) not in answers:
                        answers.append((start, start + len(text)))
                yield QARecord(qid, question, context, answers, question_id)


def read_bioasq(
    path: Union[str, Path],
    *,
    question_types: Sequence[str] = BIOASQ_EXTRACTIVE_TYPES,
    excluded: Optional[QAIds] = None,
) -> Iterator[Tuple[str, str, List[QARecord]]]:
    """Yield (question id, question, extractive records) for each BioASQ question of the wanted types.

    A question no snippet answers comes with an empty list of records, so callers can count it.
    """
    path = Path(path)
    data = _load_json(path, "BioASQ golden JSON: an object with a `questions` list")
    for i, question in enumerate(_field(path, data, "questions", list, "the top-level object")):
        where = f"questions[{i}]"
        qtype = _field(path, question, "type", str, where)
        if qtype not in question_types:
            continue
        qid = str(_field(path, question, "id", (str, int), where))
        body = _field(path, question, "body", str, where)
        if excluded is not None and (qid, body) in excluded:
            continue
        records: List[QARecord] = []
        seen: Set[str] = set()
        if qtype == "yesno":
            yesno = _yesno_answer(path, question.get("exact_answer"), f"{where}.exact_answer")
            for s, snippet in enumerate(question.get("snippets", [])):
                text = _field(path, snippet, "text", str, f"{where}.snippets[{s}]")
                if text not in seen and text.strip():
                    seen.add(text)
                    records.append(QARecord(f"{qid}_{len(records):03d}", body, text, [], qid, qtype, yesno))
            yield qid, body, records
            continue
        synonyms = _answer_strings(path, question.get("exact_answer", []), f"{where}.exact_answer")
        pattern = _synonym_pattern(synonyms)
        for s, snippet in enumerate(question.get("snippets", [])):
            text = _field(path, snippet, "text", str, f"{where}.snippets[{s}]")
            if text in seen or pattern is None:
                continue
            seen.add(text)
            answers = [(m.start(), m.end()) for m in pattern.finditer(text)]
            if answers:
                records.append(QARecord(f"{qid}_{len(records):03d}", body, text, answers, qid, qtype))
        yield qid, body, records


def read_bioasq_questions(path: Union[str, Path]) -> List[BioASQQuestion]:
    """Every question of a BioASQ golden file, with its gold `exact_answer` and snippet texts."""
    path = Path(path)
    data = _load_json(path, "BioASQ golden JSON: an object with a `questions` list")
    questions = []
    for i, question in enumerate(_field(path, data, "questions", list, "the top-level object")):
        where = f"questions[{i}]"
        snippets = question.get("snippets", [])
        questions.append(
            BioASQQuestion(
                id=str(_field(path, question, "id", (str, int), where)),
                body=_field(path, question, "body", str, where),
                type=_field(path, question, "type", str, where),
                exact_answer=question.get("exact_answer", []),
                snippets=[_field(path, s, "text", str, f"{where}.snippets[{j}]") for j, s in enumerate(snippets)],
            )
        )
    return questions


def json_kind(path: Union[str, Path]) -> str:
    """"squad" or "bioasq": which QA format the JSON file `path` holds (error E313 for neither)."""
    data = _load_json(Path(path), "SQuAD v1 JSON (a `data` list) or BioASQ JSON (a `questions` list)")
    if isinstance(data, dict) and "data" in data:
        return "squad"
    if isinstance(data, dict) and "questions" in data:
        return "bioasq"
    raise ValueError(Errors.E313.format(path=path))


def read_question_ids(paths: Iterable[Union[str, Path]]) -> QAIds:
    """The question ids and texts of BioASQ or SQuAD files (SQuAD: pair and question ids)."""
    excluded = QAIds()
    for path in paths:
        path = Path(path)
        data = _load_json(path, "a BioASQ or SQuAD JSON file of questions to exclude")
        if isinstance(data, dict) and "questions" in data:
            for question in data["questions"]:
                excluded.ids.add(str(question.get("id", "")))
                excluded.texts.add(question_key(question.get("body", "")))
        elif isinstance(data, dict) and "data" in data:
            for record in read_squad(path):
                excluded.ids.update({record.id, record.question_id})
                excluded.texts.add(question_key(record.question))
        else:
            raise ValueError(Errors.E017.format(path=path))
    excluded.ids.discard("")
    excluded.texts.discard("")
    return excluded


def question_key(text: str) -> str:
    """A question's text as questions are matched across files: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


def _answer_strings(path: Path, exact_answer: Any, where: str) -> List[str]:
    """Flatten an `exact_answer` (a string, synonyms, or a list of synonym lists) into strings."""
    if isinstance(exact_answer, str):
        return [exact_answer.strip()] if exact_answer.strip() else []
    if not isinstance(exact_answer, list):
        raise ValueError(
            Errors.E015.format(path=path, where=where, expected="a string or a list of strings", found=exact_answer)
        )
    strings: List[str] = []
    for item in exact_answer:
        strings.extend(s for s in _answer_strings(path, item, where) if s not in strings)
    return strings


def _yesno_answer(path: Path, exact_answer: Any, where: str) -> str:
    """A yes/no question's gold answer, "yes" or "no" (E015 for anything else)."""
    answer = exact_answer.strip().casefold() if isinstance(exact_answer, str) else None
    if answer not in ("yes", "no"):
        raise ValueError(Errors.E015.format(path=path, where=where, expected='"yes" or "no"', found=exact_answer))
    return answer


def _synonym_pattern(synonyms: Sequence[str]) -> Union["re.Pattern[str]", None]:
    """A case-insensitive pattern matching any synonym that does not start or end inside a word."""
    if not synonyms:
        return None
    alternatives = []
    for synonym in sorted(synonyms, key=len, reverse=True):
        before = r"(?<!\w)" if re.match(r"\w", synonym[0]) else ""
        after = r"(?!\w)" if re.match(r"\w", synonym[-1]) else ""
        alternatives.append(before + re.escape(synonym) + after)
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _load_json(path: Path, expected: str) -> Any:
    """The JSON in `path` (read as `read_text` reads), or E003 naming the file, where and what was expected."""
    if not path.exists():
        raise ValueError(Errors.E001.format(path=path))
    text = read_text(path)
    try:
        return srsly.json_loads(text)
    except ValueError as err:
        detail = _json_error_place(text, err)
        raise ValueError(Errors.E003.format(path=path, detail=detail, expected=expected)) from None


def _json_error_place(text: str, err: ValueError) -> str:
    """Where `text` stops being JSON: srsly's fast parser does not say, so the standard library's parser
    finds the line and column once parsing has failed."""
    try:
        json.loads(text)
    except json.JSONDecodeError as located:
        return f"line {located.lineno}, column {located.colno}: {located.msg}"
    return str(err)


def _field(path: Path, obj: Any, key: str, types: Union[type, Tuple[type, ...]], where: str) -> Any:
    """`obj[key]`, checked to be an object with that key and a value of `types`."""
    if not isinstance(obj, dict) or key not in obj:
        found = f"keys {sorted(obj)}" if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(Errors.E015.format(path=path, where=where, expected=f"an object with `{key}`", found=found))
    value = obj[key]
    if not isinstance(value, types) or isinstance(value, bool):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise ValueError(Errors.E015.format(path=path, where=f"{where}.{key}", expected=names, found=value))
    return value
