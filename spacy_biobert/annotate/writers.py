"""Output formats of `spacy-biobert annotate`: JSONL, PubTator and BioC JSON, written as a stream.

- `jsonl`: one record a line (see `spacy_biobert.annotate.records`): entities with offsets, labels and
  scores, relations by entity index, the document id.
- `pubtator`: `id|t|title`, `id|a|abstract`, then a line per entity
  (`id<TAB>start<TAB>end<TAB>text<TAB>label<TAB>ID`) and per relation (`id<TAB>label<TAB>ID<TAB>ID`),
  and a blank line. Offsets count over `title + " " + abstract` as PubTator's do. A document without
  passages is written whole as its title. The sixth column holds the entity's concept id when an entity
  linker gave it one, else the mention id `T<i>`; relation lines name head and tail by the same column.
  Scores are not written.
- `bioc`: a BioC JSON collection; each document has its passages (or one `text` passage), the entities
  as annotations (`infons.type` = label, `infons.score`, `infons.identifier` = concept id when linked),
  relations at document level with `head` and `tail` nodes. Offsets are document offsets, as BioC has them.
"""
import json
from typing import IO, Any, Callable, Dict, Iterable, List, Tuple

from ..errors import AnnotateError, Errors

OUTPUT_FORMATS = ("jsonl", "pubtator", "bioc")
SUFFIX_FORMATS = {".jsonl": "jsonl", ".pubtator": "pubtator", ".json": "bioc"}
BIOC_SOURCE = "spacy-biobert"

Record = Dict[str, Any]


def resolve_output_format(path: str, name: str = "auto") -> str:
    """The output format: `name`, or the one the file name implies (`.jsonl`, `.pubtator`, `.json`)."""
    if name == "auto":
        suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if suffix not in SUFFIX_FORMATS:
            choices = ", ".join(OUTPUT_FORMATS)
            raise AnnotateError(Errors.E503.format(kind="output", name=f"auto ({path})", choices=choices))
        return SUFFIX_FORMATS[suffix]
    if name not in OUTPUT_FORMATS:
        raise AnnotateError(Errors.E503.format(kind="output", name=name, choices=", ".join(("auto",) + OUTPUT_FORMATS)))
    return name


def write_records(records: Iterable[Record], stream: IO[str], fmt: str) -> int:
    """Write `records` to a text stream in `fmt`; returns how many were written."""
    writers: Dict[str, Callable[[Iterable[Record], IO[str]], int]] = {
        "jsonl": _write_jsonl,
        "pubtator": _write_pubtator,
        "bioc": _write_bioc,
    }
    return writers[fmt](records, stream)


def dump_json(record: Record) -> str:
    """One record as a compact JSON line (UTF-8 text kept readable)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _write_jsonl(records: Iterable[Record], stream: IO[str]) -> int:
    count = 0
    for count, record in enumerate(records, start=1):
        stream.write(dump_json(record) + "\n")
    return count


def _write_pubtator(records: Iterable[Record], stream: IO[str]) -> int:
    count = 0
    for count, record in enumerate(records, start=1):
        doc_id = _one_line(str(record["id"]))
        title, abstract, to_pubtator = _pubtator_layout(record)
        stream.write(f"{doc_id}|t|{_one_line(title)}\n{doc_id}|a|{_one_line(abstract)}\n")
        ids = [_one_line(ent.get("concept_id") or f"T{i}") for i, ent in enumerate(record["entities"])]
        for ent, ent_id in zip(record["entities"], ids):
            start, end = to_pubtator(ent["start"]), to_pubtator(ent["end"])
            stream.write(f"{doc_id}\t{start}\t{end}\t{_one_line(ent['text'])}\t{ent['label']}\t{ent_id}\n")
        for rel in record["relations"]:
            stream.write(f"{doc_id}\t{rel['label']}\t{ids[rel['head']]}\t{ids[rel['tail']]}\n")
        stream.write("\n")
    return count


def _pubtator_layout(record: Record) -> Tuple[str, str, Callable[[int], int]]:
    """Title, abstract and the map from record offsets to PubTator's `title + " " + abstract` offsets."""
    text = record["text"]
    passages = {p["type"]: p for p in record.get("passages", [])}
    title_p, abstract_p = passages.get("title"), passages.get("abstract")
    if abstract_p is None:
        return text, "", lambda offset: offset
    title = text[title_p["start"]:title_p["end"]] if title_p is not None else ""
    shift = len(title) + 1 - abstract_p["start"]
    return title, text[abstract_p["start"]:abstract_p["end"]], lambda o: o + shift if o >= abstract_p["start"] else o


def _write_bioc(records: Iterable[Record], stream: IO[str]) -> int:
    stream.write(f'{{"source":"{BIOC_SOURCE}","date":"","key":"","infons":{{}},"documents":[')
    count = 0
    for count, record in enumerate(records, start=1):
        if count > 1:
            stream.write(",")
        stream.write("\n" + json.dumps(_bioc_document(record), ensure_ascii=False, separators=(",", ":")))
    stream.write("\n]}\n")
    return count


def _bioc_document(record: Record) -> Record:
    text = record["text"]
    spans = record.get("passages") or [{"type": "text", "start": 0, "end": len(text)}]
    passages: List[Record] = [
        {
            "offset": p["start"],
            "infons": {"type": p["type"]},
            "text": text[p["start"]:p["end"]],
            "sentences": [],
            "annotations": [],
            "relations": [],
        }
        for p in spans
    ]
    for i, ent in enumerate(record["entities"]):
        infons = {"type": ent["label"]}
        if "score" in ent:
            infons["score"] = str(ent["score"])
        if "concept_id" in ent:
            infons["identifier"] = ent["concept_id"]
        annotation = {
            "id": f"T{i}",
            "infons": infons,
            "text": ent["text"],
            "locations": [{"offset": ent["start"], "length": ent["end"] - ent["start"]}],
        }
        holder = next((p for p, s in zip(passages, spans) if s["start"] <= ent["start"] < s["end"]), passages[-1])
        holder["annotations"].append(annotation)
    relations = []
    for i, rel in enumerate(record["relations"]):
        infons = {"type": rel["label"]}
        if "score" in rel:
            infons["score"] = str(rel["score"])
        nodes = [{"refid": f"T{rel['head']}", "role": "head"}, {"refid": f"T{rel['tail']}", "role": "tail"}]
        relations.append({"id": f"R{i}", "infons": infons, "nodes": nodes})
    return {"id": str(record["id"]), "infons": {}, "passages": passages, "relations": relations}


def _one_line(text: str) -> str:
    """Text safe for a line-and-tab format: line breaks and tabs become spaces (offsets unchanged)."""
    return text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
