"""What each `spacy-biobert evaluate --task` takes besides MODEL, DATA and `--gpu-id`: one settings dataclass
a task, declared once.

The CLI derives the task options from these fields (`spacy_biobert.settings.option`) and gives a task only
its own settings. They live apart from the tasks so that the CLI knows them without importing a task's
modules (the QA task's load transformers).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..settings import option


@dataclass(frozen=True)
class NERSettings:
    """`--task ner`: which predictions to score, and the batch size of `nlp.pipe`."""

    spans_key: Optional[str] = option(
        None, "ner: score doc.spans[KEY] (one of several NER components) instead of doc.ents.")
    batch_size: int = 64


@dataclass(frozen=True)
class RelSettings:
    """`--task rel`: cross-validation folds, and the training-config overrides each fold is trained with
    (the CLI's extra options, spaCy-style: `--training.max_steps 20`)."""

    folds: int = option(0, "rel: cross-validate over this many folds of DATA (trains MODEL, a config, per fold).")
    overrides: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QASettings:
    """`--task qa`: the BioASQ gold, and how list answers are chosen."""

    gold: List[Path] = option(
        help="qa: BioASQ golden JSON file or folder with the answers of DATA's questions (repeatable); default: "
        "the golden files in DATA.", default_factory=list)
    list_threshold: float = option(
        0.1, "qa: a list question's answers are those with at least this probability (and always the best one).")
    list_max: int = 100


TASK_SETTINGS = {"ner": NERSettings, "rel": RelSettings, "qa": QASettings}
