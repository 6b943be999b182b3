"""The data spacy-biobert's components exchange through docs, and its single owner.

The types users read (`Relation`, `Answer`), how relations, questions and answers are stored in
`doc.user_data`, and the names of the extensions that expose them. Components, readers, scorers and
`annotate` encode and decode through this module only.

Everything is stored as plain msgpack-serialisable lists and dicts, so docs keep it through `DocBin`,
`to_bytes` and `nlp.pipe(n_process=...)`; the extensions' getters rebuild `Span`s of the doc:

- relations (`RELATIONS_KEY`): `[{"head": [start, end, label], "tail": [start, end, label], "label": str,
  "score": float}]`, head and tail as token offsets and entity label;
- questions (`QUESTIONS_KEY`): `[question, ...]`; answers (`ANSWERS_KEY`): `{question: [[start_char,
  end_char, score], ...]}`, best first; question ids (`QUESTION_IDS_KEY`) and types (`QUESTION_TYPES_KEY`,
  e.g. "factoid", "list"): `{question: str}`; yes/no (`YESNO_KEY`): `{question: probability of "yes"}`.
"""
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, Span

# The extensions components set, by name: `Span._.score` (biobert_ner), `Span._.kb_ents` (biobert_linker),
# `Doc._.relations` (biobert_rel), `Doc._.questions` and `Doc._.answers` (biobert_qa).
SCORE_EXTENSION = "score"
KB_ENTS_EXTENSION = "kb_ents"
RELATIONS_EXTENSION = "relations"
QUESTIONS_EXTENSION = "questions"
ANSWERS_EXTENSION = "answers"

RELATIONS_KEY = "biobert_relations"
QUESTIONS_KEY = "biobert_qa.questions"
ANSWERS_KEY = "biobert_qa.answers"
QUESTION_IDS_KEY = "biobert_qa.question_ids"
QUESTION_TYPES_KEY = "biobert_qa.question_types"
YESNO_KEY = "biobert_qa.yesno"

# Character offsets of a head and a tail mention: (head start, head end, tail start, tail end).
PairOffsets = Tuple[int, int, int, int]
# A stored answer: its start and end character in the doc's text, and its score.
AnswerOffsets = Tuple[int, int, float]


class Relation(NamedTuple):
    """A directed relation between two entity mentions of one doc, with its confidence."""

    head: Span
    tail: Span
    label: str
    score: float


class Answer(NamedTuple):
    """An extractive answer: a span of the doc that answers a question, with its confidence.

    `span` is the answer expanded to token boundaries; `start_char`/`end_char` are the characters the
    model chose, which may start or end inside a token ("BRCA1" of "BRCA1/2"), and `text` is those
    characters: the answer string to report and to score (BioASQ compares strings).
    """

    span: Span
    score: float
    start_char: Optional[int] = None
    end_char: Optional[int] = None

    @property
    def offsets(self) -> Tuple[int, int]:
        """Start and end character of the exact answer (the span's where none were given)."""
        if self.start_char is None or self.end_char is None:
            return self.span.start_char, self.span.end_char
        return self.start_char, self.end_char

    @property
    def text(self) -> str:
        """The answer's exact characters."""
        start, end = self.offsets
        return self.span.doc.text[start:end]


def get_extension(obj: Union[Doc, Span], name: str) -> Any:
    """`obj._.<name>`, or None where no component installed that extension."""
    return getattr(obj._, name) if obj.has_extension(name) else None


def install_relation_extension() -> None:
    """Add `Doc._.relations` once: a getter over the relations stored in `doc.user_data`."""
    if not Doc.has_extension(RELATIONS_EXTENSION):
        Doc.set_extension(RELATIONS_EXTENSION, getter=get_relations)


def encode_relation(head: Span, tail: Span, label: str, score: float) -> Dict[str, Any]:
    """A relation as it is stored: token offsets and labels of both mentions, its label and score."""
    return {
        "head": [head.start, head.end, head.label_],
        "tail": [tail.start, tail.end, tail.label_],
        "label": label,
        "score": float(score),
    }


def set_relations(doc: Doc, relations: Iterable[Relation]) -> None:
    """Store `relations` (whose mentions are spans of `doc`) as the doc's relations, replacing any."""
    doc.user_data[RELATIONS_KEY] = [encode_relation(*relation) for relation in relations]


