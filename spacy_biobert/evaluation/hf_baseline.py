"""A plain Hugging Face fine-tune of a base model: the baseline spacy-biobert's components are measured against.

BioBERT's recipes with transformers alone, no spaCy: token classification with each word labelled on its first
wordpiece and argmax decoding (BioBERT's `run_ner.py`), and sequence classification on the `[CLS]` token of the
`@GENE$`/`@DISEASE$` sentences (`run_re.py`). Both use AdamW with BERT's weight-decay groups, linear warm-up
then linear decay, and global gradient clipping at 1.0. `compare-hf` in project.yml (scripts/hf_baseline.py)
and bench/ner_vs_hf.py, bench/rel_vs_hf.py run them.
"""
import math
import random
import time
from typing import Any, Dict, List, Sequence, Tuple

from tqdm import tqdm

from ..metrics.entities import score_tag_sequences
from ..metrics.relations import prf_from_labels
from ..readers.rel import RERow

TaggedSentence = Tuple[List[str], List[str]]
Piece = Tuple[int, List[str], List[str]]
NO_DECAY = ("bias", "LayerNorm.weight")


def score_tags(gold: List[List[str]], predicted: List[List[str]]) -> Dict[str, float]:
    """conlleval-equivalent entity P/R/F1 (typed) and the type-agnostic F1, as fractions."""
    typed = score_tag_sequences(gold, predicted).total
    untyped = score_tag_sequences(gold, predicted, typed=False).total
    return {"p": typed.precision, "r": typed.recall, "f": typed.fscore, "untyped_f": untyped.fscore}


def encode_words(tokenizer: Any, words: List[List[str]], tag_ids: List[List[int]], max_length: int) -> Tuple[Any, List[List[int]]]:
    """A batch of pre-split sentences as `run_ner.py` encodes it: each word's tag on its first wordpiece, -100 on
    the other wordpieces and special tokens; also each row's first-wordpiece positions."""
    import torch

    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length, padding=True,
                    return_tensors="pt")
    label_rows, first_pieces = [], []
    for row, row_tags in enumerate(tag_ids):
        seen = set()
        row_labels, firsts = [], []
        for position, word_id in enumerate(enc.word_ids(row)):
            if word_id is None or word_id in seen:
                row_labels.append(-100)
            else:
                seen.add(word_id)
                row_labels.append(row_tags[word_id])
                firsts.append(position)
        label_rows.append(row_labels)
        first_pieces.append(firsts)
    enc["labels"] = torch.tensor(label_rows)
    return enc, first_pieces


def split_to_fit(tokenizer: Any, sentences: Sequence[TaggedSentence], max_length: int) -> List[Piece]:
    """Split sentences so that each piece fits `max_length` wordpieces with [CLS] and [SEP] (as `run_ner.py`):
    (sentence index, words, tags) a piece."""
    out = []
    for index, (words, word_tags) in enumerate(sentences):
        lengths = [max(1, len(tokenizer.tokenize(word))) for word in words]
        start, total = 0, 0
        for i, length in enumerate(lengths):
            if total + length > max_length - 2 and i > start:
                out.append((index, words[start:i], word_tags[start:i]))
                start, total = i, 0
            total += length
        out.append((index, words[start:], word_tags[start:]))
    return out


