"""bench/gpu_check.sh --cpu: the GPU check's dry run on CPU (tiny budget) passes and writes its table."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_cpu_dry_run(tmp_path: Path) -> None:
    env = {**os.environ, "OUT": str(tmp_path), "NER_DATA": str(tmp_path / "ncbi")}
    result = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--cpu"], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    table = (tmp_path / "gpu_check.md").read_text(encoding="utf8")
    assert "FAILED" not in table
    for step in ("| install | skipped", "| versions | ok", "| pytest -m gpu | ok", "| spacy train ner.cfg",
                 "| infer biobert_ner fp32 | ok", "| infer hf_token_classification fp32 | ok"):
        assert step in table, table
