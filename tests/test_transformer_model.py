"""`spacy_biobert.TransformerModel.v1`: predictions in length-sorted batches are those of one padded batch (same
entities, scores and real wordpieces' vectors, in the documents' order); a pipeline trained with
spacy-transformers' architecture switches by config; training, empty documents and bad settings."""
from pathlib import Path
from typing import Any, Dict, List

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from spacy.util import load_config, registry
from spacy_transformers.data_classes import WordpieceBatch
from thinc.api import Model
from transformers.file_utils import ModelOutput

from spacy_biobert.ml.transformer_model import LengthSortedTransformerModel, length_batches, merge, predict_sorted

from .test_ner import TRAIN_DATA, examples_for, make_nlp, train

ARCHITECTURE = "spacy_biobert.TransformerModel.v1"
# Windows of 4 tokens every 3: every document gets windows of several wordpiece lengths.
SMALL_WINDOWS = {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 4, "stride": 3}
SENTENCES = [" ".join(words) for words, _ in TRAIN_DATA]
TEXTS = [" ".join(SENTENCES[: n + 1]) for n in range(len(SENTENCES))] + ["", SENTENCES[2], "tamoxifen"] + SENTENCES


def load(path: Path, **settings: Any) -> Language:
    """The saved pipeline with small windows and the transformer's model block updated by `settings`."""
    model = {**load_config(path / "config.cfg")["components"]["transformer"]["model"], "get_spans": SMALL_WINDOWS}
    return spacy.load(path, config={"components": {"transformer": {"model": {**model, **settings}}}})


def test_sorted_prediction_gives_the_padded_batch_results(ner_model: Path):
    reference = load(ner_model)
    nlp = load(ner_model, **{"@architectures": ARCHITECTURE, "max_batch_wordpieces": 60, "max_added_padding": 3})
    assert isinstance(nlp.get_pipe("transformer").model, LengthSortedTransformerModel)
    expected, docs = list(reference.pipe(TEXTS, batch_size=4)), list(nlp.pipe(TEXTS, batch_size=4))
    assert [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs] == [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in expected
    ]
    assert any(doc.ents for doc in docs)
    scores = [e._.score for doc in docs for e in doc.ents]
    assert scores == pytest.approx([e._.score for doc in expected for e in doc.ents], abs=1e-5)
    windows = 0
    for doc, ref in zip(docs, expected):
        data, ref_data = doc._.trf_data, ref._.trf_data
        assert data.wordpieces.lengths == ref_data.wordpieces.lengths
        assert data.align.data.tolist() == ref_data.align.data.tolist()
        for i, length in enumerate(data.wordpieces.lengths):
            numpy.testing.assert_allclose(data.model_output.last_hidden_state[i, :length],
                                          ref_data.model_output.last_hidden_state[i, :length], atol=1e-5)
        windows += len(data.wordpieces.lengths)
    assert windows > len(TEXTS)


class RecordingEncoder:
    """A stand-in encoder: each window's vectors are its input ids; records each batch's shape."""

    def __init__(self) -> None:
        self.shapes: List[tuple] = []
        self.model: Model = Model("recording", self.forward)

    def forward(self, model: Model, wordpieces: WordpieceBatch, is_train: bool) -> tuple:
        self.shapes.append(wordpieces.input_ids.shape)
        ids = torch.tensor(wordpieces.input_ids, dtype=torch.float32)
        output = ModelOutput(last_hidden_state=ids[:, :, None].repeat(1, 1, 2), pooler_output=ids.sum(1, keepdim=True))
        return output, lambda d_output: d_output


def wordpiece_batch(lengths: List[int]) -> WordpieceBatch:
    width = max(lengths)
    ids = numpy.zeros((len(lengths), width), dtype="i")
    mask = numpy.zeros((len(lengths), width), dtype="bool")
    for row, length in enumerate(lengths):
        ids[row, :length] = numpy.arange(1, length + 1) + 100 * row
        mask[row, :length] = True
    strings = [[f"w{i}" for i in range(length)] for length in lengths]
    return WordpieceBatch(strings=strings, input_ids=ids, attention_mask=mask, lengths=lengths, token_type_ids=None)


