"""`evaluate --task qa` on test sets with any file names: matching, factoid batches, list and yes/no."""
import json
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_biobert.cli import app
from spacy_biobert.evaluation.qa import load_test_set, score_test_set
from spacy_biobert.readers.qa import QARecord, record_to_example

GOLD = {
    "questions": [
        {"id": "Q1", "type": "factoid", "body": "Which drug inhibits BCR-ABL?", "exact_answer": [["imatinib", "Gleevec"]],
         "snippets": [{"text": "imatinib inhibits BCR-ABL."}]},
        {"id": "Q2", "type": "factoid", "body": "Which gene causes breast cancer?", "exact_answer": [["BRCA1"]],
         "snippets": [{"text": "BRCA1 mutations cause breast cancer."}]},
        {"id": "Q9", "type": "factoid", "body": "A question of no test file?", "exact_answer": [["x"]], "snippets": []},
        {"id": "L1", "type": "list", "body": "Which drugs inhibit kinases?", "exact_answer": [["imatinib"], ["dasatinib"]],
         "snippets": [{"text": "imatinib and dasatinib inhibit kinases."}, {"text": "dasatinib is a kinase inhibitor."}]},
        {"id": "Y1", "type": "yesno", "body": "Does imatinib inhibit BCR-ABL?", "exact_answer": "yes",
         "snippets": [{"text": "imatinib inhibits BCR-ABL."}]},
        {"id": "S1", "type": "summary", "body": "Describe imatinib.", "snippets": [{"text": "a drug."}]},
    ]
}
OTHER_YEAR = {
    "questions": [
        {"id": "Z1", "type": "list", "body": "An older list question?", "exact_answer": [["a"]],
         "snippets": [{"text": "a b c"}]},
    ]
}
# Two test batches with ids in no particular scheme; Q2's contexts are grouped by an explicit question_id.
BATCH_A = {"data": [{"paragraphs": [
    {"context": "imatinib inhibits BCR-ABL kinase.", "qas": [{"id": "a-1", "question": "which drug  inhibits BCR-ABL?"}]},
    {"context": "Gleevec is used in CML.", "qas": [{"id": "a-2", "question": "Which drug inhibits BCR-ABL?"}]},
]}]}
BATCH_B = {"data": [{"paragraphs": [
    {"context": "BRCA1 mutations raise risk.", "qas": [{"id": "b.1", "question_id": "Q2", "question": "Which gene?"}]},
    {"context": "BRCA2 is another gene.", "qas": [{"id": "b.2", "question_id": "Q2", "question": "Which gene?"}]},
]}]}


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf8")
    return path


@pytest.fixture
def test_dir(tmp_path):
    folder = tmp_path / "testset"
    folder.mkdir()
    write(folder / "batch_a.json", BATCH_A)
    write(folder / "batch_b.json", BATCH_B)
    write(folder / "answers.json", GOLD)
    write(folder / "older_year.json", OTHER_YEAR)
    return folder


def test_load_test_set_matches_by_text_and_question_id(test_dir):
    test_set = load_test_set(test_dir)
    assert [(batch.name, len(batch.records)) for batch in test_set.batches] == [("batch_a", 2), ("batch_b", 2)]
    (group_a,) = set(record.group for record in test_set.batches[0].records)
    assert test_set.batches[0].golds == {group_a: [["imatinib", "Gleevec"]]}
    assert test_set.batches[1].golds == {"Q2": [["BRCA1"]]}
    # The older file holds no question of the test batches: its list question is not scored.
    assert [q.id for q in test_set.list_questions] == ["L1"]
    assert [q.id for q in test_set.yesno_questions] == ["Y1"]


def test_explicit_gold_files(test_dir, tmp_path):
    test_set = load_test_set(test_dir / "batch_b.json", [test_dir / "answers.json", test_dir / "older_year.json"])
    assert [batch.name for batch in test_set.batches] == ["batch_b"]
    assert sorted(q.id for q in test_set.list_questions) == ["L1", "Z1"]


