"""BERT's masked-LM targets: choose 15% of a row's wordpieces; of those, 80% become [MASK], 10% a random
wordpiece, 10% stay as they are. With whole-word masking the choice is over words, and every piece of a
chosen word is a target (each piece still gets its own 80/10/10 draw, as in BERT's release).

As in BERT's `create_pretraining_data.py`, a row gets `round(rate * length)` targets (at least one): words
are taken in random order while they fit that budget.
"""
from typing import Dict, List, Sequence

import numpy
import torch

from .packing import PackedSequence

IGNORE_INDEX = -100


class MaskingCollator:
    """Turn packed sequences into a padded, masked batch: `input_ids`, `attention_mask`, `labels`."""

    def __init__(
        self,
        tokenizer,
        mlm_probability: float = 0.15,
        whole_word_masking: bool = False,
        mask_replace_prob: float = 0.8,
        random_replace_prob: float = 0.1,
    ) -> None:
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        self.pad_id = tokenizer.pad_token_id
        self.mask_id = tokenizer.mask_token_id
        special = set(tokenizer.all_special_ids)
        self.random_ids = numpy.array([i for i in range(len(tokenizer)) if i not in special], dtype=numpy.int64)
        self.mlm_probability = mlm_probability
        self.whole_word_masking = whole_word_masking
        self.mask_replace_prob = mask_replace_prob
        self.random_replace_prob = random_replace_prob

    def __call__(self, sequences: Sequence[PackedSequence], rng: numpy.random.Generator) -> Dict[str, torch.Tensor]:
        width = max(len(seq.ids) for seq in sequences) + 2
        input_ids = numpy.full((len(sequences), width), self.pad_id, dtype=numpy.int64)
        labels = numpy.full((len(sequences), width), IGNORE_INDEX, dtype=numpy.int64)
        attention_mask = numpy.zeros((len(sequences), width), dtype=numpy.int64)
        for row, seq in enumerate(sequences):
            ids = numpy.asarray(seq.ids, dtype=numpy.int64)
            masked, targets = self.mask(ids, seq.word_starts, rng)
            n = len(ids)
            input_ids[row, : n + 2] = numpy.concatenate(([self.cls_id], masked, [self.sep_id]))
            labels[row, 1 : n + 1] = targets
            attention_mask[row, : n + 2] = 1
        return {
            "input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.from_numpy(attention_mask),
            "labels": torch.from_numpy(labels),
        }

    def select(self, word_starts: List[bool], rng: numpy.random.Generator) -> numpy.ndarray:
        """Boolean mask of the positions chosen as targets."""
        n = len(word_starts)
        if self.whole_word_masking:
            groups = numpy.cumsum(numpy.asarray(word_starts, dtype=numpy.int64)) - 1
        else:
            groups = numpy.arange(n)
        sizes = numpy.bincount(groups)
        budget = max(1, int(round(self.mlm_probability * n)))
        order = rng.permutation(len(sizes))
        chosen = order[numpy.cumsum(sizes[order]) <= budget]
        if len(chosen) == 0:
            chosen = order[:1]
        return numpy.isin(groups, chosen)

    def mask(self, ids: numpy.ndarray, word_starts: List[bool], rng: numpy.random.Generator) -> tuple:
        """(input ids with the 80/10/10 replacements, labels: the original id at targets, else -100)."""
        selected = self.select(word_starts, rng)
        labels = numpy.where(selected, ids, IGNORE_INDEX)
        draw = rng.random(len(ids))
        to_mask = selected & (draw < self.mask_replace_prob)
        to_random = selected & (draw >= self.mask_replace_prob) & (draw < self.mask_replace_prob + self.random_replace_prob)
        masked = ids.copy()
        masked[to_mask] = self.mask_id
        masked[to_random] = rng.choice(self.random_ids, size=int(to_random.sum()))
        return masked, labels
