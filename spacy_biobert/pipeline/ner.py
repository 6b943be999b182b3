"""biobert_ner: BioBERT's token-classification NER as a trainable spaCy component.

A softmax over BIO tags for each token (its first wordpiece by default), decoded with a constrained
Viterbi that only emits valid sequences, or with a plain argmax (`decoder = "argmax"`, BioBERT's way).
Predicted entities go to `doc.spans[spans_key]` (default key: the component's name) and are merged into
`doc.ents`. Each entity's `Span._.score` is the mean probability of its tokens' decoded tags, a value in
[0, 1]; the span group's `attrs["scores"]` holds the same numbers in span order.

Several instances can listen to one `transformer` and be trained together on different corpora: an
instance learns only from reference docs annotated for its `spans_key` (`spacy_biobert.annotations`) and
gives a zero gradient for the others, so one corpus's entities are never negatives for another's types.
"""
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_get_examples
from spacy.util import filter_spans, registry
from spacy.vocab import Vocab
from thinc.api import Config, Model
from thinc.types import Floats1d, Floats2d, Ints1d

from ..annotations import is_annotated
from ..data_classes import SCORE_EXTENSION
from ..errors import Errors
from ..metrics.entities import iob_to_spans, score_examples
from .base import BioBertPipe

default_model_config = """
[model]
@architectures = "spacy_biobert.TokenClassifier.v1"
nO = null
dropout = 0.1

[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "spacy_biobert.reduce_first_safe.v1"
"""
DEFAULT_NER_MODEL = Config().from_str(default_model_config)["model"]
DECODERS = ("viterbi", "argmax")
# Floor for probabilities before taking logs in the Viterbi decoder.
MIN_PROB = 1e-12

Prediction = Tuple[Ints1d, Floats1d]


