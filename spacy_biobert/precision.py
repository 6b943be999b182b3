"""Inference precision of a loaded pipeline's transformer encoders: fp32, bf16, int8 or auto.

- `bf16` runs each encoder's forward pass under `torch.autocast` with bfloat16: matrix products in bf16,
  LayerNorm and softmax kept in fp32, outputs cast back to fp32 for the thinc layers above. It pays off on
  CPUs that run bf16 natively (AVX512-BF16, AMX) and on GPUs from Ampere on; elsewhere it is emulated and
  slower than fp32.
- `int8` replaces the encoders' Linear layers by dynamically quantized ones (int8 weights, activations
  quantized per batch; `torch.ao.quantization.quantize_dynamic`): the opt-in for CPUs without native bf16.
  CPU only.
- `auto` is bf16 where the hardware runs it natively, else fp32. `fp32` changes nothing; it is the default
  everywhere, so no result depends on the machine unless asked for.

The setting acts on the pipeline in memory (every PyTorch shim of every component: the shared transformer
and biobert_qa's own encoder) and only on prediction. A pipeline set to bf16 or int8 refuses to be saved,
since its weights are no longer the trained fp32 ones (int8) or its behaviour would silently differ after
loading (bf16): save the fp32 pipeline instead.

Training has its own setting, `set_training_precision` (fp32 | bf16 | auto), applied by `spacy train` through
the `spacy_biobert.training_setup.v1` callback in `[initialize.after_init]` (`spacy_biobert.training`; the older
`spacy_biobert.training_precision.v1` sets the precision alone): the encoders' forward passes
of the updates and of the dev evaluations run under bf16 autocast, while weights, gradients and the optimizer
state stay fp32 (bf16 needs no loss scaling), so the trained pipeline saves, loads and predicts as an fp32 one.
"""
import warnings
from typing import Any, Callable, Iterator, List, Optional, Tuple

import torch
from spacy.language import Language
from spacy.util import registry
from thinc.api import ArgsKwargs
from thinc.shims import PyTorchShim

from .errors import Errors, PipelineError, Warnings

PRECISIONS = ("fp32", "bf16", "int8", "auto")
TRAINING_PRECISIONS = ("fp32", "bf16", "auto")
PRECISION_ATTR = "_spacy_biobert_precision"
TRAINING_PRECISION_ATTR = "_spacy_biobert_training_precision"


def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 / AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def has_native_bf16(device: torch.device) -> bool:
    """Whether `device` (a CPU or a CUDA GPU) computes in bf16 natively."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_bf16()


def set_precision(nlp: Language, precision: str) -> str:
    """Run the encoders of `nlp` at `precision`; return the precision applied (`auto` resolved).

    Call it once, on a freshly loaded pipeline, before annotating.
    """
    if precision not in PRECISIONS:
        raise PipelineError(Errors.E036.format(precision=precision, choices=", ".join(PRECISIONS)))
    shims = list(_torch_shims(nlp))
    for shim in shims:
        current = getattr(shim, PRECISION_ATTR, "fp32")
        if current != "fp32" and precision != current:
            raise PipelineError(Errors.E037.format(current=current, precision=precision))
    precision, device = _resolve(shims, precision)
    if precision == "fp32":
        return precision
    if precision == "int8" and device.type != "cpu":
        raise PipelineError(Errors.E038.format(device=device))
    if precision == "bf16" and not has_native_bf16(device):
        warnings.warn(Warnings.W003.format(device=device))
    for shim in shims:
        if getattr(shim, PRECISION_ATTR, "fp32") == precision:
            continue
        if precision == "int8":
            _quantize(shim)
        else:
            _autocast(shim, device)
        setattr(shim, PRECISION_ATTR, precision)
        shim.to_bytes = _refuse_to_save(precision)  # type: ignore[method-assign]
    return precision


def set_training_precision(nlp: Language, precision: str) -> str:
    """Train the encoders of `nlp` at `precision` (bf16: autocast forward passes, fp32 weights, gradients and
    optimizer state); return the precision applied (`auto`: bf16 where the hardware has it natively, else fp32)."""
    check_training_precision(precision)
    shims = list(_torch_shims(nlp))
    precision, device = _resolve(shims, precision)
    if precision == "fp32":
        return precision
    if not has_native_bf16(device):
        warnings.warn(Warnings.W003.format(device=device))
    for shim in shims:
        if getattr(shim, TRAINING_PRECISION_ATTR, "fp32") == precision:
            continue
        _autocast(shim, device)
        _autocast_training(shim, device)
        setattr(shim, TRAINING_PRECISION_ATTR, precision)
    return precision


@registry.callbacks("spacy_biobert.training_precision.v1")
def create_training_precision(precision: str = "fp32") -> Callable[[Language], Language]:
    """An `[initialize.after_init]` callback that sets the training precision (`set_training_precision`)."""
    check_training_precision(precision)

    def after_init(nlp: Language) -> Language:
        set_training_precision(nlp, precision)
        return nlp

    return after_init


def check_training_precision(precision: str) -> None:
    """Refuse a training precision that is not one of TRAINING_PRECISIONS (E041)."""
    if precision not in TRAINING_PRECISIONS:
        raise PipelineError(Errors.E041.format(precision=precision, choices=", ".join(TRAINING_PRECISIONS)))


def _resolve(shims: List[PyTorchShim], precision: str) -> Tuple[str, torch.device]:
    """The precision to apply (`auto`: bf16 where the shims' device has it natively, else fp32; fp32 without
    shims) and the shims' device."""
    if not shims:
        return "fp32", torch.device("cpu")
    device = _device(shims[0])
    if precision == "auto":
        precision = "bf16" if has_native_bf16(device) else "fp32"
    return precision, device


