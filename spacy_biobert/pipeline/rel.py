"""`biobert_rel`: BioBERT's relation extraction between entity mentions of `doc.ents`, as a spaCy pipe.

Candidates are pairs of mentions from `doc.ents` and, with `spans_keys`, from those span groups too:
several NER components of one pipeline each write their own group, and a mention one of them found stays
a candidate even where another's overlapping entity won the place in `doc.ents`. Training takes them from
the same source of the reference doc (its gold mentions). The pairs are made by a registered generator
(`spacy_biobert.entity_pairs.v1`: one sentence, `max_distance`, `allowed_pairs`). `label_map` translates
the entity labels of the pipeline (say `Disease` from one NER corpus) into those the model was trained with
(say `DISEASE`) before the generator sees them. Relations at or above `threshold` are stored in the doc
as plain data (`spacy_biobert.data_classes`) and read back as `doc._.relations`, a list of
`Relation(head, tail, label, score)`.
"""
import warnings
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_get_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config, Model
from thinc.types import Floats2d, Ints2d

from ..annotations import RELATIONS, is_annotated
from ..data_classes import PairOffsets, Relation, get_relations, install_relation_extension, pair_offsets, set_relations
from ..errors import Errors, Warnings
from ..metrics.relations import score_relations
from .base import BioBertPipe

