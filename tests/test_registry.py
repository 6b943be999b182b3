"""Every name setup.cfg declares as an entry point resolves, under the registry the config system uses."""
import configparser
from importlib.metadata import entry_points
from pathlib import Path
from typing import List, Tuple

import pytest
from spacy.util import registry
from thinc.api import registry as thinc_registry

SETUP_CFG = Path(__file__).resolve().parent.parent / "setup.cfg"
REGISTRIES = {
    "spacy_architectures": lambda name: registry.architectures.get(name),
    "spacy_readers": lambda name: registry.readers.get(name),
    "spacy_batchers": lambda name: registry.batchers.get(name),
    "spacy_scorers": lambda name: registry.scorers.get(name),
    "thinc_layers": lambda name: thinc_registry.layers.get(name),
    "thinc_initializers": lambda name: thinc_registry.initializers.get(name),
    "spacy_misc": lambda name: registry.misc.get(name),
    "spacy_loggers": lambda name: registry.loggers.get(name),
    "spacy_factories": lambda name: registry._entry_point_factories.get(name),
    "spacy_tokenizers": lambda name: registry.tokenizers.get(name),
}


def declared() -> List[Tuple[str, str]]:
    config = configparser.ConfigParser()
    config.read(SETUP_CFG)
    pairs = []
    for group, body in config["options.entry_points"].items():
        for line in body.strip().splitlines():
            pairs.append((group, line.split("=", 1)[0].strip()))
    return pairs


@pytest.mark.parametrize("group,name", [pair for pair in declared() if pair[0] in REGISTRIES])
def test_entry_point_resolves(group: str, name: str) -> None:
    assert callable(REGISTRIES[group](name))


@pytest.mark.parametrize("group,name", declared())
def test_entry_point_is_installed(group: str, name: str) -> None:
    installed = {ep.name for ep in entry_points(group=group)}
    assert name in installed, f"{name} is not installed: run `pip install -e .` again"


def test_factories_known_to_spacy() -> None:
    import spacy

    nlp = spacy.blank("en")
    for factory in ("biobert_ner", "biobert_rel", "biobert_qa", "biobert_abbreviations", "biobert_linker",
                    "abbreviation_detector", "pysbd_sentencizer"):
        assert nlp.has_factory(factory)


def test_cli_lists_every_command() -> None:
    from typer.testing import CliRunner

    from spacy_biobert.cli import app

    result = CliRunner().invoke(app, ["--help"])
    for command in ("base-model", "pretrain", "evaluate", "annotate", "kb"):
        assert command in result.output
