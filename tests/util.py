"""Test helpers: a tiny randomly initialised BERT written to disk, so no test downloads anything."""
import json
import string
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Optional, Union

import numpy

import spacy
from spacy.language import Language

WORDS = (
    "the of and in to a is was with for by on that as are from at be this an or which have not"
    " cancer breast tumor disease gene protein mutation mutations cell cells patients risk raise"
    " raises lowers inhibits cause causes associated treatment drug kinase brca1 tamoxifen imatinib"
    " what does which who how is"
).split()

# EntityRuler patterns for tiny pipelines that need entities of three types without training.
RULER_PATTERNS = [
    {"label": "GENE", "pattern": "BRCA1"},
    {"label": "DISEASE", "pattern": [{"LOWER": "breast"}, {"LOWER": "cancer"}]},
    {"label": "CHEMICAL", "pattern": "tamoxifen"},
]


def ruler_pipeline(*extra: str) -> Language:
    """A blank English pipeline whose EntityRuler finds RULER_PATTERNS, then the components named in `extra`."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(RULER_PATTERNS)
    for name in extra:
        nlp.add_pipe(name)
    return nlp


def make_tiny_bert(path: Union[str, Path], extra_words: Iterable[str] = (), seed: int = 0) -> Path:
    """Write a 2-layer, 32-wide uncased BERT with a small wordpiece vocabulary as a Hugging Face folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars]
    for word in list(WORDS) + [w.lower() for w in extra_words]:
        if word not in vocab:
            vocab.append(word)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True, model_max_length=512)
    tokenizer.save_pretrained(str(path))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(path))
    return path


def blank_with_transformer(bert: Union[str, Path]) -> Language:
    """A blank English pipeline whose `transformer` runs the BERT folder `bert` (fast tokenizer, default spans)."""
    nlp = spacy.blank("en")
    model = {"@architectures": "spacy-transformers.TransformerModel.v3", "name": str(bert),
             "tokenizer_config": {"use_fast": True}}
    nlp.add_pipe("transformer", config={"model": model})
    return nlp


def write_records(path: Union[str, Path], records: Iterable[Dict[str, Any]]) -> Path:
    """Write dicts as JSONL, one a line (e.g. records of the relation JSONL format)."""
    path = Path(path)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf8")
    return path


def train_ner_rel(
    bert: Union[str, Path],
    records: Iterable[Dict[str, Any]],
    path: Union[str, Path],
    n_updates: int,
    rel_config: Optional[Dict[str, Any]] = None,
) -> Language:
    """A transformer on `bert` with biobert_ner and biobert_rel listening, trained together (Adam 1e-3, no
    dropout, the whole batch `n_updates` times) on relation JSONL `records` written to `path`: the NER learns
    their entities (spans key `biobert_ner`), biobert_rel their relations. Seed the RNGs before calling."""
    from thinc.api import Adam

    from spacy_biobert.readers.rel import create_rel_jsonl_reader

    nlp = blank_with_transformer(bert)
    nlp.add_pipe("biobert_ner")
    nlp.add_pipe("biobert_rel", config=rel_config or {})
    reader = create_rel_jsonl_reader(write_records(path, records), predicted_ents=False, spans_key="biobert_ner")
    examples = list(reader(nlp))
    nlp.initialize(get_examples=lambda: examples)
    optimizer = Adam(1e-3)
    for _ in range(n_updates):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def numeric_gradient(loss: Callable[[numpy.ndarray], float], x: numpy.ndarray, eps: float = 1e-6) -> numpy.ndarray:
    """d loss / d x at float64 `x` by central differences, one element at a time: the reference a component's
    `get_loss` gradient is checked against."""
    gradient = numpy.zeros_like(x, dtype="float64")
    for index in numpy.ndindex(x.shape):
        step = numpy.zeros_like(x, dtype="float64")
        step[index] = eps
        gradient[index] = (loss(x + step) - loss(x - step)) / (2 * eps)
    return gradient


def make_cased_bert(
    path: Union[str, Path],
    texts: Iterable[str],
    vocab_size: int = 400,
    layout: str = "release",
    mlm_head: bool = True,
    seed: int = 0,
) -> Path:
    """Write a 2-layer, 32-wide cased BERT whose WordPiece vocabulary `tokenizers` learns from `texts`.

    `layout="release"` lays it out as BioBERT's PyTorch release: `config.json` without `model_type`, `vocab.txt`,
    a BertForPreTraining `pytorch_model.bin` (`bert.*`, `cls.predictions.*`, `cls.seq_relationship.*`), no
    tokenizer config; without `mlm_head` only the `bert.*` weights. `layout="save_pretrained"`: a
    BertForMaskedLM and its tokenizer (`do_lower_case = false`) written with `save_pretrained`.
    """
    import json

    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, BertTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    trainer = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    trainer.train_from_iterator(list(texts), vocab_size=vocab_size, min_frequency=1, limit_alphabet=200,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    trainer.save_model(str(path))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=trainer.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    if layout == "save_pretrained":
        BertForMaskedLM(config).save_pretrained(str(path))
        BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=False).save_pretrained(str(path))
        return path
    state = BertForPreTraining(config).state_dict()
    if not mlm_head:
        state = {key: value for key, value in state.items() if key.startswith("bert.")}
    torch.save(state, path / "pytorch_model.bin")
    fields = {key: value for key, value in config.to_dict().items() if key not in ("model_type", "transformers_version")}
    (path / "config.json").write_text(json.dumps(fields), encoding="utf8")
    return path
