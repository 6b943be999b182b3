"""`spacy-biobert evaluate ... --task rel`: re_eval.py's P/R/F1, on a test file or by k-fold cross-validation.

Without folds, MODEL is a trained pipeline and DATA a test file (BioBERT RE .tsv, relation .jsonl or
.spacy); only the transformer(s) and `biobert_rel` run, on the gold entity mentions, as BioBERT scores.
With `folds`, MODEL is a training config and DATA a folder of numbered folds (`1/train.tsv`,
`1/test.tsv`, ...), as BioBERT's GAD: each fold is trained with spaCy's training loop in this process,
its final model scored on the fold's test file, and the mean reported.
"""
import io
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

from spacy.language import Language
from spacy.training import Example
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import load_config, registry, resolve_dot_names
from thinc.api import require_gpu
from tqdm import tqdm

from ..base_model import OFFLINE_BASE_MODEL, resolve_base_model
from ..errors import Errors, PipelineError
from ..pipelines import component_factories, load_trained_pipeline
from ..readers.rel import create_re_tsv_reader, create_rel_jsonl_reader, fold_files

SCORE_KEYS = ("rel_p", "rel_r", "rel_f")
RELATION_FACTORIES = ("transformer", "biobert_rel")


def evaluate(
    model: str,
    data: Path,
    *,
    gpu_id: int = -1,
    folds: int = 0,
    overrides: Optional[Dict[str, Any]] = None,
    train_limit: int = 0,
    test_limit: int = 0,
    **options: Any,
) -> Dict[str, Any]:
    """Score relation extraction; returns {"scores": {...}, "rows": [...]} for the CLI's tables and JSON.

    model (str): a trained pipeline, or with `folds` a training config (e.g. configs/rel.cfg).
    data (Path): a test file, or with `folds` a folder of numbered folds.
    gpu_id (int): GPU to use; -1 for CPU.
    folds (int): cross-validate over the first `folds` folds of `data`; 0 to score a trained pipeline.
    overrides (Optional[Dict[str, Any]]): config overrides for the folds, e.g. {"training.max_steps": 20}.
    train_limit (int): train each fold on at most this many rows (0: all); for a quick smoke run.
    test_limit (int): score at most this many test rows (0: all).
    """
    if gpu_id >= 0:
        require_gpu(gpu_id)
    if folds:
        return cross_validate(
            Path(model), Path(data), folds, gpu_id=gpu_id, overrides=overrides or {},
            train_limit=train_limit, test_limit=test_limit,
        )
    nlp = load_trained_pipeline(model)
    factories = component_factories(nlp)
    if "biobert_rel" not in factories.values():
        components = ", ".join(nlp.pipe_names) or "none"
        raise PipelineError(Errors.E029.format(model=model, component="biobert_rel", task="rel", components=components))
    examples = list(read_test_file(Path(data), nlp, limit=test_limit))
    scores = score_pipeline(nlp, examples)
    return {"scores": {**scores, "examples": len(examples)}, "rows": []}


def read_test_file(path: Path, nlp: Language, limit: int = 0) -> Iterable[Example]:
    """Examples from a BioBERT RE .tsv, a relation .jsonl or a .spacy DocBin, gold entities on both docs."""
    if path.suffix == ".tsv":
        return create_re_tsv_reader(path, limit=limit)(nlp)
    if path.suffix == ".jsonl":
        return create_rel_jsonl_reader(path, limit=limit)(nlp)
    if path.suffix == ".spacy":
        corpus = registry.readers.get("spacy.Corpus.v1")(path, limit=limit)
        return (_with_gold_ents(eg) for eg in corpus(nlp))
    raise ValueError(Errors.E206.format(path=path))


def _with_gold_ents(eg: Example) -> Example:
    eg.predicted.ents = [eg.predicted.char_span(e.start_char, e.end_char, label=e.label_, alignment_mode="expand")
                         for e in eg.reference.ents]
    return eg


def score_pipeline(nlp: Language, examples: List[Example]) -> Dict[str, float]:
    """rel_p/rel_r/rel_f with only the transformer(s) and relation component(s) running (gold entities)."""
    keep = [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory in RELATION_FACTORIES]
    with nlp.select_pipes(enable=keep):
        scores = nlp.evaluate(examples)
    return {key: float(scores[key]) for key in SCORE_KEYS}


