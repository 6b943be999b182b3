"""Inference precision (`spacy_biobert.precision`): int8 and bf16 encoders still find the entities and answers of
an fp32 one; `auto` follows the hardware; bad settings and saving a converted pipeline are refused. Training
precision: bf16 training still learns and saves fp32 weights."""
import json
import warnings
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
import torch
from spacy.language import Language
from typer.testing import CliRunner

from spacy_biobert import precision as precision_module
from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.cli import app
from spacy_biobert.errors import PipelineError
from spacy_biobert.precision import set_precision
from spacy_biobert.readers.qa import record_to_example

from . import test_qa
from .test_ner import TRAIN_DATA, examples_for, make_nlp

TEXTS = [" ".join(words) for words, _ in TRAIN_DATA]
QUANTIZED_LINEAR = torch.ao.nn.quantized.dynamic.Linear


def entities(nlp: Language) -> List[List[Tuple[str, str]]]:
    return [[(ent.text, ent.label_) for ent in doc.ents] for doc in nlp.pipe(TEXTS)]


def scores(nlp: Language) -> List[float]:
    return [ent._.score for doc in nlp.pipe(TEXTS) for ent in doc.ents]


def quantized_layers(nlp: Language) -> int:
    return sum(isinstance(module, QUANTIZED_LINEAR) for shim in precision_module._torch_shims(nlp)
               for module in shim._model.modules())


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_reduced_precision_finds_the_fp32_entities(ner_model: Path, precision: str):
    reference = spacy.load(ner_model)
    expected = entities(reference)
    assert any(expected)
    nlp = spacy.load(ner_model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W003 where this CPU emulates bf16
        assert set_precision(nlp, precision) == precision
    assert entities(nlp) == expected
    assert scores(nlp) == pytest.approx(scores(reference), abs=0.05)
    assert scores(nlp) != scores(reference)  # the encoder really ran at the other precision
    assert (quantized_layers(nlp) > 0) == (precision == "int8")


def test_int8_quantizes_every_encoder_linear_layer(ner_model: Path):
    nlp = spacy.load(ner_model)
    linear = sum(isinstance(module, torch.nn.Linear) for shim in precision_module._torch_shims(nlp)
                 for module in shim._model.modules())
    set_precision(nlp, "int8")
    assert quantized_layers(nlp) == linear > 0


def test_biobert_qa_encoder_is_converted_and_still_answers(tiny_bert: Path):
    nlp = test_qa.make_nlp(tiny_bert)
    examples = [record_to_example(nlp, record) for record in test_qa.TRAIN_DATA]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(50):
        nlp.update(examples, sgd=optimizer)
    questions = [record.question for record in test_qa.TRAIN_DATA]
    docs = [nlp.make_doc(record.context) for record in test_qa.TRAIN_DATA]
    qa = nlp.get_pipe("biobert_qa")
    assert [answers[0].span.text for answers in qa.answer(questions, docs)] == test_qa.ANSWERS
    set_precision(nlp, "int8")
    assert quantized_layers(nlp) > 0
    assert [answers[0].span.text for answers in qa.answer(questions, docs)] == test_qa.ANSWERS


@pytest.mark.parametrize("native, resolved", [(True, "bf16"), (False, "fp32")])
def test_auto_is_bf16_only_where_native(ner_model: Path, monkeypatch: pytest.MonkeyPatch, native: bool,
                                        resolved: str):
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: native)
    nlp = spacy.load(ner_model)
    assert set_precision(nlp, "auto") == resolved


def test_emulated_bf16_warns(ner_model: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: False)
    with pytest.warns(UserWarning, match="W003"):
        set_precision(spacy.load(ner_model), "bf16")


def test_fp32_and_a_pipeline_without_encoder_are_unchanged(ner_model: Path):
    nlp = spacy.load(ner_model)
    before = scores(nlp)
    assert set_precision(nlp, "fp32") == "fp32"
    assert scores(nlp) == before
    assert set_precision(spacy.blank("en"), "int8") == "fp32"


