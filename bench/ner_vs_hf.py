"""biobert_ner through `spacy train` against a plain Hugging Face token-classification fine-tune.

Trains, on the same data with the same base model, epochs, batch size, learning rate (linear warmup over
10% of the steps, then linear decay) and max length:
  biobert_ner  `spacy train configs/ner.cfg` (transformer + biobert_ner, constrained Viterbi decoding);
  hf           `AutoModelForTokenClassification`, each word labelled by its first wordpiece, argmax decoding,
               as BioBERT's `run_ner.py` (sentences longer than the max length are split into pieces);
  spacy_ner    spaCy's built-in transition-based `ner` on the same transformer listener (mean pooling).
Reports test entity F1 (conlleval-equivalent, typed and type-agnostic), training words/s (wall time of the
whole training call, dev evaluations included for spaCy), inference words/s on the test split and the peak
resident memory of each system's process. Each system runs in its own subprocess; results go to
OUTPUT/<system>.json and the table is printed from every result in OUTPUT, so systems can be run separately.

  python bench/ner_vs_hf.py --output /tmp/ner_bench
"""
import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "ner" / "NCBI-disease"
SYSTEMS = ("biobert_ner", "hf", "spacy_ner")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=DATA / "train.tsv", help="typed IOB TSV training file")
    parser.add_argument("--dev", type=Path, default=DATA / "devel.tsv", help="typed IOB TSV dev file (spaCy's evaluations)")
    parser.add_argument("--test", type=Path, default=DATA / "test.tsv", help="typed IOB TSV test file")
    parser.add_argument("--base", default=None, help="base model folder or hub name (default: the offline base, written to OUTPUT/base)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="sentences a training batch")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of the steps with linear warmup")
    parser.add_argument("--max-length", type=int, default=128, help="HF: wordpieces a sequence; spaCy: tokens a window")
    parser.add_argument("--eval-batch-size", type=int, default=64, help="sentences a batch at inference")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, from {', '.join(SYSTEMS)}")
    parser.add_argument("--spacy-ner-steps", type=int, default=0, help="steps for spacy_ner (0: as many as the others)")
    parser.add_argument("--init-w", choices=("default", "zero", "glorot_uniform"), default="default",
                        help="biobert_ner output-layer initializer (TokenClassifier.v1 init_W; default: glorot_uniform)")
    parser.add_argument("--adam-eps", choices=("thinc", "torch"), default=None,
                        help="spaCy systems: the training setup's adam_eps (default: the config's)")
    parser.add_argument("--grad-clip-scope", choices=("tensor", "global"), default=None,
                        help="spaCy systems: the training setup's grad_clip_scope (default: the config's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, required=True, help="folder for models, logs and results")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def read(path: Path) -> List[Tuple[List[str], List[str]]]:
    from spacy_biobert.readers.ner import read_iob_sentences

    return list(read_iob_sentences(path))


def spans_to_tags(n_tokens: int, spans: Sequence[Any]) -> List[str]:
    """IOB2 tags for non-overlapping spans of a doc of `n_tokens` tokens."""
    tags = ["O"] * n_tokens
    for span in spans:
        tags[span.start : span.end] = [f"B-{span.label_}"] + [f"I-{span.label_}"] * (len(span) - 1)
    return tags


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def steps_for(args: argparse.Namespace, n_sentences: int) -> int:
    return args.epochs * math.ceil(n_sentences / args.batch_size)


def run_spacy(args: argparse.Namespace, system: str) -> Dict[str, Any]:
    """Train with `spacy train` (in this process), then time the final model on the test sentences."""
    import spacy
    from spacy.cli.train import train
    from spacy.tokens import Doc
    from spacy.util import load_config

    from spacy_biobert.evaluation.hf_baseline import score_tags

    train_sents = read(args.train)
    steps = steps_for(args, len(train_sents))
    if system == "spacy_ner" and args.spacy_ner_steps:
        steps = args.spacy_ner_steps
    config = load_config(REPO / "configs" / "ner.cfg")
    if system == "spacy_ner":
        config = builtin_ner_config(config)
    out = args.output / system
    out.mkdir(parents=True, exist_ok=True)
    config.to_disk(out / "config.cfg")
    overrides = {
        "paths.train": str(args.train),
        "paths.dev": str(args.dev),
        "paths.base_model": str(args.base),
        "training.max_steps": steps,
        "training.eval_frequency": math.ceil(len(train_sents) / args.batch_size),
        "training.batcher.size": args.batch_size,
        "training.optimizer.learn_rate.initial_rate": args.lr,
        "training.optimizer.learn_rate.warmup_steps": int(steps * args.warmup),
        "training.seed": args.seed,
        "components.transformer.model.get_spans.window": args.max_length,
        "components.transformer.model.get_spans.stride": args.max_length * 3 // 4,
    }
    if args.adam_eps is not None:
        overrides["initialize.after_init.adam_eps"] = args.adam_eps
    if args.grad_clip_scope is not None:
        overrides["initialize.after_init.grad_clip_scope"] = args.grad_clip_scope
    if system == "biobert_ner" and args.init_w != "default":
        overrides["components.biobert_ner.model.init_W"] = {"@initializers": f"{args.init_w}_init.v1"}
    start = time.perf_counter()
    train(out / "config.cfg", out / "model", use_gpu=-1, overrides=overrides)
    train_seconds = time.perf_counter() - start
    batches_per_epoch = math.ceil(len(train_sents) / args.batch_size)
    n_train_words = sum(len(words) for words, _ in train_sents)
    trained_words = n_train_words * steps / batches_per_epoch

    test = read(args.test)
    nlp = spacy.load(out / "model" / "model-last")
    start = time.perf_counter()
    docs = list(nlp.pipe((Doc(nlp.vocab, words=words) for words, _ in test), batch_size=args.eval_batch_size))
    infer_seconds = time.perf_counter() - start
    predicted = [spans_to_tags(len(doc), doc.ents) for doc in docs]
    return {
        "system": system,
        "steps": steps,
        "train_words_per_s": trained_words / train_seconds,
        "train_seconds": train_seconds,
        "infer_words_per_s": sum(len(d) for d in docs) / infer_seconds,
        "test": score_tags([tags for _, tags in test], predicted),
        "peak_rss_mib": peak_rss_mib(),
    }


def builtin_ner_config(config: Any) -> Any:
    """configs/ner.cfg with spaCy's own `ner` in place of biobert_ner, on the same transformer listener."""
    config = config.copy()
    del config["components"]["biobert_ner"]
    config["nlp"]["pipeline"] = ["transformer", "ner"]
    config["components"]["ner"] = {
        "factory": "ner",
        "moves": None,
        "update_with_oracle_cut_size": 100,
        "incorrect_spans_key": None,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
        "model": {
            "@architectures": "spacy.TransitionBasedParser.v2",
            "state_type": "ner",
            "extra_state_tokens": False,
            "hidden_width": 64,
            "maxout_pieces": 2,
            "use_upper": False,
            "nO": None,
            "tok2vec": {
                "@architectures": "spacy-transformers.TransformerListener.v1",
                "grad_factor": 1.0,
                "upstream": "*",
                "pooling": {"@layers": "reduce_mean.v1"},
            },
        },
    }
    return config


def run_hf(args: argparse.Namespace) -> Dict[str, Any]:
    """BioBERT's recipe with plain transformers (spacy_biobert.evaluation.hf_baseline, as `compare-hf` runs it)."""
    from spacy_biobert.evaluation.hf_baseline import finetune_token_classifier

    result = finetune_token_classifier(read(args.train), read(args.test), str(args.base), epochs=args.epochs,
                                       lr=args.lr, batch_size=args.batch_size, warmup=args.warmup,
                                       max_length=args.max_length, eval_batch_size=args.eval_batch_size,
                                       seed=args.seed)
    return {"system": "hf", **result, "peak_rss_mib": peak_rss_mib()}


def print_table(output: Path) -> None:
    rows = []
    for system in SYSTEMS:
        path = output / f"{system}.json"
        if path.exists():
            result = json.loads(path.read_text())
            rows.append((
                system, result["steps"], f"{result['test']['f'] * 100:.2f}", f"{result['test']['untyped_f'] * 100:.2f}",
                f"{result['train_words_per_s']:.0f}", f"{result['infer_words_per_s']:.0f}", f"{result['peak_rss_mib']:.0f}",
            ))
    header = ("system", "steps", "test F1", "untyped F1", "train words/s", "infer words/s", "peak RSS MiB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    if args.worker:
        result = run_hf(args) if args.worker == "hf" else run_spacy(args, args.worker)
        (args.output / f"{args.worker}.json").write_text(json.dumps(result, indent=2))
        return
    if args.base is None:
        from spacy_biobert.base_model import write_base_model

        args.base = args.output / "base"
        if not (args.base / "config.json").exists():
            write_base_model(args.base)
    for system in args.systems.split(","):
        if system not in SYSTEMS:
            sys.exit(f"Unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
        command = [sys.executable, __file__, "--worker", system, "--base", str(args.base)] + list(argv)
        subprocess.run(command, check=True)
    print_table(args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
