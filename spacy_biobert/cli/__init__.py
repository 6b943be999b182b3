"""`spacy-biobert` (also `python -m spacy_biobert`): importing this package registers every command."""
from ._app import app
from . import annotate, base_model, evaluate, kb, pretrain, serve  # noqa: F401  (register commands)


def main() -> None:
    """Console-script entry point."""
    app()
