"""The shared encoder, with prediction in batches of windows of similar length.

spacy-transformers' `TransformerModel` encodes all windows of a batch of documents as one padded batch: each window
padded to the batch's longest. Abstracts mix full windows (up to ~240 wordpieces for 128 tokens of biomedical text)
with short last windows, so about a third of the wordpieces encoded at prediction time are padding (bench/RESULTS.md,
issue 13). `spacy_biobert.TransformerModel.v1` is that model with one change: when predicting, its windows are sorted
by wordpiece length and encoded in batches of similar length (a new batch where the next window would add more than
`max_added_padding` padding wordpieces to the current one, none above `max_batch_wordpieces`), and the outputs put
back in the windows' order. The real wordpieces' outputs are the same as one padded batch's (BERT's attention mask
keeps padding out of them); the padding positions hold zeros. Training is unchanged: its batches are already grouped
by wordpiece length (`spacy_biobert.batch_by_length.v1`), and the backward pass wants one batch. The weights and
their serialisation are spacy-transformers', so a pipeline trained with `spacy-transformers.TransformerModel.v3`
switches to this architecture by its config alone.
"""
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.align import get_alignment, get_alignment_via_offset_mapping
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.layers.transformer_model import TransformerModel, huggingface_tokenize
from spacy_transformers.layers.transformer_model import forward as padded_forward
from spacy_transformers.truncate import truncate_oversize_splits
from thinc.api import Model
from transformers.file_utils import ModelOutput

from ..errors import Errors, PipelineError

BATCH_WORDPIECES = "max_batch_wordpieces"
ADDED_PADDING = "max_added_padding"
# Outputs of a BERT-style encoder by where their sequence dimensions are: (n, length, ...), (n, ...), and
# tuples of (n, length, ...) or (n, heads, length, length) tensors.
TOKEN_OUTPUTS = ("last_hidden_state",)
ROW_OUTPUTS = ("pooler_output",)
TOKEN_TUPLE_OUTPUTS = ("hidden_states",)
ATTENTION_TUPLE_OUTPUTS = ("attentions",)


@registry.architectures("spacy_biobert.TransformerModel.v1")
def build_transformer_model(
    name: str,
    get_spans: Callable[[List[Doc]], List[List]],
    tokenizer_config: dict = {},
    transformer_config: dict = {},
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
    max_batch_wordpieces: int = 4096,
    max_added_padding: int = 32,
) -> "LengthSortedTransformerModel":
    """spacy-transformers.TransformerModel.v3 (same arguments, same weights), predicting in batches of windows of
    similar wordpiece length: at most `max_batch_wordpieces` padded wordpieces a batch, a new batch wherever the
    next longer window would add more than `max_added_padding` padding wordpieces to the current one."""
    if max_batch_wordpieces < 1 or max_added_padding < 0:
        raise PipelineError(Errors.E047.format(max_batch_wordpieces=max_batch_wordpieces,
                                               max_added_padding=max_added_padding))
    return LengthSortedTransformerModel(
        name, get_spans, tokenizer_config, transformer_config, mixed_precision, grad_scaler_config,
        max_batch_wordpieces, max_added_padding,
    )


class LengthSortedTransformerModel(TransformerModel):
    """spacy-transformers' TransformerModel whose forward pass predicts in length-sorted batches (module docstring)."""

    def __init__(self, name: str, get_spans: Callable, tokenizer_config: dict = {}, transformer_config: dict = {},
                 mixed_precision: bool = False, grad_scaler_config: dict = {},
                 max_batch_wordpieces: int = 4096, max_added_padding: int = 32) -> None:
        super().__init__(name, get_spans, tokenizer_config, transformer_config, mixed_precision, grad_scaler_config)
        # thinc keeps a model's forward function here; TransformerModel's __init__ fixes it to the padded one.
        self._func = forward
        self.attrs[BATCH_WORDPIECES] = max_batch_wordpieces
        self.attrs[ADDED_PADDING] = max_added_padding

    def copy(self) -> "LengthSortedTransformerModel":
        """A copy that predicts as this model does (TransformerModel.copy builds the base class)."""
        copied = super().copy()
        copied.__class__ = LengthSortedTransformerModel
        copied._func = forward
        copied.attrs[BATCH_WORDPIECES] = self.attrs[BATCH_WORDPIECES]
        copied.attrs[ADDED_PADDING] = self.attrs[ADDED_PADDING]
        return copied


