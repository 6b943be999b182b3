"""Input formats of `spacy-biobert annotate`, and finding the input files of a run.

INPUT is a file, a folder (searched recursively, hidden files skipped) or a glob pattern. Files are
taken in the sorted order of their names relative to the inputs' common folder, so a run's order and
ids are the same on every machine. Each file may be gzip-compressed (`.gz`). Formats:

- `jsonl`: one JSON object a line with the text in `text` and the id in `id` (field names configurable);
  a record without an id gets `file:line`.
- `text`: one document a line; the id is `file:line`. Blank lines are skipped.
- `pubtator`: PubTator blocks (`PMID|t|title`, `PMID|a|abstract`, annotation lines, a blank line); the
  text is `title + " " + abstract`, PubTator's offset convention; existing annotations are ignored.
- `pubmed`: PubMed baseline/update XML (`.xml`, `.xml.gz`), read by `spacy_biobert.pubmed`; the id is
  the PMID, the text the title and the abstract.

A document that cannot be read (bytes that are not UTF-8, a line that is not a JSON object, a broken
PubTator block) becomes an `InputFailure` with its reason, and reading goes on.
"""
import glob
import json
import os
import re
from pathlib import Path
from typing import IO, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

from ..errors import AnnotateError, CorpusError, Errors
from ..pubmed import iter_pubmed_articles
from ..readers.text import format_from_name, open_binary
from .documents import InputDoc, InputFailure, Item, Passage

AUTO = "auto"
INPUT_FORMATS = ("jsonl", "text", "pubtator", "pubmed")
SUFFIX_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".text": "text",
    ".pubtator": "pubtator",
    ".xml": "pubmed",
}
GLOB_CHARS = "*?["
PUBTATOR_TITLE = re.compile(r"^([^|\t]+)\|t\|(.*)$")
PUBTATOR_ABSTRACT = re.compile(r"^([^|\t]+)\|a\|(.*)$")
PUBMED_ARTICLE_TAGS = (b"<PubmedArticle>", b"<PubmedArticle ")
COUNT_CHUNK_BYTES = 1 << 20


class InputFile(NamedTuple):
    """One input file of a run: where it is, its name in ids and sources, its format and size."""

    path: Path
    name: str
    format: str
    size: int


class ReadOptions(NamedTuple):
    """How JSONL records name their fields."""

    id_field: str = "id"
    text_field: str = "text"


def file_format(path: Path) -> Optional[str]:
    """The input format a file name implies (`.gz` looked through), or None."""
    return format_from_name(path, SUFFIX_FORMATS)


def find_input_files(spec: str, input_format: str = AUTO, exclude: Iterable[Path] = ()) -> List[InputFile]:
    """The input files of a run, sorted by name: a file, a folder's files or a glob pattern's matches.

    In a folder or a glob, files whose format cannot be told from their name are skipped (unless
    `input_format` is given); a single file in an unknown format is an error. `exclude` lists files
    never to read (the run's own output files).
    """
    if input_format != AUTO and input_format not in INPUT_FORMATS:
        choices = ", ".join((AUTO,) + INPUT_FORMATS)
        raise AnnotateError(Errors.E503.format(kind="input", name=input_format, choices=choices))
    path = Path(spec)
    single = path.is_file()
    if single:
        candidates = [path]
    elif path.is_dir():
        candidates = [p for p in path.rglob("*") if p.is_file() and not _is_hidden(p.relative_to(path))]
    elif any(char in spec for char in GLOB_CHARS):
        candidates = [p for p in (Path(name) for name in glob.glob(spec, recursive=True)) if p.is_file()]
    else:
        candidates = []
    excluded = {p.resolve() for p in exclude}
    found: List[Tuple[Path, str]] = []
    for candidate in candidates:
        if candidate.resolve() in excluded:
            continue
        fmt = input_format if input_format != AUTO else file_format(candidate)
        if fmt is None and single:
            raise AnnotateError(Errors.E502.format(path=candidate, choices=", ".join(INPUT_FORMATS)))
        if fmt is not None:
            found.append((candidate, fmt))
    if not found:
        raise AnnotateError(Errors.E501.format(input=spec, suffixes=", ".join(SUFFIX_FORMATS)))
    root = Path(os.path.commonpath([str(p.resolve().parent) for p, _ in found]))
    files = [
        InputFile(p, p.resolve().relative_to(root).as_posix(), fmt, p.stat().st_size) for p, fmt in found
    ]
    return sorted(files, key=lambda f: f.name)


def read_input_file(file: InputFile, options: ReadOptions = ReadOptions()) -> Iterator[Item]:
    """The documents of one input file in order, failures included."""
    if file.format == "jsonl":
        return _read_jsonl(file, options)
    if file.format == "text":
        return _read_text(file)
    if file.format == "pubtator":
        return _read_pubtator(file)
    return _read_pubmed(file)


def count_documents(file: InputFile) -> int:
    """How many documents (or failures) reading `file` gives, by a fast scan that parses nothing."""
    with open_binary(file.path) as stream:
        if file.format == "pubmed":
            return _count_tags(stream, PUBMED_ARTICLE_TAGS)
        if file.format == "pubtator":
            blocks, in_block = 0, False
            for raw in stream:
                filled = bool(raw.strip())
                blocks += filled and not in_block
                in_block = filled
            return blocks
        return sum(1 for raw in stream if raw.strip())


