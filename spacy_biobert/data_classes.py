"""The result types users read from docs: `doc._.relations` and `doc._.ask(...)`."""
from typing import NamedTuple

from spacy.tokens import Span


class Relation(NamedTuple):
    """A directed relation between two entity mentions of one doc, with its confidence."""

    head: Span
    tail: Span
    label: str
    score: float


class Answer(NamedTuple):
    """An extractive answer: a span of the doc that answers a question, with its confidence."""

    span: Span
    score: float