def forward(model: TransformerModel, docs: List[Doc], is_train: bool) -> Tuple[FullTransformerBatch, Callable]:
    """Training: spacy-transformers' forward pass. Prediction: the same windows, wordpieces and alignment, the
    encoder run over length-sorted batches (`predict_sorted`)."""
    if is_train:
        return padded_forward(model, docs, is_train)
    nested_spans = model.attrs["get_spans"](docs)
    flat_spans = [span for doc_spans in nested_spans for span in doc_spans]
    if not flat_spans:
        return padded_forward(model, docs, is_train)
    tokenizer = model.tokenizer
    encoding = huggingface_tokenize(tokenizer, [span.text for span in flat_spans])
    wordpieces = WordpieceBatch.from_batch_encoding(encoding)
    if "offset_mapping" in encoding:
        align = get_alignment_via_offset_mapping(flat_spans, encoding["offset_mapping"])
    else:
        align = get_alignment(flat_spans, wordpieces.strings, tokenizer.all_special_tokens)
    wordpieces, align = truncate_oversize_splits(wordpieces, align, tokenizer.model_max_length)
    output = predict_sorted(model.layers[0], wordpieces, model.attrs[BATCH_WORDPIECES], model.attrs[ADDED_PADDING])
    batch = FullTransformerBatch(spans=nested_spans, wordpieces=wordpieces, model_output=output, align=align)

    def backprop(d_output: FullTransformerBatch) -> List[Doc]:
        raise PipelineError(Errors.E048)

    return batch, backprop


def predict_sorted(encoder: Model, wordpieces: WordpieceBatch, max_items: int, max_added_padding: int) -> ModelOutput:
    """The encoder's output for `wordpieces`, computed over batches of windows of similar length (`length_batches`),
    shaped as one padded batch's."""
    batches = length_batches(wordpieces.lengths, max_items, max_added_padding)
    outputs = [encoder.predict(select(wordpieces, indices)) for indices in batches]
    return merge(outputs, batches, len(wordpieces.lengths), wordpieces.input_ids.shape[1])


def length_batches(lengths: Sequence[int], max_items: int, max_added_padding: int) -> List[List[int]]:
    """Indices of windows in batches, shortest windows first. A window joins the current batch unless that would
    pad the batch's windows by more than `max_added_padding` wordpieces in all (one more forward pass costs less),
    or make it more than `max_items` padded wordpieces; a window longer than `max_items` goes alone."""
    batches: List[List[int]] = []
    longest = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        length = lengths[index]
        batch = batches[-1] if batches else []
        if batch and (length - longest) * len(batch) <= max_added_padding and length * (len(batch) + 1) <= max_items:
            batch.append(index)
        else:
            batches.append([index])
        longest = length
    return batches


def select(wordpieces: WordpieceBatch, indices: Sequence[int]) -> WordpieceBatch:
    """The windows `indices` of a padded batch, padded to their own longest."""
    width = max(wordpieces.lengths[i] for i in indices)
    rows = list(indices)
    token_type_ids = wordpieces.token_type_ids
    return WordpieceBatch(
        strings=[wordpieces.strings[i] for i in rows],
        input_ids=wordpieces.input_ids[rows, :width],
        attention_mask=wordpieces.attention_mask[rows, :width],
        lengths=[wordpieces.lengths[i] for i in rows],
        token_type_ids=None if token_type_ids is None else token_type_ids[rows, :width],
    )


def merge(outputs: List[ModelOutput], batches: List[List[int]], n_rows: int, width: int) -> ModelOutput:
    """One ModelOutput of `n_rows` windows padded to `width` from the outputs of the `batches` of window indices."""
    values: Dict[str, object] = {}
    for key in outputs[0].keys():
        parts = [output[key] for output in outputs]
        if key in TOKEN_OUTPUTS:
            values[key] = scatter(parts, batches, n_rows, (1,), width)
        elif key in ROW_OUTPUTS:
            values[key] = scatter(parts, batches, n_rows, (), width)
        elif key in TOKEN_TUPLE_OUTPUTS or key in ATTENTION_TUPLE_OUTPUTS:
            dims = (1,) if key in TOKEN_TUPLE_OUTPUTS else (2, 3)
            values[key] = tuple(
                scatter([part[layer] for part in parts], batches, n_rows, dims, width)
                for layer in range(len(parts[0]))
            )
        else:
            raise PipelineError(Errors.E049.format(key=key))
    return type(outputs[0])(**values)


def scatter(parts: List[torch.Tensor], batches: List[List[int]], n_rows: int, dims: Tuple[int, ...],
            width: int) -> torch.Tensor:
    """Put each batch's tensor (rows in `batches` order) into one zero tensor of `n_rows` rows whose sequence
    dimensions `dims` are `width` long."""
    shape = list(parts[0].shape)
    shape[0] = n_rows
    for dim in dims:
        shape[dim] = width
    full = parts[0].new_zeros(shape)
    for part, indices in zip(parts, batches):
        index = [torch.tensor(indices, device=part.device)] + [slice(0, part.shape[dim]) for dim in range(1, part.dim())]
        full[tuple(index)] = part
    return full

