"""Settings declared once: dataclass fields that are also command-line options.

A settings dataclass (`PretrainingSettings`, `AnnotateSettings`, the evaluation tasks' settings) declares
each setting with `option()`: its default and its help. Library callers build the dataclass; the CLI
derives its options from the fields (`spacy_biobert.cli._app.with_settings`), so a default or a help text
is written in one place. Fields declared without `option()` are settings for library callers only.
"""
from dataclasses import MISSING, Field, field
from typing import Any, Callable, Sequence, Tuple

HELP = "help"
FLAGS = "flags"
ARGUMENT = "argument"


def option(
    default: Any = MISSING,
    help: str = "",
    *,
    flags: Sequence[str] = (),
    argument: bool = False,
    default_factory: Callable[[], Any] = MISSING,  # type: ignore[assignment]
) -> Any:
    """A dataclass field that the CLI shows with `help`: as the option `--field-name` (or `flags`, e.g.
    `("--output", "-o")`), or as a positional argument (`argument`). No default makes it required."""
    return field(default=default, default_factory=default_factory, metadata={HELP: help, FLAGS: tuple(flags),
                                                                             ARGUMENT: argument})


def is_option(settings_field: "Field[Any]") -> bool:
    """Whether a dataclass field was declared with `option()`."""
    return HELP in settings_field.metadata


def option_flags(settings_field: "Field[Any]") -> Tuple[str, ...]:
    """An `option()` field's flags: those declared, else `--field-name`."""
    return settings_field.metadata[FLAGS] or ("--" + settings_field.name.replace("_", "-"),)
