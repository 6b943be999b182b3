"""Weight initialisers for the heads put on a pretrained encoder."""
from typing import Callable

import numpy
from thinc.api import Ops, registry
from thinc.types import FloatsXd, Shape


@registry.initializers("spacy_biobert.normal_init.v1")
def configure_normal_init(std: float = 0.02, mean: float = 0.0) -> Callable[[Ops, Shape], FloatsXd]:
    """Weights drawn from N(mean, std²), as BERT initialises a new output layer (`initializer_range`
    0.02): a new head starts close to zero, so its first logits are near uniform and the pretrained
    encoder, not a random projection, shapes the early updates. thinc's `normal_init` scales by the fan-in
    instead (std 1/√fan-in, 0.05 for a 384-wide encoder)."""

    def init(ops: Ops, shape: Shape) -> FloatsXd:
        return ops.asarray_f(numpy.random.normal(mean, std, shape).astype("float32"))

    return init