def test_bad_and_repeated_settings_are_refused(ner_model: Path):
    nlp = spacy.load(ner_model)
    with pytest.raises(PipelineError, match="E036"):
        set_precision(nlp, "fp16")
    set_precision(nlp, "int8")
    assert set_precision(nlp, "int8") == "int8"
    with pytest.raises(PipelineError, match="E037"):
        set_precision(nlp, "bf16")


def test_converted_pipeline_refuses_to_be_saved(ner_model: Path, tmp_path: Path):
    nlp = spacy.load(ner_model)
    set_precision(nlp, "int8")
    with pytest.raises(PipelineError, match="E040"):
        nlp.to_disk(tmp_path / "saved")


def test_evaluate_and_annotate_take_precision(ner_model: Path, tmp_path: Path):
    tsv = tmp_path / "test.tsv"
    tsv.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*sent)) for sent in TRAIN_DATA) + "\n")
    result = CliRunner().invoke(app, ["evaluate", str(ner_model), str(tsv), "--task", "ner", "--precision", "int8",
                                      "--output", str(tmp_path / "scores.json")])
    assert result.exit_code == 0, result.output
    assert '"ents_f":1.0' in (tmp_path / "scores.json").read_text().replace(" ", "")

    bad = CliRunner().invoke(app, ["evaluate", str(ner_model), str(tsv), "--task", "ner", "--precision", "fp8"])
    assert bad.exit_code != 0 and "E036" in bad.output and "Traceback" not in bad.output

    inputs = tmp_path / "docs.txt"
    inputs.write_text("\n".join(TEXTS) + "\n")
    outputs = {}
    for precision in ("fp32", "int8"):
        out = tmp_path / f"{precision}.jsonl"
        annotate(ner_model, inputs, out, AnnotateSettings(precision=precision, progress=False))
        outputs[precision] = [[(e["text"], e["label"]) for e in record["entities"]]
                              for record in map(json.loads, out.read_text().splitlines())]
    assert outputs["int8"] == outputs["fp32"] == entities(spacy.load(ner_model))


def test_bf16_training_learns_and_saves_fp32_weights(tiny_bert: Path, tmp_path: Path):
    """bf16 training (autocast forward passes) still overfits the tiny data; the weights stay fp32, so the
    pipeline saves and, loaded again at fp32, finds the same entities."""
    nlp = make_nlp(tiny_bert)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    optimizer = nlp.initialize(lambda: examples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W003 where this CPU emulates bf16
        assert precision_module.set_training_precision(nlp, "bf16") == "bf16"
    shim = next(precision_module._torch_shims(nlp))
    before = [p.detach().clone() for p in shim._model.parameters()]
    linear = next(m for m in shim._model.modules() if isinstance(m, torch.nn.Linear))
    dtypes = []
    linear.register_forward_hook(lambda module, inputs, output: dtypes.append(output.dtype))
    losses: dict = {}
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, losses=losses)
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in shim._model.parameters())
    assert any(not torch.equal(a, p.detach()) for a, p in zip(before, shim._model.parameters()))
    assert nlp.evaluate(examples_for(nlp, TRAIN_DATA, "biobert_ner"))["ents_f"] > 0.5
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.evaluate(examples_for(loaded, TRAIN_DATA, "biobert_ner"))["ents_f"] > 0.5


def test_training_precision_callback_and_bad_settings(tiny_bert: Path, monkeypatch: pytest.MonkeyPatch):
    callback = spacy.util.registry.callbacks.get("spacy_biobert.training_precision.v1")
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: False)
    nlp = make_nlp(tiny_bert)
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    assert callback(precision="auto")(nlp) is nlp
    shim = next(precision_module._torch_shims(nlp))
    assert "begin_update" not in vars(shim)  # auto without native bf16: fp32, nothing replaced
    for bad in ("int8", "fp16"):
        with pytest.raises(PipelineError, match="E041"):
            callback(precision=bad)