def get_relations(doc: Doc) -> List[Relation]:
    """The stored relations of `doc` with their mentions rebuilt as Spans (`doc._.relations`)."""
    return [
        Relation(
            Span(doc, data["head"][0], data["head"][1], label=data["head"][2]),
            Span(doc, data["tail"][0], data["tail"][1], label=data["tail"][2]),
            data["label"],
            data["score"],
        )
        for data in doc.user_data.get(RELATIONS_KEY, [])
    ]


def pair_offsets(head: Span, tail: Span) -> PairOffsets:
    """A mention pair by character offsets: equal across docs that tokenise one text differently."""
    return (head.start_char, head.end_char, tail.start_char, tail.end_char)


class QAData(NamedTuple):
    """What a doc's user data holds about its questions (see the module docstring), decoded."""

    questions: List[str]
    answers: Dict[str, List[AnswerOffsets]]
    ids: Dict[str, str]
    types: Dict[str, str]
    yesno: Dict[str, float]

    @classmethod
    def from_doc(cls, doc: Doc) -> "QAData":
        """Read the questions of `doc` and what is stored about them; absent entries are empty."""
        return cls(
            get_questions(doc),
            _decode_answers(doc),
            dict(doc.user_data.get(QUESTION_IDS_KEY, {})),
            dict(doc.user_data.get(QUESTION_TYPES_KEY, {})),
            {question: float(yes) for question, yes in doc.user_data.get(YESNO_KEY, {}).items()},
        )


def install_qa_extensions() -> None:
    """Add `Doc._.questions` (settable) and `Doc._.answers` once, over the doc's user data."""
    if not Doc.has_extension(QUESTIONS_EXTENSION):
        Doc.set_extension(QUESTIONS_EXTENSION, getter=get_questions, setter=_set_questions)
    if not Doc.has_extension(ANSWERS_EXTENSION):
        Doc.set_extension(ANSWERS_EXTENSION, getter=get_answers)


def get_questions(doc: Doc) -> List[str]:
    """The questions to answer about `doc` (`doc._.questions`)."""
    return list(doc.user_data.get(QUESTIONS_KEY, []))


def set_qa_data(
    doc: Doc,
    questions: Sequence[str],
    *,
    answers: Optional[Dict[str, Sequence[AnswerOffsets]]] = None,
    ids: Optional[Dict[str, str]] = None,
    types: Optional[Dict[str, str]] = None,
    yesno: Optional[Dict[str, float]] = None,
) -> None:
    """Store questions, answers (question -> (start_char, end_char, score) of each), question ids, question
    types (e.g. "factoid", "list") and yes/no labels (question -> probability of "yes"); the entries left
    None are not written."""
    doc.user_data[QUESTIONS_KEY] = [str(question) for question in questions]
    if answers is not None:
        doc.user_data[ANSWERS_KEY] = {
            question: [[start, end, score] for start, end, score in spans] for question, spans in answers.items()
        }
    for key, value in ((QUESTION_IDS_KEY, ids), (QUESTION_TYPES_KEY, types), (YESNO_KEY, yesno)):
        if value is not None:
            doc.user_data[key] = value


def add_answers(doc: Doc, question: str, answers: Sequence[Answer], yes: Optional[float]) -> None:
    """Store the ranked answers to `question` (their exact characters and scores) and, unless None, the
    probability that its answer is "yes", beside those of the doc's other questions."""
    doc.user_data.setdefault(ANSWERS_KEY, {})[question] = [[*answer.offsets, answer.score] for answer in answers]
    if yes is not None:
        doc.user_data.setdefault(YESNO_KEY, {})[question] = yes


def get_answers(doc: Doc) -> Dict[str, List[Answer]]:
    """The stored answers of each question (`doc._.answers`): their exact characters, and as Spans of
    `doc` expanded to token boundaries."""
    answers = {}
    for question, stored in _decode_answers(doc).items():
        answers[question] = [
            Answer(span, score, start, end)
            for span, start, end, score in ((doc.char_span(s, e, alignment_mode="expand"), s, e, sc)
                                            for s, e, sc in stored)
            if span is not None
        ]
    return answers


def _set_questions(doc: Doc, questions: Union[str, Sequence[str]]) -> None:
    set_qa_data(doc, [questions] if isinstance(questions, str) else list(questions))


def _decode_answers(doc: Doc) -> Dict[str, List[AnswerOffsets]]:
    return {
        question: [(int(start), int(end), float(score)) for start, end, score in stored]
        for question, stored in doc.user_data.get(ANSWERS_KEY, {}).items()
    }
