"""The transformer's windows over a document: whole sentences packed into windows, instead of strided windows.

spacy-transformers' `strided_spans` cut a document into windows of `window` tokens every `stride` tokens: with the
usual 128 / 96, every token of a long text is encoded about 1.3 times, and each document's last, short window is
padded to the batch's longest. `spacy_biobert.sentence_windows.v1` packs consecutive sentences into windows of at
most `window` tokens, each token encoded once, windows nearly full; a sentence longer than `window` gets strided
windows of its own. A document without sentence boundaries (no sentencizer before the transformer), and any
document of one sentence, gets exactly `strided_spans`' windows: on sentence-level training corpora (BioBERT's
NER and RE data) training is unchanged, so a pipeline trained with `strided_spans` can switch to this getter.
"""
from typing import Callable, List

from spacy.tokens import Doc, Span
from spacy_transformers.util import registry

from ..errors import Errors, PipelineError


@registry.span_getters("spacy_biobert.sentence_windows.v1")
def configure_sentence_windows(window: int, stride: int) -> Callable[[List[Doc]], List[List[Span]]]:
    """Windows of whole sentences, at most `window` tokens; sentences longer than that in strided windows."""
    if not 1 <= stride <= window:
        raise PipelineError(Errors.E043.format(window=window, stride=stride))

    def get_sentence_windows(docs: List[Doc]) -> List[List[Span]]:
        return [sentence_windows(doc, window, stride) for doc in docs]

    return get_sentence_windows


def sentence_windows(doc: Doc, window: int, stride: int) -> List[Span]:
    """One document's windows (see the module docstring)."""
    if not doc.has_annotation("SENT_START"):
        return strided_windows(doc, 0, len(doc), window, stride)
    spans: List[Span] = []
    start = 0
    for sentence in doc.sents:
        if len(sentence) > window:
            if sentence.start > start:
                spans.append(doc[start : sentence.start])
            spans.extend(strided_windows(doc, sentence.start, sentence.end, window, stride))
            start = sentence.end
        elif sentence.end - start > window:
            spans.append(doc[start : sentence.start])
            start = sentence.start
    if start < len(doc):
        spans.append(doc[start:])
    return spans


def strided_windows(doc: Doc, begin: int, end: int, window: int, stride: int) -> List[Span]:
    """The windows `strided_spans` makes of a document of `end - begin` tokens, over `doc[begin:end]`."""
    spans: List[Span] = []
    start = begin
    for _ in range((end - begin) // stride):
        spans.append(doc[start : min(start + window, end)])
        if start + window >= end:
            return spans
        start += stride
    if start < end:
        spans.append(doc[start:end])
    return spans
