"""Streamed pretraining text: plain text, JSONL and PubMed XML, split into a held-out slice and rank shards.

Nothing is loaded whole. Each file is read lazily in the order given (folders: their corpus files in name
order), so a run can point at the full PubMed baseline. Record `i` of the concatenated stream is held out
when `i % heldout_every == 0` and `i // heldout_every < heldout`, which spreads the held-out slice over the
start of the corpus instead of taking one sub-corpus. Of the remaining records, rank `r` of `W` keeps every
`W`-th (`i % W == r`): each rank reads the stream but tokenises only its own shard, and parsing is cheap
next to a training step.
"""
import json
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Union

from ..errors import CorpusError, Errors
from ..pubmed import iter_pubmed_articles
from ..readers.text import format_from_name, read_lines

SUFFIX_FORMATS = {".txt": "text", ".text": "text", "": "text", ".jsonl": "jsonl", ".xml": "pubmed"}


def expand_corpus_paths(paths: Iterable[Union[str, Path]]) -> List[Path]:
    """Files to read, in order: a file as given, a folder as its corpus files sorted by name."""
    files: List[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and corpus_format(p) is not None))
        elif path.is_file():
            files.append(path)
        else:
            raise CorpusError(Errors.E001.format(path=path))
    return files


def corpus_format(path: Path) -> Optional[str]:
    """`pubmed`, `jsonl` or `text` from the file name (a trailing `.gz` is looked through); else None."""
    return format_from_name(path, SUFFIX_FORMATS)


def iter_file_texts(path: Path) -> Iterator[str]:
    """The non-empty texts of one file: lines of plain text (any unknown suffix is read as text), the
    `text` field of JSONL records, or title + abstract of PubMed articles. Text files are read by
    `spacy_biobert.readers.text.read_lines`: a BOM is dropped, bytes that are not UTF-8 and an empty file
    are errors naming the file."""
    fmt = corpus_format(path)
    if fmt == "pubmed":
        for article in iter_pubmed_articles(path):
            if article["text"]:
                yield article["text"]
        return
    for line_no, line in read_lines(path):
        line = line.strip()
        if not line:
            continue
        if fmt == "jsonl":
            yield from _jsonl_text(path, line_no, line)
        else:
            yield line


def _jsonl_text(path: Path, line_no: int, line: str) -> Iterator[str]:
    """The `text` of one JSONL line, or a `CorpusError` naming the file and line."""
    expected = 'a JSON object with a string field "text"'
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise CorpusError.bad_line(path, line_no, expected, line[:80]) from None
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str):
        raise CorpusError.bad_line(path, line_no, expected, line[:80])
    if text.strip():
        yield text.strip()


def iter_corpus(files: Sequence[Path]) -> Iterator[str]:
    """The texts of all files, one after the other."""
    for path in files:
        yield from iter_file_texts(path)


def is_heldout(index: int, heldout: int, heldout_every: int) -> bool:
    """Whether record `index` of the stream belongs to the held-out slice."""
    return heldout > 0 and index % heldout_every == 0 and index // heldout_every < heldout


def iter_heldout(files: Sequence[Path], heldout: int, heldout_every: int) -> Iterator[str]:
    """The held-out texts; reading stops as soon as the slice is complete."""
    if heldout <= 0:
        return
    last = (heldout - 1) * heldout_every
    for index, text in enumerate(iter_corpus(files)):
        if index > last:
            return
        if is_heldout(index, heldout, heldout_every):
            yield text


def iter_shard(
    files: Sequence[Path], rank: int, world_size: int, heldout: int, heldout_every: int
) -> Iterator[str]:
    """The training texts of one rank, for one pass over the corpus."""
    kept = 0
    for index, text in enumerate(iter_corpus(files)):
        if is_heldout(index, heldout, heldout_every):
            continue
        if kept % world_size == rank:
            yield text
        kept += 1


def iter_epochs(
    files: Sequence[Path], rank: int, world_size: int, heldout: int, heldout_every: int
) -> Iterator[str]:
    """The rank's training texts, pass after pass, so every rank can run any number of steps."""
    while True:
        empty = True
        for text in iter_shard(files, rank, world_size, heldout, heldout_every):
            empty = False
            yield text
        if empty:
            raise CorpusError(
                Errors.E404.format(paths=", ".join(map(str, files)), rank=rank, world_size=world_size)
            )
