"""Relation extraction P/R/F1 over the positive labels, as BioBERT's `re_eval.py` computes them.

BioBERT scores GAD and EU-ADR as binary classification of sentences: precision, recall and F1 of
class 1 (sklearn's `precision_recall_fscore_support`, taking index 1). For data with several
relation labels (ChemProt style) the scores are micro-averaged over the positive labels. Both are the
same computation: every (instance, positive label) decision counts once, the negative class never.
A ratio whose denominator is zero counts as 0.0, as sklearn reports it.
"""
from typing import Dict, Iterable, NamedTuple, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc
from spacy.training import Example

from ..annotations import GIVEN_PAIRS, RELATIONS, is_annotated, is_marked

RelationKey = Tuple[int, int, int, int, str]


class PRF(NamedTuple):
    """Precision, recall and F1 in [0, 1], with the counts they come from."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def prf_from_counts(tp: int, fp: int, fn: int) -> PRF:
    """P/R/F1 from true positives, false positives and false negatives (0.0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1, tp, fp, fn)


def prf_from_label_sets(gold: Sequence[Set[str]], pred: Sequence[Set[str]]) -> PRF:
    """Micro P/R/F1 over instances that each carry a set of positive labels (multi-label data)."""
    if len(gold) != len(pred):
        raise ValueError(f"gold and predicted label lists differ in length: {len(gold)} vs {len(pred)}")
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    fp = sum(len(p - g) for g, p in zip(gold, pred))
    fn = sum(len(g - p) for g, p in zip(gold, pred))
    return prf_from_counts(tp, fp, fn)


def prf_from_labels(gold: Sequence[str], pred: Sequence[str], positive_labels: Iterable[str] = ("1",)) -> PRF:
    """P/R/F1 of the positive label(s) for single-label instances, as `re_eval.py` on a label column.

    With `positive_labels=("1",)` and 0/1 labels this is sklearn's P/R/F1 of class 1. Any label not
    in `positive_labels` is a negative (no relation).
    """
    positive = set(positive_labels)
    return prf_from_label_sets(
        [{label} & positive for label in gold], [{label} & positive for label in pred]
    )


def relation_keys(data: Iterable[Dict], doc: Doc) -> Set[RelationKey]:
    """Relations stored in `doc`'s user data as (head start, head end, tail start, tail end, label).

    Offsets are characters, so relations of docs that tokenise one text differently compare equal.
    """
    keys = set()
    for rel in data:
        head = doc[rel["head"][0] : rel["head"][1]]
        tail = doc[rel["tail"][0] : rel["tail"][1]]
        keys.add((head.start_char, head.end_char, tail.start_char, tail.end_char, rel["label"]))
    return keys


def score_relations(
    examples: Iterable[Example], *, user_data_key: str, labels: Optional[Iterable[str]] = None
) -> PRF:
    """Micro P/R/F1 of predicted vs gold relations over the examples annotated for relations.

    A relation is right when head span, tail span (by character offsets) and label all match.
    `labels` restricts the count to those relation labels; all labels count when it is None. On references
    marked `GIVEN_PAIRS` (GAD-style sentences), only predictions between the reference's entities count.
    """
    keep = set(labels) if labels is not None else None
    gold_sets = []
    pred_sets = []
    for eg in examples:
        if not is_annotated(eg.reference, RELATIONS):
            continue
        gold = relation_keys(eg.reference.user_data.get(user_data_key, []), eg.reference)
        pred = relation_keys(eg.predicted.user_data.get(user_data_key, []), eg.predicted)
        if is_marked(eg.reference, GIVEN_PAIRS):
            given = {(ent.start_char, ent.end_char) for ent in eg.reference.ents}
            pred = {key for key in pred if key[:2] in given and key[2:4] in given}
        if keep is not None:
            gold = {key for key in gold if key[4] in keep}
            pred = {key for key in pred if key[4] in keep}
        gold_sets.append(gold)
        pred_sets.append(pred)
    return prf_from_label_sets(gold_sets, pred_sets)

