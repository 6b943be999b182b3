"""The encoders' torch optimizer step (`spacy_biobert.training`): the same Adam update as thinc's, for every
setting it takes over; thinc's step where it does not reproduce the optimizer; the callback's settings."""
from pathlib import Path
from typing import Dict

import pytest
import spacy
import torch
from spacy.language import Language
from thinc.api import Adam, Optimizer, fix_random_seed

from spacy_biobert.errors import PipelineError
from spacy_biobert.precision import _torch_shims
from spacy_biobert.training import OPTIMIZER_STEP_ATTR, use_optimizer_step

from .test_ner import TRAIN_DATA, examples_for, make_nlp

N_UPDATES = 6


def trained_weights(tiny_bert: Path, optimizer_step: str, optimizer: Optimizer) -> Dict[str, torch.Tensor]:
    """The encoder's parameters after N_UPDATES updates with `optimizer_step`, from a fixed seed."""
    fix_random_seed(0)
    nlp = make_nlp(tiny_bert)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    nlp.initialize(lambda: examples)
    assert use_optimizer_step(nlp, optimizer_step) == (1 if optimizer_step == "torch" else 0)
    for _ in range(N_UPDATES):
        nlp.update(examples, sgd=optimizer, losses={})
        optimizer.step_schedules()
    return {name: p.detach().clone() for name, p in encoder(nlp)._model.named_parameters()}


def encoder(nlp: Language):
    return next(_torch_shims(nlp))


@pytest.mark.parametrize("weight_decay", [True, False])
def test_torch_step_computes_thincs_adam_update(tiny_bert: Path, weight_decay: bool):
    """Scheduled learn rate, L2 as weight decay or as a penalty, per-tensor gradient clipping: same weights."""

    def optimizer() -> Optimizer:
        rates = iter([1e-3 * (i + 1) for i in range(N_UPDATES + 1)])
        return Adam(learn_rate=rates, L2=0.05, L2_is_weight_decay=weight_decay, grad_clip=0.5,
                    use_averages=False, eps=1e-6)

    thinc_weights = trained_weights(tiny_bert, "thinc", optimizer())
    torch_weights = trained_weights(tiny_bert, "torch", optimizer())
    assert thinc_weights.keys() == torch_weights.keys()
    for name, expected in thinc_weights.items():
        torch.testing.assert_close(torch_weights[name], expected, rtol=1e-4, atol=1e-5, msg=name)
    fix_random_seed(0)
    initial = {name: p.detach() for name, p in encoder(_initialized(tiny_bert))._model.named_parameters()}
    changed = [name for name, weight in torch_weights.items() if not torch.equal(weight, initial[name])]
    assert len(changed) > len(torch_weights) // 2


def _initialized(tiny_bert: Path) -> Language:
    nlp = make_nlp(tiny_bert)
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    return nlp


def test_torch_step_leaves_averaged_optimizers_to_thinc(tiny_bert: Path):
    """With `use_averages` (which the torch step does not keep), thinc's step runs and keeps the averages."""
    nlp = _initialized(tiny_bert)
    use_optimizer_step(nlp, "torch")
    shim = encoder(nlp)
    optimizer = Adam(learn_rate=1e-3, use_averages=True)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    for _ in range(2):  # spaCy steps the transformer before its listeners backpropagate
        nlp.update(examples, sgd=optimizer, losses={})
    assert any(key[0] == shim.id for key in optimizer.averages)


def test_torch_step_trains_and_saves(tiny_bert: Path, tmp_path: Path):
    nlp = make_nlp(tiny_bert)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    fix_random_seed(0)
    nlp.initialize(lambda: examples)
    use_optimizer_step(nlp, "torch")
    optimizer = Adam(learn_rate=1e-3, use_averages=False)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, losses={})
    assert nlp.evaluate(examples)["ents_f"] > 0.5
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.evaluate(examples_for(loaded, TRAIN_DATA, "biobert_ner"))["ents_f"] > 0.5


def test_training_setup_callback(tiny_bert: Path):
    callback = spacy.util.registry.callbacks.get("spacy_biobert.training_setup.v1")
    nlp = _initialized(tiny_bert)
    assert callback(precision="fp32", optimizer_step="thinc")(nlp) is nlp
    assert not hasattr(encoder(nlp), OPTIMIZER_STEP_ATTR)
    assert callback()(nlp) is nlp  # defaults: fp32, torch step
    assert hasattr(encoder(nlp), OPTIMIZER_STEP_ATTR)
    assert use_optimizer_step(nlp, "torch") == 1  # applying it twice wraps nothing twice
    with pytest.raises(PipelineError, match="E042"):
        callback(optimizer_step="sgd")
    with pytest.raises(PipelineError, match="E041"):
        callback(precision="int8")
