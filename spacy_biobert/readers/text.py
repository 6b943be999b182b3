"""Opening corpus text files the same way in every reader: UTF-8, BOM stripped, errors that say where.

Every text reader (NER and RE TSV, relation JSONL, SQuAD/BioASQ JSON, pretraining text) reads its files
through `read_lines` or `read_text`, so that:

- a UTF-8 byte-order mark at the start of a file is dropped (`utf-8-sig`), not read as part of the first
  token or header;
- bytes that are not UTF-8 raise a `CorpusError` naming the file, the line and the byte offset;
- a file without a single non-blank line raises a `CorpusError` naming it, unless the caller allows empty
  files (`allow_empty`): an empty file is far more often a typo'd path or a failed download than intended.

Files ending in `.gz` are decompressed on the fly. Only `\\n` ends a line; a trailing `\\r` is removed.
`open_binary` and `format_from_name` are the one gzip opener and the one format-from-suffix rule of every
reader of the package (pretraining corpora, `annotate` inputs included).
"""
import gzip
from pathlib import Path
from typing import IO, Iterator, Mapping, Optional, Tuple, Union

from ..errors import CorpusError, Errors

BOM = b"\xef\xbb\xbf"
GZIP_SUFFIX = ".gz"


def read_lines(path: Union[str, Path], *, allow_empty: bool = False) -> Iterator[Tuple[int, str]]:
    """Yield `(line number, line)` of a UTF-8 text file, without line endings, blank lines included."""
    path = Path(path)
    offset = 0
    filled = False
    with open_binary(path) as stream:
        for line_no, raw in enumerate(stream, start=1):
            start = 0
            if line_no == 1 and raw.startswith(BOM):
                start = len(BOM)
            line = _decode(raw[start:], path, line_no, offset + start)
            offset += len(raw)
            line = line.rstrip("\r\n")
            filled = filled or bool(line.strip())
            yield line_no, line
    if not filled and not allow_empty:
        raise CorpusError(Errors.E007.format(path=path))


def read_text(path: Union[str, Path], *, allow_empty: bool = False) -> str:
    """The whole text of a UTF-8 file (a JSON file, say), with the same checks as `read_lines`."""
    return "\n".join(line for _, line in read_lines(path, allow_empty=allow_empty))


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed on the fly when its name ends in `.gz`."""
    return gzip.open(path, "rb") if path.name.endswith(GZIP_SUFFIX) else path.open("rb")


def format_from_name(path: Path, formats: Mapping[str, str]) -> Optional[str]:
    """The format `formats` gives the file's suffix (lower-cased, a trailing `.gz` looked through), or None.

    The suffix of a name without one is "", so `formats` may map it too."""
    name = path.name[: -len(GZIP_SUFFIX)] if path.name.endswith(GZIP_SUFFIX) else path.name
    return formats.get(Path(name).suffix.lower())


def _decode(raw: bytes, path: Path, line_no: int, offset: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        detail = f"byte 0x{raw[err.start]:02x}: {err.reason}"
        raise CorpusError(Errors.E006.format(path=path, line=line_no, offset=offset + err.start, detail=detail)) from None