def test_batches_are_sorted_capped_and_put_back_in_order():
    lengths = [9, 2, 7, 3, 9, 1, 5, 20]
    wordpieces, encoder = wordpiece_batch(lengths), RecordingEncoder()
    output = predict_sorted(encoder.model, wordpieces, max_items=18, max_added_padding=100)
    widths = [width for _, width in encoder.shapes]
    assert widths == sorted(widths)
    assert all(rows * width <= 18 or rows == 1 for rows, width in encoder.shapes)
    assert sum(rows for rows, _ in encoder.shapes) == len(lengths)
    assert (1, 20) in encoder.shapes  # longer than the cap: alone
    full = encoder.forward(encoder.model, wordpieces, False)[0]
    assert torch.equal(output.last_hidden_state, full.last_hidden_state)  # padding: zeros (ids are 0 there too)
    assert torch.equal(output.pooler_output, full.pooler_output)


def test_length_batches_group_similar_lengths():
    lengths = [9, 2, 7, 3, 9, 1, 5, 20, 2]
    batches = length_batches(lengths, max_items=1000, max_added_padding=2)
    # 3 would pad [1, 2, 2] by 3 > 2; 5 pads [3] by 2; 7 would pad [3, 5] by 4; 20 would pad [7, 9, 9] by 33.
    assert [[lengths[i] for i in batch] for batch in batches] == [[1, 2, 2], [3, 5], [7, 9, 9], [20]]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert len(length_batches(lengths, max_items=1000, max_added_padding=1000)) == 1
    assert [len(batch) for batch in length_batches([4] * 7, max_items=12, max_added_padding=0)] == [3, 3, 1]
    assert length_batches([], max_items=8, max_added_padding=0) == []


def test_hidden_states_and_attentions_are_put_back_and_unknown_outputs_refused():
    rows = [torch.full((1, 3, 2), float(i)) for i in range(3)]
    attentions = [torch.ones((1, 2, 3, 3)) * i for i in range(3)]
    outputs = [ModelOutput(hidden_states=(rows[i], rows[i]), attentions=(attentions[i],)) for i in (2, 0, 1)]
    merged = merge(outputs, [[2], [0], [1]], n_rows=3, width=5)
    assert merged.hidden_states[1].shape == (3, 5, 2)
    assert merged.hidden_states[1][:, 0, 0].tolist() == [0.0, 1.0, 2.0]
    assert merged.attentions[0].shape == (3, 2, 5, 5)
    assert merged.attentions[0][:, 0, 0, 0].tolist() == [0.0, 1.0, 2.0]
    assert merged.attentions[0][:, 0, 4, 4].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="E049"):
        merge([ModelOutput(past_key_values=rows[0])], [[0]], n_rows=1, width=3)


def test_training_copy_and_bad_settings(tiny_bert: Path):
    nlp = make_nlp(tiny_bert)
    model: Dict[str, Any] = {"@architectures": ARCHITECTURE, "name": str(tiny_bert),
                             "tokenizer_config": {"use_fast": True}, "get_spans": SMALL_WINDOWS}
    nlp.replace_pipe("transformer", "transformer", config={"model": model})
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    train(nlp, examples)
    assert [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(SENTENCES)] == [
        [(s.text, s.label_) for s in eg.reference.ents] for eg in examples
    ]
    assert nlp("")._.trf_data.wordpieces.lengths == []
    trf = nlp.get_pipe("transformer").model
    copied = trf.copy()
    assert isinstance(copied, LengthSortedTransformerModel)
    assert copied.attrs["max_batch_wordpieces"] == trf.attrs["max_batch_wordpieces"]
    assert copied.attrs["max_added_padding"] == trf.attrs["max_added_padding"]
    with pytest.raises(ValueError, match="E047"):
        registry.architectures.get(ARCHITECTURE)(name=str(tiny_bert), get_spans=None, max_batch_wordpieces=0)
    with pytest.raises(ValueError, match="E047"):
        registry.architectures.get(ARCHITECTURE)(name=str(tiny_bert), get_spans=None, max_added_padding=-1)
