"""Training throughput: one `nlp.update` of biobert_rel or biobert_ner against one step of the plain Hugging Face
loop, on the same base, the same sentences in the same batches; and what `spacy train` adds around the updates.

Per update (`--task rel`: GAD-style placeholder sentences, `configs/rel.cfg`; `--task ner`: typed IOB sentences,
`configs/ner.cfg`):
- spaCy: the config's pipeline built and initialised as `spacy train` does (`init_nlp`), the config's optimizer and
  schedule, `nlp.update(batch, sgd=optimizer, drop=dropout)` then `optimizer.step_schedules()` a batch;
- Hugging Face: `AutoModelForSequenceClassification` on the placeholder sentence ([CLS], BioBERT's RE) or
  `AutoModelForTokenClassification` with first-wordpiece labels (BioBERT's NER), `tokenizer(...)` of the batch,
  forward, backward, global gradient clipping at 1.0, AdamW with a linear schedule.
Both sides see the first `--batches` x `--batch-size` sentences of `--train`, in that order, after one untimed
warm-up update. Each side runs in its own subprocess (its peak RSS is the subprocess's `ru_maxrss`: model,
optimizer state and the training batches, nothing else; this launcher imports neither torch nor spaCy);
the sides alternate `--repeats` times and the fastest run of each counts.

The spaCy worker also times what one `spacy train` call adds around its updates: loading and initialising the
pipeline (`init_nlp`: reading the training corpus, labels, model weights), one evaluation of the dev corpus
(`spacy train` evaluates at step 0 and every `eval_frequency` steps) and saving the pipeline (model-best and
model-last are both written). On a short run these fixed costs, not the updates, decide the words per second of
the whole call.

    python bench/train_throughput.py --task rel --train ../shared/data/re/GAD/1/train.tsv \\
        --dev ../shared/data/re/GAD/1/test.tsv --base base_model --threads 2 --output bench/out/train_rel.json
    python bench/train_throughput.py --task ner --train ../shared/data/ner/NCBI-disease/train.tsv \\
        --dev ../shared/data/ner/NCBI-disease/devel.tsv --base base_model --threads 2 --precision bf16
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from machine import cpu_description

REPO = Path(__file__).resolve().parent.parent
CONFIGS = {"rel": REPO / "configs" / "rel.cfg", "ner": REPO / "configs" / "ner.cfg"}
SYSTEMS = ("spacy", "hf")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(CONFIGS), required=True)
    parser.add_argument("--train", type=Path, required=True, help="training file the config's reader takes")
    parser.add_argument("--dev", type=Path, required=True, help="dev file (spaCy's evaluation cost)")
    parser.add_argument("--base", required=True, help="base model folder or hub name, for both sides")
    parser.add_argument("--config", type=Path, default=None, help="spaCy config (default: configs/<task>.cfg)")
    parser.add_argument("--batches", type=int, default=10, help="timed updates")
    parser.add_argument("--batch-size", type=int, default=32, help="sentences an update, both sides")
    parser.add_argument("--max-length", type=int, default=128, help="HF truncation, in wordpieces")
    parser.add_argument("--repeats", type=int, default=2, help="alternate the two sides this often; the best counts")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="both sides: bf16 autocast of the forward passes (spaCy: the configs' training precision)")
    parser.add_argument("--optimizer-step", choices=("torch", "thinc"), default="torch",
                        help="spaCy: how the encoder's parameters are updated (the configs' `optimizer_step`)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file for all figures")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def spacy_pipeline(args: argparse.Namespace) -> Tuple[Any, Any, List[Any], List[Any], float]:
    """The pipeline, optimizer, training and dev examples as `spacy train` makes them, and the init time."""
    from spacy.schemas import ConfigSchemaTraining
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config, registry

    overrides = {"paths.train": str(args.train), "paths.dev": str(args.dev), "paths.base_model": args.base,
                 "initialize.after_init.precision": args.precision,
                 "initialize.after_init.optimizer_step": args.optimizer_step}
    config = load_config(args.config or CONFIGS[args.task], overrides=overrides, interpolate=False)
    start = time.perf_counter()
    nlp = init_nlp(config, use_gpu=-1)
    init_seconds = time.perf_counter() - start
    resolved = nlp.config.interpolate()
    training = registry.resolve(resolved["training"], schema=ConfigSchemaTraining)
    corpora = registry.resolve(resolved["corpora"])
    train = list(corpora[training["train_corpus"].split(".")[-1]](nlp))
    dev = list(corpora[training["dev_corpus"].split(".")[-1]](nlp))
    return nlp, training, train, dev, init_seconds


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_spacy(args: argparse.Namespace) -> Dict[str, Any]:
    nlp, training, examples, dev, init_seconds = spacy_pipeline(args)
    rss = {"init": peak_rss_mib()}
    optimizer = training["optimizer"]
    dropout = training["dropout"]
    n = args.batch_size
    batches = [examples[i * n : (i + 1) * n] for i in range(args.batches + 1)]
    nlp.update(batches[0], sgd=optimizer, drop=dropout)
    optimizer.step_schedules()
    start = time.perf_counter()
    for batch in batches[1:]:
        nlp.update(batch, sgd=optimizer, drop=dropout)
        optimizer.step_schedules()
    seconds = time.perf_counter() - start
    rss["updates"] = peak_rss_mib()
    words = sum(len(eg.reference) for batch in batches[1:] for eg in batch)
    start = time.perf_counter()
    nlp.evaluate(dev)
    eval_seconds = time.perf_counter() - start
    rss["evaluation"] = peak_rss_mib()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        nlp.to_disk(folder)
        save_seconds = time.perf_counter() - start
    texts = [eg.reference.text for batch in batches[1:] for eg in batch]
    return {
        "seconds": seconds, "words": words, "texts": texts, "init_seconds": init_seconds,
        "eval_seconds": eval_seconds, "dev_sentences": len(dev), "save_seconds": save_seconds,
        "peak_rss_mib_after": rss,
    }


def hf_batches(args: argparse.Namespace) -> List[List[Tuple[Any, Any]]]:
    """The same sentences as the spaCy side's: (placeholder sentence, label) or (words, tags), file order."""
    n = args.batch_size * (args.batches + 1)
    if args.task == "rel":
        from spacy_biobert.readers.rel import read_re_tsv

        rows = [(row.sentence, int(row.label)) for row in read_re_tsv(args.train)][:n]
    else:
        from spacy_biobert.readers.ner import read_iob_sentences

        rows = list(read_iob_sentences(args.train))[:n]
    return [rows[i : i + args.batch_size] for i in range(0, n, args.batch_size)]


