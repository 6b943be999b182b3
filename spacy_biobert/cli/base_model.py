"""`spacy-biobert base-model OUT [--name NAME]`."""
from pathlib import Path

import typer
from wasabi import msg

from ..base_model import OFFLINE_BASE_MODEL, write_base_model
from ._app import VERBOSE_HELP, app, reported_errors


@app.command("base-model")
def base_model_cli(
    output: Path = typer.Argument(..., help="Folder to write the Hugging Face checkpoint to."),
    name: str = typer.Option(
        OFFLINE_BASE_MODEL,
        "--name",
        "-n",
        help=f"Hub name or local folder; the default '{OFFLINE_BASE_MODEL}' is the offline general-domain BERT.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Write the base checkpoint (encoder + tokenizer) as a plain Hugging Face folder."""
    with reported_errors(verbose):
        path = write_base_model(output, name)
    msg.good(f"Base model '{name}' written to {path}")
