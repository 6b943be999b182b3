"""The `spacy-biobert` command-line application; each command lives in its own module.

Every command runs its work inside `reported_errors`: an error the user can fix (a bad corpus file, a
wrong option, a missing model, an OUTPUT that cannot be written) is printed as one red line and the
command exits with status 1; `--verbose` prints the traceback as well. Anything else is a bug and keeps
its traceback.

Commands whose work takes a settings dataclass (`spacy_biobert.settings`) derive their options from it
with `with_settings`, so each option is declared once, on the setting.
"""
import dataclasses
import functools
import inspect
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, NoReturn, get_type_hints

import typer

from ..errors import BaseModelError
from ..settings import ARGUMENT, HELP, is_option, option_flags

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


def with_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the options of the settings dataclasses its parameters are annotated with.

    Each such parameter is replaced by the `option()` fields of its dataclass (type, default and help as
    declared there), and the command receives the dataclass built from their values.
    """
    signature = inspect.signature(command)
    hints = get_type_hints(command)
    groups = {name: hints[name] for name in signature.parameters if dataclasses.is_dataclass(hints.get(name))}
    parameters: List[inspect.Parameter] = []
    for name, parameter in signature.parameters.items():
        if name in groups:
            parameters.extend(settings_parameters(groups[name]))
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY,
                                                annotation=hints.get(name, parameter.annotation)))

    @functools.wraps(command)
    def run(**values: Any) -> Any:
        for name, settings in groups.items():
            own = [f.name for f in dataclasses.fields(settings) if is_option(f)]
            values[name] = settings(**{key: values.pop(key) for key in own})
        return command(**values)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return run


def settings_parameters(settings: type) -> List[inspect.Parameter]:
    """The typer parameters of a settings dataclass's `option()` fields, in declaration order."""
    hints = get_type_hints(settings)
    parameters = []
    for setting in dataclasses.fields(settings):
        if not is_option(setting):
            continue
        default: Any = setting.default
        if setting.default_factory is not dataclasses.MISSING:
            default = setting.default_factory()
        elif default is dataclasses.MISSING:
            default = ...
        meta = setting.metadata
        if meta[ARGUMENT]:
            info = typer.Argument(default, help=meta[HELP])
        else:
            info = typer.Option(default, *option_flags(setting), help=meta[HELP])
        kind = inspect.Parameter.KEYWORD_ONLY
        parameters.append(inspect.Parameter(setting.name, kind, default=info, annotation=hints[setting.name]))
    return parameters
