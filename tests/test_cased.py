"""A cased BERT in BioBERT's release layout through base-model → pretrain → train NER → annotate (tiny sizes).

Every other test runs an uncased model; BioBERT is cased and ships without a tokenizer config, which
transformers reads as "lower-case everything" and "no length limit".
"""
import json
import random
from pathlib import Path

import pytest
import spacy

from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.base_model import write_base_model_with_info
from spacy_biobert.pretraining import PretrainingSettings, pretrain

from .util import make_cased_bert

SENTENCES = [
    ("BRCA1 mutations raise Breast Cancer risk .", ["B-Gene", "O", "O", "B-Disease", "I-Disease", "O", "O"]),
    ("Tamoxifen lowers the risk in HeLa cells .", ["B-Chemical", "O", "O", "O", "O", "O", "O", "O"]),
    ("IL-2 and TNF-alpha levels were measured .", ["B-Gene", "O", "B-Gene", "O", "O", "O", "O"]),
    ("Huntington Disease is caused by HTT repeats .", ["B-Disease", "I-Disease", "O", "O", "O", "B-Gene", "O", "O"]),
]
ALPHABET = "aeilnorstu"


def _long_wordpiece_text(n_words: int = 150) -> str:
    """Words that split into many wordpieces each: one 128-token window holds far more than 512 of them."""
    rng = random.Random(0)
    return " ".join("t" + "".join(rng.choice(ALPHABET) for _ in range(13)) for _ in range(n_words))


@pytest.mark.slow
def test_cased_release_through_pretrain_train_annotate(tmp_path: Path) -> None:
    from spacy.cli.train import train as spacy_train

    texts = [text for text, _ in SENTENCES] * 10
    release = make_cased_bert(tmp_path / "release", texts, vocab_size=300)
    base, info = write_base_model_with_info(tmp_path / "base", str(release))
    assert info.cased and info.mlm_head and not info.tokenizer_config

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf8")
    adapted = tmp_path / "adapted"
    metrics = pretrain(PretrainingSettings(
        corpus=[str(corpus)], base=str(base), output=str(adapted), max_steps=3, max_seq_length=32, batch_size=4,
        save_every=0, heldout=4, heldout_every=5, shuffle_buffer=1, precision="fp32"))
    assert metrics["fresh_head"] is False

    tsv = tmp_path / "train.tsv"
    tsv.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(text.split(), tags)) for text, tags in SENTENCES)
                   + "\n", encoding="utf8")
    config = Path(__file__).resolve().parent.parent / "configs" / "ner.cfg"
    overrides = {"paths.train": str(tsv), "paths.dev": str(tsv), "paths.base_model": str(adapted),
                 "training.max_steps": 4, "training.eval_frequency": 4,
                 "training.optimizer.learn_rate.warmup_steps": 1}
    spacy_train(config, tmp_path / "ner", overrides=overrides)
    model = tmp_path / "ner" / "model-best"
    tokenizer = spacy.load(model).get_pipe("transformer").model.tokenizer
    assert "BRCA1" in tokenizer.tokenize("BRCA1 mutations") and tokenizer.model_max_length == 512

    inputs = tmp_path / "in.jsonl"
    docs = [{"id": "short", "text": SENTENCES[0][0]}, {"id": "long", "text": _long_wordpiece_text()}]
    assert len(tokenizer.tokenize(" ".join(docs[1]["text"].split()[:128]))) > 512
    inputs.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf8")
    summary = annotate(model, inputs, tmp_path / "out.jsonl", AnnotateSettings(progress=False))
    assert (summary.documents, summary.errors) == (2, 0)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf8").splitlines()]
    assert [record["text"] for record in records] == [doc["text"] for doc in docs]
