from pathlib import Path

import pytest

from .util import make_tiny_bert, ruler_pipeline

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT folder that spacy-transformers and transformers load offline."""
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The local corpora mirror (../shared/data); tests that need it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data (the corpora mirror) is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ner_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny transformer + biobert_ner pipeline (spacy-transformers.TransformerModel.v3) overfitted on test_ner's
    TRAIN_DATA, saved as a folder; tests load it and never change it."""
    from .test_ner import TRAIN_DATA, examples_for, make_nlp, train

    nlp = make_nlp(tiny_bert)
    train(nlp, examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    path = tmp_path_factory.mktemp("ner_model") / "ner"
    nlp.to_disk(path)
    return path


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """An EntityRuler pipeline (tests/util.py's `ruler_pipeline`) saved as a folder: a MODEL for annotate."""
    path = tmp_path / "model"
    ruler_pipeline().to_disk(path)
    return path
