"""Pooling of a token's wordpiece vectors to one vector a token, safe for tokens without wordpieces."""
from typing import Callable, Tuple

from thinc.api import Model, registry
from thinc.types import Floats2d, Ragged


@registry.layers("spacy_biobert.reduce_first_safe.v1")
def reduce_first_safe() -> Model[Ragged, Floats2d]:
    """Each token's first wordpiece vector, as BioBERT labels a word by its first wordpiece.

    Unlike thinc's `reduce_first`, which raises on zero-length rows, a token aligned to no wordpiece (a
    whitespace token, or a character the tokenizer drops) gets a zero vector and no gradient.
    """
    return Model("reduce_first_safe", forward)


def forward(model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool) -> Tuple[Floats2d, Callable]:
    xp = model.ops.xp
    X = Xr.dataXd
    lengths = model.ops.asarray1i(Xr.lengths)
    starts = xp.cumsum(lengths) - lengths
    has_pieces = lengths > 0
    rows = starts[has_pieces]
    Y = model.ops.alloc2f(lengths.shape[0], X.shape[1], dtype=X.dtype)
    Y[has_pieces] = X[rows]

    def backprop(dY: Floats2d) -> Ragged:
        dX = model.ops.alloc2f(X.shape[0], X.shape[1], dtype=dY.dtype)
        dX[rows] = dY[has_pieces]
        return Ragged(dX, Xr.lengths)

    return Y, backprop
