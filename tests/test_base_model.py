"""`spacy-biobert base-model`: an offline Hugging Face folder that transformers and spacy-transformers load."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_biobert.base_model import OFFLINE_BASE_MODEL, resolve_base_model, write_base_model, write_base_model_with_info
from spacy_biobert.errors import BaseModelError

from .util import make_cased_bert

CASED_TEXTS = [
    "BRCA1 mutations raise breast cancer risk in BRCA1 carriers.",
    "Tamoxifen lowers the risk; IL-2 and TNF-alpha levels were measured in HeLa cells.",
    "The NCBI Disease corpus annotates Disease mentions such as Huntington disease.",
] * 5

OFFLINE_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spacy_biobert", *args], env=OFFLINE_ENV, capture_output=True, text=True
    )


def test_offline_default_resolves_to_packaged_model() -> None:
    assert (Path(resolve_base_model(OFFLINE_BASE_MODEL)) / "config.json").exists()
    assert resolve_base_model("dmis-lab/biobert-base-cased-v1.2") == "dmis-lab/biobert-base-cased-v1.2"


def test_base_model_cli_writes_loadable_folder(tmp_path: Path) -> None:
    out = tmp_path / "base"
    result = run_cli("base-model", str(out))
    assert result.returncode == 0, result.stderr
    code = (
        "import transformers, sys; m = transformers.AutoModel.from_pretrained(sys.argv[1]); "
        "t = transformers.AutoTokenizer.from_pretrained(sys.argv[1]); "
        "print(m.config.hidden_size, m.config.num_hidden_layers, t.do_lower_case)"
    )
    loaded = subprocess.run([sys.executable, "-c", code, str(out)], env=OFFLINE_ENV, capture_output=True, text=True)
    assert loaded.stdout.split() == ["384", "6", "True"], loaded.stderr


def test_local_folder_is_copied(tiny_bert: Path, tmp_path: Path) -> None:
    out = write_base_model(tmp_path / "copy", str(tiny_bert))
    assert (out / "config.json").exists() and (out / "vocab.txt").exists()


def test_base_model_loads_in_spacy_transformer(tiny_bert: Path) -> None:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(tiny_bert)}})
    nlp.initialize()
    doc = nlp("BRCA1 mutations raise breast cancer risk.")
    assert doc._.trf_data.tensors[0].shape[-1] == 32


def test_unreachable_hub_fails_in_one_line() -> None:
    result = run_cli("base-model", "/tmp/never-written", "--name", "dmis-lab/biobert-base-cased-v1.2")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "[E020]" in lines[0] and "--name DIR" in lines[0]


def test_unknown_local_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match="E021"):
        write_base_model(tmp_path / "out", str(tmp_path / "missing" / "model"))


def _tokens(folder: Path, text: str) -> list:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder)).tokenize(text)


def test_release_layout_keeps_case_and_mlm_head(tmp_path: Path) -> None:
    """BioBERT's PyTorch release: no model_type, no tokenizer config, BertForPreTraining weights."""
    import torch
    from safetensors.torch import load_file

    source = make_cased_bert(tmp_path / "release", CASED_TEXTS)
    assert not (source / "tokenizer_config.json").exists()
    out, info = write_base_model_with_info(tmp_path / "out", str(source))
    assert info.cased and "inferred" in info.casing_source and not info.tokenizer_config
    assert info.mlm_head and info.architecture == "BertForMaskedLM" and info.layers == 2
    assert info.vocab_size == len((source / "vocab.txt").read_text(encoding="utf8").split())
    assert "BRCA1" in _tokens(out, "BRCA1 mutations")
    weights = load_file(str(out / "model.safetensors"))
    released = torch.load(source / "pytorch_model.bin")
    for key in ("cls.predictions.transform.dense.weight", "bert.pooler.dense.weight"):
        assert torch.equal(weights[key], released[key]), key
    assert not any(key.startswith("cls.seq_relationship") for key in weights)
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(str(out)).model_max_length == 512


