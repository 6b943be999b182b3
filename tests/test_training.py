"""The encoders' torch optimizer step (`spacy_biobert.training`): the same Adam update as thinc's, for every
setting it takes over; each batch's gradients applied in the same `nlp.update`; thinc's step where it does not
reproduce the optimizer; the callback's settings."""
from pathlib import Path
from typing import Dict, List

import pytest
import spacy
import torch
from spacy.language import Language
from thinc.api import Adam, Optimizer, PyTorchWrapper, fix_random_seed

from spacy_biobert.errors import PipelineError
from spacy_biobert.precision import _torch_shims
from spacy_biobert.training import OPTIMIZER_STEP_ATTR, TorchAdamStep, use_optimizer_step

from .test_ner import TRAIN_DATA, examples_for, make_nlp

N_STEPS = 6


def encoder(nlp: Language):
    return next(_torch_shims(nlp))


def weights(nlp: Language) -> Dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in encoder(nlp)._model.named_parameters()}


def initialized(tiny_bert: Path) -> Language:
    fix_random_seed(0)
    nlp = make_nlp(tiny_bert)
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    return nlp


def stepped(
    step_name: str,
    optimizer: Optimizer,
    grads: List[List[torch.Tensor]],
    adam_eps: str = "thinc",
    grad_clip_scope: str = "tensor",
) -> List[torch.Tensor]:
    """A small torch model's parameters after one step per gradient set, by thinc's or the torch step."""
    torch.manual_seed(0)
    shim = PyTorchWrapper(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Linear(16, 3))).shims[0]
    step = TorchAdamStep(shim) if step_name == "torch" else shim.finish_update
    if step_name == "torch":
        step.adam_eps, step.grad_clip_scope = adam_eps, grad_clip_scope
    for step_grads in grads:
        for parameter, grad in zip(shim._model.parameters(), step_grads):
            parameter.grad = grad.clone()
        step(optimizer)
        optimizer.step_schedules()
    return [parameter.detach() for parameter in shim._model.parameters()]


@pytest.mark.parametrize("weight_decay", [True, False])
def test_torch_step_computes_thincs_adam_update(weight_decay: bool):
    """Scheduled learn rate, L2 as weight decay or as a penalty, per-tensor gradient clipping: the same weights."""

    def optimizer() -> Optimizer:
        rates = iter([1e-2 * (i + 1) for i in range(N_STEPS + 1)])
        return Adam(learn_rate=rates, L2=0.05, L2_is_weight_decay=weight_decay, grad_clip=0.5,
                    use_averages=False, eps=1e-6)

    torch.manual_seed(1)
    shapes = [(16, 8), (16,), (3, 16), (3,)]
    grads = [[torch.randn(shape) * scale for shape in shapes] for scale in (0.01, 1.0, 5.0, 0.1, 2.0, 0.5)]
    expected = stepped("thinc", optimizer(), grads)
    for got, want in zip(stepped("torch", optimizer(), grads), expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)  # float32 rounding of a 1e-2 step


@pytest.mark.parametrize("clip", [0.0, 0.5])
def test_torch_eps_and_global_clipping_give_hugging_faces_update(clip: float):
    """`adam_eps = "torch"` with `grad_clip_scope = "global"`: Hugging Face's fine-tuning update
    (`clip_grad_norm_` over all the gradients, then torch's AdamW, eps added after the bias correction). thinc's
    update differs where sqrt(v) is small against eps / sqrt(1 - b2^t), or where one tensor's norm is clipped."""
    torch.manual_seed(1)
    shapes = [(16, 8), (16,), (3, 16), (3,)]
    grads = [[torch.randn(shape) * scale for shape in shapes] for scale in (1e-5, 1e-5, 0.3, 1e-5, 2e-5, 0.1)]

    def optimizer() -> Optimizer:
        return Adam(learn_rate=1e-2, L2=0.01, L2_is_weight_decay=True, grad_clip=clip, use_averages=False, eps=1e-6)

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Linear(16, 3))
    adamw = torch.optim.AdamW(model.parameters(), lr=1e-2 * (1 - 1e-4), weight_decay=0.01 / (1 - 1e-4), eps=1e-6)
    for step_grads in grads:
        for parameter, grad in zip(model.parameters(), step_grads):
            parameter.grad = grad.clone()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        adamw.step()
    expected = [parameter.detach() for parameter in model.parameters()]
    got = stepped("torch", optimizer(), grads, adam_eps="torch", grad_clip_scope="global" if clip else "tensor")
    for weight, want in zip(got, expected):
        torch.testing.assert_close(weight, want, rtol=1e-4, atol=1e-6)
    thincs = stepped("thinc", optimizer(), grads)
    assert any(not torch.allclose(weight, want, atol=1e-4) for weight, want in zip(thincs, expected))


