"""`spacy-biobert evaluate MODEL DATA --task ner|rel|qa`: official-equivalent metrics as a table and JSON.

Each task declares its options as a settings dataclass (`spacy_biobert.evaluation.settings`); the command
offers all of them and gives the chosen task only its own, refusing another task's option set on the command
line.
"""
import dataclasses
import importlib
from pathlib import Path
from typing import Any, Dict, Optional

import srsly
import typer
from spacy.cli._util import parse_config_overrides
from wasabi import msg

from ..errors import Errors
from ..evaluation.settings import TASK_SETTINGS, NERSettings, QASettings, RelSettings
from ..settings import is_option, option_flags
from ._app import VERBOSE_HELP, app, fail, reported_errors, with_settings


@app.command("evaluate", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@with_settings
def evaluate_cli(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Trained pipeline (folder or package name); for `--folds`, a training config."),
    data: Path = typer.Argument(..., help="Test data: a file or folder in a format the task's readers take (qa: SQuAD-format test file(s) or BioASQ golden JSON)."),
    task: str = typer.Option(..., "--task", "-t", help="One of: ner, rel, qa."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the scores to this JSON file."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to use; -1 for CPU."),
    precision: str = typer.Option(
        "fp32", "--precision", "-P", help="Encoder precision: fp32, bf16, int8 (CPU) or auto (bf16 where native)."
    ),
    *,
    rel: RelSettings,
    ner: NERSettings,
    qa: QASettings,
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Score a pipeline with the metrics BioBERT reports (conlleval NER F1, re_eval P/R/F1, BioASQ factoid),
    and BioASQ list (mean P/R/F1) and yes/no (accuracy, macro F1) where the QA gold has such questions.

    With `--folds`, extra options override the training config spaCy-style, e.g. a quick smoke run:
    `--paths.base_model base_model --training.max_steps 20 --corpora.train.limit 200`.
    """
    if task not in TASK_SETTINGS:
        fail(Errors.E023.format(task=task, choices=", ".join(TASK_SETTINGS)))
    given = {"ner": ner, "rel": rel, "qa": qa}
    settings: Any = given[task]
    with reported_errors(verbose):
        _check_task_options(task, given)
        overrides = parse_config_overrides(ctx.args)
        if isinstance(settings, RelSettings):
            settings = dataclasses.replace(settings, overrides=overrides)
        elif overrides:
            raise ValueError(Errors.E033.format(args=" ".join(ctx.args)))
        runner = importlib.import_module(f"spacy_biobert.evaluation.{task}")
        results: Dict[str, Any] = runner.evaluate(model, data, settings, gpu_id=gpu_id, precision=precision)
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


def _check_task_options(task: str, given: Dict[str, Any]) -> None:
    """Refuse a setting of another task than `task` that was changed from its default on the command line."""
    for owner, settings in given.items():
        if owner == task:
            continue
        defaults = type(settings)()
        for setting in dataclasses.fields(settings):
            if is_option(setting) and getattr(settings, setting.name) != getattr(defaults, setting.name):
                raise ValueError(Errors.E034.format(option=option_flags(setting)[0], owner=owner, task=task))


def _fmt(value: Any) -> str:
    """Percentages with two decimals for scores in [0, 1], everything else as is."""
    if isinstance(value, float):
        return f"{value * 100:.2f}" if 0.0 <= value <= 1.0 else f"{value:.2f}"
    return str(value)
