"""GAD cross-validation: biobert_rel vs a plain Hugging Face sequence classifier ([CLS], BioBERT's own method).

Both start from the same base model and see the same folds, number of updates, batch size, learning rate
(linear warm-up over 10% of the steps, then linear decay), weight decay and gradient clipping. biobert_rel
is trained with spaCy's training loop on configs/rel.cfg (entity-pair pooling over the shared transformer);
the baseline is `AutoModelForSequenceClassification` on the `@GENE$`/`@DISEASE$` sentences. Scores are
P/R/F1 of class 1 (re_eval.py); speeds are sentences per second on this machine.

    python bench/rel_vs_hf.py --base /tmp/base --folds 1            # fold 1 only
    python bench/rel_vs_hf.py --base /tmp/base --folds 1-10         # BioBERT's 10-fold set-up

With `--output`, a fold whose result for a system is already there with the same settings is read, not trained
again, so the folds can be split over lock slots or sessions; the table then has every fold's row.
`--combine W1 W2 ...` trains nothing: it puts the `--output` folders of runs with different seeds into one table of
per-fold seed means.

    python bench/rel_vs_hf.py --base /tmp/base --folds 1-10 --seed 1 --output runs/s1
    python bench/rel_vs_hf.py --combine runs/s0 runs/s1
"""
import argparse
import json
import math
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
# The settings a fold's JSON records; a saved fold is reused, and folds are combined, only where they match.
SETTING_KEYS = ("base", "steps", "batch_size", "lr", "warmup", "seed", "train_limit", "test_limit")


def parse_folds(text: str) -> List[str]:
    """'1', '1,3' or '1-10' → fold folder names."""
    names: List[str] = []
    for part in text.split(","):
        if "-" in part:
            first, last = part.split("-")
            names.extend(str(i) for i in range(int(first), int(last) + 1))
        else:
            names.append(part.strip())
    return names


def run_biobert_rel(args: argparse.Namespace, fold: Path) -> Dict[str, float]:
    from spacy_biobert.evaluation.rel import train_and_test

    warmup = max(1, round(args.steps * args.warmup))
    overrides = {
        "paths.base_model": args.base,
        "paths.train": str(fold / "train.tsv"),
        "paths.dev": str(fold / "test.tsv"),
        "corpora.train.limit": args.train_limit,
        "corpora.dev.limit": args.test_limit,
        "training.max_steps": args.steps - 1,  # spaCy counts steps from 0: max_steps + 1 updates
        "training.batcher.size": args.batch_size,
        "training.optimizer.learn_rate.initial_rate": args.lr,
        "training.optimizer.learn_rate.warmup_steps": warmup,
        "training.optimizer.learn_rate.total_steps": args.steps,
        "system.seed": args.seed,
    }
    row = train_and_test(Path(args.config), overrides)
    return {
        "p": row["rel_p"], "r": row["rel_r"], "f": row["rel_f"],
        "train_sents_per_s": args.steps * args.batch_size / row["train_s"],
        "infer_sents_per_s": row["test_rows"] / row["test_s"],
        "train_s": row["train_s"], "test_rows": row["test_rows"], "steps": args.steps,
    }


def run_hf(args: argparse.Namespace, fold: Path) -> Dict[str, float]:
    """BioBERT's [CLS] classifier with plain transformers (spacy_biobert.evaluation.hf_baseline)."""
    from spacy_biobert.evaluation.hf_baseline import finetune_sequence_classifier
    from spacy_biobert.readers.rel import read_re_tsv

    train_rows = list(read_re_tsv(fold / "train.tsv"))
    test_rows = list(read_re_tsv(fold / "test.tsv"))
    if args.train_limit:
        train_rows = train_rows[: args.train_limit]
    if args.test_limit:
        test_rows = test_rows[: args.test_limit]
    return finetune_sequence_classifier(train_rows, test_rows, args.base, steps=args.steps, lr=args.lr,
                                        batch_size=args.batch_size, warmup=args.warmup,
                                        max_seq_length=args.max_seq_length, seed=args.seed)


