"""The relation classifier: pooled entity-pair representations from one transformer pass per doc.

Input is the batch of docs with, per doc, an array of candidate pairs: one row
`(head_start, head_end, tail_start, tail_end, context_start, context_end)` of token offsets. The
tok2vec (a `TransformerListener`) runs once for the batch; every pair of a doc is read from the same
token vectors. A pair is the concatenation of the mean of its head tokens, the mean of its tail tokens
and, when `context` asks for it, the mean of its sentence's tokens or of the tokens between the two
mentions. A hidden layer and a Softmax (one label a pair, the negative class included) or
independent sigmoids (multi-label) classify it.
"""
from typing import Callable, List, Optional, Tuple

import numpy

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Dropout, Linear, Model, Ops, Relu, Softmax, chain, glorot_uniform_init
from thinc.types import Floats2d, FloatsXd, Ints1d, Ints2d, Shape

from ..errors import Errors

PairBatch = Tuple[List[Doc], List[Ints2d]]
CONTEXTS = ("sentence", "between", "none")


@registry.architectures("spacy_biobert.RelationClassifier.v1")
def build_relation_classifier(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    context: str = "sentence",
    dropout: float = 0.1,
    multi_label: bool = False,
    nO: Optional[int] = None,
    init_W: Optional[Callable[[Ops, Shape], FloatsXd]] = None,
) -> Model[PairBatch, Floats2d]:
    """Build the pair classifier on top of `tok2vec`.

    tok2vec (Model[List[Doc], List[Floats2d]]): token vectors, normally a TransformerListener.
    hidden_width (int): width of the hidden layer over the pooled pair.
    context (str): "sentence" (mean of the pair's sentence), "between" (mean of the tokens between the
        mentions) or "none" (head and tail only).
    dropout (float): dropout of the hidden layer.
    multi_label (bool): independent sigmoids (several labels a pair) instead of a softmax with a
        negative class.
    nO (Optional[int]): number of outputs; set by the component from its labels.
    init_W (Optional[Callable]): initializer of the output weights (a thinc `@initializers` entry);
        Glorot-uniform when unset. With thinc's zero start of a Softmax, the hidden layer and the shared
        transformer get no gradient until the output weights have grown: jointly trained with NER, where a
        batch holds few relation examples, the relation loss stayed at chance (ln 2) for 400 steps.
    """
    if context not in CONTEXTS:
        raise ValueError(Errors.E203.format(context=context, choices=", ".join(CONTEXTS)))
    pooler = pair_pooler(context)
    init_W = init_W or glorot_uniform_init
    output_layer = Linear(nO=nO, init_W=init_W) if multi_label else Softmax(nO=nO, init_W=init_W)
    hidden = Relu(nO=hidden_width)
    classifier = chain(hidden, Dropout(dropout), output_layer)
    if multi_label:
        classifier = chain(classifier, sigmoid_output())
    return Model(
        "relation_classifier",
        forward,
        init=init,
        layers=[tok2vec, pooler, classifier],
        refs={
            "tok2vec": tok2vec,
            "pooler": pooler,
            "classifier": classifier,
            "hidden": hidden,
            "output_layer": output_layer,
        },
        dims={"nO": nO},
        attrs={"multi_label": multi_label, "context": context},
    )


def forward(model: Model[PairBatch, Floats2d], inputs: PairBatch, is_train: bool) -> Tuple[Floats2d, Callable]:
    """Token vectors once for all docs, pooled per pair, classified."""
    docs, pairs = inputs
    tokvecs, backprop_tokvecs = model.get_ref("tok2vec")(docs, is_train)
    if not sum(len(doc_pairs) for doc_pairs in pairs):
        return _no_pairs(model, tokvecs, backprop_tokvecs, inputs)
    pooled, backprop_pooled = model.get_ref("pooler")((tokvecs, pairs), is_train)
    scores, backprop_scores = model.get_ref("classifier")(pooled, is_train)

    def backprop(d_scores: Floats2d) -> PairBatch:
        d_tokvecs, _ = backprop_pooled(backprop_scores(d_scores))
        backprop_tokvecs(d_tokvecs)
        return inputs

    return scores, backprop


def _no_pairs(model: Model, tokvecs: List[Floats2d], backprop_tokvecs: Callable, inputs: PairBatch):
    """No candidate in the batch: no scores, and zero gradients so a shared transformer still updates."""

    def backprop(d_scores: Floats2d) -> PairBatch:
        backprop_tokvecs([model.ops.alloc2f(*vectors.shape) for vectors in tokvecs])
        return inputs

    return model.ops.alloc2f(0, model.get_ref("output_layer").get_dim("nO")), backprop


def init(model: Model[PairBatch, Floats2d], X: Optional[PairBatch] = None, Y: Optional[Floats2d] = None) -> None:
    """Initialise the tok2vec on sample docs and size the hidden layer from the token vector width."""
    tok2vec = model.get_ref("tok2vec")
    classifier = model.get_ref("classifier")
    output_layer = model.get_ref("output_layer")
    if model.has_dim("nO") and not output_layer.has_dim("nO"):
        output_layer.set_dim("nO", model.get_dim("nO"))
    if X is not None:
        tok2vec.initialize(X=X[0])
    width = _tok2vec_width(tok2vec, X[0] if X is not None else [])
    n_parts = 2 if model.attrs["context"] == "none" else 3
    hidden = model.get_ref("hidden")
    if not hidden.has_dim("nI"):
        hidden.set_dim("nI", width * n_parts)
    if not output_layer.has_dim("nI"):
        output_layer.set_dim("nI", hidden.get_dim("nO"))
    classifier.initialize()


