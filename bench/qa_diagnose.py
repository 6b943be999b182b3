"""Why did biobert_qa not learn where a plain Hugging Face QA fine-tune did? Both systems side by side.

Trains biobert_qa and `AutoModelForQuestionAnswering` from the same base on the same batches of the
same training records (configs/qa.cfg's split) and records, at every step: the loss, the global norm of
the encoder's gradient (before clipping), the learning rate the optimizer applied, and after each of the
first two steps the share of encoder parameter tensors that changed (step 1 runs at the warm-up's rate
0). It also checks the windows: how many there
are, how many target `[CLS]` (no answer inside), and whether each target's wordpieces spell the gold
answer (of the first gold answer, the one both systems learn). `--thinc-schedule-bug` reproduces the old bench loop (schedule arguments in thinc's order by
position as if it took `(warmup_steps, total_steps, initial_rate)`, `step_schedules` never called), so the
write-up's figures can be re-made.

    flock /tmp/spacy_biobert_bench.lock python bench/qa_diagnose.py --data ../shared/data/qa/BioASQ \\
        --steps 40 --output bench/out/qa_diagnose.json --plot bench/qa_loss_curves.png
"""
import argparse
import json
from pathlib import Path
from typing import Any, Dict, List

import numpy
import spacy
import torch
from spacy.util import fix_random_seed
from thinc.api import Adam, warmup_linear
from transformers import AutoTokenizer

from spacy_biobert.base_model import resolve_base_model
from spacy_biobert.ml.qa_model import tokenize_windows
from spacy_biobert.pipeline.qa import gold_position
from spacy_biobert.readers.qa import record_to_example

from qa_vs_hf import (
    build_parser, hf_features, hf_optimizer, hf_train_targets, load_hf_model, shuffled_batches, training_records,
)


def parse_args() -> argparse.Namespace:
    parser = build_parser(__doc__)
    parser.set_defaults(steps=40, epochs=0, lr=1e-4)
    parser.add_argument("--thinc-schedule-bug", action="store_true", help="the old bench loop's optimizer set-up")
    parser.add_argument("--plot", type=Path, default=None, help="write the loss curves as a PNG here")
    return parser.parse_args()


def window_checks(tokenizer: Any, records: List[Any], args: argparse.Namespace) -> Dict[str, Any]:
    """Windows, `[CLS]`-target windows and misplaced targets, for biobert_qa's windowing and HF's."""
    pairs = [(record.question, record.context) for record in records]
    windows = tokenize_windows(
        tokenizer, pairs, max_seq_length=args.max_seq_length, doc_stride=args.doc_stride,
        max_query_length=args.max_query_length,
    )
    cls = misplaced = 0
    for i, example_id in enumerate(windows.example_ids):
        record = records[example_id]
        start, end = gold_position(windows.offsets[i], record.answers[0])
        if start == 0:
            cls += 1
            continue
        golds = {record.context[s:e].casefold() for s, e in record.answers}
        text = record.context[windows.offsets[i][start][0] : windows.offsets[i][end][1]].casefold()
        misplaced += text not in golds
    encoding = hf_features(tokenizer, records, args)
    hf_starts, _ = hf_train_targets(encoding, records)
    return {
        "records": len(records),
        "biobert_qa_windows": len(windows),
        "biobert_qa_cls_windows": cls,
        "biobert_qa_misplaced_targets": misplaced,
        "hf_windows": len(hf_starts),
        "hf_cls_windows": sum(start == 0 for start in hf_starts),
    }


def encoder_grad_norm(parameters: Any) -> float:
    grads = [p.grad.detach().float().norm() for p in parameters if p.grad is not None]
    return float(torch.norm(torch.stack(grads))) if grads else 0.0


