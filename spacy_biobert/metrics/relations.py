"""Relation extraction P/R/F1 over the positive labels, as BioBERT's `re_eval.py` computes them.

BioBERT scores its relation corpora as binary classification of sentences: precision, recall and F1 of
class 1 (sklearn's `precision_recall_fscore_support`, taking index 1). For data with several
relation labels the scores are micro-averaged over the positive labels. Both are the
same computation: every (instance, positive label) decision counts once, the negative class never.
A ratio whose denominator is zero counts as 0.0, as sklearn reports it. The counts and ratios are
spaCy's `PRFScore` (`precision`, `recall`, `fscore`).
"""
from typing import Iterable, Optional, Sequence, Set, Tuple

from spacy.scorer import PRFScore
from spacy.tokens import Doc
from spacy.training import Example

from ..annotations import GIVEN_PAIRS, RELATIONS, is_annotated, is_marked
from ..data_classes import get_relations, pair_offsets
from ..errors import Errors

RelationKey = Tuple[int, int, int, int, str]


def prf_from_label_sets(gold: Sequence[Set[str]], pred: Sequence[Set[str]]) -> PRFScore:
    """Micro P/R/F1 over instances that each carry a set of positive labels (multi-label data)."""
    if len(gold) != len(pred):
        raise ValueError(Errors.E208.format(n_gold=len(gold), n_pred=len(pred)))
    prf = PRFScore()
    for gold_labels, pred_labels in zip(gold, pred):
        prf.score_set(pred_labels, gold_labels)
    return prf


def prf_from_labels(gold: Sequence[str], pred: Sequence[str], positive_labels: Iterable[str] = ("1",)) -> PRFScore:
    """P/R/F1 of the positive label(s) for single-label instances, as `re_eval.py` on a label column.

    With `positive_labels=("1",)` and 0/1 labels this is sklearn's P/R/F1 of class 1. Any label not
    in `positive_labels` is a negative (no relation).
    """
    positive = set(positive_labels)
    return prf_from_label_sets([{label} & positive for label in gold], [{label} & positive for label in pred])


def relation_keys(doc: Doc) -> Set[RelationKey]:
    """The relations stored in `doc` as (head start, head end, tail start, tail end, label).

    Offsets are characters, so relations of docs that tokenise one text differently compare equal.
    """
    return {pair_offsets(rel.head, rel.tail) + (rel.label,) for rel in get_relations(doc)}


def score_relations(examples: Iterable[Example], *, labels: Optional[Iterable[str]] = None) -> PRFScore:
    """Micro P/R/F1 of predicted vs gold relations over the examples annotated for relations.

    A relation is right when head span, tail span (by character offsets) and label all match.
    `labels` restricts the count to those relation labels; all labels count when it is None. On references
    marked `GIVEN_PAIRS` (sentences with one marked pair), only predictions between the reference's entities count.
    """
    keep = set(labels) if labels is not None else None
    prf = PRFScore()
    for eg in examples:
        if not is_annotated(eg.reference, RELATIONS):
            continue
        gold = relation_keys(eg.reference)
        pred = relation_keys(eg.predicted)
        if is_marked(eg.reference, GIVEN_PAIRS):
            given = {(ent.start_char, ent.end_char) for ent in eg.reference.ents}
            pred = {key for key in pred if key[:2] in given and key[2:4] in given}
        if keep is not None:
            gold = {key for key in gold if key[4] in keep}
            pred = {key for key in pred if key[4] in keep}
        prf.score_set(pred, gold)
    return prf
