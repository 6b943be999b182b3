"""How `spacy train` updates the encoders: precision and the optimizer step, set by one `[initialize.after_init]`
callback, `spacy_biobert.training_setup.v1`.

thinc's optimizer updates a PyTorch shim one parameter tensor at a time, in numpy (single-threaded, with
temporaries), then copies each result back into a new torch tensor and zeroes the gradients twice. For a
transformer encoder that is about 6 % of a CPU update. `optimizer_step = "torch"` replaces that step, for the
encoders only, by the same Adam update done by torch's fused AdamW kernel (one multi-threaded pass over each
tensor, on the device the parameters live on). It reads every setting from the config's thinc optimizer at each
step: the scheduled learn rate, beta1, beta2, eps, L2 (as weight decay or as an L2 penalty), and `grad_clip`,
which thinc applies to each parameter tensor's own norm. Settings it does not reproduce (`use_averages`, RAdam,
plain SGD, fp16 loss scaling) keep thinc's step, so the choice never changes what a config means. The thinc
layers above the encoders (the task heads) always use thinc's optimizer.

The torch step also comes at the right time. `Language.update` steps a shared transformer before the components
listening to it backpropagate, so thinc's step updates the encoder with the previous batch's gradients (one batch
late, the last batch's never); the torch step runs when the encoder's backward pass ends (`TorchAdamStep`).

Two details of thinc's Adam differ from the update of BERT's and Hugging Face's fine-tuning scripts, and both are
settings of the torch step. `grad_clip_scope`: thinc clips each tensor's gradient to `grad_clip` on its own, BERT the
norm of all gradients together. Early in a fine-tune the encoder's gradient is large as a whole (global norm about
2.4 on NCBI-disease) but small in every tensor, so thinc clips nothing there; Adam's second moments then remember
those large early gradients and damp the later, smaller ones. Clipped globally, the early gradients enter the moments
at norm 1 and the later updates stay larger: on the same batches, thinc's clipping alone accounts for biobert_ner's
slower fall in loss and its 1-epoch F1 gap to the HF loop (bench/RESULTS.md, issue 14). `"global"` clips the
encoder's gradients by their global norm (`torch.nn.utils.clip_grad_norm_`; the heads keep thinc's optimizer).
`adam_eps`: thinc adds eps to `sqrt(v)` before the bias correction, which after it is `eps / sqrt(1 - b2^t)`
(32x eps at the first update); `"torch"` adds it after, as torch's AdamW. The NER and RE configs set both to Hugging
Face's update; the callback's defaults, `"tensor"` and `"thinc"`, are thinc's, which configs/qa.cfg keeps (QA scored
lower with HF's update).
"""
import math
import warnings
from typing import Any, Callable, List, Optional, Tuple

import torch
from spacy.language import Language
from spacy.util import registry
from thinc.api import ArgsKwargs, Optimizer
from thinc.shims import PyTorchShim

from .errors import Errors, PipelineError, Warnings
from .precision import _torch_shims, check_training_precision, set_training_precision

OPTIMIZER_STEPS = ("torch", "thinc")
ADAM_EPS = ("thinc", "torch")
GRAD_CLIP_SCOPES = ("tensor", "global")
OPTIMIZER_STEP_ATTR = "_spacy_biobert_optimizer_step"


@registry.callbacks("spacy_biobert.training_setup.v1")
def create_training_setup(
    precision: str = "fp32", optimizer_step: str = "torch", adam_eps: str = "thinc", grad_clip_scope: str = "tensor"
) -> Callable[[Language], Language]:
    """An `[initialize.after_init]` callback: the training precision (`set_training_precision`) and the encoders'
    optimizer step, eps placement and gradient clipping (`use_optimizer_step`)."""
    check_training_precision(precision)
    _check_optimizer_step(optimizer_step, adam_eps, grad_clip_scope)

    def after_init(nlp: Language) -> Language:
        set_training_precision(nlp, precision)
        use_optimizer_step(nlp, optimizer_step, adam_eps, grad_clip_scope)
        return nlp

    return after_init


