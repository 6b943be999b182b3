"""What flows through an annotation run: an input document, or the failure to read one.

Both carry a stable `id` and a `source` (`file:line`, the file named relative to the inputs' common
folder) so that every input document can be found again in the output or in the errors file.
"""
from typing import Any, Dict, NamedTuple, Tuple, Union


class Passage(NamedTuple):
    """A titled part of a document's text (PubMed's title and abstract), as character offsets."""

    type: str
    start: int
    end: int


class InputDoc(NamedTuple):
    """A document to annotate: its id, its text and, for title + abstract inputs, its passages."""

    id: str
    text: str
    source: str
    passages: Tuple[Passage, ...] = ()


class InputFailure(NamedTuple):
    """An input document that could not be read; it goes to the errors file with its reason."""

    id: str
    source: str
    reason: str


Item = Union[InputDoc, InputFailure]


def failure_record(id_: str, source: str, reason: str) -> Dict[str, Any]:
    """The errors-file line of a document that failed: `{"id", "source", "error"}`."""
    return {"id": id_, "source": source, "error": reason}


def is_failure(record: Dict[str, Any]) -> bool:
    """Whether a shard line records a failure rather than an annotated document."""
    return "error" in record
