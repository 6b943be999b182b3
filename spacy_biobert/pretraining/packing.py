"""Tokenise streamed texts and pack consecutive ones into sequences of up to `max_seq_length` wordpieces.

Sentences are short (~30 wordpieces in the biomedical corpus): one a sequence would waste most of each
128-position row on padding. Packing consecutive texts fills the rows. With `split_texts`, a text that does not
fit the rest of a row continues in the next one, so every row but the last is full (BERT's data generation
cuts sentences to fill its rows too, and Hugging Face's `run_mlm` concatenates and chunks); without it a row
ends where the next whole text does not fit (a text is split only when it alone is longer than a row), which
leaves about a sixth of the rows' positions to padding on sentences of ~30 wordpieces. Each sequence keeps,
besides its wordpiece ids, which pieces start a word, for whole-word masking.

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
    texts: Iterable[str], tokenizer, max_seq_length: int, tokenize_batch: int = 256, split_texts: bool = False
) -> Iterator[PackedSequence]:
    """Pack the texts' wordpieces into sequences of at most `max_seq_length - 2` ([CLS] and [SEP] are added
    by the collator). `split_texts`: fill every row, continuing a text in the next row where it does not fit."""
    budget = max_seq_length - 2
    ids: List[int] = []
    starts: List[bool] = []
    for text_ids, text_starts in _tokenize(texts, tokenizer, tokenize_batch):
        if not split_texts and ids and len(ids) + len(text_ids) > budget:
            yield PackedSequence(ids, starts)
            ids, starts = [], []
        ids += text_ids
        starts += text_starts
        while len(ids) >= budget:
            yield _row(ids[:budget], starts[:budget])
            ids, starts = ids[budget:], starts[budget:]
    if ids:
        yield _row(ids, starts)


def _row(ids: List[int], starts: List[bool]) -> PackedSequence:
    """A sequence whose first wordpiece counts as a word start, also where it continues a split word."""
    starts[0] = True
    return PackedSequence(ids, starts)


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