def test_golden_files_alone_answer_factoids_over_snippets(test_dir):
    test_set = load_test_set(test_dir / "answers.json")
    (batch,) = test_set.batches
    assert set(batch.golds) == {"Q1", "Q2", "Q9"}  # Q9 has no snippet: it counts, and scores 0
    assert {record.group for record in batch.records} == {"Q1", "Q2"}


def test_errors_without_gold_or_matches(test_dir, tmp_path):
    only_test = tmp_path / "only"
    only_test.mkdir()
    write(only_test / "t.json", BATCH_A)
    with pytest.raises(ValueError, match="E308"):
        load_test_set(only_test)
    with pytest.raises(ValueError, match="E309"):
        load_test_set(only_test, [test_dir / "older_year.json"])
    with pytest.raises(ValueError, match="E001"):
        load_test_set(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not QA data", encoding="utf8")
    with pytest.raises(ValueError, match="E308"):
        load_test_set(empty)
    write(empty / "other.json", {"rows": []})
    with pytest.raises(ValueError, match="E313.*other.json"):
        load_test_set(empty)


def test_score_test_set_factoid_list_and_yesno(test_dir):
    test_set = load_test_set(test_dir)

    def predict(records):
        answers = {"Gleevec is used in CML.": [("Gleevec", 0.9)], "imatinib inhibits BCR-ABL kinase.": [("kinase", 0.8)],
                   "BRCA1 mutations raise risk.": [("mutations", 0.7), ("BRCA1", 0.2)],
                   "imatinib and dasatinib inhibit kinases.": [("imatinib", 0.6), ("kinases", 0.05)],
                   "dasatinib is a kinase inhibitor.": [("dasatinib", 0.5)]}
        return [answers.get(record.context, []) for record in records]

    results = score_test_set(test_set, predict, lambda records: [0.8 for _ in records], list_threshold=0.1)
    scores = results["scores"]
    # batch_a: Q1 right at rank 1 (the contexts' answers merged: Gleevec 0.9 first); batch_b: Q2 at rank 2.
    assert [row["mrr"] for row in results["rows"]] == [1.0, 0.5]
    assert scores["qa_mrr"] == 0.75 and scores["qa_strict_acc"] == 0.5 and scores["qa_lenient_acc"] == 1.0
    # L1: imatinib, dasatinib (kinases is below the threshold): P 1, R 1.
    assert scores["qa_list_p"] == 1.0 and scores["qa_list_r"] == 1.0 and scores["qa_list_f"] == 1.0
    assert scores["qa_yesno_acc"] == 1.0 and scores["list_questions"] == 1 and scores["yesno_questions"] == 1
    without_yesno = score_test_set(test_set, predict)["scores"]
    assert "qa_yesno_acc" not in without_yesno


def test_evaluate_cli_prints_every_measure(test_dir, tiny_bert, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("biobert_qa", config={"model": {"name": str(tiny_bert), "max_seq_length": 64, "doc_stride": 16,
                                                   "max_query_length": 16, "yesno": True}})
    record = QARecord("r", "which drug?", "imatinib inhibits kinase.", [(0, 8)])
    nlp.initialize(lambda: [record_to_example(nlp, record)])
    nlp.to_disk(tmp_path / "model")
    output = tmp_path / "scores.json"
    result = CliRunner().invoke(
        app, ["evaluate", str(tmp_path / "model"), str(test_dir / "batch_a.json"), "--task", "qa",
              "--gold", str(test_dir / "answers.json"), "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    for key in ("qa_strict_acc", "qa_lenient_acc", "qa_mrr", "qa_list_f", "qa_yesno_acc", "qa_yesno_macro_f"):
        assert key in result.output
    assert json.loads(output.read_text())["rows"][0]["batch"] == "batch_a"
