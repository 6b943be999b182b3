"""Tokenise streamed texts and pack consecutive ones into sequences of up to `max_seq_length` wordpieces.

Sentences are short (~30 wordpieces in the biomedical corpus): one a sequence would waste most of each
128-position row on padding. Packing consecutive texts (a sentence never split, unless it alone is longer
than a sequence) fills the rows, as BERT's and RoBERTa's data generation do. Each sequence keeps, besides its
wordpiece ids, which pieces start a word, for whole-word masking.

Already-tokenised text (`IL-2 ( interleukin-2 )`) needs no detokenising: BERT's pre-tokeniser splits on
whitespace and punctuation anyway, so both spellings give the same wordpieces.
"""
from dataclasses import dataclass
from typing import Iterable, Iterator, List, TypeVar

import numpy
from spacy.util import minibatch

T = TypeVar("T")


@dataclass
class PackedSequence:
    """Wordpiece ids of one training row, without special tokens, and whether each piece starts a word."""

    ids: List[int]
    word_starts: List[bool]


def pack_texts(
    texts: Iterable[str], tokenizer, max_seq_length: int, tokenize_batch: int = 256
) -> Iterator[PackedSequence]:
    """Pack the texts' wordpieces into sequences of at most `max_seq_length - 2` ([CLS] and [SEP] are added
    by the collator)."""
    budget = max_seq_length - 2
    ids: List[int] = []
    starts: List[bool] = []
    for text_ids, text_starts in _tokenize(texts, tokenizer, tokenize_batch):
        if ids and len(ids) + len(text_ids) > budget:
            yield PackedSequence(ids, starts)
            ids, starts = [], []
        for begin in range(0, len(text_ids), budget):
            chunk_ids = text_ids[begin : begin + budget]
            chunk_starts = text_starts[begin : begin + budget]
            chunk_starts[0] = True
            if len(chunk_ids) == budget:
                yield PackedSequence(chunk_ids, chunk_starts)
            else:
                ids, starts = ids + chunk_ids, starts + chunk_starts
    if ids:
        yield PackedSequence(ids, starts)


def split_long_texts(texts: Iterable[str], max_chars: int) -> Iterator[str]:
    """Texts of at most `max_chars` characters: a longer one (a whole book on one line) is cut at the last
    space before each limit (or at the limit where there is none). Fast tokenizers take time and
    memory superlinear in a text's length, and such a text fills many sequences anyway; 0 cuts nothing."""
    for text in texts:
        while max_chars > 0 and len(text) > max_chars:
            cut = text.rfind(" ", 1, max_chars + 1)
            cut = cut if cut > 0 else max_chars
            yield text[:cut]
            text = text[cut:].lstrip()
        if text:
            yield text


def _tokenize(texts: Iterable[str], tokenizer, batch_size: int) -> Iterator[tuple]:
    """(wordpiece ids, word-start flags) of each non-empty text, tokenised in batches for speed."""
    for batch in minibatch(texts, batch_size):
        encoded = tokenizer(batch, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False)
        for i, text_ids in enumerate(encoded["input_ids"]):
            if not text_ids:
                continue
            yield text_ids, _word_starts(tokenizer, encoded, i, text_ids)


def _word_starts(tokenizer, encoded, index: int, text_ids: List[int]) -> List[bool]:
    """Word starts from a fast tokenizer's word ids; a slow tokenizer gives BERT's `##` convention."""
    if tokenizer.is_fast:
        word_ids = encoded.word_ids(index)
        return [i == 0 or word_ids[i] != word_ids[i - 1] for i in range(len(word_ids))]
    pieces = tokenizer.convert_ids_to_tokens(text_ids)
    return [i == 0 or not piece.startswith("##") for i, piece in enumerate(pieces)]


def shuffled(items: Iterable[T], buffer_size: int, rng: numpy.random.Generator) -> Iterator[T]:
    """Shuffle a stream within a buffer: each item out is drawn at random from the next `buffer_size`."""
    if buffer_size <= 1:
        yield from items
        return
    buffer: List[T] = []
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        i = int(rng.integers(buffer_size))
        yield buffer[i]
        buffer[i] = item
    rng.shuffle(buffer)
    yield from buffer
