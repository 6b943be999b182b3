"""`evaluate --task ner|rel`: scores through the components' scorers, the components that run, fold training."""
from pathlib import Path

import pytest
import spacy
from spacy.util import load_config, load_model_from_config

from spacy_biobert.evaluation.ner import evaluate as evaluate_ner
from spacy_biobert.evaluation.rel import scored_components, train_and_test
from spacy_biobert.metrics.entities import score_tag_sequences

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

# Gold sentences, and the tags an EntityRuler with the patterns below predicts on them.
GOLD = [
    (["aspirin", "reduces", "fever"], ["B-Chemical", "O", "B-Disease"]),
    (["ibuprofen", "and", "aspirin"], ["B-Chemical", "O", "B-Chemical"]),
    (["lung", "cancer", "risk"], ["B-Disease", "I-Disease", "O"]),
]
PATTERNS = [
    {"label": "Chemical", "pattern": "aspirin"},
    {"label": "Chemical", "pattern": "fever"},  # right boundaries, wrong type
    {"label": "Disease", "pattern": "cancer"},  # wrong boundaries
    {"label": "Disease", "pattern": "risk"},  # spurious
]
PREDICTED_TAGS = [["B-Chemical", "O", "B-Chemical"], ["O", "O", "B-Chemical"], ["O", "B-Disease", "B-Disease"]]


def test_ner_evaluation_gives_conlleval_scores(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.to_disk(tmp_path / "model")
    tsv = tmp_path / "test.tsv"
    tsv.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*s)) for s in GOLD) + "\n", encoding="utf8")
    results = evaluate_ner(str(tmp_path / "model"), tsv)
    scores = results["scores"]
    # Typed: gold 5, predicted 5, correct 2 (the two aspirins). Untyped: fever's boundaries match too: 3.
    assert (scores["ents_p"], scores["ents_r"], scores["ents_f"]) == pytest.approx((2 / 5, 2 / 5, 2 / 5))
    assert (scores["ents_untyped_p"], scores["ents_untyped_f"]) == pytest.approx((3 / 5, 3 / 5))
    assert results["rows"] == [
        {"type": "Chemical", "p": pytest.approx(2 / 3), "r": pytest.approx(2 / 3), "f": pytest.approx(2 / 3),
         "gold": 3, "predicted": 3},
        {"type": "Disease", "p": 0.0, "r": 0.0, "f": 0.0, "gold": 2, "predicted": 2},
    ]
    gold_tags = [tags for _, tags in GOLD]
    conlleval = score_tag_sequences(gold_tags, PREDICTED_TAGS)
    untyped = score_tag_sequences(gold_tags, PREDICTED_TAGS, typed=False).total
    assert scores["ents_f"] == conlleval.total.fscore
    assert scores["ents_untyped_f"] == untyped.fscore


def _rel_pipeline(tiny_bert: Path):
    overrides = {"paths.base_model": str(tiny_bert), "paths.train": "train.tsv", "paths.dev": "test.tsv"}
    config = load_config(CONFIGS / "rel.cfg", overrides=overrides)
    return load_model_from_config(config, auto_fill=True)


def test_relation_scoring_runs_relation_components_and_their_encoders(tiny_bert: Path) -> None:
    nlp = _rel_pipeline(tiny_bert)
    nlp.add_pipe("entity_ruler", before="biobert_rel")
    nlp.add_pipe("sentencizer", first=True)
    assert scored_components(nlp) == ["transformer", "biobert_rel"]


def test_fold_training_reports_each_step_and_takes_overrides(tiny_bert: Path, tmp_path: Path) -> None:
    rows = "\n".join(["@GENE$ mutations cause @DISEASE$ .\t1", "@GENE$ is not linked to @DISEASE$ .\t0"] * 3)
    (tmp_path / "train.tsv").write_text(rows + "\n", encoding="utf8")
    test_rows = [f"{i}\t{line}" for i, line in enumerate(rows.splitlines())]
    (tmp_path / "test.tsv").write_text("index\tsentence\tlabel\n" + "\n".join(test_rows) + "\n", encoding="utf8")
    overrides = {"paths.base_model": str(tiny_bert), "paths.train": str(tmp_path / "train.tsv"),
                 "paths.dev": str(tmp_path / "test.tsv"), "training.max_steps": 2, "corpora.dev.limit": 4}
    steps = []
    row = train_and_test(CONFIGS / "rel.cfg", overrides, on_step=lambda: steps.append(1))
    assert len(steps) == 3  # spaCy counts steps from 0 to max_steps
    assert row["test_rows"] == 4
    assert set(row) >= {"rel_p", "rel_r", "rel_f"}
