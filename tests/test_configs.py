"""The shipped training configs: model-best is chosen by the score weights each config declares, and no other."""
from pathlib import Path

import pytest
from spacy.util import load_config, load_model_from_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("name", ["ner.cfg", "rel.cfg", "qa.cfg", "ner_rel.cfg"])
def test_only_declared_score_weights_count(name: str, tiny_bert: Path) -> None:
    config = load_config(CONFIGS / name, overrides={"paths.base_model": str(tiny_bert)})
    declared = {key: value for key, value in config["training"]["score_weights"].items() if value}
    nlp = load_model_from_config(config, auto_fill=True, validate=False)
    counted = {key: value for key, value in nlp.config["training"]["score_weights"].items() if value}
    total = sum(declared.values())
    assert counted == pytest.approx({key: value / total for key, value in declared.items()})
