"""`spacy_biobert.sentence_windows.v1`: `strided_spans`' windows where a document has no sentence boundaries or
one sentence; otherwise whole sentences packed into windows, every token in exactly one window."""
from pathlib import Path
from typing import List, Optional

import pytest
import spacy
from spacy.tokens import Doc
from spacy_transformers.span_getters import get_strided_spans
from spacy_transformers.util import registry

from spacy_biobert.ml.span_getters import sentence_windows

from .util import blank_with_transformer

NLP = spacy.blank("en")


def make_doc(n_tokens: int, sentence_lengths: Optional[List[int]] = None) -> Doc:
    doc = Doc(NLP.vocab, words=[f"w{i}" for i in range(n_tokens)])
    if sentence_lengths is not None:
        starts = {sum(sentence_lengths[:i]) for i in range(len(sentence_lengths))}
        for token in doc:
            token.is_sent_start = token.i in starts
    return doc


def bounds(spans) -> List[tuple]:
    return [(span.start, span.end) for span in spans]


@pytest.mark.parametrize("window,stride", [(128, 96), (4, 3), (5, 5)])
def test_strided_windows_without_sentences_or_with_one(window: int, stride: int):
    for n in list(range(0, 20)) + [95, 96, 127, 128, 129, 200, 300]:
        expected = bounds(get_strided_spans([make_doc(n)], window, stride)[0])
        assert bounds(sentence_windows(make_doc(n), window, stride)) == expected
        if n:
            assert bounds(sentence_windows(make_doc(n, [n]), window, stride)) == expected


def test_sentences_packed_into_windows():
    doc = make_doc(30, [3, 4, 2, 6, 5, 10])
    spans = sentence_windows(doc, 8, 6)
    # 3+4 fit, +2 would not; 2+6 = 8 fits; 5; the 10-token sentence is strided (8, stride 6) on its own.
    assert bounds(spans) == [(0, 7), (7, 15), (15, 20), (20, 28), (26, 30)]
    covered = [i for span in spans[:4] for i in range(span.start, span.end)]
    assert covered == list(range(28))
    assert all(len(span) <= 8 for span in spans)


def test_registered_and_used_by_the_transformer(tiny_bert: Path, tmp_path: Path):
    assert registry.span_getters.get("spacy_biobert.sentence_windows.v1")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    model = {"@architectures": "spacy-transformers.TransformerModel.v3", "name": str(tiny_bert),
             "tokenizer_config": {"use_fast": True},
             "get_spans": {"@span_getters": "spacy_biobert.sentence_windows.v1", "window": 8, "stride": 6}}
    nlp.add_pipe("transformer", config={"model": model})
    nlp.initialize()
    text = "BRCA1 mutations raise breast cancer risk. It is a gene. Patients with cystic fibrosis were seen often here."
    doc = nlp(text)
    assert len(doc._.trf_data.wordpieces.input_ids) == 4  # 7 + 5 tokens do not fit in 8; 9 tokens: 2 windows
    assert all(len(doc._.trf_data.align[i].data) >= 1 for i in range(len(doc)))
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert len(loaded(text)._.trf_data.wordpieces.input_ids) == 4
    reference = blank_with_transformer(tiny_bert)
    reference.initialize()
    assert len(reference(text)._.trf_data.wordpieces.input_ids) == 1  # strided: one 128-token window


@pytest.mark.parametrize("window,stride", [(128, 0), (128, 129), (0, 0), (4, -1)])
def test_sentence_windows_refuses_a_stride_that_skips_or_stalls(window: int, stride: int):
    configure = registry.span_getters.get("spacy_biobert.sentence_windows.v1")
    with pytest.raises(ValueError, match="E043"):
        configure(window=window, stride=stride)