def adamw_with_schedule(model: Any, lr: float, steps: int, warmup: float) -> Tuple[Any, Any]:
    """AdamW (eps 1e-6, weight decay 0.01 except biases and LayerNorm weights) and a linear warm-up over the
    `warmup` share of `steps`, then linear decay to 0."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(NO_DECAY)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n.endswith(NO_DECAY)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr, eps=1e-6)
    return optimizer, get_linear_schedule_with_warmup(optimizer, max(1, round(steps * warmup)), steps)


def _update(model: Any, loss: Any, optimizer: Any, schedule: Any) -> None:
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad()


def finetune_token_classifier(
    train: Sequence[TaggedSentence], test: Sequence[TaggedSentence], base: str, *, epochs: int, lr: float,
    batch_size: int = 32, warmup: float = 0.1, max_length: int = 128, eval_batch_size: int = 64, seed: int = 0,
) -> Dict[str, Any]:
    """Fine-tune `AutoModelForTokenClassification` on IOB2-tagged sentences for `epochs` shuffled passes, then
    tag `test`: updates, training and inference speed, and the test scores of `score_tags`."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    random.seed(seed)
    torch.manual_seed(seed)
    labels = sorted({tag[2:] for _, tags in train for tag in tags if tag != "O"})
    tags = ["O"] + [f"{prefix}-{label}" for label in labels for prefix in ("B", "I")]
    tag_ids = {tag: i for i, tag in enumerate(tags)}
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForTokenClassification.from_pretrained(str(base), num_labels=len(tags))

    def encode(batch: List[Piece]) -> Tuple[Any, List[List[int]]]:
        return encode_words(tokenizer, [words for _, words, _ in batch],
                            [[tag_ids.get(tag, 0) for tag in word_tags] for _, _, word_tags in batch], max_length)

    train_pieces = split_to_fit(tokenizer, train, max_length)
    n_steps = epochs * math.ceil(len(train_pieces) / batch_size)
    optimizer, schedule = adamw_with_schedule(model, lr, n_steps, warmup)
    model.train()
    trained_words = 0
    start = time.perf_counter()
    with tqdm(total=n_steps, desc="HF token classification", unit="update") as progress:
        for _ in range(epochs):
            order = list(range(len(train_pieces)))
            random.shuffle(order)
            for i in range(0, len(order), batch_size):
                batch = [train_pieces[j] for j in order[i : i + batch_size]]
                enc, _ = encode(batch)
                _update(model, model(**enc).loss, optimizer, schedule)
                trained_words += sum(len(words) for _, words, _ in batch)
                progress.update(1)
    train_seconds = time.perf_counter() - start

    model.eval()
    test_pieces = split_to_fit(tokenizer, test, max_length)
    predicted: List[List[str]] = [[] for _ in test]
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(test_pieces), eval_batch_size):
            batch = test_pieces[i : i + eval_batch_size]
            enc, first_pieces = encode(batch)
            enc.pop("labels")
            best = model(**enc).logits.argmax(-1).tolist()
            for (index, words, _), row, firsts in zip(batch, best, first_pieces):
                row_tags = [tags[row[p]] for p in firsts]
                predicted[index].extend(row_tags + ["O"] * (len(words) - len(row_tags)))
    infer_seconds = time.perf_counter() - start
    return {
        "steps": n_steps,
        "train_words_per_s": trained_words / train_seconds,
        "train_seconds": train_seconds,
        "infer_words_per_s": sum(len(words) for words, _ in test) / infer_seconds,
        "test": score_tags([tags for _, tags in test], predicted),
    }


def finetune_sequence_classifier(
    train: Sequence[RERow], test: Sequence[RERow], base: str, *, steps: int, lr: float, batch_size: int = 32,
    warmup: float = 0.1, max_seq_length: int = 128, seed: int = 0,
) -> Dict[str, Any]:
    """Fine-tune `AutoModelForSequenceClassification` (2 labels) for `steps` updates on batches drawn from
    reshuffled passes over `train`, then classify `test`: P/R/F1 of label "1" (re_eval.py) and speeds."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    random.seed(seed)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=2)
    optimizer, schedule = adamw_with_schedule(model, lr, steps, warmup)

    def encode(rows: Sequence[RERow]) -> Dict[str, Any]:
        return tokenizer([r.sentence for r in rows], truncation=True, max_length=max_seq_length, padding=True,
                         return_tensors="pt")

    model.train()
    start = time.perf_counter()
    order: List[int] = []
    for _ in tqdm(range(steps), desc="HF sequence classification", unit="update"):
        if len(order) < batch_size:
            fresh = list(range(len(train)))
            random.shuffle(fresh)
            order.extend(fresh)
        batch = [train[i] for i in order[:batch_size]]
        del order[:batch_size]
        labels = torch.tensor([int(r.label) for r in batch])
        _update(model, model(**encode(batch), labels=labels).loss, optimizer, schedule)
    train_s = time.perf_counter() - start
    model.eval()
    predictions: List[str] = []
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(test), 64):
            logits = model(**encode(test[i : i + 64])).logits
            predictions.extend(str(int(v)) for v in logits.argmax(-1))
    test_s = time.perf_counter() - start
    prf = prf_from_labels([r.label for r in test], predictions)
    return {
        "p": prf.precision, "r": prf.recall, "f": prf.fscore,
        "train_sents_per_s": steps * batch_size / train_s,
        "infer_sents_per_s": len(test) / test_s,
        "train_s": round(train_s, 1), "test_rows": len(test), "steps": steps,
    }