DEFAULT_REL_MODEL = """
[model]
@architectures = "spacy_biobert.RelationClassifier.v1"
hidden_width = 256
context = "sentence"
dropout = 0.1
multi_label = false

[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_REL_MODEL)["model"]

NO_RELATION = "NO_RELATION"


class Candidate(NamedTuple):
    """A directed entity pair to classify, with the span whose tokens give its context (its sentence)."""

    head: Span
    tail: Span
    context: Span


class RelationGold(NamedTuple):
    """The candidate pairs of a training batch, as spans of the predicted docs, and a target row of
    label probabilities per pair (in the order of `output_labels`)."""

    candidates: List[List[Candidate]]
    targets: Floats2d


CandidateGenerator = Callable[[Doc, Sequence[Span], Sequence[str]], List[Candidate]]


@registry.misc("spacy_biobert.entity_pairs.v1")
def create_entity_pairs(
    max_distance: int = 100,
    allowed_pairs: Optional[List[List[str]]] = None,
    ordered: bool = True,
    max_pairs: int = 1000,
) -> CandidateGenerator:
    """Directed pairs of non-overlapping mentions in one sentence (the whole doc when it has no sentences).

    max_distance (int): most tokens allowed between the end of the first mention and the start of the second.
    allowed_pairs (Optional[List[List[str]]]): (head label, tail label) pairs to consider, after the
        component's `label_map`; None or empty for all.
    ordered (bool): whether `allowed_pairs` fix the direction; if false, [A, B] also allows head B, tail A.
    max_pairs (int): most pairs a sentence gives (0: no limit); where there are more, the closest are kept
        (warning W201). The pairs grow with the square of the mentions: 300 mentions in one sentence make
        89,700, so without a cap one crowded sentence (a table, a gene list) costs minutes.
    """
    allowed: Optional[Set[Tuple[str, str]]] = None
    if allowed_pairs:
        allowed = set()
        for pair in allowed_pairs:
            if len(pair) != 2:
                raise ValueError(Errors.E204.format(pair=pair))
            allowed.add((pair[0], pair[1]))
            if not ordered:
                allowed.add((pair[1], pair[0]))
    if max_pairs < 0:
        raise ValueError(Errors.E209.format(max_pairs=max_pairs))

    def entity_pairs(doc: Doc, ents: Sequence[Span], labels: Sequence[str]) -> List[Candidate]:
        has_sents = doc.has_annotation("SENT_START")
        by_context: Dict[int, List[int]] = {}
        contexts: Dict[int, Span] = {}
        for i, ent in enumerate(ents):
            context = ent.sent if has_sents else doc[:]
            by_context.setdefault(context.start, []).append(i)
            contexts[context.start] = context
        candidates = []
        for key, members in by_context.items():
            for i, j in _sentence_pairs(ents, labels, members, allowed, max_distance, max_pairs):
                candidates.append(Candidate(ents[i], ents[j], contexts[key]))
        return candidates

    return entity_pairs


def _sentence_pairs(
    ents: Sequence[Span],
    labels: Sequence[str],
    members: List[int],
    allowed: Optional[Set[Tuple[str, str]]],
    max_distance: int,
    max_pairs: int,
) -> List[Tuple[int, int]]:
    """The (head, tail) indices of one sentence's allowed pairs, in the order head, then tail, computed on
    arrays so that crowded sentences stay cheap; the `max_pairs` closest where there are more."""
    index = numpy.asarray(members)
    starts = numpy.asarray([ents[i].start for i in members])
    ends = numpy.asarray([ents[i].end for i in members])
    keep = (starts[:, None] >= ends[None, :]) | (ends[:, None] <= starts[None, :])
    gap = numpy.maximum(starts[:, None], starts[None, :]) - numpy.minimum(ends[:, None], ends[None, :])
    keep &= gap <= max_distance
    if allowed is not None:
        names = sorted({labels[i] for i in members})
        codes = numpy.asarray([names.index(labels[i]) for i in members])
        table = numpy.zeros((len(names), len(names)), dtype=bool)
        for a, head in enumerate(names):
            for b, tail in enumerate(names):
                table[a, b] = (head, tail) in allowed
        keep &= table[codes[:, None], codes[None, :]]
    heads, tails = numpy.nonzero(keep)
    if max_pairs and len(heads) > max_pairs:
        warnings.warn(Warnings.W201.format(n_pairs=len(heads), max_pairs=max_pairs, start=int(starts.min())))
        closest = numpy.sort(numpy.argsort(gap[heads, tails], kind="stable")[:max_pairs])
        heads, tails = heads[closest], tails[closest]
    return list(zip(index[heads].tolist(), index[tails].tolist()))


@Language.factory(
    "biobert_rel",
    assigns=["doc._.relations"],
    requires=["doc.ents"],
    default_config={
        "model": DEFAULT_MODEL,
        "candidates": {"@misc": "spacy_biobert.entity_pairs.v1"},
        "label_map": {},
        "spans_keys": [],
        "threshold": 0.5,
        "scorer": {"@scorers": "spacy_biobert.rel_scorer.v1"},
    },
    default_score_weights={"rel_f": 1.0, "rel_p": 0.0, "rel_r": 0.0},
)
def make_biobert_rel(
    nlp: Language,
    name: str,
    model: Model,
    candidates: CandidateGenerator,
    label_map: Dict[str, str],
    spans_keys: List[str],
    threshold: float,
    scorer: Optional[Callable],
) -> "BioBertRelationExtractor":
    """Create a `biobert_rel` component.

    model (Model): the pair classifier (`spacy_biobert.RelationClassifier.v1`).
    candidates (Callable): makes the entity pairs to classify (`spacy_biobert.entity_pairs.v1`).
    label_map (Dict[str, str]): entity label in this pipeline → entity label the model was trained with;
        labels not in the map are kept.
    spans_keys (List[str]): span groups (`doc.spans`) whose spans are candidate mentions besides
        `doc.ents`, e.g. the `spans_key` of every NER component in the pipeline.
    threshold (float): relations with a score at or above it are written to `doc._.relations`.
    scorer (Optional[Callable]): the scoring method (`spacy_biobert.rel_scorer.v1`).
    """
    return BioBertRelationExtractor(
        nlp.vocab,
        model,
        name,
        candidates=candidates,
        label_map=label_map,
        spans_keys=spans_keys,
        threshold=threshold,
        scorer=scorer,
    )


@registry.scorers("spacy_biobert.rel_scorer.v1")
def make_rel_scorer() -> Callable[..., Dict[str, float]]:
    """Score relations as `re_eval.py` does: `rel_p`, `rel_r`, `rel_f` over the positive labels."""
    return score_rel


def score_rel(examples: Iterable[Example], **kwargs: Any) -> Dict[str, float]:
    """Micro P/R/F1 of the predicted relations against the gold ones (head, tail and label must match)."""
    prf = score_relations(examples)
    return {"rel_p": prf.precision, "rel_r": prf.recall, "rel_f": prf.fscore}


class BioBertRelationExtractor(BioBertPipe[RelationGold]):
    """Classify candidate entity pairs from a shared transformer's token vectors into relation labels."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "biobert_rel",
        *,
        candidates: CandidateGenerator,
        label_map: Dict[str, str],
        threshold: float,
        spans_keys: Sequence[str] = (),
        scorer: Optional[Callable] = score_rel,
    ) -> None:
        super().__init__(
            vocab, model, name, labels=[], label_map=dict(label_map), spans_keys=list(spans_keys), threshold=threshold
        )
        self.candidates = candidates
        self.scorer = scorer
        install_relation_extension()

    @property
    def labels(self) -> Tuple[str, ...]:
        """The relation labels (the negative class not included)."""
        return tuple(self.cfg["labels"])

    @property
    def multi_label(self) -> bool:
        return bool(self.model.attrs["multi_label"])

    @property
    def output_labels(self) -> Tuple[str, ...]:
        """One label per model output: the negative class first in single-label mode."""
        return self.labels if self.multi_label else (NO_RELATION,) + self.labels

    def add_label(self, label: str) -> int:
        """Add a relation label before `initialize`; the output layer cannot grow afterwards."""
        if label in self.labels:
            return 0
        if self.model.has_dim("nO"):
            raise ValueError(Errors.E207.format(name=self.name, label=label))
        self.cfg["labels"] = sorted(self.labels + (label,))
        return 1

    def find_candidates(self, doc: Doc, ents: Sequence[Span]) -> List[Candidate]:
        """The pairs of `ents` to classify, their labels translated by `label_map` first."""
        label_map = self.cfg["label_map"]
        return self.candidates(doc, ents, [label_map.get(ent.label_, ent.label_) for ent in ents])

    def mentions(self, doc: Doc) -> List[Span]:
        """The candidate mentions of a doc: `doc.ents` and the spans of the `spans_keys` groups, each
        (start, end, label) once, in document order."""
        groups = [doc.spans[key] for key in self.cfg["spans_keys"] if key in doc.spans]
        spans = list(doc.ents) + [span for group in groups for span in group]
        unique = {(span.start, span.end, span.label): span for span in spans}
        return sorted(unique.values(), key=lambda span: (span.start, span.end))

    def predict(self, docs: Iterable[Doc]) -> Tuple[List[List[Candidate]], Floats2d]:
        """Score the candidate pairs of each doc's mentions: (candidates per doc, scores a pair)."""
        if not self.labels:
            raise ValueError(Errors.E201.format(name=self.name))
        docs = list(docs)
        candidates = [self.find_candidates(doc, self.mentions(doc)) for doc in docs]
        if not any(candidates):
            return candidates, self.model.ops.alloc2f(0, len(self.output_labels))
        scores = self.model.predict((docs, [_pair_rows(doc_cands) for doc_cands in candidates]))
        return candidates, self.model.ops.to_numpy(scores)

    def set_annotations(self, docs: Iterable[Doc], predictions: Tuple[List[List[Candidate]], Floats2d]) -> None:
        """Store each doc's relations at or above the threshold (the negative class never counts)."""
        candidates, scores = predictions
        threshold = self.cfg["threshold"]
        labels = self.output_labels
        first = 0 if self.multi_label else 1
        row = 0
        for doc, doc_cands in zip(docs, candidates):
            relations = []
            for cand in doc_cands:
                for j in range(first, len(labels)):
                    if scores[row, j] >= threshold:
                        relations.append(Relation(cand.head, cand.tail, labels[j], scores[row, j]))
                row += 1
            set_relations(doc, relations)

    def gold_labels(self, example: Example) -> Iterable[str]:
        """The labels of the reference's relations, where it is marked for relations."""
        if not is_annotated(example.reference, RELATIONS):
            return []
        return [relation.label for relation in get_relations(example.reference)]

    def get_gold(self, examples: List[Example]) -> RelationGold:
        """The candidate pairs of each reference marked for relations, made from its mentions as `predict`
        makes them from a doc's, as spans of the predicted doc, with their targets; the other examples add
        no pair (so no loss)."""
        labels = self.output_labels
        index = {label: i for i, label in enumerate(labels)}
        candidates: List[List[Candidate]] = []
        targets = []
        for eg in examples:
            doc_cands = []
            if is_annotated(eg.reference, RELATIONS):
                gold = _gold_labels(eg.reference)
                for cand in self.find_candidates(eg.reference, self.mentions(eg.reference)):
                    mapped = _to_predicted(eg.predicted, cand)
                    if mapped is None:
                        continue
                    doc_cands.append(mapped)
                    found = gold.get(pair_offsets(cand.head, cand.tail), set()) & set(self.labels)
                    target = numpy.zeros((len(labels),), dtype="f")
                    for label in found:
                        target[index[label]] = 1.0
                    if not self.multi_label:
                        if found:
                            target /= target.sum()
                        else:
                            target[index[NO_RELATION]] = 1.0
                    targets.append(target)
            candidates.append(doc_cands)
        return RelationGold(candidates, numpy.asarray(targets, dtype="f").reshape((-1, len(labels))))

    def get_inputs(self, examples: List[Example], gold: RelationGold) -> Optional[Tuple[List[Doc], List[Ints2d]]]:
        """The predicted docs with the rows of their gold candidates, also for a batch without any: the
        shared transformer updates only once the last of its listeners has passed its gradient back.
        None when all docs are empty."""
        if not any(len(eg.predicted) for eg in examples):
            return None
        return [eg.predicted for eg in examples], [_pair_rows(doc_cands) for doc_cands in gold.candidates]

    def get_gold_loss(self, scores: Floats2d, gold: RelationGold) -> Tuple[float, Floats2d]:
        """Cross-entropy against the gold labels: categorical (softmax) or binary (multi-label), mean a pair."""
        ops = self.model.ops
        if not len(gold.targets):
            return 0.0, ops.alloc2f(*scores.shape)
        truth = ops.asarray2f(gold.targets)
        probs = ops.xp.clip(scores, 1e-8, 1 - 1e-8)
        if self.multi_label:
            loss = -(truth * ops.xp.log(probs) + (1 - truth) * ops.xp.log(1 - probs)).sum()
        else:
            loss = -(truth * ops.xp.log(probs)).sum()
        n_pairs = scores.shape[0]
        return float(loss) / n_pairs, (scores - truth) / n_pairs

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Add the relation labels of `labels`, or else those found in the data, to the labels already added
        with `add_label`, size the output and initialise the model."""
        validate_get_examples(get_examples, "BioBertRelationExtractor.initialize")
        self.initialize_labels(get_examples, labels)
        if not self.labels:
            raise ValueError(Errors.E202.format(name=self.name))
        self.model.set_dim("nO", len(self.output_labels))
        sample = self.init_sample(get_examples)
        candidates = self.get_gold(sample).candidates
        self.model.initialize(X=([eg.predicted for eg in sample], [_pair_rows(c) for c in candidates]))


def _pair_rows(candidates: Sequence[Candidate]) -> Ints2d:
    """The model's input rows for one doc: token offsets of head, tail and context."""
    rows = [
        (c.head.start, c.head.end, c.tail.start, c.tail.end, c.context.start, c.context.end) for c in candidates
    ]
    return numpy.asarray(rows, dtype="i").reshape((-1, 6))


def _gold_labels(doc: Doc) -> Dict[PairOffsets, Set[str]]:
    """The gold relation labels of a reference doc by the character offsets of (head, tail)."""
    gold: Dict[PairOffsets, Set[str]] = {}
    for relation in get_relations(doc):
        gold.setdefault(pair_offsets(relation.head, relation.tail), set()).add(relation.label)
    return gold


def _to_predicted(doc: Doc, cand: Candidate) -> Optional[Candidate]:
    """A reference candidate as spans of the predicted doc (same text, maybe other tokens)."""
    spans = [
        doc.char_span(span.start_char, span.end_char, label=span.label_, alignment_mode="expand")
        for span in cand
    ]
    if any(span is None for span in spans):
        return None
    return Candidate(*spans)
