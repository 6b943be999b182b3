"""Commands derive their options from settings dataclasses, and each `evaluate` task gets only its own."""
import dataclasses
from pathlib import Path
from typing import Any, Dict, List

import pytest
from typer.testing import CliRunner

from spacy_biobert.annotate import AnnotateSettings, RunSummary
from spacy_biobert.cli import app
from spacy_biobert.evaluation.settings import TASK_SETTINGS, NERSettings, RelSettings
from spacy_biobert.pretraining import PretrainingSettings
from spacy_biobert.settings import is_option, option_flags

RUNNER = CliRunner()


@pytest.mark.parametrize("command,settings", [("pretrain", PretrainingSettings), ("annotate", AnnotateSettings)])
def test_every_setting_is_an_option(command: str, settings: type) -> None:
    result = RUNNER.invoke(app, [command, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    for setting in dataclasses.fields(settings):
        if is_option(setting) and not setting.metadata["argument"]:
            assert option_flags(setting)[0].split("/")[0] in result.output


def test_pretrain_options_build_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    received: List[PretrainingSettings] = []
    monkeypatch.setattr("spacy_biobert.cli.pretrain.pretrain", received.append)
    args = ["pretrain", "a.txt", "b.jsonl", "-o", "out", "--max-steps", "5", "--whole-word-masking", "-g", "0"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = PretrainingSettings(corpus=["a.txt", "b.jsonl"], output="out", max_steps=5, whole_word_masking=True,
                                   gpu_id=0)
    assert received == [expected]


def test_annotate_options_build_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    received: List[AnnotateSettings] = []

    def fake_annotate(model: str, inputs: str, output: Path, settings: AnnotateSettings) -> RunSummary:
        received.append(settings)
        return RunSummary(0, 0, output, output)

    monkeypatch.setattr("spacy_biobert.cli.annotate.annotate", fake_annotate)
    args = ["annotate", "model", "in.jsonl", str(tmp_path / "out.jsonl"), "-b", "8", "--no-progress", "-I", "text"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert received == [AnnotateSettings(batch_size=8, progress=False, input_format="text")]


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """The settings each task's `evaluate` is called with (the tasks themselves do not run)."""
    calls: List[Any] = []

    def fake_evaluate(model: str, data: Path, settings: Any, *, gpu_id: int = -1,
                      precision: str = "fp32") -> Dict[str, Any]:
        calls.append(settings)
        return {"scores": {"x": 1.0}, "rows": []}

    for task in ("ner", "rel"):
        monkeypatch.setattr(f"spacy_biobert.evaluation.{task}.evaluate", fake_evaluate)
    return calls


def test_each_task_gets_only_its_settings(evaluated: List[Any]) -> None:
    result = RUNNER.invoke(app, ["evaluate", "m", "d", "--task", "ner", "--spans-key", "ner_gene"])
    assert result.exit_code == 0, result.output
    args = ["evaluate", "cfg", "d", "--task", "rel", "--folds", "2", "--training.max_steps", "3"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert evaluated == [NERSettings(spans_key="ner_gene"), RelSettings(folds=2, overrides={"training.max_steps": 3})]


@pytest.mark.parametrize(
    "args,code",
    [
        (["--task", "ner", "--gold", "gold.json"], "E034"),
        (["--task", "qa", "--folds", "3"], "E034"),
        (["--task", "rel", "--spans-key", "k"], "E034"),
        (["--task", "ner", "--training.max_steps", "3"], "E033"),
    ],
)
def test_options_of_other_tasks_are_refused(evaluated: List[Any], args: List[str], code: str) -> None:
    result = RUNNER.invoke(app, ["evaluate", "m", "d", *args])
    assert result.exit_code == 1
    assert code in result.output
    assert evaluated == []


def test_task_options_are_unique_across_tasks() -> None:
    names = [s.name for settings in TASK_SETTINGS.values() for s in dataclasses.fields(settings) if is_option(s)]
    assert len(names) == len(set(names))