def cross_validate(
    config_path: Path,
    folder: Path,
    n_folds: int,
    *,
    gpu_id: int = -1,
    overrides: Dict[str, Any],
    train_limit: int = 0,
    test_limit: int = 0,
) -> Dict[str, Any]:
    """Train and test each of the first `n_folds` folds; a row per fold and the mean P/R/F1."""
    if not folder.is_dir() or config_path.suffix != ".cfg":
        raise ValueError(Errors.E205.format(folds=n_folds, path=folder))
    pairs = fold_files(folder)[:n_folds]
    steps = _steps_per_fold(config_path, overrides)
    rows = []
    with tqdm(total=steps * len(pairs), unit="step", desc="cross-validation") as bar:
        for i, (train_path, test_path) in enumerate(pairs, start=1):
            bar.set_postfix_str(f"fold {train_path.parent.name} ({i}/{len(pairs)})")
            fold_overrides = {
                **overrides,
                "paths.train": str(train_path),
                "paths.dev": str(test_path),
                "corpora.train.limit": train_limit,
            }
            row = train_and_test(config_path, fold_overrides, gpu_id=gpu_id, test_limit=test_limit, on_step=bar.update)
            rows.append({"fold": train_path.parent.name, **row})
    scores: Dict[str, Any] = {key: sum(row[key] for row in rows) / len(rows) for key in SCORE_KEYS}
    scores["folds"] = len(rows)
    return {"scores": scores, "rows": rows}


def train_and_test(
    config_path: Path,
    overrides: Dict[str, Any],
    *,
    gpu_id: int = -1,
    test_limit: int = 0,
    on_step: Callable[[int], Any] = lambda n: None,
) -> Dict[str, Any]:
    """Train one fold in this process and score its final model on the dev corpus (the fold's test file).

    No checkpoint selection: the dev corpus is cut to one example during training (spaCy evaluates
    at step 0) and scored in full once training ends. A config whose base model is the offline default
    (or the `base_model` folder, when it was not written) gets the offline model's folder.
    """
    config = load_config(config_path, overrides=overrides, interpolate=False)
    base_model = config["paths"].get("base_model")
    if base_model == OFFLINE_BASE_MODEL or (base_model == "base_model" and not Path(base_model).exists()):
        config["paths"]["base_model"] = resolve_base_model(OFFLINE_BASE_MODEL)
    config["training"]["eval_frequency"] = _steps_from_config(config)
    config["training"]["logger"] = {"@loggers": "spacy_biobert.step_logger.v1"}
    config["corpora"]["dev"]["limit"] = 1
    _STEP_CALLBACKS.append(on_step)
    try:
        nlp = init_nlp(config, use_gpu=gpu_id)
        start = time.perf_counter()
        nlp, _ = train(nlp, None, use_gpu=gpu_id, stdout=io.StringIO(), stderr=io.StringIO())
        train_seconds = time.perf_counter() - start
    finally:
        _STEP_CALLBACKS.pop()
    test_config = nlp.config.copy()
    test_config["corpora"]["dev"]["limit"] = test_limit
    dev_corpus = resolve_dot_names(test_config.interpolate(), [test_config["training"]["dev_corpus"]])[0]
    examples = list(dev_corpus(nlp))
    start = time.perf_counter()
    scores = score_pipeline(nlp, examples)
    test_seconds = time.perf_counter() - start
    return {**scores, "test_rows": len(examples), "train_s": round(train_seconds, 1), "test_s": round(test_seconds, 1)}


def _steps_from_config(config) -> int:
    return int(config["training"]["max_steps"]) + 1


def _steps_per_fold(config_path: Path, overrides: Dict[str, Any]) -> int:
    return _steps_from_config(load_config(config_path, overrides=overrides, interpolate=False))


_STEP_CALLBACKS: List[Callable[[int], Any]] = []


@registry.loggers("spacy_biobert.step_logger.v1")
def step_logger() -> Callable:
    """A training logger that reports each step to the running cross-validation's progress bar."""

    def setup(nlp: Language, stdout: Any = None, stderr: Any = None):
        def log_step(info: Optional[Dict[str, Any]]) -> None:
            if _STEP_CALLBACKS:
                _STEP_CALLBACKS[-1](1)

        return log_step, lambda: None

    return setup
