"""The `spacy-biobert` command-line application; each command lives in its own module."""
from typing import NoReturn

import typer

app = typer.Typer(
    name="spacy-biobert",
    help="BioBERT for spaCy: base model, domain-adaptive pretraining, evaluation, corpus annotation and serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """BioBERT for spaCy: base model, domain-adaptive pretraining, evaluation, corpus annotation and serving."""


def fail(message: str) -> NoReturn:
    """Print an error as one unwrapped line on stderr and exit with status 1."""
    typer.secho(f"✘ {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)