@Language.factory(
    "biobert_ner",
    assigns=["doc.ents", "doc.spans", "span._.score"],
    default_config={
        "model": DEFAULT_NER_MODEL,
        "spans_key": None,
        "decoder": "viterbi",
        "scorer": {"@scorers": "spacy_biobert.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_biobert_ner(
    nlp: Language,
    name: str,
    model: Model[List[Doc], List[Floats2d]],
    spans_key: Optional[str],
    decoder: str,
    scorer: Optional[Callable],
) -> "BioBertNER":
    """Create a biobert_ner component.

    model: a token classifier returning one row of tag probabilities a token
        (`spacy_biobert.TokenClassifier.v1`).
    spans_key: the `doc.spans` key the entities are written to and whose annotated examples the
        component learns from; null means the component's name.
    decoder: "viterbi" (only valid BIO sequences) or "argmax" (each token's best tag, as BioBERT).
    scorer: the scoring method (`spacy_biobert.ner_scorer.v1`).
    """
    return BioBertNER(nlp.vocab, model, name, spans_key=spans_key or name, decoder=decoder, scorer=scorer)


def ner_score(examples: Iterable[Example], *, spans_key: Optional[str] = None, **kwargs: Any) -> Dict[str, Any]:
    """conlleval's exact-match entity P/R/F1 with spaCy's keys `ents_p`, `ents_r`, `ents_f`, `ents_per_type`.

    With `spans_key`, the predictions in `doc.spans[spans_key]` are scored on the examples annotated for
    that key, under the `ents_*` keys and again under `spans_<key>_*`: with several NER components in a
    pipeline the `ents_*` keys hold the last one's scores, the `spans_<key>_*` keys each one's (weigh
    those in `[training.score_weights]`). Without `spans_key`, `doc.ents` on all examples.
    """
    scores = score_examples(examples, spans_key=spans_key)
    result = scores.to_dict("ents")
    if spans_key is not None:
        result.update(scores.to_dict(f"spans_{spans_key}"))
    return result


@registry.scorers("spacy_biobert.ner_scorer.v1")
def make_ner_scorer() -> Callable[..., Dict[str, Any]]:
    return ner_score


class BioBertNER(BioBertPipe[List[Optional[Ints1d]]]):
    """BioBERT's NER: a softmax token classifier over BIO tags with a constrained decoder."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], List[Floats2d]],
        name: str = "biobert_ner",
        *,
        spans_key: str = "biobert_ner",
        decoder: str = "viterbi",
        scorer: Optional[Callable] = ner_score,
    ) -> None:
        if decoder not in DECODERS:
            raise ValueError(Errors.E102.format(decoder=decoder, name=name, choices=", ".join(DECODERS)))
        super().__init__(vocab, model, name, labels=[], spans_key=spans_key, decoder=decoder)
        self.scorer = scorer
        if not Span.has_extension(SCORE_EXTENSION):
            Span.set_extension(SCORE_EXTENSION, default=None)

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity types, in the order their tags take in the output layer."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    @property
    def tags(self) -> List[str]:
        """The BIO tags: `O`, then `B-X`, `I-X` for each label X."""
        return ["O"] + [f"{prefix}-{label}" for label in self.labels for prefix in ("B", "I")]

    @property
    def spans_key(self) -> str:
        return self.cfg["spans_key"]

    def add_label(self, label: str) -> int:
        """Add an entity type before the component is initialised; 0 when it is already there."""
        if not isinstance(label, str):
            raise ValueError(Errors.E105.format(label=label))
        if label in self.labels:
            return 0
        self._allow_extra_label()
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    def _allow_extra_label(self) -> None:
        output_layer = self.model.get_ref("output_layer")
        if output_layer.has_dim("nO") and len(self.tags) + 2 > output_layer.get_dim("nO"):
            raise ValueError(Errors.E104.format(name=self.name))

    def _require_labels(self) -> None:
        if not self.labels:
            raise ValueError(Errors.E101.format(name=self.name))

    def predict(self, docs: Iterable[Doc]) -> List[Prediction]:
        """Decode each doc's tag probabilities into tag ids and the probability of each chosen tag."""
        self._require_labels()
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            return [(numpy.zeros((len(doc),), dtype="i"), numpy.zeros((len(doc),), dtype="f")) for doc in docs]
        probs = self.model.predict(docs)
        decode = viterbi_decode if self.cfg["decoder"] == "viterbi" else argmax_decode
        allowed, allowed_start = bio_transitions(len(self.labels))
        predictions = []
        for doc_probs in probs:
            doc_probs = self.model.ops.to_numpy(doc_probs)
            tag_ids = decode(doc_probs, allowed, allowed_start)
            predictions.append((tag_ids, doc_probs[numpy.arange(len(tag_ids)), tag_ids]))
        return predictions

    def set_annotations(self, docs: Iterable[Doc], predictions: List[Prediction]) -> None:
        """Write the entities to `doc.spans[spans_key]` with their scores, and merge them into `doc.ents`."""
        tags = self.tags
        for doc, (tag_ids, tag_probs) in zip(docs, predictions):
            spans = []
            scores = []
            for start, end, label in iob_to_spans([tags[i] for i in tag_ids]):
                spans.append(Span(doc, start, end, label=label))
                scores.append(float(tag_probs[start:end].mean()))
            doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans, attrs={"scores": scores})
            for span, score in zip(spans, scores):
                span._.score = score
            doc.ents = merge_entities(doc, list(doc.ents), spans)

    def get_gold(self, examples: List[Example]) -> List[Optional[Ints1d]]:
        """Each example's gold tag ids on its predicted doc's tokens; None for an empty doc or one whose
        reference is not annotated for this component's key (it gives a zero gradient)."""
        return [
            self._gold_tag_ids(eg) if len(eg.predicted) and is_annotated(eg.reference, self.spans_key) else None
            for eg in examples
        ]

    def get_inputs(self, examples: List[Example], gold: List[Optional[Ints1d]]) -> Optional[List[Doc]]:
        """The predicted docs, also when none is annotated for this component: the shared transformer
        updates only once the last of its listeners has passed its gradient back. None when all are empty."""
        if not any(len(eg.predicted) for eg in examples):
            return None
        return [eg.predicted for eg in examples]

    def get_gold_loss(self, scores: List[Floats2d], gold: List[Optional[Ints1d]]) -> Tuple[float, List[Floats2d]]:
        """Mean token cross-entropy over the annotated docs, and its gradient w.r.t. the probabilities.

        As the output layer is a softmax, `probabilities - one_hot(gold)` is the gradient of the
        cross-entropy with respect to the logits, which is what thinc's Softmax backpropagates.
        """
        ops = self.model.ops
        xp = ops.xp
        d_scores: List[Floats2d] = []
        loss = 0.0
        n_tokens = 0
        for doc_scores, doc_gold in zip(scores, gold):
            d_doc = doc_scores.copy()
            if doc_gold is None:
                d_doc.fill(0.0)
                d_scores.append(d_doc)
                continue
            tag_ids = ops.asarray1i(doc_gold)
            rows = xp.arange(len(tag_ids))
            loss += float(-xp.log(xp.maximum(doc_scores[rows, tag_ids], MIN_PROB)).sum())
            d_doc[rows, tag_ids] -= 1.0
            d_scores.append(d_doc)
            n_tokens += len(tag_ids)
        if n_tokens:
            d_scores = [d_doc / n_tokens for d_doc in d_scores]
            loss /= n_tokens
        return loss, d_scores

    def gold_labels(self, example: Example) -> Iterable[str]:
        """The entity types of the reference, where it is annotated for this component's key."""
        if not is_annotated(example.reference, self.spans_key):
            return []
        return [span.label_ for span in self._gold_spans(example.reference)]

    def _gold_spans(self, reference: Doc) -> List[Span]:
        if self.spans_key in reference.spans:
            return list(reference.spans[self.spans_key])
        return list(reference.ents)

    def _gold_tag_ids(self, eg: Example) -> numpy.ndarray:
        """Gold tag ids on the predicted doc's tokens; spans of unknown types or misaligned count as O."""
        tag_index = {tag: i for i, tag in enumerate(self.tags)}
        gold = numpy.zeros((len(eg.predicted),), dtype="i")
        aligned = filter_spans(eg.get_aligned_spans_y2x(self._gold_spans(eg.reference), allow_overlap=True))
        for span in aligned:
            if span.label_ not in self.labels:
                continue
            gold[span.start] = tag_index[f"B-{span.label_}"]
            gold[span.start + 1 : span.end] = tag_index[f"I-{span.label_}"]
        return gold

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        """Add the labels of `labels`, or else those of the examples annotated for this key, to the labels
        already added with `add_label`, and size the model."""
        validate_get_examples(get_examples, "BioBertNER.initialize")
        self.initialize_labels(get_examples, labels)
        if not self.labels:
            raise ValueError(Errors.E103.format(name=self.name, key=self.spans_key))
        doc_sample = []
        label_sample = []
        n_tags = len(self.tags)
        for eg in self.init_sample(get_examples):
            doc_sample.append(eg.predicted)
            one_hot = numpy.zeros((len(eg.predicted), n_tags), dtype="f")
            one_hot[numpy.arange(len(eg.predicted)), self._gold_tag_ids(eg)] = 1.0
            label_sample.append(self.model.ops.asarray2f(one_hot))
        self.model.initialize(X=doc_sample, Y=label_sample)


def merge_entities(doc: Doc, existing: List[Span], new: List[Span]) -> List[Span]:
    """Non-overlapping entities from those already in `doc.ents` and new ones, the higher score winning.

    A span's score is its `Span._.score`; entities without one (set by a rule-based component, say) are
    kept as they are. On a tie the entity already there stays.
    """
    ranked = sorted(
        enumerate(existing + new),
        key=lambda item: (-(float("inf") if item[1]._.score is None else item[1]._.score), item[0]),
    )
    taken = numpy.zeros((len(doc),), dtype=bool)
    kept = []
    for _, span in ranked:
        if not taken[span.start : span.end].any():
            taken[span.start : span.end] = True
            kept.append(span)
    return sorted(kept, key=lambda span: span.start)


def bio_transitions(n_labels: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Which tag may follow which (`allowed[prev, next]`) and which may start, for tags `O, B-X, I-X, ...`.

    `I-X` may only follow `B-X` or `I-X`, and no sequence starts with an `I-` tag.
    """
    n_tags = 1 + 2 * n_labels
    allowed = numpy.ones((n_tags, n_tags), dtype=bool)
    allowed_start = numpy.ones((n_tags,), dtype=bool)
    for label in range(n_labels):
        begin, inside = 1 + 2 * label, 2 + 2 * label
        allowed[:, inside] = False
        allowed[begin, inside] = True
        allowed[inside, inside] = True
        allowed_start[inside] = False
    return allowed, allowed_start


def viterbi_decode(probs: numpy.ndarray, allowed: numpy.ndarray, allowed_start: numpy.ndarray) -> numpy.ndarray:
    """The most probable tag sequence (product of token probabilities) among the allowed ones."""
    n_tokens, n_tags = probs.shape
    if n_tokens == 0:
        return numpy.zeros((0,), dtype="i")
    log_probs = numpy.log(numpy.maximum(probs, MIN_PROB)).astype("float64")
    transitions = numpy.where(allowed, 0.0, -numpy.inf)
    score = log_probs[0] + numpy.where(allowed_start, 0.0, -numpy.inf)
    backpointers = numpy.zeros((n_tokens, n_tags), dtype="i")
    columns = numpy.arange(n_tags)
    for i in range(1, n_tokens):
        candidates = score[:, None] + transitions
        best_prev = candidates.argmax(axis=0)
        backpointers[i] = best_prev
        score = candidates[best_prev, columns] + log_probs[i]
    path = numpy.zeros((n_tokens,), dtype="i")
    path[-1] = int(score.argmax())
    for i in range(n_tokens - 1, 0, -1):
        path[i - 1] = backpointers[i, path[i]]
    return path


def argmax_decode(probs: numpy.ndarray, allowed: numpy.ndarray, allowed_start: numpy.ndarray) -> numpy.ndarray:
    """Each token's most probable tag, as BioBERT decodes; invalid `I-` tags are read as conlleval does."""
    return probs.argmax(axis=1).astype("i") if len(probs) else numpy.zeros((0,), dtype="i")