def _tok2vec_width(tok2vec: Model, docs: List[Doc]) -> int:
    """The token vector width: the tok2vec's (or its listener's) nO, else measured on sample docs."""
    for layer in (tok2vec, tok2vec.get_ref("listener") if tok2vec.has_ref("listener") else None):
        if layer is not None and layer.has_dim("nO") is True:
            return layer.get_dim("nO")
    widths = [vectors.shape[1] for vectors in tok2vec.predict(docs) if vectors.shape[0]]
    if not widths:
        raise ValueError("The relation classifier needs sample docs with tokens to infer the tok2vec's width.")
    return widths[0]


def sigmoid_output() -> Model[Floats2d, Floats2d]:
    """Sigmoid over logits whose backprop takes the binary cross-entropy gradient `p - y` as given.

    The multi-label twin of thinc's Softmax, whose backprop takes `p - y` of categorical cross-entropy.
    """
    return Model("sigmoid_output", _sigmoid_forward)


def _sigmoid_forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    return model.ops.sigmoid(X, inplace=False), lambda d_probs: d_probs


def pair_pooler(context: str) -> Model[Tuple[List[Floats2d], List[Ints2d]], Floats2d]:
    """Pool each pair's head, tail (and context) token vectors into one row: mean over each span."""
    return Model("pair_pooler", _pool_forward, attrs={"context": context})


def _segments(pairs: Ints2d, context: str) -> List[Tuple[Ints1d, Ints1d]]:
    """The token ranges (starts, ends) that the pair rows pool: head, tail and the context range."""
    ranges = [(pairs[:, 0], pairs[:, 1]), (pairs[:, 2], pairs[:, 3])]
    if context == "sentence":
        ranges.append((pairs[:, 4], pairs[:, 5]))
    elif context == "between":
        ranges.append((numpy.minimum(pairs[:, 1], pairs[:, 3]), numpy.maximum(pairs[:, 0], pairs[:, 2])))
    return ranges


def _pool_forward(
    model: Model, inputs: Tuple[List[Floats2d], List[Ints2d]], is_train: bool
) -> Tuple[Floats2d, Callable]:
    """Span means from each doc's prefix sums of token vectors (in float64, exact to float32 precision even
    over a long doc): one gather a range, whatever the number of pairs (a crowded sentence has thousands);
    an empty range pools to zeros. The backward pass scatters each mean's gradient to its range's two
    ends and takes the prefix sum again."""
    tokvecs, pairs = inputs
    context = model.attrs["context"]
    ops = model.ops
    xp = ops.xp
    width = max((vectors.shape[1] for vectors in tokvecs), default=0)
    n_parts = 2 if context == "none" else 3
    per_doc = []
    for vectors, doc_pairs in zip(tokvecs, pairs):
        rows = numpy.asarray(doc_pairs, dtype="int64").reshape((-1, 6))
        ranges = []
        for starts, ends in _segments(rows, context):
            lengths = numpy.maximum(ends - starts, 0)
            ranges.append((starts, numpy.where(lengths > 0, ends, starts), lengths))
        per_doc.append(ranges)
    outputs = []
    for vectors, ranges in zip(tokvecs, per_doc):
        if not len(ranges[0][0]):
            continue
        sums = xp.zeros((vectors.shape[0] + 1, vectors.shape[1]), dtype="float64")
        xp.cumsum(vectors, axis=0, dtype="float64", out=sums[1:])
        parts = []
        for starts, ends, lengths in ranges:
            divisor = xp.asarray(numpy.maximum(lengths, 1).reshape((-1, 1)))
            parts.append((sums[xp.asarray(ends)] - sums[xp.asarray(starts)]) / divisor)
        outputs.append(xp.concatenate(parts, axis=1).astype("float32"))
    output = xp.concatenate(outputs) if outputs else ops.alloc2f(0, width * n_parts)

    def backprop(d_output: Floats2d) -> Tuple[List[Floats2d], List[Ints2d]]:
        d_tokvecs = []
        row = 0
        for vectors, ranges in zip(tokvecs, per_doc):
            n_rows = len(ranges[0][0])
            d_sums = xp.zeros((vectors.shape[0] + 1, vectors.shape[1]), dtype="float64")
            for part, (starts, ends, lengths) in enumerate(ranges):
                divisor = xp.asarray(numpy.maximum(lengths, 1).reshape((-1, 1)))
                d_mean = d_output[row : row + n_rows, part * width : (part + 1) * width] / divisor
                ops.scatter_add(d_sums, xp.asarray(starts), d_mean)
                ops.scatter_add(d_sums, xp.asarray(ends), -d_mean)
            d_tokvecs.append(xp.cumsum(d_sums, axis=0)[:-1].astype("float32"))
            row += n_rows
        return d_tokvecs, pairs

    return output, backprop
