"""Test sets run shortest first (spacy_biobert.evaluation.length_order): order restored, same predictions."""
from typing import Iterable, Iterator, List

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from spacy_biobert.evaluation.length_order import examples_in_length_order, pipe_in_length_order

WORDS = [["a"] * n for n in (7, 2, 9, 1, 4, 4, 12, 3)]


class LengthRecorder:
    """Records the doc lengths of every batch it is given and tags each doc with its length."""

    def __init__(self) -> None:
        self.batches: List[List[int]] = []

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        for batch in spacy.util.minibatch(docs, size=batch_size):
            self.batches.append([len(doc) for doc in batch])
            for doc in batch:
                doc.user_data["length"] = len(doc)
                yield doc


@Language.factory("test_length_recorder")
def make_length_recorder(nlp: Language, name: str) -> LengthRecorder:
    return LengthRecorder()


def test_pipe_in_length_order_restores_the_input_order() -> None:
    nlp = spacy.blank("en")
    recorder = nlp.add_pipe("test_length_recorder")
    docs = [Doc(nlp.vocab, words=words) for words in WORDS]
    processed = pipe_in_length_order(nlp, docs, batch_size=3)
    assert [len(doc) for doc in processed] == [len(words) for words in WORDS]
    assert all(doc is original for doc, original in zip(processed, docs))
    assert [doc.user_data["length"] for doc in processed] == [len(words) for words in WORDS]
    fed = [length for batch in recorder.batches for length in batch]
    assert fed == sorted(len(words) for words in WORDS)
    assert [len(batch) for batch in recorder.batches] == [3, 3, 2]


def test_pipe_in_length_order_of_nothing() -> None:
    nlp = spacy.blank("en")
    assert pipe_in_length_order(nlp, [], batch_size=4) == []


def test_examples_in_length_order_keeps_every_example() -> None:
    nlp = spacy.blank("en")
    examples = [Example.from_dict(Doc(nlp.vocab, words=words), {}) for words in WORDS]
    ordered = examples_in_length_order(examples)
    assert [len(eg.predicted) for eg in ordered] == sorted(len(words) for words in WORDS)
    assert {id(eg) for eg in ordered} == {id(eg) for eg in examples}