def use_optimizer_step(
    nlp: Language, optimizer_step: str, adam_eps: str = "thinc", grad_clip_scope: str = "tensor"
) -> int:
    """Update the encoders of `nlp` with `optimizer_step` ("torch" or "thinc"), the torch step adding eps and
    clipping as `adam_eps` and `grad_clip_scope` say; return how many PyTorch shims now take the torch step."""
    _check_optimizer_step(optimizer_step, adam_eps, grad_clip_scope)
    if optimizer_step == "thinc" and (adam_eps, grad_clip_scope) != ("thinc", "tensor"):
        warnings.warn(Warnings.W005.format(adam_eps=adam_eps, scope=grad_clip_scope))
    count = 0
    for shim in _torch_shims(nlp):
        if optimizer_step == "torch" and not hasattr(shim, OPTIMIZER_STEP_ATTR):
            step = TorchAdamStep(shim)
            setattr(shim, OPTIMIZER_STEP_ATTR, step)
            shim.finish_update = step  # type: ignore[method-assign]
        if hasattr(shim, OPTIMIZER_STEP_ATTR):
            step = getattr(shim, OPTIMIZER_STEP_ATTR)
            step.adam_eps, step.grad_clip_scope = adam_eps, grad_clip_scope
            count += 1
    return count


def _check_optimizer_step(optimizer_step: str, adam_eps: str = "thinc", grad_clip_scope: str = "tensor") -> None:
    if optimizer_step not in OPTIMIZER_STEPS:
        raise PipelineError(Errors.E042.format(step=optimizer_step, choices=", ".join(OPTIMIZER_STEPS)))
    if adam_eps not in ADAM_EPS:
        raise PipelineError(Errors.E044.format(adam_eps=adam_eps, choices=", ".join(ADAM_EPS)))
    if grad_clip_scope not in GRAD_CLIP_SCOPES:
        raise PipelineError(Errors.E045.format(scope=grad_clip_scope, choices=", ".join(GRAD_CLIP_SCOPES)))


