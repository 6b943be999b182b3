"""`spacy-biobert base-model OUT [--name NAME]`."""
from pathlib import Path

import typer
from wasabi import msg

from ..base_model import OFFLINE_BASE_MODEL, write_base_model_with_info
from ._app import VERBOSE_HELP, app, reported_errors


@app.command("base-model")
def base_model_cli(
    output: Path = typer.Argument(..., help="Folder to write the Hugging Face checkpoint to."),
    name: str = typer.Option(
        OFFLINE_BASE_MODEL,
        "--name",
        "-n",
        help=f"Hub name or local folder (a `save_pretrained` folder or BERT's PyTorch release: config.json, "
        f"vocab.txt, pytorch_model.bin); the default '{OFFLINE_BASE_MODEL}' is the offline general-domain BERT.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Write the base checkpoint (encoder, MLM head where the source has one, tokenizer with its casing made
    explicit) as a plain Hugging Face folder, and say what the source held."""
    with reported_errors(verbose):
        path, info = write_base_model_with_info(output, name)
    msg.info(f"Found in '{name}':")
    for line in info.describe():
        print(f"  {line}")
    msg.good(f"Base model '{name}' written to {path}")
