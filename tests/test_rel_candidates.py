"""Relation candidates on crowded sentences: the pair generator's filters and cap, and the pair pooling."""
import itertools
import random
from typing import List, Optional, Set, Tuple

import numpy
import pytest
import spacy
from spacy.tokens import Doc, Span

from spacy_biobert.ml.relation_classifier import pair_pooler
from spacy_biobert.pipeline.rel import create_entity_pairs

from .util import numeric_gradient

LABELS = ("GENE", "DISEASE", "CHEMICAL")


def random_doc(seed: int, n_tokens: int = 60, n_mentions: int = 25, sentence_length: int = 20) -> Doc:
    """A doc with overlapping mentions of random labels, split into sentences of `sentence_length` tokens."""
    rng = random.Random(seed)
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=[f"w{i}" for i in range(n_tokens)],
              sent_starts=[i % sentence_length == 0 for i in range(n_tokens)])
    spans = []
    for _ in range(n_mentions):
        sentence = rng.randrange(n_tokens // sentence_length) * sentence_length
        start = sentence + rng.randrange(sentence_length - 2)
        spans.append(Span(doc, start, start + rng.randint(1, 2), rng.choice(LABELS)))
    doc.spans["mentions"] = spans
    return doc


def brute_force(
    doc: Doc, allowed: Optional[Set[Tuple[str, str]]], max_distance: int
) -> List[Tuple[int, int, int, int]]:
    """Every directed pair the generator's documented rules allow, by the definition, one pair at a time."""
    mentions = list(doc.spans["mentions"])
    pairs = []
    for head, tail in itertools.permutations(mentions, 2):
        if head.sent.start != tail.sent.start or (head.start < tail.end and tail.start < head.end):
            continue
        if allowed is not None and (head.label_, tail.label_) not in allowed:
            continue
        if max(head.start, tail.start) - min(head.end, tail.end) > max_distance:
            continue
        pairs.append((head.start, head.end, tail.start, tail.end))
    return pairs


def generated(doc: Doc, **config) -> List[Tuple[int, int, int, int]]:
    mentions = list(doc.spans["mentions"])
    candidates = create_entity_pairs(**config)(doc, mentions, [m.label_ for m in mentions])
    return [(c.head.start, c.head.end, c.tail.start, c.tail.end) for c in candidates]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "allowed_pairs,ordered,max_distance",
    [(None, True, 100), ([["GENE", "DISEASE"]], True, 100), ([["GENE", "DISEASE"]], False, 3), (None, True, 0)],
)
def test_pairs_match_the_rules(seed, allowed_pairs, ordered, max_distance):
    doc = random_doc(seed)
    allowed = None
    if allowed_pairs:
        allowed = {tuple(pair) for pair in allowed_pairs}
        if not ordered:
            allowed |= {(tail, head) for head, tail in allowed}
    expected = brute_force(doc, allowed, max_distance)
    got = generated(doc, allowed_pairs=allowed_pairs, ordered=ordered, max_distance=max_distance, max_pairs=0)
    assert sorted(got) == sorted(expected)
    assert expected


def test_cap_keeps_the_closest_pairs_of_each_sentence():
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=[f"w{i}" for i in range(120)], sent_starts=[i % 60 == 0 for i in range(120)])
    mentions = [Span(doc, i, i + 1, "GENE") for i in range(0, 120, 2)]
    doc.spans["mentions"] = mentions
    everything = generated(doc, max_pairs=0)
    assert len(everything) == 2 * 30 * 29
    with pytest.warns(UserWarning, match=r"\[W201\].*870 relation candidates.*100 closest"):
        capped = generated(doc, max_pairs=100)
    assert len(capped) == 200
    gap = lambda pair: max(pair[0], pair[2]) - min(pair[1], pair[3])  # noqa: E731
    for sentence in (range(0, 60), range(60, 120)):
        kept = [pair for pair in capped if pair[0] in sentence]
        dropped = [pair for pair in everything if pair[0] in sentence and pair not in kept]
        assert len(kept) == 100
        assert max(gap(pair) for pair in kept) <= min(gap(pair) for pair in dropped)
    assert capped == [pair for pair in everything if pair in capped]


def test_cap_not_reached_changes_nothing(recwarn):
    doc = random_doc(0)
    assert generated(doc, max_pairs=10_000) == generated(doc, max_pairs=0)
    assert not [w for w in recwarn if "W201" in str(w.message)]


def test_negative_cap_is_refused():
    with pytest.raises(ValueError, match=r"\[E209\]"):
        create_entity_pairs(max_pairs=-1)


def direct_pooling(tokvecs: List[numpy.ndarray], pairs: List[numpy.ndarray], context: str) -> numpy.ndarray:
    """The pooled rows by definition: the mean of each range's vectors, zeros for an empty range."""
    rows = []
    for vectors, doc_pairs in zip(tokvecs, pairs):
        for h0, h1, t0, t1, c0, c1 in doc_pairs:
            ranges = [(h0, h1), (t0, t1)]
            if context == "sentence":
                ranges.append((c0, c1))
            elif context == "between":
                ranges.append((min(h1, t1), max(h0, t0)))
            width = vectors.shape[1]
            rows.append(numpy.concatenate(
                [vectors[a:b].mean(axis=0) if b > a else numpy.zeros(width) for a, b in ranges]))
    return numpy.asarray(rows)


@pytest.mark.parametrize("context", ["sentence", "between", "none"])
def test_pooling_is_the_mean_of_each_range_and_its_gradient(context):
    rng = numpy.random.default_rng(0)
    tokvecs = [rng.normal(size=(n, 4)).astype("float32") for n in (12, 3, 7)]
    pairs = [
        numpy.array([[0, 2, 5, 7, 0, 12], [5, 7, 0, 2, 0, 12], [1, 3, 2, 4, 0, 8], [3, 4, 4, 5, 3, 5]], dtype="i"),
        numpy.zeros((0, 6), dtype="i"),
        numpy.array([[0, 1, 6, 7, 0, 7]], dtype="i"),
    ]
    pooler = pair_pooler(context)
    pooled, backprop = pooler((tokvecs, pairs), is_train=True)
    expected = direct_pooling(tokvecs, pairs, context)
    assert pooled.shape == expected.shape == (5, 4 * (2 if context == "none" else 3))
    assert numpy.asarray(pooled) == pytest.approx(expected, abs=1e-6)
    d_pooled = rng.normal(size=pooled.shape)
    d_tokvecs, _ = backprop(d_pooled.astype("float32"))
    for k, vectors in enumerate(tokvecs):

        def loss(values: numpy.ndarray) -> float:
            changed = [v.astype("float64") for v in tokvecs]
            changed[k] = values
            return float((direct_pooling(changed, pairs, context) * d_pooled).sum())

        assert d_tokvecs[k].shape == vectors.shape
        assert numpy.asarray(d_tokvecs[k]) == pytest.approx(numeric_gradient(loss, vectors.astype("float64")),
                                                            abs=1e-4)