class TorchAdamStep:
    """thinc's Adam update of one PyTorch shim's parameters, done by torch's fused AdamW kernel, right after the
    shim's backward pass.

    Per parameter tensor, as thinc: `g += L2 * w` (L2 not as weight decay); `g *= clip / |g|` when `|g| >= clip`;
    `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`; `w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`;
    then weight decay `w *= 1 - lr * L2`; `t` counts the tensor's own updates. torch adds eps after the bias
    correction, so each step passes it `eps / sqrt(1 - b2^t)` (with `adam_eps = "torch"`: eps itself, torch's and
    Hugging Face's update); torch's AdamW decays the weights before the Adam
    step where thinc decays them after, which a rescaled learn rate and decay make identical. Gradients are
    released after the step, as a plain torch loop's `zero_grad()` does.

    When: `Language.update` calls a shared transformer's `finish_update` right after the transformer's own
    `update`, before the components listening to it have backpropagated into it. thinc's step therefore applies
    the previous batch's encoder gradients (and never the last batch's). Called without gradients, this step
    waits instead and runs as soon as the shim's backward pass has finished, so each batch's gradients update the
    encoder in the same `nlp.update`, with that step's learn rate, as in a plain torch loop. Called with gradients
    (gradient accumulation, or a component that owns its encoder), it steps at once.
    """

    def __init__(self, shim: PyTorchShim) -> None:
        self.shim = shim
        self.thinc_step = shim.finish_update
        self.adam: Optional[torch.optim.AdamW] = None
        self.waiting: Optional[Optimizer] = None
        self.adam_eps = "thinc"
        self.grad_clip_scope = "tensor"
        self.warned = False
        begin_update = shim.begin_update

        def begin_update_then_step(inputs: ArgsKwargs) -> Tuple[Any, Callable]:
            outputs, backprop = begin_update(inputs)

            def backprop_then_step(d_outputs: Any) -> Any:
                d_inputs = backprop(d_outputs)
                if self.waiting is not None:
                    optimizer, self.waiting = self.waiting, None
                    self.step(optimizer)
                return d_inputs

            return outputs, backprop_then_step

        shim.begin_update = begin_update_then_step  # type: ignore[method-assign]

    def __call__(self, optimizer: Optimizer) -> None:
        unreproduced = self._unreproduced(optimizer)
        if unreproduced:
            self._warn_fallback(unreproduced)
            self.thinc_step(optimizer)
        elif any(parameter.grad is not None for parameter in self.shim._model.parameters()):
            self.waiting = None
            self.step(optimizer)
        else:
            self.waiting = optimizer

    def step(self, optimizer: Optimizer) -> None:
        """One Adam update of the parameters that have gradients; the gradients are released."""
        parameters = [parameter for parameter in self.shim._model.parameters() if parameter.grad is not None]
        if not parameters:
            return
        if self.adam is None:
            self.adam = torch.optim.AdamW(list(self.shim._model.parameters()), fused=True)
        grads = [parameter.grad for parameter in parameters]
        l2, clip = float(optimizer.L2), float(optimizer.grad_clip or 0.0)
        with torch.no_grad():
            if l2 != 0.0 and not optimizer.L2_is_weight_decay:
                torch._foreach_add_(grads, [parameter.data for parameter in parameters], alpha=l2)
            if clip > 0.0 and self.grad_clip_scope == "global":
                torch.nn.utils.clip_grad_norm_(parameters, clip)
            elif clip > 0.0:
                norms = torch.stack(torch._foreach_norm(grads))
                torch._foreach_mul_(grads, list((clip / norms.clamp(min=clip)).unbind()))
        b1, b2, learn_rate = float(optimizer.b1), float(optimizer.b2), float(optimizer.learn_rate)
        decay = learn_rate * l2 if optimizer.L2_is_weight_decay else 0.0
        step = int(self.adam.state.get(parameters[0], {}).get("step", 0)) + 1
        # thinc: w' = (w - lr a)(1 - decay); torch: w' = w (1 - lr' wd) - lr' a, equal for lr' = lr (1 - decay)
        # and wd = decay / lr'.
        scaled_rate = learn_rate * (1.0 - decay)
        self.adam.param_groups[0].update(
            lr=scaled_rate,
            betas=(b1, b2),
            eps=float(optimizer.eps) / (math.sqrt(1.0 - b2**step) if self.adam_eps == "thinc" else 1.0),
            weight_decay=decay / scaled_rate if scaled_rate > 0.0 else 0.0,
        )
        self.adam.step()
        self.adam.zero_grad(set_to_none=True)

    def _warn_fallback(self, unreproduced: List[str]) -> None:
        """Warn once where thinc's step replaces settings that thinc's step cannot give (W004)."""
        if self.warned or (self.adam_eps, self.grad_clip_scope) == ("thinc", "tensor"):
            return
        self.warned = True
        warnings.warn(Warnings.W004.format(
            settings=", ".join(unreproduced), adam_eps=self.adam_eps, scope=self.grad_clip_scope))

    def _unreproduced(self, optimizer: Optimizer) -> List[str]:
        """The settings of `optimizer` this step does not compute as thinc's would on this shim (none: it does)."""
        return [
            name
            for name, used in (
                ("use_averages", optimizer.averages is not None),
                ("RAdam", optimizer.use_radam),
                ("no Adam moments (b1 or b2 = 0)", optimizer.b1 <= 0.0 or optimizer.b2 <= 0.0),
                ("fp16 loss scaling", self.shim._grad_scaler._enabled),
            )
            if used
        ]
