"""Which annotation layers a training example carries, so several corpora can train one pipeline.

Readers of spacy-biobert mark each reference doc with the layers it is annotated for: a NER corpus
with its spans key (say `ner_gene`), a relation corpus with `RELATIONS`. A component learns only from
examples marked for its own layer, so the genes of one corpus are never negatives for another
corpus's chemicals. Docs without any mark (a user's own DocBin) count as annotated for every layer.

`GIVEN_PAIRS` marks relation docs whose gold covers only the pairs of their own entities (BioBERT's relation
sentences: one marked pair each); relations a pipeline finds between other mentions of such a doc
are outside its annotation, so the relation scorer does not count them.
"""
from typing import Iterable

from spacy.tokens import Doc

ANNOTATIONS_KEY = "biobert_annotations"
RELATIONS = "relations"
QUESTIONS = "questions"
GIVEN_PAIRS = "given_pairs"


def mark_annotated(doc: Doc, layers: Iterable[str]) -> None:
    """Record that `doc` carries gold annotation for `layers` (spans keys, `RELATIONS`, `QUESTIONS`)."""
    marked = doc.user_data.setdefault(ANNOTATIONS_KEY, [])
    marked.extend(layer for layer in layers if layer not in marked)


def is_annotated(doc: Doc, layer: str) -> bool:
    """Whether a reference doc may teach the component of `layer`: marked for it, or not marked at all."""
    marked = doc.user_data.get(ANNOTATIONS_KEY)
    return marked is None or layer in marked


def is_marked(doc: Doc, layer: str) -> bool:
    """Whether a reference doc carries the mark `layer` itself (unmarked docs carry none)."""
    return layer in doc.user_data.get(ANNOTATIONS_KEY, [])