def _torch_shims(nlp: Language) -> Iterator[PyTorchShim]:
    """Every distinct PyTorch shim in the pipeline's component models."""
    seen = set()
    for _, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        for node in model.walk():
            for shim in node.shims:
                if isinstance(shim, PyTorchShim) and id(shim) not in seen:
                    seen.add(id(shim))
                    yield shim


def _device(shim: PyTorchShim) -> torch.device:
    parameter: Optional[torch.Tensor] = next(shim._model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _quantize(shim: PyTorchShim) -> None:
    """Swap the shim's Linear layers for dynamically quantized int8 ones, in place."""
    quantization = getattr(getattr(torch, "ao", None), "quantization", None)
    if not hasattr(quantization, "quantize_dynamic"):
        raise PipelineError(Errors.E039.format(version=torch.__version__))
    with warnings.catch_warnings():
        # torch announces the move of eager-mode quantization to torchao; the API still works here.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        quantization.quantize_dynamic(shim._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def _autocast(shim: PyTorchShim, device: torch.device) -> None:
    """Make the shim's prediction run under bf16 autocast and hand fp32 outputs back."""
    model = shim._model

    def predict(inputs: ArgsKwargs) -> Any:
        model.eval()
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            outputs = model(*inputs.args, **inputs.kwargs)
        model.train()
        return _to_fp32(outputs)

    shim.predict = predict  # type: ignore[method-assign]


def _autocast_training(shim: PyTorchShim, device: torch.device) -> None:
    """Make the shim's training forward pass run under bf16 autocast and hand fp32 outputs back. The layer
    above backpropagates from those fp32 outputs, through the casts, into the bf16 graph."""
    begin_update = shim.begin_update

    def autocast_begin_update(inputs: ArgsKwargs) -> Tuple[Any, Callable]:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            outputs, backprop = begin_update(inputs)
        return _to_fp32(outputs), backprop

    shim.begin_update = autocast_begin_update  # type: ignore[method-assign]


def _to_fp32(value: Any) -> Any:
    """`value` with every floating-point tensor in it (also inside model outputs, tuples, lists) as fp32."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, dict):
        for key in list(value.keys()):
            value[key] = _to_fp32(value[key])
        return value
    if isinstance(value, (tuple, list)):
        converted: List[Any] = [_to_fp32(item) for item in value]
        return type(value)(converted) if isinstance(value, list) else tuple(converted)
    return value


def _refuse_to_save(precision: str) -> Any:
    def to_bytes() -> bytes:
        raise PipelineError(Errors.E040.format(precision=precision))

    return to_bytes
