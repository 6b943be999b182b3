"""The `spacy-biobert` command-line application; each command lives in its own module.

Every command runs its work inside `reported_errors`: an error the user can fix (a bad corpus file, a
wrong option, a missing model, an OUTPUT that cannot be written) is printed as one red line and the
command exits with status 1; `--verbose` prints the traceback as well. Anything else is a bug and keeps
its traceback.
"""
import traceback
from contextlib import contextmanager
from typing import Iterator, NoReturn

import typer

from ..errors import BaseModelError

app = typer.Typer(
    name="spacy-biobert",
    help="BioBERT for spaCy: base model, domain-adaptive pretraining, evaluation, corpus annotation and serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# What a user's input can cause: the package's own errors (CorpusError, AnnotateError and the E-coded
# ValueErrors are ValueErrors), spaCy's and thinc's (E050/E053 are OSErrors, config errors ValueErrors),
# decoding errors and OS errors on files and folders.
USER_ERRORS = (ValueError, OSError, BaseModelError)
VERBOSE_HELP = "Print the full traceback of an error."


@app.callback()
def _root() -> None:
    """BioBERT for spaCy: base model, domain-adaptive pretraining, evaluation, corpus annotation and serving."""


def fail(message: str) -> NoReturn:
    """Print an error as one unwrapped line on stderr and exit with status 1."""
    typer.secho(f"✘ {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def one_line(err: BaseException) -> str:
    """An exception as one line: its message (coded messages as they are, others after their type)."""
    text = " ".join(str(err).split())
    return text if text.startswith("[E") else f"{type(err).__name__}: {text}"


@contextmanager
def reported_errors(verbose: bool = False) -> Iterator[None]:
    """Turn a user error raised inside the block into one red line and exit status 1 (see module docstring)."""
    try:
        yield
    except USER_ERRORS as err:
        if verbose:
            traceback.print_exc()
        fail(one_line(err) + ("" if verbose else " (--verbose for the traceback)"))
