"""The components, `annotate --gpu-id 0` and `pretrain --gpu-id 0` on a CUDA GPU (tiny models).

Marked `gpu` and skipped where torch sees no CUDA device: `pytest -m gpu` on a GPU machine
(bench/gpu_check.sh runs them there).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.util import fix_random_seed

from .test_ner import TRAIN_DATA, ents, examples_for, make_nlp
from .test_pretrain import _settings
from .util import make_tiny_bert


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA GPU")]


@pytest.fixture(scope="module")
def gpu():
    """thinc on GPU 0 with PyTorch's allocator for the module's tests; CPU again afterwards."""
    from thinc.api import NumpyOps, require_gpu, set_current_ops, set_gpu_allocator

    set_gpu_allocator("pytorch")
    require_gpu(0)
    yield
    set_current_ops(NumpyOps())


@pytest.fixture(scope="module")
def gpu_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("gpu_bert"))


@pytest.fixture(scope="module")
def trained_ner(gpu, gpu_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """biobert_ner overfitted on the tiny data on GPU, saved to disk."""
    fix_random_seed(0)
    nlp = make_nlp(gpu_bert)
    examples = examples_for(nlp, TRAIN_DATA, "biobert_ner")
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(60):
        losses = nlp.update(examples, sgd=optimizer, losses={})
    assert losses["biobert_ner"] < 1.0
    path = tmp_path_factory.mktemp("gpu_ner") / "model"
    nlp.to_disk(path)
    return path


def test_ner_trains_and_predicts_on_gpu(trained_ner: Path) -> None:
    import cupy

    nlp = spacy.load(trained_ner)
    doc = nlp(" ".join(TRAIN_DATA[0][0]))
    assert isinstance(doc._.trf_data.tensors[0], cupy.ndarray)
    assert ents(doc) == [("tamoxifen", "Chemical"), ("breast cancer", "Disease")]
    assert all(0.0 <= ent._.score <= 1.0 for ent in doc.ents)


def test_rel_and_qa_train_on_gpu(gpu, gpu_bert: Path, tmp_path: Path) -> None:
    from thinc.api import Adam

    from spacy_biobert.readers.qa import record_to_example
    from spacy_biobert.readers.rel import create_re_tsv_reader

    from .test_qa import TRAIN_DATA as QA_DATA
    from .test_qa import make_nlp as make_qa_nlp
    from .test_rel import TRAIN_TSV, write_tsv
    from .test_rel import make_nlp as make_rel_nlp

    fix_random_seed(0)
    rel_nlp = make_rel_nlp(gpu_bert, {"candidates": {"@misc": "spacy_biobert.entity_pairs.v1",
                                                     "allowed_pairs": [["GENE", "DISEASE"]]}})
    rel_examples = list(create_re_tsv_reader(write_tsv(tmp_path / "train.tsv", TRAIN_TSV))(rel_nlp))
    rel_nlp.initialize(lambda: rel_examples)
    optimizer = Adam(1e-3)
    first = rel_nlp.update(rel_examples, sgd=optimizer, losses={})["biobert_rel"]
    for _ in range(40):
        last = rel_nlp.update(rel_examples, sgd=optimizer, losses={})["biobert_rel"]
    assert last < first
    assert [bool(rel_nlp(eg.predicted.copy())._.relations) for eg in rel_examples] == [True, False, True, False]

    qa_nlp = make_qa_nlp(gpu_bert)
    qa_examples = [record_to_example(qa_nlp, record) for record in QA_DATA]
    optimizer = qa_nlp.initialize(lambda: qa_examples)
    for _ in range(50):
        losses = qa_nlp.update(qa_examples, sgd=optimizer, losses={})
    assert losses["biobert_qa"] < 0.5
    record = QA_DATA[0]
    answers = qa_nlp(record.context)._.ask(record.question, top_k=3)
    assert answers and answers[0].span.text == "kinase"


def test_annotate_cli_on_gpu(trained_ner: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in.jsonl"
    texts = [" ".join(words) for words, _ in TRAIN_DATA]
    inputs.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    result = subprocess.run(
        [sys.executable, "-m", "spacy_biobert", "annotate", str(trained_ner), str(inputs), str(tmp_path / "out.jsonl"),
         "--gpu-id", "0", "--no-progress"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["d0", "d1", "d2", "d3"]
    assert [(e["text"], e["label"]) for e in records[0]["entities"]] == [("tamoxifen", "Chemical"),
                                                                         ("breast cancer", "Disease")]


def test_pretrain_on_gpu(gpu_bert: Path, tmp_path: Path) -> None:
    from spacy_biobert.pretraining import pretrain

    from .test_pretrain import write_text_corpus

    corpus = write_text_corpus(tmp_path / "corpus.txt")
    metrics = pretrain(_settings(gpu_bert, corpus, tmp_path / "adapted", gpu_id=0, precision="auto"))
    assert metrics["device"] == "cuda:0"
    assert metrics["heldout"]["after"]["loss"] < metrics["heldout"]["before"]["loss"]
    from transformers import AutoModel

    assert AutoModel.from_pretrained(str(tmp_path / "adapted")).config.hidden_size == 32