def run_hf(args: argparse.Namespace) -> Dict[str, Any]:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    batches = hf_batches(args)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    if args.task == "rel":
        model = AutoModelForSequenceClassification.from_pretrained(args.base, num_labels=2)
        tags: Dict[str, int] = {}
    else:
        types = sorted({tag[2:] for batch in batches for _, row_tags in batch for tag in row_tags if tag != "O"})
        tags = {tag: i for i, tag in enumerate(["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")])}
        model = AutoModelForTokenClassification.from_pretrained(args.base, num_labels=len(tags))
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=5e-5, eps=1e-6)
    schedule = get_linear_schedule_with_warmup(optimizer, 1, len(batches) * 10)
    model.train()

    def encode(batch: List[Tuple[Any, Any]]) -> Dict[str, Any]:
        if args.task == "rel":
            inputs = tokenizer([text for text, _ in batch], truncation=True, max_length=args.max_length,
                               padding=True, return_tensors="pt")
            inputs["labels"] = torch.tensor([label for _, label in batch])
            return inputs
        inputs = tokenizer([words for words, _ in batch], is_split_into_words=True, truncation=True,
                           max_length=args.max_length, padding=True, return_tensors="pt")
        labels = []
        for row, (_, row_tags) in enumerate(batch):
            previous = None
            row_labels = []
            for word_id in inputs.word_ids(row):
                row_labels.append(-100 if word_id is None or word_id == previous else tags.get(row_tags[word_id], 0))
                previous = word_id
            labels.append(row_labels)
        inputs["labels"] = torch.tensor(labels)
        return inputs

    def step(batch: List[Tuple[Any, Any]]) -> int:
        inputs = encode(batch)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        return int(inputs["attention_mask"].sum())

    step(batches[0])
    start = time.perf_counter()
    wordpieces = sum(step(batch) for batch in batches[1:])
    seconds = time.perf_counter() - start
    texts = [row[0] if args.task == "rel" else " ".join(row[0]) for batch in batches[1:] for row in batch]
    return {"seconds": seconds, "wordpieces": wordpieces, "texts": texts}


