import pytest

from spacy_biobert.metrics.qa import (
    bioasq_factoid_scores,
    gold_synonyms,
    normalize_squad_answer,
    rank_bioasq_answers,
    squad_exact_match,
    squad_f1,
    squad_scores,
)

# Four questions. q1: right at rank 1; q2: right at rank 3 (matched case-insensitively, via its second
# synonym); q3: right only at rank 6, beyond the top 5; q4: no prediction at all.
GOLDS = {
    "q1": [["imatinib"]],
    "q2": [["BCR-ABL", "BCR-ABL1 fusion"]],
    "q3": ["EGFR"],
    "q4": [["tamoxifen"]],
}
PREDICTIONS = {
    "q1": ["Imatinib", "dasatinib"],
    "q2": ["kinase", "ABL", "bcr-abl1 fusion ", "BCR-ABL"],
    "q3": ["a", "b", "c", "d", "e", "egfr"],
}


def test_bioasq_factoid_scores_worked_example():
    scores = bioasq_factoid_scores(PREDICTIONS, GOLDS)
    # strict: only q1 is right at rank 1 -> 1/4; lenient: q1, q2 within the top 5 -> 2/4;
    # MRR: (1/1 + 1/3 + 0 + 0) / 4 = 1/3.
    assert scores["strict_acc"] == pytest.approx(0.25)
    assert scores["lenient_acc"] == pytest.approx(0.5)
    assert scores["mrr"] == pytest.approx(1 / 3)
    assert scores["n_questions"] == 4


def test_bioasq_factoid_scores_top_k_and_empty():
    scores = bioasq_factoid_scores(PREDICTIONS, GOLDS, top_k=6)
    # q3 now counts at rank 6: lenient 3/4, MRR (1 + 1/3 + 1/6) / 4 = 0.375.
    assert scores["lenient_acc"] == pytest.approx(0.75)
    assert scores["mrr"] == pytest.approx(0.375)
    assert bioasq_factoid_scores({}, {})["mrr"] == 0.0


def test_gold_synonyms_flattens_nested_lists():
    assert gold_synonyms([["A", "b "], ["C"]]) == {"a", "b", "c"}
    assert gold_synonyms("X") == {"x"}
    assert gold_synonyms(["", " "]) == set()


def test_rank_bioasq_answers_merges_and_deduplicates():
    texts = ["BRCA1", "tamoxifen", "brca1", "", "TP53", "EGFR", "KRAS", "MYC"]
    scores = [0.5, 0.9, 0.7, 1.0, 0.3, 0.2, 0.1, 0.05]
    # By score: "" (dropped), tamoxifen, brca1 (0.7, kept), BRCA1 (duplicate), TP53, EGFR, KRAS.
    assert rank_bioasq_answers(texts, scores) == [1, 2, 4, 5, 6]
    assert rank_bioasq_answers(texts, scores, top_k=2) == [1, 2]


@pytest.mark.parametrize(
    "text,expected",
    [("The  BCR-ABL kinase.", "bcrabl kinase"), ("an Apple a day", "apple day"), ("", "")],
)
def test_normalize_squad_answer(text, expected):
    assert normalize_squad_answer(text) == expected


def test_squad_em_f1_worked_example():
    assert squad_exact_match("the Kinase", ["kinase"]) == 1.0
    assert squad_exact_match("kinase activity", ["kinase"]) == 0.0
    # "tyrosine kinase activity" vs "the tyrosine kinase": 2 common tokens; P = 2/3, R = 2/2, F1 = 0.8.
    assert squad_f1("tyrosine kinase activity", ["the tyrosine kinase", "imatinib"]) == pytest.approx(0.8)
    assert squad_f1("", ["kinase"]) == 0.0
    assert squad_f1("kinase", []) == 0.0


def test_squad_scores_means_over_questions():
    scores = squad_scores({"a": "kinase", "b": "tyrosine kinase activity"}, {"a": ["kinase"], "b": ["tyrosine kinase"], "c": ["x"]})
    # EM: 1, 0, 0 -> 1/3; F1: 1, 0.8, 0 -> 0.6.
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.6)
