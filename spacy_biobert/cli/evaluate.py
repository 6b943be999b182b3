"""`spacy-biobert evaluate MODEL DATA --task ner|rel|qa`: official-equivalent metrics as a table and JSON."""
import importlib
from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
import typer
from spacy.cli._util import parse_config_overrides
from wasabi import msg

from ..errors import Errors
from ._app import VERBOSE_HELP, app, fail, reported_errors

TASKS = ("ner", "rel", "qa")


@app.command("evaluate", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def evaluate_cli(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Trained pipeline (folder or package name); for `--folds`, a training config."),
    data: Path = typer.Argument(..., help="Test data: a file or folder in a format the task's readers take (qa: SQuAD-format test file(s) or BioASQ golden JSON)."),
    task: str = typer.Option(..., "--task", "-t", help="One of: ner, rel, qa."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the scores to this JSON file."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to use; -1 for CPU."),
    folds: int = typer.Option(0, "--folds", help="rel: cross-validate over this many folds of DATA (trains MODEL, a config, per fold)."),
    spans_key: Optional[str] = typer.Option(None, "--spans-key", help="ner: score doc.spans[KEY] (one of several NER components) instead of doc.ents."),
    gold: List[Path] = typer.Option([], "--gold", help="qa: BioASQ golden JSON file or folder with the answers of DATA's questions (repeatable); default: the golden files in DATA."),
    list_threshold: float = typer.Option(0.1, "--list-threshold", help="qa: a list question's answers are those with at least this probability (and always the best one)."),
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Score a pipeline with the metrics BioBERT reports (conlleval NER F1, re_eval P/R/F1, BioASQ factoid),
    and BioASQ list (mean P/R/F1) and yes/no (accuracy, macro F1) where the QA gold has such questions.

    With `--folds`, extra options override the training config spaCy-style, e.g. a quick smoke run:
    `--training.max_steps 20 --corpora.train.limit 200`.
    """
    if task not in TASKS:
        fail(Errors.E023.format(task=task, choices=", ".join(TASKS)))
    runner = importlib.import_module(f"spacy_biobert.evaluation.{task}")
    with reported_errors(verbose):
        overrides = parse_config_overrides(ctx.args)
        results: Dict[str, Any] = runner.evaluate(
            model, data, gpu_id=gpu_id, folds=folds, spans_key=spans_key, overrides=overrides, gold=gold,
            list_threshold=list_threshold,
        )
    if results.get("rows"):
        rows = results["rows"]
        header = list(rows[0])
        msg.table([[_fmt(row[col]) for col in header] for row in rows], header=header, divider=True)
    msg.table([(key, _fmt(value)) for key, value in results["scores"].items()], header=("metric", "value"), divider=True)
    if output is not None:
        with reported_errors(verbose):
            output.parent.mkdir(parents=True, exist_ok=True)
            srsly.write_json(output, results)
        msg.good(f"Scores written to {output}")


def _fmt(value: Any) -> str:
    """Percentages with two decimals for scores in [0, 1], everything else as is."""
    if isinstance(value, float):
        return f"{value * 100:.2f}" if 0.0 <= value <= 1.0 else f"{value:.2f}"
    return str(value)