def _read_text(file: InputFile) -> Iterator[Item]:
    for source, _, text in _filled_lines(file):
        yield text if isinstance(text, InputFailure) else InputDoc(id=source, text=text, source=source)


def _read_jsonl(file: InputFile, options: ReadOptions) -> Iterator[Item]:
    expected = f"a JSON object with a string field '{options.text_field}'"
    for source, raw, line in _filled_lines(file):
        if isinstance(line, InputFailure):
            yield line._replace(id=_salvaged_id(raw, options.id_field) or source)
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get(options.text_field), str):
            yield InputFailure(source, source, Errors.E511.format(source=source, expected=expected, found=line[:80]))
            continue
        doc_id = record.get(options.id_field)
        yield InputDoc(id=source if doc_id is None else str(doc_id), text=record[options.text_field], source=source)


def _salvaged_id(raw: bytes, id_field: str) -> Optional[str]:
    """The id of a JSONL record whose text holds undecodable bytes, when the rest of it parses."""
    try:
        record = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return None
    doc_id = record.get(id_field) if isinstance(record, dict) else None
    return None if doc_id is None else str(doc_id)


def _read_pubtator(file: InputFile) -> Iterator[Item]:
    block: List[Tuple[int, bytes]] = []
    for line_no, raw in _lines(file.path):
        if raw.strip():
            block.append((line_no, raw))
        elif block:
            yield _pubtator_doc(file, block)
            block = []
    if block:
        yield _pubtator_doc(file, block)


def _pubtator_doc(file: InputFile, block: List[Tuple[int, bytes]]) -> Item:
    """One PubTator block: the title and abstract lines give the text; annotation lines are ignored."""
    first_no, first_raw = block[0]
    source = f"{file.name}:{first_no}"
    doc_id = first_raw.split(b"|", 1)[0].decode("utf8", errors="replace").strip() or source
    lines = []
    for line_no, raw in block[:2]:
        line = _decode(raw, f"{file.name}:{line_no}", line_no)
        if isinstance(line, InputFailure):
            return InputFailure(doc_id, source, line.reason)
        lines.append(line)
    title_match = PUBTATOR_TITLE.match(lines[0])
    if title_match is None:
        reason = Errors.E511.format(source=source, expected="a `PMID|t|title` line", found=lines[0][:80])
        return InputFailure(doc_id, source, reason)
    doc_id, title = title_match.group(1), title_match.group(2)
    abstract_match = PUBTATOR_ABSTRACT.match(lines[1]) if len(lines) > 1 else None
    if abstract_match is None or abstract_match.group(1) != doc_id or not abstract_match.group(2):
        return InputDoc(doc_id, title, source, (Passage("title", 0, len(title)),))
    abstract = abstract_match.group(2)
    text = f"{title} {abstract}"
    passages = (Passage("title", 0, len(title)), Passage("abstract", len(title) + 1, len(text)))
    return InputDoc(doc_id, text, source, passages)


def _read_pubmed(file: InputFile) -> Iterator[Item]:
    count = 0
    try:
        for count, article in enumerate(iter_pubmed_articles(file.path), start=1):
            source = f"{file.name}#{count}"
            title, abstract, text = article["title"], article["abstract"], article["text"]
            passages: List[Passage] = []
            if title:
                passages.append(Passage("title", 0, len(title)))
            if abstract:
                passages.append(Passage("abstract", len(text) - len(abstract), len(text)))
            yield InputDoc(article["id"] or source, text, source, tuple(passages))
    except CorpusError as err:
        source = f"{file.name}#{count + 1}"
        yield InputFailure(source, source, Errors.E514.format(source=source, detail=str(err)))


def _decode(raw: bytes, source: str, line_no: int) -> Union[str, InputFailure]:
    """A line as text, or the failure naming where its bytes are not UTF-8."""
    try:
        return raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
    except UnicodeDecodeError as err:
        return InputFailure(source, source, Errors.E510.format(source=source, detail=str(err)))


def _lines(path: Path) -> Iterator[Tuple[int, bytes]]:
    """Numbered lines as bytes without their line ending (only `\\n` ends a line)."""
    with open_binary(path) as stream:
        for line_no, raw in enumerate(stream, start=1):
            yield line_no, raw.rstrip(b"\r\n")


def _filled_lines(file: InputFile) -> Iterator[Tuple[str, bytes, Union[str, InputFailure]]]:
    """`(source, bytes, text or failure)` of each non-blank line, the source being `file:line`."""
    for line_no, raw in _lines(file.path):
        if raw.strip():
            source = f"{file.name}:{line_no}"
            yield source, raw, _decode(raw, source, line_no)


def _count_tags(stream: IO[bytes], tags: Tuple[bytes, ...]) -> int:
    """Occurrences of any of `tags` in a stream, read in chunks (a tag may straddle two chunks)."""
    count, tail = 0, b""
    keep = max(len(tag) for tag in tags) - 1
    while True:
        chunk = stream.read(COUNT_CHUNK_BYTES)
        if not chunk:
            return count
        data = tail + chunk
        count += sum(data.count(tag) for tag in tags)
        tail = data[-keep:]


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
