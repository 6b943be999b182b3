"""Knowledge-base sources for `spacy-biobert kb build`, read into scispaCy `Entity` records.

- `jsonl`: scispaCy's own KB format, one concept a line:
  `{"concept_id": "D003920", "canonical_name": "Diabetes Mellitus", "aliases": ["diabetes"], "types": ["Disease"]}`
  (`aliases`, `types` and `definition` optional).
- `tsv`: a vocabulary of `name<TAB>id[<TAB>...]` lines, synonyms `|`-separated in the third column or in
  the one `synonyms_column` (0-based) names (CTD's MEDIC `CTD_diseases.tsv`: 7, its `Synonyms`); `#` lines
  are comments. Ids keep their prefix (`MESH:D003920`) unless `strip_prefix` names it.
- `pubtator`: the concept ids of PubTator annotations: each id's mention texts become its aliases and the
  most frequent one its canonical name; the mention type its type.
"""
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Union

from scispacy.linking_utils import Entity

from ..errors import CorpusError, Errors
from ..readers.pubtator import PubTatorDoc, read_pubtator

SOURCE_FORMATS = ("jsonl", "tsv", "pubtator")
DEFAULT_SYNONYMS_COLUMN = 2
SUFFIX_FORMATS = {".jsonl": "jsonl", ".tsv": "tsv", ".txt": "pubtator", ".pubtator": "pubtator"}


def resolve_source_format(path: Union[str, Path], name: str = "auto") -> str:
    """The source format: `name`, or the one the file name implies."""
    path = Path(path)
    if name == "auto":
        fmt = SUFFIX_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise CorpusError(Errors.E702.format(path=path, choices=", ".join(SOURCE_FORMATS)))
        return fmt
    if name not in SOURCE_FORMATS:
        raise CorpusError(Errors.E703.format(name=name, choices=", ".join(("auto",) + SOURCE_FORMATS)))
    return name


def read_kb_source(
    path: Union[str, Path],
    fmt: str = "auto",
    *,
    synonyms_column: Optional[int] = None,
    strip_prefix: Optional[str] = None,
) -> List[Entity]:
    """The concepts of a KB source file in format `fmt` (`jsonl`, `tsv`, `pubtator` or `auto`)."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(Errors.E001.format(path=path))
    fmt = resolve_source_format(path, fmt)
    if fmt == "jsonl":
        entities = list(_read_jsonl(path))
    elif fmt == "tsv":
        entities = list(_read_tsv(path, synonyms_column, strip_prefix))
    else:
        entities = _from_pubtator(path)
    if not entities:
        raise CorpusError(Errors.E704.format(path=path, fmt=fmt))
    return entities


def _read_jsonl(path: Path) -> Iterable[Entity]:
    fields = set(Entity._fields)
    with path.open(encoding="utf8") as stream:
        for line_no, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise CorpusError(Errors.E003.format(path=f"{path}, line {line_no}", detail=err, expected="a JSON object a line")) from None
            if not isinstance(record, dict) or not record.get("concept_id") or not record.get("canonical_name"):
                raise CorpusError.bad_line(path, line_no, "an object with `concept_id` and `canonical_name`", line[:80])
            record = {key: value for key, value in record.items() if key in fields}
            record.setdefault("aliases", [])
            record["concept_id"] = str(record["concept_id"])
            yield Entity(**record)


def _read_tsv(path: Path, synonyms_column: Optional[int], strip_prefix: Optional[str]) -> Iterable[Entity]:
    with path.open(encoding="utf8") as stream:
        for line_no, line in enumerate(stream, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
                raise CorpusError.bad_line(path, line_no, "`name<TAB>id[<TAB>...]`", line[:80])
            name, concept_id = fields[0].strip(), fields[1].strip()
            if strip_prefix and concept_id.startswith(strip_prefix):
                concept_id = concept_id[len(strip_prefix):]
            column = DEFAULT_SYNONYMS_COLUMN if synonyms_column is None else synonyms_column
            synonyms = fields[column] if len(fields) > column else ""
            aliases = [alias.strip() for alias in synonyms.split("|") if alias.strip()]
            yield Entity(concept_id=concept_id, canonical_name=name, aliases=aliases)


def _from_pubtator(path: Path) -> List[Entity]:
    return entities_from_mentions(read_pubtator(path))


def entities_from_mentions(docs: Iterable[PubTatorDoc]) -> List[Entity]:
    """A concept per concept id of the documents' gold mentions: mention texts as aliases, the most frequent
    one as canonical name, mention types as types."""
    names: Dict[str, Counter] = defaultdict(Counter)
    types: Dict[str, Set[str]] = defaultdict(set)
    for doc in docs:
        for mention in doc.mentions:
            if mention.concept_id is not None:
                names[mention.concept_id][mention.text.strip()] += 1
                types[mention.concept_id].add(mention.type)
    return [
        Entity(concept_id=cid, canonical_name=counts.most_common(1)[0][0], aliases=sorted(counts),
               types=sorted(types[cid]))
        for cid, counts in sorted(names.items())
    ]