def worker(args: argparse.Namespace) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = run_spacy(args) if args.worker == "spacy" else run_hf(args)
    result["peak_rss_mib"] = peak_rss_mib()
    args.result.write_text(json.dumps(result), encoding="utf8")


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    runs: Dict[str, List[Dict[str, Any]]] = {system: [] for system in SYSTEMS}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for system in SYSTEMS:
                result_path = Path(folder) / f"{system}_{repeat}.json"
                command = [sys.executable, __file__, *argv, "--worker", system, "--result", str(result_path)]
                subprocess.run(command, check=True)
                runs[system].append(json.loads(result_path.read_text(encoding="utf8")))
                print(f"{system} run {repeat + 1}: {runs[system][-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    spacy_texts = [text.split() for text in runs["spacy"][0].pop("texts")]
    hf_texts = [text.split() for text in runs["hf"][0].pop("texts")]
    if spacy_texts != hf_texts:
        sys.exit("The two sides did not train on the same sentences: check that --train is read in file order.")
    for system in SYSTEMS:
        for run in runs[system]:
            run.pop("texts", None)
    sentences = args.batches * args.batch_size
    words = runs["spacy"][0]["words"]
    best = {system: min(run["seconds"] for run in runs[system]) for system in SYSTEMS}
    summary = {
        "machine": cpu_description(), "task": args.task, "base": args.base, "train": str(args.train),
        "updates": args.batches, "batch_size": args.batch_size, "sentences": sentences, "words": words,
        "threads": args.threads, "precision": args.precision, "optimizer_step": args.optimizer_step, "runs": runs,
        "best_seconds": best,
    }
    spacy_run = runs["spacy"][0]
    print(f"\n{summary['machine']}; {args.threads or 'default'} threads; {args.precision}; spaCy optimizer step "
          f"{args.optimizer_step}; task {args.task}; "
          f"{args.batches} updates of "
          f"{args.batch_size} sentences ({words} words, {runs['hf'][0]['wordpieces']} wordpieces on the HF side); "
          f"best of {args.repeats}\n")
    print("| system | s/update | sentences/s | words/s | peak RSS MiB (updates) | vs HF |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for system, name in (("spacy", f"`nlp.update` ({(args.config or CONFIGS[args.task]).name})"), ("hf", "HF loop")):
        seconds = best[system]
        rss = max(run.get("peak_rss_mib_after", {}).get("updates", run["peak_rss_mib"]) for run in runs[system])
        print(f"| {name} | {seconds / args.batches:.2f} | {sentences / seconds:.1f} | {words / seconds:.0f} | "
              f"{rss:,.0f} | {best['hf'] / seconds:.2f}x |")
    print(f"\nWhat one `spacy train` call adds: init {spacy_run['init_seconds']:.1f} s, one dev evaluation "
          f"{spacy_run['eval_seconds']:.1f} s ({spacy_run['dev_sentences']} sentences; at step 0 and every "
          f"eval_frequency), saving {spacy_run['save_seconds']:.1f} s (model-best and model-last: twice).")
    phases = spacy_run["peak_rss_mib_after"]
    print("spaCy worker's peak RSS after init / updates / dev evaluation: "
          + " / ".join(f"{phases[key]:,.0f}" for key in ("init", "updates", "evaluation")) + " MiB")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(summary, indent=2), encoding="utf8")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
