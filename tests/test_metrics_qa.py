import pytest

from spacy_biobert.metrics.qa import (
    bioasq_factoid_scores,
    bioasq_list_scores,
    bioasq_yesno_scores,
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


def test_bioasq_list_scores_worked_example():
    golds = {
        # two gold entities, the second with two synonyms
        "l1": [["imatinib"], ["dasatinib", "BMS-354825"]],
        "l2": [["BRCA1"], ["BRCA2"], ["TP53"]],
        "l3": [["EGFR"]],
    }
    predictions = {
        # l1: 3 answers, 2 right (one via a synonym, case-insensitively): P 2/3, R 2/2, F 0.8
        "l1": ["Imatinib", "bms-354825", "nilotinib"],
        # l2: 1 answer, right: P 1, R 1/3, F 0.5; a repeated answer counts once
        "l2": ["brca1", "BRCA1 "],
        # l3: nothing predicted: P 0, R 0, F 0
    }
    scores = bioasq_list_scores(predictions, golds)
    assert scores["n_questions"] == 3
    assert scores["p"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert scores["r"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert scores["f"] == pytest.approx((0.8 + 0.5 + 0) / 3)
    assert bioasq_list_scores({}, {}) == {"p": 0.0, "r": 0.0, "f": 0.0, "n_questions": 0}


def test_bioasq_yesno_scores_worked_example():
    golds = {"a": "yes", "b": "yes", "c": "yes", "d": "no", "e": "no"}
    predictions = {"a": "yes", "b": "Yes", "c": "no", "d": "no", "e": "yes"}
    scores = bioasq_yesno_scores(predictions, golds)
    # accuracy 3/5; yes: P 2/3, R 2/3 -> F 2/3; no: P 1/2, R 1/2 -> F 1/2; macro (2/3 + 1/2) / 2
    assert scores["acc"] == pytest.approx(0.6)
    assert scores["yes_f"] == pytest.approx(2 / 3)
    assert scores["no_f"] == pytest.approx(0.5)
    assert scores["macro_f"] == pytest.approx(7 / 12)
    # A missing prediction is wrong and counts for neither class.
    missing = bioasq_yesno_scores({"a": "yes"}, {"a": "yes", "b": "no"})
    assert missing["acc"] == 0.5 and missing["no_f"] == 0.0 and missing["yes_f"] == 1.0


# The official SQuAD v1.1 evaluate script's `normalize_answer`: lower case, then drop ASCII punctuation, then
# the articles a/an/the as whole words, then collapse whitespace. The order matters (worked out by hand).
OFFICIAL_NORMALIZED = [
    ("The Cat's hat!", "cats hat"),  # the apostrophe goes before "the" is removed
    ("the-a-an", "theaan"),  # hyphens removed first: one word, no article left
    ("A. B. C.", "b c"),  # "a." becomes the article "a"
    ("Anthem of the Theatre", "anthem of theatre"),  # articles only as whole words
    ("BCR\u2013ABL (p210)", "bcr\u2013abl p210"),  # the en dash is not ASCII punctuation
    ("\tthe\nkinase  ", "kinase"),
    ("an_apple", "anapple"),  # "_" is punctuation
    ("\u00dcber the caf\u00e9", "\u00fcber caf\u00e9"),
]


@pytest.mark.parametrize("text,expected", OFFICIAL_NORMALIZED)
def test_squad_normalisation_matches_the_official_script(text, expected):
    from transformers.data.metrics.squad_metrics import normalize_answer

    assert normalize_squad_answer(text) == expected
    assert normalize_answer(text) == expected  # transformers' port of the official script agrees


def test_squad_f1_counts_repeated_tokens_as_the_official_script():
    from transformers.data.metrics.squad_metrics import compute_exact, compute_f1

    # pred {kinase: 2, inhibitor: 1}, gold {kinase: 3, inhibitor: 1}: 3 common; P = 1, R = 3/4, F1 = 6/7.
    assert squad_f1("kinase kinase inhibitor", ["kinase inhibitor kinase kinase"]) == pytest.approx(6 / 7)
    assert compute_f1("kinase inhibitor kinase kinase", "kinase kinase inhibitor") == pytest.approx(6 / 7)
    assert squad_exact_match("The  Kinase.", ["kinase"]) == compute_exact("kinase", "The  Kinase.") == 1.0
