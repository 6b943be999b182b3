"""The training step shared by `biobert_ner`, `biobert_rel` and `biobert_qa`, shaped as spaCy's spancat.

`BioBertPipe.update` builds a batch's gold once (`get_gold`), the model's inputs from the examples and that
gold (`get_inputs`: for relations the candidate pairs the targets belong to), runs the model forward and
backward, and hands the same gold to `get_loss`, so the gold is never rebuilt within one step. A component
says how to build both and what its loss is (`get_gold_loss`); `get_loss` called on its own, as spaCy's
`TrainablePipe.get_loss(examples, scores)`, builds the gold from the examples.

`initialize_labels` gives the labelled components one rule: labels added with `add_label` stay, and those of
`labels` (or else of the training data) are added to them.
"""
from itertools import islice
from typing import Any, Callable, Dict, Generic, Iterable, List, Optional, Sequence, Tuple, TypeVar

from spacy.pipeline import TrainablePipe
from spacy.training import Example, validate_examples
from thinc.api import Optimizer, set_dropout_rate

GoldT = TypeVar("GoldT")
# How many examples `initialize` shows the model to infer its shapes.
INIT_SAMPLE_SIZE = 10


class BioBertPipe(TrainablePipe, Generic[GoldT]):
    """A trainable pipe whose `update` builds inputs and gold once and passes the gold to `get_loss`."""

    def get_gold(self, examples: List[Example]) -> GoldT:
        """The gold of a batch, in the form `get_gold_loss` reads; examples that teach this component
        nothing contribute no target."""
        raise NotImplementedError

    def get_inputs(self, examples: List[Example], gold: GoldT) -> Optional[Any]:
        """The model's inputs for a training batch with this gold, or None when the batch has nothing to
        run the model on (then `update` adds no loss)."""
        raise NotImplementedError

    def get_gold_loss(self, scores: Any, gold: GoldT) -> Tuple[float, Any]:
        """The loss of the model's output `scores` against `gold`, and its gradient w.r.t. the scores."""
        raise NotImplementedError

    def get_loss(self, examples: Iterable[Example], scores: Any, gold: Optional[GoldT] = None) -> Tuple[float, Any]:
        """The loss of `scores` on `examples` and its gradient; `gold` is `get_gold(examples)` where the
        caller (`update`) has built it already."""
        return self.get_gold_loss(scores, self.get_gold(list(examples)) if gold is None else gold)

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples: one forward and backward pass, then the optimizer's step when
        `sgd` is given (`nlp.update` passes none and steps every component itself)."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.update")
        gold = self.get_gold(examples)
        inputs = self.get_inputs(examples, gold)
        if inputs is None:
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update(inputs)
        loss, d_scores = self.get_loss(examples, scores, gold)
        backprop(d_scores)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def gold_labels(self, example: Example) -> Iterable[str]:
        """The labels of this component's gold in `example`, none where it does not teach the component."""
        raise NotImplementedError

    def initialize_labels(self, get_examples: Callable[[], Iterable[Example]], labels: Optional[Sequence[str]]) -> None:
        """Add `labels`, or else the gold labels of all examples (sorted), to those added with `add_label`."""
        if labels is None:
            labels = sorted({label for eg in get_examples() for label in self.gold_labels(eg)})
        for label in labels:
            self.add_label(label)

    def init_sample(self, get_examples: Callable[[], Iterable[Example]]) -> List[Example]:
        """The first examples, on which `initialize` runs the model to infer its shapes."""
        return list(islice(get_examples(), INIT_SAMPLE_SIZE))
