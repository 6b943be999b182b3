"""`spacy_biobert.batch_by_length.v1`: fixed-size batches of similar lengths, every example once."""
import random
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.training import Example
from spacy.util import registry
from thinc.api import Config
from transformers import AutoTokenizer

from spacy_biobert.batchers import batch_by_length


def shuffled_lengths(n: int, seed: int = 0) -> List[str]:
    rng = random.Random(seed)
    return ["x" * rng.randint(1, 120) for _ in range(n)]


def test_every_item_once_in_fixed_size_batches() -> None:
    items = shuffled_lengths(100)
    batches = list(batch_by_length(items, size=8, buffer=4))
    assert sorted(item for batch in batches for item in batch) == sorted(items)
    assert [len(batch) for batch in batches].count(8) == 12
    assert sorted(len(batch) for batch in batches)[0] == 4


def test_batches_pad_less_than_the_epoch_order() -> None:
    items = shuffled_lengths(256)

    def padded(batches: List[List[str]]) -> int:
        return sum(len(batch) * max(map(len, batch)) for batch in batches)

    random.seed(0)
    unsorted = padded(list(batch_by_length(items, size=16, buffer=1)))
    random.seed(0)
    grouped = padded(list(batch_by_length(items, size=16, buffer=16)))
    assert grouped < 0.7 * unsorted
    random.seed(0)
    assert list(batch_by_length(items, size=16, buffer=1)) == [items[i : i + 16] for i in range(0, 256, 16)]


def test_batch_order_is_shuffled_and_seeded() -> None:
    items = shuffled_lengths(64)
    random.seed(1)
    first = list(batch_by_length(items, size=4, buffer=16))
    random.seed(1)
    assert list(batch_by_length(items, size=4, buffer=16)) == first
    longest = [max(map(len, batch)) for batch in first]
    assert longest != sorted(longest)


def test_size_schedule() -> None:
    batches = list(batch_by_length(shuffled_lengths(20), size=[2, 3, 4, 5, 6], buffer=2))
    assert sorted(map(len, batches)) == [2, 3, 4, 5, 6]


def test_resolves_from_config_and_checks_settings() -> None:
    config = Config().from_str(
        """
        [batcher]
        @batchers = "spacy_biobert.batch_by_length.v1"
        size = 2
        buffer = 2
        get_length = null
        """
    )
    batcher = registry.resolve(config)["batcher"]
    assert sum(map(len, batcher(["a", "bb", "ccc"]))) == 3
    with pytest.raises(ValueError, match="E046"):
        registry.batchers.get("spacy_biobert.batch_by_length.v1")(size=0, buffer=2)



def test_wordpiece_length_counts_the_tokenizers_pieces(tiny_bert: Path) -> None:
    get_length = registry.misc.get("spacy_biobert.wordpiece_length.v1")(name=str(tiny_bert))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    nlp = spacy.blank("en")
    # Longer than the model's positions: only counted, so no truncation and no warning.
    text = "xyzw gene " * 300
    doc = nlp(text)
    expected = len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    assert expected > len(doc)
    assert get_length(doc) == expected
    assert get_length(Example(doc, doc.copy())) == expected


def test_batches_grouped_by_wordpieces_not_tokens(tiny_bert: Path) -> None:
    config = Config().from_str(
        f"""
        [batcher]
        @batchers = "spacy_biobert.batch_by_length.v1"
        size = 4
        buffer = 2

        [batcher.get_length]
        @misc = "spacy_biobert.wordpiece_length.v1"
        name = "{tiny_bert}"
        """
    )
    batcher = registry.resolve(config)["batcher"]
    nlp = spacy.blank("en")
    # Two spaCy tokens each: one wordpiece a word against several.
    texts = ["gene gene", "xyzw qrst"] * 4
    examples = [Example(doc, doc.copy()) for doc in nlp.pipe(texts)]
    batches = list(batcher(examples))
    assert sorted(sorted({eg.text for eg in batch}) for batch in batches) == [["gene gene"], ["xyzw qrst"]]
