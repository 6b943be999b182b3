"""Pretraining speed: `spacy-biobert pretrain` against plain Hugging Face masked-LM loops, in one run.

Three systems train the same base for `--steps` optimizer steps of `--batch-size` sequences of `--seq-length`
wordpieces from the same corpus, with AdamW (lr 1e-4, no decay on biases and LayerNorm), a linear schedule and
gradient clipping at 1.0, at `--precision` (fp32 stands for a CPU without native bf16 on one that has it):

- `spacy-biobert pretrain`: the package's loop (packed sequences, BERT's 80/10/10 masking, the MLM head applied
  at the target positions only);
- `hf-masked-only`: `AutoModelForMaskedLM`, `DataCollatorForLanguageModeling`, sequences grouped as
  `run_mlm.py` does, the head applied at the target positions only (the loop the issue asks to match);
- `hf-stock`: the same with the stock forward, `model(**batch).loss` (the head scores every position).

The first `--skip` steps of each are not timed (allocation, thread start-up). Systems run one after the other
in this process; run nothing else on the machine meanwhile. Prints a Markdown table with the CPU description.

    python bench/pretrain_vs_hf.py --corpus ../shared/data/corpus/biomedical_sentences.txt --steps 30
"""
import argparse
import contextlib
import itertools
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List

import torch
from torch import nn

from spacy_biobert.base_model import OFFLINE_BASE_MODEL, resolve_base_model
from spacy_biobert.precision import cpu_has_bf16
from spacy_biobert.pretraining.trainer import PretrainingSettings, pretrain

from machine import cpu_description

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "corpus" / "biomedical_sentences.txt"
NO_DECAY = ("bias", "LayerNorm.weight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="text file, one text a line")
    parser.add_argument("--base", default=OFFLINE_BASE_MODEL, help="base model (folder or name)")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps a system")
    parser.add_argument("--skip", type=int, default=3, help="first steps not timed")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--systems", default="spacy-biobert,hf-masked-only,hf-stock")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = str(resolve_base_model(args.base))
    rows = []
    for system in args.systems.split(","):
        timed = run_spacy_biobert(args, base) if system == "spacy-biobert" else run_hf(args, base, system)
        rows.append((system, timed))
        print(f"{system}: {timed:.3f} s/step", flush=True)
    tokens = args.batch_size * args.seq_length
    print(f"\n{cpu_description()}; native bf16: {cpu_has_bf16()}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; precision {args.precision}; {args.batch_size} x {args.seq_length}, "
          f"steps {args.skip + 1}-{args.steps} timed\n")
    print("| system | s/step | wordpieces/s | vs spacy-biobert |\n| --- | ---: | ---: | ---: |")
    reference = dict(rows).get("spacy-biobert")
    for system, seconds in rows:
        ratio = f"{seconds / reference:.2f}x" if reference else ""
        print(f"| {system} | {seconds:.2f} | {tokens / seconds:,.0f} | {ratio} |")


def run_spacy_biobert(args: argparse.Namespace, base: str) -> float:
    """The package's loop; its per-step log gives the time of the steps after `--skip`."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = PretrainingSettings(
            corpus=[str(args.corpus)], base=base, output=str(Path(tmp) / "out"), max_steps=args.steps,
            batch_size=args.batch_size, max_seq_length=args.seq_length, save_every=0, heldout=0,
            precision=args.precision, seed=0, warmup=0.1,
        )
        started: List[float] = []
        pretrain_with_clock(settings, started)
        return (started[-1] - started[args.skip]) / (args.steps - args.skip)


def pretrain_with_clock(settings: PretrainingSettings, clock: List[float]) -> None:
    """Run `pretrain`, appending `time.perf_counter()` after every optimizer step to `clock`."""
    step = torch.optim.AdamW.step

    def timed_step(self, *a, **kw):  # type: ignore[no-untyped-def]
        result = step(self, *a, **kw)
        clock.append(time.perf_counter())
        return result

    torch.optim.AdamW.step = timed_step  # type: ignore[method-assign]
    try:
        pretrain(settings)
    finally:
        torch.optim.AdamW.step = step  # type: ignore[method-assign]


def run_hf(args: argparse.Namespace, base: str, system: str) -> float:
    """A plain transformers loop over `run_mlm.py`-style grouped sequences."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForMaskedLM.from_pretrained(base)
    model.train()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    batches = grouped_batches(args, tokenizer, collator)
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in NO_DECAY)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in NO_DECAY)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=1e-4)
    warmup = max(1, args.steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (args.steps - s) / (args.steps - warmup))))
    loss_of = stock_loss if system == "hf-stock" else masked_only_loss
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if args.precision == "bf16"
                else contextlib.nullcontext())
    clock: List[float] = []
    for batch in itertools.islice(batches, args.steps):
        with autocast:
            loss = loss_of(model, batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        clock.append(time.perf_counter())
    return (clock[-1] - clock[args.skip - 1]) / (args.steps - args.skip)


def stock_loss(model: nn.Module, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
    return model(**batch).loss


def masked_only_loss(model: nn.Module, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
    """The encoder, then the MLM head on the target positions only."""
    hidden = model.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"] != -100
    logits = head_of(model)(hidden[targets])
    return nn.functional.cross_entropy(logits.float(), batch["labels"][targets])


def head_of(model: nn.Module) -> nn.Module:
    """The MLM head module of a `*ForMaskedLM` (every child but the encoder)."""
    return next(child for name, child in model.named_children() if name != model.base_model_prefix)


def grouped_batches(args: argparse.Namespace, tokenizer, collator) -> Iterator[Dict[str, torch.Tensor]]:  # type: ignore[no-untyped-def]
    """Texts tokenized, concatenated and cut into blocks of `--seq-length` ([CLS] ... [SEP]), then batched."""
    body = args.seq_length - 2
    needed = args.steps * args.batch_size * body
    pieces: List[int] = []
    with args.corpus.open(encoding="utf8") as lines:
        for line in lines:
            pieces.extend(tokenizer(line.strip(), add_special_tokens=False)["input_ids"])
            if len(pieces) >= needed:
                break
    blocks = [[tokenizer.cls_token_id, *pieces[i:i + body], tokenizer.sep_token_id]
              for i in range(0, len(pieces) - body + 1, body)]
    for i in range(0, len(blocks) - args.batch_size + 1, args.batch_size):
        yield collator([{"input_ids": block} for block in blocks[i:i + args.batch_size]])


if __name__ == "__main__":
    main()
