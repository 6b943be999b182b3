"""The shipped training configs: model-best is chosen by the score weights each config declares, and no other;
the joint config trains its NER on train + devel when asked (`paths.ner_train`, written by project.yml's `data`)."""
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.util import load_config, load_model_from_config, registry

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@pytest.mark.parametrize("name", ["ner.cfg", "rel.cfg", "qa.cfg", "ner_rel.cfg"])
def test_only_declared_score_weights_count(name: str, tiny_bert: Path) -> None:
    config = load_config(CONFIGS / name, overrides={"paths.base_model": str(tiny_bert)})
    declared = {key: value for key, value in config["training"]["score_weights"].items() if value}
    nlp = load_model_from_config(config, auto_fill=True, validate=False)
    counted = {key: value for key, value in nlp.config["training"]["score_weights"].items() if value}
    total = sum(declared.values())
    assert counted == pytest.approx({key: value / total for key, value in declared.items()})


def test_ner_rel_trains_on_train_dev(tmp_path: Path) -> None:
    folder = tmp_path / "assets" / "ner" / "NCBI-disease"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text("BRCA1\tB-Disease\nloss\tO\n\n\n", encoding="utf8")
    (folder / "devel.tsv").write_text("breast\tB-Disease\ncancer\tI-Disease\n", encoding="utf8")
    project = tmp_path / "project.yml"
    project.write_text("assets: []\n", encoding="utf8")
    command = [sys.executable, str(ROOT / "scripts" / "fetch_data.py"), str(project), str(tmp_path / "no-mirror")]
    subprocess.run([*command, "--train-dev", str(folder)], check=True, capture_output=True)
    overrides = {"paths.assets": str(tmp_path / "assets"), "paths.ner_train": "train_dev"}
    config = load_config(CONFIGS / "ner_rel.cfg", overrides=overrides, interpolate=True)
    reader = registry.resolve({"reader": config["corpora"]["train"]["corpora"]["ncbi"]})["reader"]
    examples = list(reader(spacy.blank("en")))
    spans = [[(span.text, span.label_) for span in eg.reference.spans["ner_ncbi"]] for eg in examples]
    assert spans == [[("BRCA1", "Disease")], [("breast cancer", "Disease")]]
    (folder / "devel.tsv").unlink()
    missing = subprocess.run([*command, "--train-dev", str(folder)], capture_output=True, text=True)
    assert missing.returncode != 0 and "devel.tsv" in missing.stdout + missing.stderr
