"""Relation P/R/F1 as BioBERT's re_eval.py: class 1 for binary data, micro over positive labels otherwise."""
import pytest
import spacy
from spacy.scorer import PRFScore
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_biobert.annotations import GIVEN_PAIRS, mark_annotated
from spacy_biobert.data_classes import RELATIONS_KEY, encode_relation
from spacy_biobert.metrics.relations import prf_from_label_sets, prf_from_labels, score_relations
from spacy_biobert.pipeline.rel import score_rel


def test_binary_class_1():
    # gold 1 1 0 0 1 / pred 1 0 1 0 1: TP = 2 (rows 1, 5), FP = 1 (row 3), FN = 1 (row 2): P = R = F = 2/3
    prf = prf_from_labels(["1", "1", "0", "0", "1"], ["1", "0", "1", "0", "1"])
    assert (prf.tp, prf.fp, prf.fn) == (2, 1, 1)
    assert prf.precision == pytest.approx(2 / 3)
    assert prf.recall == pytest.approx(2 / 3)
    assert prf.fscore == pytest.approx(2 / 3)


def test_binary_precision_and_recall_differ():
    # gold 1 1 1 1 0 / pred 1 0 0 0 0: TP = 1, FP = 0, FN = 3: P = 1, R = 1/4, F = 2 * 1 * 0.25 / 1.25 = 0.4
    prf = prf_from_labels(["1", "1", "1", "1", "0"], ["1", "0", "0", "0", "0"])
    assert (prf.precision, prf.recall, prf.fscore) == pytest.approx((1.0, 0.25, 0.4))


def test_no_positive_prediction_is_zero_not_error():
    prf = prf_from_labels(["1", "0"], ["0", "0"])
    assert (prf.precision, prf.recall, prf.fscore) == (0.0, 0.0, 0.0)
    assert PRFScore(tp=0, fp=0, fn=0).fscore == 0.0


def test_micro_over_positive_labels():
    # ChemProt style: "false" is the negative class.
    # row 1: CPR:3 = CPR:3 → TP; row 2: gold CPR:4, pred CPR:3 → FP + FN; row 3: gold false, pred CPR:4 → FP;
    # row 4: gold CPR:3, pred false → FN.  TP = 1, FP = 2, FN = 2: P = R = F = 1/3
    prf = prf_from_labels(
        ["CPR:3", "CPR:4", "false", "CPR:3"], ["CPR:3", "CPR:3", "CPR:4", "false"], positive_labels=["CPR:3", "CPR:4"]
    )
    assert (prf.tp, prf.fp, prf.fn) == (1, 2, 2)
    assert (prf.precision, prf.recall, prf.fscore) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


def test_multi_label_sets():
    # gold {A, B}, {} / pred {A}, {B}: TP = 1 (A), FP = 1 (B in row 2), FN = 1 (B in row 1): 0.5 each
    prf = prf_from_label_sets([{"A", "B"}, set()], [{"A"}, {"B"}])
    assert (prf.precision, prf.recall, prf.fscore) == pytest.approx((0.5, 0.5, 0.5))
    with pytest.raises(ValueError):
        prf_from_label_sets([set()], [])


def _example(nlp, gold_label, pred_label, marked=True):
    words = "brca1 mutations cause cancer".split()
    docs = []
    for label in (pred_label, gold_label):
        doc = Doc(nlp.vocab, words=words)
        doc.ents = [Span(doc, 0, 1, label="GENE"), Span(doc, 3, 4, label="DISEASE")]
        if label:
            doc.user_data[RELATIONS_KEY] = [encode_relation(doc.ents[0], doc.ents[1], label, 0.9)]
        docs.append(doc)
    if marked:
        mark_annotated(docs[1], ["relations"])
    else:
        mark_annotated(docs[1], ["ner_gene"])
    return Example(docs[0], docs[1])


def test_score_from_examples():
    # Sentences as GAD: gold 1 1 0 0 1, pred 1 0 1 0 1 (see test_binary_class_1) → 2/3 each.
    nlp = spacy.blank("en")
    pairs = [("R", "R"), ("R", None), (None, "R"), (None, None), ("R", "R")]
    examples = [_example(nlp, gold, pred) for gold, pred in pairs]
    # a NER-only example with a wrong prediction does not count
    examples.append(_example(nlp, None, "R", marked=False))
    prf = score_relations(examples)
    assert (prf.precision, prf.recall, prf.fscore) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert score_rel(examples) == pytest.approx({"rel_p": 2 / 3, "rel_r": 2 / 3, "rel_f": 2 / 3})


def test_score_from_examples_label_must_match():
    nlp = spacy.blank("en")
    examples = [_example(nlp, "CAUSES", "TREATS")]
    prf = score_relations(examples)
    assert (prf.tp, prf.fp, prf.fn) == (0, 1, 1)
    assert score_relations(examples, labels=["CAUSES"]).fp == 0


@pytest.mark.parametrize("given_pairs,expected_fp", [(True, 0), (False, 1)])
def test_relations_beyond_given_pairs(given_pairs, expected_fp):
    """On GAD-style references only the given pair is annotated: a relation the pipeline finds between
    other mentions (say, a gene its NER added) is not a false positive there; elsewhere it is."""
    nlp = spacy.blank("en")
    eg = _example(nlp, "R", "R")
    if given_pairs:
        mark_annotated(eg.reference, [GIVEN_PAIRS])
    predicted = eg.predicted
    extra_gene = Span(predicted, 1, 2, label="GENE")
    predicted.ents = [predicted.ents[0], extra_gene, predicted.ents[1]]
    predicted.user_data[RELATIONS_KEY].append(encode_relation(extra_gene, predicted.ents[2], "R", 0.8))
    prf = score_relations([eg])
    assert (prf.tp, prf.fp, prf.fn) == (1, expected_fp, 0)