def run_biobert_qa(args: argparse.Namespace, records: List[Any], total: int) -> Dict[str, List[float]]:
    fix_random_seed(args.seed)
    nlp = spacy.blank("en")
    qa = nlp.add_pipe(
        "biobert_qa",
        config={"model": {"name": args.base, "max_seq_length": args.max_seq_length, "doc_stride": args.doc_stride,
                          "max_query_length": args.max_query_length}},
    )
    examples = [record_to_example(nlp, record) for record in records]
    warmup = int(args.warmup * total)
    if args.thinc_schedule_bug:
        schedule = warmup_linear(warmup, total, args.lr)
    else:
        schedule = warmup_linear(initial_rate=args.lr, warmup_steps=warmup, total_steps=total)
    optimizer = Adam(learn_rate=schedule, L2=args.weight_decay, L2_is_weight_decay=True, grad_clip=1.0, eps=1e-8)
    nlp.initialize(lambda: examples, sgd=optimizer)
    encoder = qa.model.layers[0].shims[0]._model
    log: Dict[str, List[float]] = {"loss": [], "grad_norm": [], "lr": [], "changed": []}
    for step, batch in enumerate(shuffled_batches(examples, args), start=1):
        before = [p.detach().clone() for p in encoder.parameters()] if step <= 2 else None
        losses: Dict[str, float] = {}
        qa.update(batch, drop=0.1, losses=losses)
        log["grad_norm"].append(encoder_grad_norm(encoder.parameters()))
        log["lr"].append(float(optimizer.learn_rate))
        qa.finish_update(optimizer)
        if not args.thinc_schedule_bug:
            optimizer.step_schedules()
        log["loss"].append(losses["biobert_qa"])
        if before is not None:
            after = list(encoder.parameters())
            log["changed"].append(sum(not torch.equal(a, b) for a, b in zip(before, after)) / len(before))
        print(f"biobert_qa step {step}: loss {log['loss'][-1]:.3f} grad {log['grad_norm'][-1]:.3f} lr {log['lr'][-1]:.2e}",
              flush=True)
    return log


def run_hf(args: argparse.Namespace, records: List[Any], total: int) -> Dict[str, List[float]]:
    tokenizer, model = load_hf_model(args)
    optimizer, scheduler = hf_optimizer(args, model, total)
    model.train()
    log: Dict[str, List[float]] = {"loss": [], "grad_norm": [], "lr": [], "changed": []}
    for step, batch in enumerate(shuffled_batches(records, args), start=1):
        encoding = hf_features(tokenizer, batch, args)
        starts, ends = hf_train_targets(encoding, batch)
        length = max(sum(mask) for mask in encoding["attention_mask"])
        inputs = {key: torch.tensor([row[:length] for row in encoding[key]])
                  for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoding}
        before = [p.detach().clone() for p in model.bert.parameters()] if step <= 2 else None
        output = model(**inputs, start_positions=torch.tensor(starts), end_positions=torch.tensor(ends))
        output.loss.backward()
        log["grad_norm"].append(encoder_grad_norm(model.bert.parameters()))
        log["lr"].append(scheduler.get_last_lr()[0])
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        log["loss"].append(float(output.loss))
        if before is not None:
            after = list(model.bert.parameters())
            log["changed"].append(sum(not torch.equal(a, b) for a, b in zip(before, after)) / len(before))
        print(f"hf step {step}: loss {log['loss'][-1]:.3f} grad {log['grad_norm'][-1]:.3f} lr {log['lr'][-1]:.2e}", flush=True)
    return log


def plot(results: Dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(10, 4))
    for system in ("biobert_qa", "hf"):
        steps = range(1, len(results[system]["loss"]) + 1)
        ax_loss.plot(steps, results[system]["loss"], label=system)
        ax_grad.plot(steps, results[system]["grad_norm"], label=system)
    ax_loss.set(xlabel="update", ylabel="loss (mean start/end cross-entropy)", title="Training loss, same batches")
    ax_grad.set(xlabel="update", ylabel="encoder gradient norm", title="Gradient reaching the encoder")
    ax_loss.legend()
    ax_grad.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main() -> None:
    args = parse_args()
    records = training_records(args)
    total = args.steps or args.epochs * -(-len(records) // args.batch_size)
    args.steps = total
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(args.base))
    results: Dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}}
    results["windows"] = window_checks(tokenizer, records, args)
    print(json.dumps(results["windows"]), flush=True)
    results["biobert_qa"] = run_biobert_qa(args, records, total)
    results["hf"] = run_hf(args, records, total)
    for system in ("biobert_qa", "hf"):
        log = results[system]
        print(f"{system}: loss first/last 10 {numpy.mean(log['loss'][:10]):.3f}/{numpy.mean(log['loss'][-10:]):.3f}, "
              f"mean encoder grad norm {numpy.mean(log['grad_norm']):.3f}, lr at steps 1/2/last {log['lr'][0]:.2e}/"
              f"{log['lr'][1]:.2e}/{log['lr'][-1]:.2e}, encoder tensors changed by step 1/2: "
              f"{log['changed'][0]:.0%}/{log['changed'][-1]:.0%}")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2), encoding="utf8")
    if args.plot is not None:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
