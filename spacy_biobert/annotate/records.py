"""An annotated doc as a plain record: the JSONL output line, from which every other format is written.

    {"id": "PMID:1", "text": "...",
     "entities": [{"start": 0, "end": 5, "text": "BRCA1", "label": "GENE", "score": 0.9871,
                   "concept_id": "672", "concept_score": 0.93}],
     "relations": [{"head": 0, "tail": 1, "label": "ASSOCIATED", "score": 0.93}],
     "passages": [{"type": "title", "start": 0, "end": 42}, ...]}

Offsets are character offsets into `text`. Relations name their head and tail by index into
`entities`, as the relation JSONL reader (`spacy_biobert.RelJsonlReader.v1`) takes them. `score` is
written when the pipeline sets `Span._.score`; `relations` come from `doc._.relations` when a
component installs it (else the list is empty); `passages` only for inputs with title and abstract.
`concept_id` and `concept_score` are the best of `Span._.kb_ents` when an entity linker linked the entity.
Records depend on the doc alone, so every engine and batch size writes the same ones.
"""
from typing import Any, Dict, List, Tuple

from spacy.tokens import Doc, Span

from ..data_classes import KB_ENTS_EXTENSION, RELATIONS_EXTENSION, SCORE_EXTENSION, get_extension
from .documents import InputDoc

SCORE_DIGITS = 4


def doc_record(doc: Doc, item: InputDoc) -> Dict[str, Any]:
    """The output record of an annotated doc: its entities, relations and passages."""
    entities: List[Dict[str, Any]] = []
    index: Dict[Tuple[int, int, str], int] = {}
    for ent in doc.ents:
        _entity_index(ent, entities, index)
    relations = []
    for rel in get_extension(doc, RELATIONS_EXTENSION) or []:
        relation = {
            "head": _entity_index(rel.head, entities, index),
            "tail": _entity_index(rel.tail, entities, index),
            "label": rel.label,
        }
        if rel.score is not None:
            relation["score"] = _score(rel.score)
        relations.append(relation)
    record: Dict[str, Any] = {"id": item.id, "text": doc.text, "entities": entities, "relations": relations}
    if item.passages:
        record["passages"] = [passage._asdict() for passage in item.passages]
    return record


def _entity_index(span: Span, entities: List[Dict[str, Any]], index: Dict[Tuple[int, int, str], int]) -> int:
    """The index of a span in `entities`, appending it on first sight."""
    key = (span.start_char, span.end_char, span.label_)
    if key not in index:
        entity: Dict[str, Any] = {
            "start": span.start_char,
            "end": span.end_char,
            "text": span.text,
            "label": span.label_,
        }
        score = get_extension(span, SCORE_EXTENSION)
        if score is not None:
            entity["score"] = _score(score)
        kb_ents = get_extension(span, KB_ENTS_EXTENSION)
        if kb_ents:
            entity["concept_id"] = str(kb_ents[0][0])
            entity["concept_score"] = _score(kb_ents[0][1])
        index[key] = len(entities)
        entities.append(entity)
    return index[key]


def _score(value: float) -> float:
    """Scores rounded, so float noise between batch compositions does not change the output."""
    return round(float(value), SCORE_DIGITS)
