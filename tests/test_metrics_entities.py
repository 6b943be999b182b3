"""Entity P/R/F1 as conlleval computes it, on hand-made cases whose expected values are worked out here."""
import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_biobert.annotations import mark_annotated
from spacy_biobert.metrics.entities import iob_to_spans, score_examples, score_tag_sequences, strip_types
from spacy_biobert.pipeline.ner import make_ner_scorer

# Four sentences of gold and predicted tags; entities (start, end, type) in the comments.
GOLD = [
    "B-Disease I-Disease O B-Chemical".split(),  # (0,2,D) (3,4,C)
    "O B-Chemical I-Chemical O".split(),  # (1,3,C)
    "B-Disease O".split(),  # (0,1,D)
    "B-Chemical I-Chemical".split(),  # (0,2,C)
]
PRED = [
    "B-Disease O O B-Chemical".split(),  # (0,1,D) (3,4,C): 1 correct
    "O B-Chemical I-Chemical B-Disease".split(),  # (1,3,C) (3,4,D): 1 correct
    "I-Disease O".split(),  # I- after the start opens an entity: (0,1,D), correct
    "B-Chemical I-Disease".split(),  # typed: (0,1,C) (1,2,D), none correct; untyped: (0,2), correct
]


@pytest.mark.parametrize(
    "tags,expected",
    [
        ([], []),
        ("O O".split(), []),
        ("B-X I-X O I-Y B-Y I-X".split(), [(0, 2, "X"), (3, 4, "Y"), (4, 5, "Y"), (5, 6, "X")]),
        ("I-X I-X B-X".split(), [(0, 2, "X"), (2, 3, "X")]),
        ("S-X B-Y E-Y E-Y O".split(), [(0, 1, "X"), (1, 3, "Y"), (3, 4, "Y")]),
        ("B I O I B".split(), [(0, 2, ""), (3, 4, ""), (4, 5, "")]),
    ],
)
def test_iob_to_spans_reads_chunks_as_conlleval(tags, expected):
    assert iob_to_spans(tags) == expected


def test_typed_scores():
    # gold 5, predicted 7, correct 3 -> P 3/7, R 3/5, F 2*3/(7+5)
    score = score_tag_sequences(GOLD, PRED).to_dict()
    assert score["ents_p"] == pytest.approx(3 / 7)
    assert score["ents_r"] == pytest.approx(3 / 5)
    assert score["ents_f"] == pytest.approx(0.5)
    # Disease: gold 2, predicted 4, correct 1; Chemical: gold 3, predicted 3, correct 2
    per_type = score["ents_per_type"]
    assert per_type["Disease"] == pytest.approx({"p": 0.25, "r": 0.5, "f": 1 / 3})
    assert per_type["Chemical"] == pytest.approx({"p": 2 / 3, "r": 2 / 3, "f": 2 / 3})


def test_untyped_scores_strip_types_before_chunking():
    # gold 5, predicted 6 (B-Chemical I-Disease is one entity once untyped), correct 4
    score = score_tag_sequences(GOLD, PRED, typed=False).total
    assert (score.tp, score.tp + score.fp, score.tp + score.fn) == (4, 6, 5)
    assert score.precision == pytest.approx(4 / 6)
    assert score.recall == pytest.approx(4 / 5)
    assert score.fscore == pytest.approx(8 / 11)
    assert strip_types(["B-X", "I-Y", "O"]) == ["B", "I", "O"]


def test_no_entities_gives_zero_not_an_error():
    score = score_tag_sequences([["O"]], [["O"]]).to_dict()
    assert (score["ents_p"], score["ents_r"], score["ents_f"]) == (0.0, 0.0, 0.0)


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        score_tag_sequences([["O", "O"]], [["O"]])


def _example(nlp, gold_tags, pred_tags, key=None):
    words = [f"w{i}" for i in range(len(gold_tags))]
    predicted = Doc(nlp.vocab, words=words)
    reference = Doc(nlp.vocab, words=words)
    reference.ents = [Span(reference, s, e, label=t) for s, e, t in iob_to_spans(gold_tags)]
    pred_spans = [Span(predicted, s, e, label=t) for s, e, t in iob_to_spans(pred_tags)]
    if key is None:
        predicted.ents = pred_spans
    else:
        predicted.spans[key] = pred_spans
        mark_annotated(reference, [key])
    return Example(predicted, reference)


def test_scorer_equals_metric_on_examples():
    nlp = spacy.blank("en")
    examples = [_example(nlp, g, p) for g, p in zip(GOLD, PRED)]
    scores = make_ner_scorer()(examples)
    assert set(scores) == {"ents_p", "ents_r", "ents_f", "ents_per_type"}
    expected = score_tag_sequences(GOLD, PRED).to_dict()
    for key in ("ents_p", "ents_r", "ents_f"):
        assert scores[key] == pytest.approx(expected[key])
    assert scores["ents_f"] == pytest.approx(0.5)
    for label, prf in expected["ents_per_type"].items():
        assert scores["ents_per_type"][label] == pytest.approx(prf)
    assert scores["ents_per_type"]["Disease"]["f"] == pytest.approx(1 / 3)
    # On docs the entities are already spans: untyped matching compares boundaries only, so sentence 4's
    # two predicted entities stay two (correct 3, predicted 7, gold 5).
    assert score_examples(examples, typed=False).total.fscore == pytest.approx(6 / 12)


def test_scorer_with_spans_key_skips_examples_of_other_corpora():
    nlp = spacy.blank("en")
    examples = [_example(nlp, g, p, key="ner_a") for g, p in zip(GOLD[:2], PRED[:2])]
    other = _example(nlp, GOLD[2], PRED[2], key="ner_b")
    scores = make_ner_scorer()(examples + [other], spans_key="ner_a")
    # sentences 1-2: gold 3, predicted 4, correct 2
    assert scores["ents_p"] == pytest.approx(2 / 4)
    assert scores["ents_r"] == pytest.approx(2 / 3)
    assert scores["ents_f"] == pytest.approx(4 / 7)