def test_each_update_steps_the_shared_encoder_with_its_own_gradients(tiny_bert: Path):
    """thinc's step leaves the encoder untouched by the first update (its gradients arrive after the step); the
    torch step applies them in that same update and releases them."""
    for optimizer_step, changes in (("thinc", False), ("torch", True)):
        nlp = initialized(tiny_bert)
        use_optimizer_step(nlp, optimizer_step)
        before = weights(nlp)
        nlp.update(examples_for(nlp, TRAIN_DATA, "biobert_ner"), sgd=Adam(1e-3, use_averages=False), losses={})
        after = weights(nlp)
        assert any(not torch.equal(before[name], after[name]) for name in before) is changes
    assert all(parameter.grad is None for parameter in encoder(nlp)._model.parameters())


def test_torch_step_with_accumulated_gradients(tiny_bert: Path):
    """`spacy train`'s accumulate_gradient: updates without an optimizer, then `finish_update`: one step then."""
    nlp = initialized(tiny_bert)
    use_optimizer_step(nlp, "torch")
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    before = weights(nlp)
    for half in (examples[:1], examples[1:]):
        nlp.update(half, sgd=False, losses={})
    assert weights(nlp).keys() == before.keys()
    assert all(torch.equal(before[name], weight) for name, weight in weights(nlp).items())
    optimizer = Adam(1e-3, use_averages=False)
    for _, pipe in nlp.pipeline:
        pipe.finish_update(optimizer)
    assert any(not torch.equal(before[name], weight) for name, weight in weights(nlp).items())
    assert all(parameter.grad is None for parameter in encoder(nlp)._model.parameters())


def test_torch_step_leaves_averaged_optimizers_to_thinc(tiny_bert: Path):
    """With `use_averages` (which the torch step does not keep), thinc's step runs and keeps the averages."""
    nlp = initialized(tiny_bert)
    use_optimizer_step(nlp, "torch")
    optimizer = Adam(learn_rate=1e-3, use_averages=True)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    for _ in range(2):  # thinc's step reaches the encoder's gradients one update late
        nlp.update(examples, sgd=optimizer, losses={})
    assert any(key[0] == encoder(nlp).id for key in optimizer.averages)


def test_hugging_face_settings_warn_when_thinc_steps(tiny_bert: Path):
    """adam_eps / grad_clip_scope cannot apply where thinc's step takes over (here `use_averages`): W004, once."""
    nlp = initialized(tiny_bert)
    use_optimizer_step(nlp, "torch", adam_eps="torch", grad_clip_scope="global")
    optimizer = Adam(learn_rate=1e-3, use_averages=True)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    with pytest.warns(UserWarning, match="W004.*use_averages") as record:
        for _ in range(2):
            nlp.update(examples, sgd=optimizer, losses={})
    assert sum("W004" in str(warning.message) for warning in record) == 1


def test_torch_step_trains_and_saves(tiny_bert: Path, tmp_path: Path):
    nlp = initialized(tiny_bert)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
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
    nlp = initialized(tiny_bert)
    assert callback(precision="fp32", optimizer_step="thinc")(nlp) is nlp
    assert not hasattr(encoder(nlp), OPTIMIZER_STEP_ATTR)
    assert callback()(nlp) is nlp  # defaults: fp32, torch step
    assert hasattr(encoder(nlp), OPTIMIZER_STEP_ATTR)
    assert use_optimizer_step(nlp, "torch") == 1  # applying it twice wraps nothing twice
    assert getattr(encoder(nlp), OPTIMIZER_STEP_ATTR).adam_eps == "thinc"
    callback(adam_eps="torch", grad_clip_scope="global")(nlp)
    step = getattr(encoder(nlp), OPTIMIZER_STEP_ATTR)
    assert (step.adam_eps, step.grad_clip_scope) == ("torch", "global")
    with pytest.raises(PipelineError, match="E042"):
        callback(optimizer_step="sgd")
    with pytest.raises(PipelineError, match="E044"):
        callback(adam_eps="keras")
    with pytest.raises(PipelineError, match="E045"):
        callback(grad_clip_scope="layer")
    with pytest.warns(UserWarning, match="W005"):
        callback(optimizer_step="thinc", adam_eps="torch", grad_clip_scope="global")(initialized(tiny_bert))
    with pytest.raises(PipelineError, match="E041"):
        callback(precision="int8")
