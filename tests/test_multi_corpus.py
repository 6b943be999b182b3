"""`spacy_biobert.MultiCorpus.v1` chains corpora from a config and keeps each one's annotation marks."""
from typing import Iterator, List

import pytest
import spacy
from spacy.language import Language
from spacy.training import Example
from thinc.api import Config

from spacy_biobert.annotations import RELATIONS, is_annotated, mark_annotated
from spacy_biobert.readers.multi import create_multi_corpus


def fake_reader(words: List[str], layer: str):
    def read(nlp: Language) -> Iterator[Example]:
        for word in words:
            reference = nlp.make_doc(word)
            mark_annotated(reference, [layer])
            yield Example(nlp.make_doc(word), reference)

    return read


def test_chains_every_corpus_in_name_order() -> None:
    nlp = spacy.blank("en")
    reader = create_multi_corpus({"b_rel": fake_reader(["c"], RELATIONS), "a_ner": fake_reader(["a", "b"], "ner_gene")})
    examples = list(reader(nlp))
    assert [eg.reference.text for eg in examples] == ["a", "b", "c"]
    assert [is_annotated(eg.reference, "ner_gene") for eg in examples] == [True, True, False]
    assert [is_annotated(eg.reference, RELATIONS) for eg in examples] == [False, False, True]


def test_resolves_from_config() -> None:
    config = Config().from_str(
        """
        [train]
        @readers = "spacy_biobert.MultiCorpus.v1"

        [train.corpora]

        [train.corpora.one]
        @readers = "spacy.Corpus.v1"
        path = "missing.spacy"
        gold_preproc = false
        """
    )
    resolved = spacy.util.registry.resolve(config)
    assert callable(resolved["train"])


def test_unmarked_docs_count_as_annotated_for_everything() -> None:
    doc = spacy.blank("en")("text")
    assert is_annotated(doc, "anything")


def test_repeats_balance_a_small_corpus() -> None:
    nlp = spacy.blank("en")
    reader = create_multi_corpus(
        {"a_ner": fake_reader(["a", "b"], "ner_gene"), "b_rel": fake_reader(["c"], RELATIONS)}, repeats={"b_rel": 3}
    )
    assert [eg.reference.text for eg in reader(nlp)] == ["a", "b", "c", "c", "c"]


def test_sort_by_length_reads_every_example_shortest_first() -> None:
    nlp = spacy.blank("en")
    corpora = {"a_ner": fake_reader(["one two three", "one"], "ner_gene"), "b_rel": fake_reader(["one two"], RELATIONS)}
    examples = list(create_multi_corpus(corpora, sort_by_length=True)(nlp))
    assert [eg.reference.text for eg in examples] == ["one", "one two", "one two three"]
    assert [is_annotated(eg.reference, RELATIONS) for eg in examples] == [False, True, False]


@pytest.mark.parametrize("repeats", [{"missing": 2}, {"b_rel": 0}, {"b_rel": 1.5}])
def test_bad_repeats_name_the_fix(repeats) -> None:
    with pytest.raises(ValueError, match=r"\[E024\]"):
        create_multi_corpus({"b_rel": fake_reader(["c"], RELATIONS)}, repeats=repeats)