SYSTEMS = {"biobert_rel": run_biobert_rel, "hf": run_hf}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "re" / "GAD"), help="GAD folder")
    parser.add_argument("--folds", default="1", help="folds to run: '1', '1,2' or '1-10'")
    parser.add_argument("--base", help="base model (Hugging Face folder or hub name) for both")
    parser.add_argument("--config", default=str(ROOT / "configs" / "rel.cfg"), help="biobert_rel training config")
    parser.add_argument("--systems", default="biobert_rel,hf", help="comma-separated: biobert_rel, hf")
    parser.add_argument("--steps", type=int, default=150, help="updates per fold (150 x 32 = one GAD epoch)")
    parser.add_argument("--epochs", type=int, default=0,
                        help="passes over each fold's training rows, instead of --steps (0: use --steps)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--warmup", type=float, default=0.1, help="share of the steps for linear warm-up")
    parser.add_argument("--max-seq-length", type=int, default=128, help="HF baseline truncation (wordpieces)")
    parser.add_argument("--train-limit", type=int, default=0, help="train on at most this many rows (0: all)")
    parser.add_argument("--test-limit", type=int, default=0, help="test on at most this many rows (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="folder for per-fold JSON results")
    parser.add_argument("--combine", type=Path, nargs="+", default=None,
                        help="train nothing: one table of per-fold seed means over these --output folders")
    args = parser.parse_args()
    if args.combine:
        print_seed_means(combine(args.combine))
        return
    if not args.base:
        parser.error("--base is required unless --combine is given")

    systems = [s.strip() for s in args.systems.split(",")]
    if args.epochs:
        from spacy_biobert.readers.rel import read_re_tsv

        rows = sum(1 for _ in read_re_tsv(Path(args.data) / parse_folds(args.folds)[0] / "train.tsv"))
        args.steps = args.epochs * math.ceil(min(rows, args.train_limit or rows) / args.batch_size)
    settings = {key: getattr(args, key) for key in SETTING_KEYS}
    results: Dict[str, Dict[str, Dict[str, float]]] = {s: {} for s in systems}
    for name in parse_folds(args.folds):
        fold = Path(args.data) / name
        for system in systems:
            saved = args.output / f"{system}_fold{name}.json" if args.output is not None else None
            if saved is not None and saved.is_file():
                row = json.loads(saved.read_text(encoding="utf8"))
                if all(row.get(key) == value for key, value in settings.items()):
                    results[system][name] = row
                    continue
            row = {**SYSTEMS[system](args, fold), **settings, "fold": name}
            results[system][name] = row
            print(json.dumps({"system": system, **row}), flush=True)
            if saved is not None:
                args.output.mkdir(parents=True, exist_ok=True)
                saved.write_text(json.dumps(row, indent=2))
    print(f"\nGAD, folds {args.folds}, {args.steps} steps x {args.batch_size}, lr {args.lr}, base {args.base}\n")
    print_tables(results)


def print_tables(results: Dict[str, Dict[str, Dict[str, float]]]) -> None:
    """F1 per fold (with the difference where both systems ran), then each system's mean P/R/F1 and speeds."""
    systems = list(results)
    folds = list(next(iter(results.values())))
    print("| fold | " + " | ".join(f"{system} F1" for system in systems) + " | difference |")
    print("|---|" + "---|" * (len(systems) + 1))
    ahead = 0
    for name in folds:
        f1s = [results[system][name]["f"] * 100 for system in systems]
        delta = f"{f1s[0] - f1s[-1]:+.2f}" if len(f1s) > 1 else "—"
        ahead += len(f1s) > 1 and f1s[0] >= f1s[-1]
        print(f"| {name} | " + " | ".join(f"{f1:.2f}" for f1 in f1s) + f" | {delta} |")
    if len(systems) > 1:
        print(f"\n{systems[0]} >= {systems[-1]} on {ahead} of {len(folds)} folds\n")
    print("| system | folds | P | R | F1 | train sent/s | infer sent/s |")
    print("|---|---|---|---|---|---|---|")
    for system, by_fold in results.items():
        rows = list(by_fold.values())
        n = len(rows)
        mean = {k: sum(r[k] for r in rows) / n for k in ("p", "r", "f", "train_sents_per_s", "infer_sents_per_s")}
        print(f"| {system} | {n} | {mean['p'] * 100:.2f} | {mean['r'] * 100:.2f} | {mean['f'] * 100:.2f} "
              f"| {mean['train_sents_per_s']:.1f} | {mean['infer_sents_per_s']:.1f} |")


def combine(folders: List[Path]) -> Dict[str, Dict[str, List[Dict[str, float]]]]:
    """Every `{system}_fold{N}.json` in the folders, grouped by system and fold; one run per seed, same settings."""
    grouped: Dict[str, Dict[str, List[Dict[str, float]]]] = {}
    reference: Dict[str, object] = {}
    for folder in folders:
        files = sorted(folder.glob("*_fold*.json"))
        if not files:
            raise SystemExit(f"{folder}: no per-fold results (`*_fold*.json`, written by --output)")
        for path in files:
            row = json.loads(path.read_text(encoding="utf8"))
            system = path.stem.rsplit("_fold", 1)[0]
            settings = {key: row.get(key) for key in SETTING_KEYS if key != "seed"}
            reference = reference or settings
            if settings != reference:
                raise SystemExit(f"{path}: settings {settings} differ from {reference}; combine runs of one set-up")
            runs = grouped.setdefault(system, {}).setdefault(str(row["fold"]), [])
            if any(run["seed"] == row["seed"] for run in runs):
                raise SystemExit(f"{path}: {system} fold {row['fold']} seed {row['seed']} is in two folders")
            runs.append(row)
    return grouped


def print_seed_means(grouped: Dict[str, Dict[str, List[Dict[str, float]]]]) -> None:
    """Per fold, each system's F1 as the mean over its seeds (seeds listed), the difference, and the overall means."""
    systems = list(grouped)
    folds = sorted(grouped[systems[0]], key=lambda name: (len(name), name))

    def mean_f1(runs: List[Dict[str, float]]) -> float:
        return sum(run["f"] for run in runs) / len(runs) * 100

    print("| fold | " + " | ".join(f"{system} F1 (mean; seeds)" for system in systems) + " | difference |")
    print("|---|" + "---|" * (len(systems) + 1))
    ahead = 0
    for name in folds:
        cells, means = [], []
        for system in systems:
            runs = sorted(grouped[system].get(name, []), key=lambda run: run["seed"])
            if not runs:
                raise SystemExit(f"{system} has no result for fold {name}")
            means.append(mean_f1(runs))
            cells.append(f"{means[-1]:.2f} (" + ", ".join(f"{run['f'] * 100:.2f}" for run in runs) + ")")
        delta = f"{means[0] - means[-1]:+.2f}" if len(means) > 1 else "—"
        ahead += len(means) > 1 and means[0] >= means[-1]
        print(f"| {name} | " + " | ".join(cells) + f" | {delta} |")
    if len(systems) > 1:
        print(f"\n{systems[0]} >= {systems[-1]} on {ahead} of {len(folds)} folds (seed means)\n")
    print("| system | runs | F1, mean of the fold means |")
    print("|---|---|---|")
    for system in systems:
        fold_means = [mean_f1(grouped[system][name]) for name in folds]
        runs = sum(len(grouped[system][name]) for name in folds)
        print(f"| {system} | {runs} | {sum(fold_means) / len(fold_means):.2f} |")


if __name__ == "__main__":
    main()
