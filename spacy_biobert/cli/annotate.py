"""`spacy-biobert annotate MODEL INPUT OUTPUT`: annotate a corpus, resumably, on this machine or on Ray.

The options are the fields of `AnnotateSettings`.
"""
from pathlib import Path

import typer
from wasabi import msg

from ..annotate import AnnotateSettings, annotate
from ._app import VERBOSE_HELP, app, reported_errors, with_settings


@app.command("annotate")
@with_settings
def annotate_cli(
    model: str = typer.Argument(..., metavar="MODEL", help="Pipeline to run: a folder or an installed package name."),
    input_: str = typer.Argument(
        ..., metavar="INPUT", help="A file, a folder or a quoted glob pattern of input files."
    ),
    output: Path = typer.Argument(
        ...,
        metavar="OUTPUT",
        help="Output file; its suffix (.jsonl, .pubtator, .json) sets the format unless --output-format is given.",
    ),
    *,
    settings: AnnotateSettings,
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Annotate a corpus into JSONL, PubTator or BioC JSON; re-run the same command to resume a killed run."""
    with reported_errors(verbose):
        summary = annotate(model, input_, output, settings)
    msg.good(f"{summary.documents} documents annotated into {summary.output}")
    if summary.errors:
        msg.warn(f"{summary.errors} documents failed: see {summary.errors_path}")
