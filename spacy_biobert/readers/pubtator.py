"""PubTator files with their annotations: documents, gold mentions and concept ids.

    PMID|t|title
    PMID|a|abstract
    PMID<TAB>start<TAB>end<TAB>mention<TAB>type<TAB>concept id
    (blank line)

Offsets count over `title + " " + abstract`, which is the document's text here. Relation lines
(`PMID<TAB>label<TAB>id<TAB>id`) are skipped. The concept id is kept as written: composite mentions join
several ids (`D001943|D010051`, `D001943+D010051`), and `-` or an empty column means "not linked" (None).
"""
import re
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Union

from ..errors import CorpusError, Errors

_TITLE = re.compile(r"^([^|\t]+)\|t\|(.*)$")
_ABSTRACT = re.compile(r"^([^|\t]+)\|a\|(.*)$")
UNLINKED = ("", "-")


class PubTatorMention(NamedTuple):
    """A gold mention: character offsets into the document text, its text, type and concept id."""

    start: int
    end: int
    text: str
    type: str
    concept_id: Optional[str]


class PubTatorDoc(NamedTuple):
    """A PubTator document: its id, the text (title, a space, abstract) and its gold mentions."""

    id: str
    text: str
    mentions: List[PubTatorMention]


def read_pubtator(path: Union[str, Path]) -> Iterator[PubTatorDoc]:
    """The documents of a PubTator file, with their mentions, in file order."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(Errors.E001.format(path=path))
    block: List[str] = []
    first = 0
    with path.open(encoding="utf8") as stream:
        for line_no, line in enumerate(stream, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                if not block:
                    first = line_no
                block.append(line)
            elif block:
                yield _document(path, first, block)
                block = []
    if block:
        yield _document(path, first, block)


def _document(path: Path, first: int, block: List[str]) -> PubTatorDoc:
    title = _TITLE.match(block[0])
    if title is None:
        raise CorpusError.bad_line(path, first, "a `PMID|t|title` line", block[0][:80])
    doc_id, text = title.group(1), title.group(2)
    rest = block[1:]
    if rest:
        abstract = _ABSTRACT.match(rest[0])
        if abstract is not None:
            text = f"{text} {abstract.group(2)}"
            rest = rest[1:]
    mentions = []
    for offset, line in enumerate(rest, start=first + len(block) - len(rest)):
        fields = line.split("\t")
        if len(fields) < 5 or not (fields[1].isdigit() and fields[2].isdigit()):
            if len(fields) == 4:  # a relation line
                continue
            raise CorpusError.bad_line(path, offset, "`PMID<TAB>start<TAB>end<TAB>mention<TAB>type[<TAB>id]`", line[:80])
        start, end = int(fields[1]), int(fields[2])
        concept = fields[5].strip() if len(fields) > 5 else ""
        mentions.append(PubTatorMention(start, end, fields[3], fields[4], None if concept in UNLINKED else concept))
    return PubTatorDoc(doc_id, text, mentions)
