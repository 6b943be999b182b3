"""`spacy-biobert base-model`: an offline Hugging Face folder that transformers and spacy-transformers load."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_biobert.base_model import OFFLINE_BASE_MODEL, resolve_base_model, write_base_model
from spacy_biobert.errors import BaseModelError

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
