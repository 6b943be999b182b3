"""Test sets run shortest first: the transformer pads every window of a batch to the batch's longest, so
batches of sentences in corpus order (5 to 100+ words side by side) spend much of the encoder's work on padding.
Scores are sums over the examples, so the order they run in changes no figure; predictions come back in the
input order.
"""
from typing import List, Sequence

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example


def pipe_in_length_order(nlp: Language, docs: Sequence[Doc], batch_size: int) -> List[Doc]:
    """`nlp.pipe(docs)` with the docs fed shortest first; the processed docs in the order of `docs`."""
    order = sorted(range(len(docs)), key=lambda i: len(docs[i]))
    processed = dict(zip(order, nlp.pipe((docs[i] for i in order), batch_size=batch_size)))
    return [processed[i] for i in range(len(docs))]


def examples_in_length_order(examples: Sequence[Example]) -> List[Example]:
    """The examples shortest first (by their predicted doc), for `nlp.evaluate`."""
    return sorted(examples, key=lambda eg: len(eg.predicted))
