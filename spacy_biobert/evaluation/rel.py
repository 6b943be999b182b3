"""`spacy-biobert evaluate ... --task rel`: re_eval.py's P/R/F1, on a test file or by k-fold cross-validation.

Without folds, MODEL is a trained pipeline and DATA a test file (BioBERT RE .tsv, relation .jsonl or
.spacy); only the relation component(s) (those that assign `doc._.relations`) and the embedding components
they listen to run, on the gold entity mentions, as BioBERT scores.

With `folds`, MODEL is a training config and DATA a folder of numbered folds (`1/train.tsv`,
`1/test.tsv`, ...). Each fold's files are given to the config as `paths.train` and `paths.dev`, on top of
the caller's overrides (`--paths.base_model base_model`, `--training.max_steps 20`, `--corpora.dev.limit
100`, as `spacy train` takes them); the fold is trained with spaCy's training loop in this process, its
final model (no checkpoint selection, so no evaluation during training) scored on the dev corpus, and the
mean over the folds reported.
"""
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List

from spacy.language import Language
from spacy.schemas import ConfigSchemaTraining
from spacy.training import Example
from spacy.training.initialize import init_nlp
from spacy.training.loop import create_train_batches, train_while_improving
from spacy.util import load_config, registry, resolve_dot_names
from thinc.api import fix_random_seed, require_gpu, set_gpu_allocator
from tqdm import tqdm

from ..errors import Errors, PipelineError
from ..pipelines import load_trained_pipeline
from ..readers.rel import create_re_tsv_reader, create_rel_jsonl_reader, fold_files
from .length_order import examples_in_length_order
from .settings import RelSettings

SCORE_KEYS = ("rel_p", "rel_r", "rel_f")
RELATIONS = "doc._.relations"


def evaluate(model: str, data: Path, settings: RelSettings = RelSettings(), *, gpu_id: int = -1,
             precision: str = "fp32") -> Dict[str, Any]:
    """Score relation extraction; returns {"scores": {...}, "rows": [...]} for the CLI's tables and JSON.

    model (str): a trained pipeline, or with `settings.folds` a training config (e.g. configs/rel.cfg).
    data (Path): a test file, or with `settings.folds` a folder of numbered folds.
    settings (RelSettings): the number of folds (0: score a trained pipeline) and the folds' config overrides.
    gpu_id (int): GPU to use; -1 for CPU.
    """
    if gpu_id >= 0:
        require_gpu(gpu_id)
    if settings.folds:
        return cross_validate(Path(model), Path(data), settings.folds, overrides=settings.overrides, gpu_id=gpu_id)
    nlp = load_trained_pipeline(model, precision=precision)
    if not relation_components(nlp):
        components = ", ".join(nlp.pipe_names) or "none"
        raise PipelineError(Errors.E029.format(model=model, component="biobert_rel", task="rel", components=components))
    examples = list(read_test_file(Path(data), nlp))
    scores = score_pipeline(nlp, examples)
    return {"scores": {**scores, "examples": len(examples)}, "rows": []}


def read_test_file(path: Path, nlp: Language) -> Iterable[Example]:
    """Examples from a BioBERT RE .tsv, a relation .jsonl or a .spacy DocBin, gold entities on both docs."""
    if path.suffix == ".tsv":
        return create_re_tsv_reader(path)(nlp)
    if path.suffix == ".jsonl":
        return create_rel_jsonl_reader(path)(nlp)
    if path.suffix == ".spacy":
        corpus = registry.readers.get("spacy.Corpus.v1")(path)
        return (_with_gold_ents(eg) for eg in corpus(nlp))
    raise ValueError(Errors.E206.format(path=path))


def _with_gold_ents(eg: Example) -> Example:
    eg.predicted.ents = [eg.predicted.char_span(e.start_char, e.end_char, label=e.label_, alignment_mode="expand")
                         for e in eg.reference.ents]
    return eg


def relation_components(nlp: Language) -> List[str]:
    """The components that assign `doc._.relations`."""
    return [name for name in nlp.pipe_names if RELATIONS in nlp.get_pipe_meta(name).assigns]


def scored_components(nlp: Language) -> List[str]:
    """The relation component(s) and the embedding components they listen to, in pipeline order: what runs
    when relations are scored, so that nothing replaces the gold entities."""
    relations = set(relation_components(nlp))
    return [name for name, pipe in nlp.pipeline
            if name in relations or relations & set(getattr(pipe, "listening_components", ()))]