def test_pretrain_continues_the_release_head(tmp_path: Path) -> None:
    from spacy_biobert.pretraining.model import load_masked_lm

    source = make_cased_bert(tmp_path / "release", CASED_TEXTS)
    out = write_base_model(tmp_path / "out", str(source))
    for base in (source, out):
        _, tokenizer, fresh_head, pooler = load_masked_lm(str(base))
        assert not fresh_head and pooler, base
        assert "BRCA1" in tokenizer.tokenize("BRCA1 mutations"), base


def test_release_without_head_and_uncased_vocab_only(tmp_path: Path) -> None:
    source = make_cased_bert(tmp_path / "release", [t.lower() for t in CASED_TEXTS], mlm_head=False)
    out, info = write_base_model_with_info(tmp_path / "out", str(source))
    assert not info.cased and not info.mlm_head and "no vocabulary entry" in info.casing_source
    assert _tokens(out, "Breast") == _tokens(out, "breast")


def test_save_pretrained_layout_reads_tokenizer_config(tmp_path: Path) -> None:
    source = make_cased_bert(tmp_path / "hf", CASED_TEXTS, layout="save_pretrained")
    out, info = write_base_model_with_info(tmp_path / "out", str(source))
    assert info.cased and info.tokenizer_config and info.casing_source.endswith("do_lower_case = false")
    assert info.mlm_head
    assert "BRCA1" in _tokens(out, "BRCA1 mutations")


def test_cli_says_what_it_found(tmp_path: Path) -> None:
    source = make_cased_bert(tmp_path / "release", CASED_TEXTS)
    result = run_cli("base-model", str(tmp_path / "out"), "--name", str(source))
    assert result.returncode == 0, result.stderr
    for expected in ("BertForMaskedLM (bert), 2 layers", "cased (inferred", "masked-LM head: present",
                     "tokenizer_config.json: absent", "no model_type"):
        assert expected in result.stdout, result.stdout


def test_tensorflow_checkpoint_and_empty_folder_are_explained(tmp_path: Path) -> None:
    tf = tmp_path / "tf"
    tf.mkdir()
    (tf / "bert_config.json").write_text("{}", encoding="utf8")
    (tf / "model.ckpt-1000000.index").write_bytes(b"")
    with pytest.raises(BaseModelError, match="E030"):
        write_base_model(tmp_path / "out", str(tf))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BaseModelError, match="E031"):
        write_base_model(tmp_path / "out", str(empty))


def test_mismatched_weights_are_an_error(tmp_path: Path) -> None:
    import torch

    source = make_cased_bert(tmp_path / "release", CASED_TEXTS)
    state = torch.load(source / "pytorch_model.bin")
    torch.save({"encoder_v2." + key: value for key, value in state.items()}, source / "pytorch_model.bin")
    with pytest.raises(BaseModelError, match="E032"):
        write_base_model(tmp_path / "out", str(source))


def test_lower_casing_config_on_a_cased_vocabulary_is_reported(tmp_path: Path) -> None:
    import json

    source = make_cased_bert(tmp_path / "hf", CASED_TEXTS, layout="save_pretrained")
    config_path = source / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf8"))
    config_path.write_text(json.dumps({**config, "do_lower_case": True}), encoding="utf8")
    _, info = write_base_model_with_info(tmp_path / "out", str(source))
    assert not info.cased and any("[W002]" in note for note in info.notes)


def test_tokenizer_config_without_casing_infers_it(tmp_path: Path) -> None:
    import json

    source = make_cased_bert(tmp_path / "release", CASED_TEXTS)
    (source / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}), encoding="utf8")
    out, info = write_base_model_with_info(tmp_path / "out", str(source))
    assert info.cased and info.tokenizer_config and "inferred" in info.casing_source
    assert "BRCA1" in _tokens(out, "BRCA1 mutations")


def test_packaged_models_are_registered_and_need_their_package() -> None:
    from spacy.util import registry

    from spacy_biobert.base_model import packaged_model

    assert OFFLINE_BASE_MODEL in registry.base_models
    name = "spacy-biobert-test-packaged-model"
    registry.base_models.register(name, func=lambda: Path("/models/packaged"))
    assert resolve_base_model(name) == str(Path("/models/packaged"))
    with pytest.raises(BaseModelError, match=r"E022.*pip install no-such-model-package"):
        packaged_model("no-such-model-package", "no_such_model_package")()
