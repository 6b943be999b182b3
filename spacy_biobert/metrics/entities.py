"""Exact-match entity precision, recall and F1, the numbers conlleval gives BioBERT.

conlleval reads entities ("chunks") off IOB1/IOB2/IOBES tag sequences with a few rules: `B-` and `S-` start
an entity, so does an `I-`/`E-` after `O`, after an `E-`/`S-`, or after a tag of another type (an `I-X`
after `O` or after `B-Y` is *not* dropped: it opens a new entity). An entity is correct when a gold entity
has the same first token, last token and type. Precision = correct / predicted, recall = correct / gold,
F1 = 2PR / (P + R), each 0 when its denominator is 0. Sentence boundaries end every entity.

Type-agnostic scores are computed as BioBERT's detokenizer feeds conlleval: the types are removed from the
tags first (`B-Chemical` -> `B`), then entities are read and matched on their boundaries alone.

For spaCy `Example`s the entities are compared on character offsets, which on the same tokens is the same
as conlleval's token positions and stays exact when predicted and reference tokens differ (spaCy's
`Scorer.score_spans` maps predictions onto the reference's tokens and drops those that do not align,
which conlleval would count as wrong). The counts are spaCy's `PRFScore`s, whose P/R/F1 are conlleval's.
"""
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.scorer import PRFScore
from spacy.training import Example

from ..annotations import is_annotated
from ..errors import Errors

Entity = Tuple[int, int, str]
OUTSIDE = "O"


def split_tag(tag: str) -> Tuple[str, str]:
    """`B-Disease` -> (`B`, `Disease`); `B` -> (`B`, ``); `O` -> (`O`, ``)."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, _, entity_type = tag.partition("-")
    return prefix, entity_type


def strip_types(tags: Sequence[str]) -> List[str]:
    """The tags without their types (`B-Chemical` -> `B`), as BioBERT's untyped evaluation sees them."""
    return [split_tag(tag)[0] for tag in tags]


def _starts(prev_prefix: str, prev_type: str, prefix: str, entity_type: str) -> bool:
    if prefix in ("B", "S"):
        return True
    if prefix in ("I", "E") and prev_prefix in (OUTSIDE, "E", "S"):
        return True
    return prefix != OUTSIDE and prev_type != entity_type


def _ends(prev_prefix: str, prev_type: str, prefix: str, entity_type: str) -> bool:
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", OUTSIDE):
        return True
    return prev_prefix != OUTSIDE and prev_type != entity_type


def iob_to_spans(tags: Sequence[str]) -> List[Entity]:
    """The entities `(start, end, type)` (end exclusive) in one sentence's tags, read as conlleval does."""
    spans: List[Entity] = []
    start: Optional[int] = None
    prev_prefix, prev_type = OUTSIDE, ""
    for i, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, entity_type = split_tag(tag)
        if start is not None and _ends(prev_prefix, prev_type, prefix, entity_type):
            spans.append((start, i, prev_type))
            start = None
        if _starts(prev_prefix, prev_type, prefix, entity_type):
            start = i
        prev_prefix, prev_type = prefix, entity_type
    return spans


class EntityScore:
    """Entity P/R/F1 over a corpus, in total and per type, accumulated a sentence (or doc) at a time."""

    def __init__(self) -> None:
        self.total = PRFScore()
        self.per_type: Dict[str, PRFScore] = defaultdict(PRFScore)

    def add(self, gold: Iterable[Entity], predicted: Iterable[Entity]) -> None:
        """Count one sentence's (or doc's) gold and predicted entities `(start, end, type)`."""
        gold_set, pred_set = set(gold), set(predicted)
        self.total.score_set(pred_set, gold_set)
        for label in {label for _, _, label in gold_set | pred_set}:
            self.per_type[label].score_set(_of_type(pred_set, label), _of_type(gold_set, label))

    def to_dict(self, prefix: str = "ents") -> Dict[str, object]:
        """spaCy's score keys: `ents_p`, `ents_r`, `ents_f` and `ents_per_type` ({type: {p, r, f}})."""
        return {
            f"{prefix}_p": self.total.precision,
            f"{prefix}_r": self.total.recall,
            f"{prefix}_f": self.total.fscore,
            f"{prefix}_per_type": {label: counts.to_dict() for label, counts in sorted(self.per_type.items())},
        }


def _of_type(entities: Set[Entity], label: str) -> Set[Entity]:
    return {entity for entity in entities if entity[2] == label}


def score_tag_sequences(
    gold: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]], *, typed: bool = True
) -> EntityScore:
    """conlleval's scores over paired sentences of gold and predicted tags (typed, or type-agnostic)."""
    score = EntityScore()
    for gold_tags, pred_tags in zip(gold, predicted):
        if len(gold_tags) != len(pred_tags):
            raise ValueError(Errors.E035.format(gold=len(gold_tags), predicted=len(pred_tags)))
        if not typed:
            gold_tags, pred_tags = strip_types(gold_tags), strip_types(pred_tags)
        score.add(iob_to_spans(gold_tags), iob_to_spans(pred_tags))
    return score


def score_examples(
    examples: Iterable[Example], *, spans_key: Optional[str] = None, typed: bool = True
) -> EntityScore:
    """Entity scores of predicted against reference docs.

    Without `spans_key` both sides use `doc.ents`. With it, only the examples annotated for the key count
    (`spacy_biobert.annotations.is_annotated`); the gold entities are `reference.spans[spans_key]`, or
    `reference.ents` when the reference has no such group, and the predictions `predicted.spans[spans_key]`.
    """
    score = EntityScore()
    for eg in examples:
        if spans_key is None:
            gold_spans, pred_spans = list(eg.reference.ents), list(eg.predicted.ents)
        else:
            if not is_annotated(eg.reference, spans_key):
                continue
            ref = eg.reference
            gold_spans = list(ref.spans[spans_key]) if spans_key in ref.spans else list(ref.ents)
            pred = eg.predicted
            pred_spans = list(pred.spans[spans_key]) if spans_key in pred.spans else []
        score.add(
            ((s.start_char, s.end_char, s.label_ if typed else "") for s in gold_spans),
            ((s.start_char, s.end_char, s.label_ if typed else "") for s in pred_spans),
        )
    return score