def score_pipeline(nlp: Language, examples: List[Example]) -> Dict[str, float]:
    """rel_p/rel_r/rel_f with only `scored_components` running."""
    with nlp.select_pipes(enable=scored_components(nlp)):
        scores = nlp.evaluate(examples_in_length_order(examples))
    return {key: float(scores[key]) for key in SCORE_KEYS}


def cross_validate(
    config_path: Path, folder: Path, n_folds: int, *, overrides: Dict[str, Any], gpu_id: int = -1
) -> Dict[str, Any]:
    """Train and test each of the first `n_folds` folds; a row per fold and the mean P/R/F1."""
    if not folder.is_dir() or config_path.suffix != ".cfg":
        raise ValueError(Errors.E205.format(folds=n_folds, path=folder))
    pairs = fold_files(folder)[:n_folds]
    steps = _max_steps(load_config(config_path, overrides=overrides, interpolate=False)) + 1
    rows = []
    with tqdm(total=steps * len(pairs), unit="step", desc="cross-validation") as bar:
        for i, (train_path, test_path) in enumerate(pairs, start=1):
            bar.set_postfix_str(f"fold {train_path.parent.name} ({i}/{len(pairs)})")
            fold_overrides = {**overrides, "paths.train": str(train_path), "paths.dev": str(test_path)}
            row = train_and_test(config_path, fold_overrides, gpu_id=gpu_id, on_step=lambda: bar.update(1))
            rows.append({"fold": train_path.parent.name, **row})
    scores: Dict[str, Any] = {key: sum(row[key] for row in rows) / len(rows) for key in SCORE_KEYS}
    scores["folds"] = len(rows)
    return {"scores": scores, "rows": rows}


def train_and_test(
    config_path: Path,
    overrides: Dict[str, Any],
    *,
    gpu_id: int = -1,
    on_step: Callable[[], Any] = lambda: None,
) -> Dict[str, Any]:
    """Train one fold in this process and score its final model on the config's dev corpus.

    `on_step` is called after each optimizer step (the cross-validation's progress bar).
    """
    config = load_config(config_path, overrides=overrides, interpolate=False)
    nlp = init_nlp(config, use_gpu=gpu_id)
    start = time.perf_counter()
    train_final_model(nlp, gpu_id=gpu_id, on_step=on_step)
    train_seconds = time.perf_counter() - start
    interpolated = nlp.config.interpolate()
    dev_corpus = resolve_dot_names(interpolated, [interpolated["training"]["dev_corpus"]])[0]
    examples = list(dev_corpus(nlp))
    start = time.perf_counter()
    scores = score_pipeline(nlp, examples)
    test_seconds = time.perf_counter() - start
    return {**scores, "test_rows": len(examples), "train_s": round(train_seconds, 1), "test_s": round(test_seconds, 1)}


def train_final_model(nlp: Language, *, gpu_id: int = -1, on_step: Callable[[], Any] = lambda: None) -> None:
    """`spacy train`'s loop over `[training]` (seed, batches, optimizer, dropout, accumulation, frozen and
    annotating components) for `max_steps`, keeping the final weights (averaged, where the optimizer averages).

    No dev evaluation (and so no patience) runs: the final model is the one scored, as BioBERT reports it.
    """
    config = nlp.config.interpolate()
    if config["training"]["seed"] is not None:
        fix_random_seed(config["training"]["seed"])
    if gpu_id >= 0 and config["training"]["gpu_allocator"]:
        set_gpu_allocator(config["training"]["gpu_allocator"])
    T = registry.resolve(config["training"], schema=ConfigSchemaTraining)
    train_corpus = resolve_dot_names(config, [T["train_corpus"]])[0]
    optimizer = T["optimizer"]
    steps = train_while_improving(
        nlp,
        optimizer,
        create_train_batches(nlp, train_corpus, T["batcher"], T["max_epochs"]),
        lambda: (0.0, {}),
        dropout=T["dropout"],
        eval_frequency=_max_steps(config) + 1,
        accumulate_gradient=T["accumulate_gradient"],
        patience=0,
        max_steps=T["max_steps"],
        exclude=T["frozen_components"],
        annotating_components=T["annotating_components"],
        before_update=T["before_update"],
    )
    for _ in steps:
        on_step()
    if optimizer.averages:
        nlp.use_params(optimizer.averages)


def _max_steps(config: Any) -> int:
    return int(config["training"]["max_steps"])
