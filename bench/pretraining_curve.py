"""BioBERT's pretraining curve at this machine's scale: NER test F1 after 0 (the general base) and more steps of
continued masked-LM pretraining, with identical fine-tuning and several seeds; a Markdown table and a PNG.

Stage `pretrain`: one `spacy-biobert pretrain` run to the largest step, exporting the model at the others
(`--export-steps`), as BioBERT's figure takes points of one run. Stage `ner`: `spacy train` of `--config` from
every point (0 = `--general`) on every corpus with every seed, then `spacy-biobert evaluate` on the corpus's
test split; runs already done are skipped, so the stage can be split over several sessions or lock slots
(`--steps`, `--corpora`, `--seeds` select). Stage `report`: test F1 per point and corpus (mean and each seed),
the held-out masked-LM loss of each point, whether the mean F1 never falls as steps grow, and the PNG.
Further arguments of `ner` go to `spacy train` as overrides. Every run is CPU-heavy: one at a time under the
bench lock.

    flock /tmp/spacy_biobert_bench.lock python bench/pretraining_curve.py pretrain --general BASE_DIR \\
        --output W/pretrained --steps 300 1000 3000
    flock /tmp/spacy_biobert_bench.lock python bench/pretraining_curve.py ner --general BASE_DIR \\
        --pretrained W/pretrained --workdir W/ner --corpora NCBI-disease BC5CDR --seeds 0 1
    python bench/pretraining_curve.py report --general BASE_DIR --pretrained W/pretrained --workdir W/ner \\
        --png bench/pretraining_curve.png
"""
import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Dict, List, Optional

from domain_adaptation import dispatch, markdown_table, run, seeds_cell

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
METRICS_FILE = "pretraining_metrics.json"
EXPORT_PREFIX = "step-"


def points(general: Path, pretrained: Path) -> Dict[int, Path]:
    """Pretraining step -> model folder: 0 is the general base, the exports, and the run's final model."""
    found = {0: general}
    for folder in sorted(pretrained.glob(f"{EXPORT_PREFIX}*")):
        found[int(folder.name[len(EXPORT_PREFIX):])] = folder
    metrics = pretrained / METRICS_FILE
    if metrics.is_file():
        found[int(json.loads(metrics.read_text(encoding="utf8"))["steps"])] = pretrained
    return dict(sorted(found.items()))


def heldout_loss(step: int, folder: Path, pretrained: Path) -> Optional[float]:
    """The held-out masked-LM loss of a point. Step 0: the run's loss before training, unless the base had no
    MLM head (a fresh head's loss says nothing about the base)."""
    path = (pretrained if step == 0 else folder) / METRICS_FILE
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text(encoding="utf8"))
    if step == 0:
        return None if metrics["fresh_head"] else metrics["heldout"]["before"]["loss"]
    record = metrics["heldout"]
    return record["after"]["loss"] if "after" in record else record["loss"]


def pretrain_stage(args: argparse.Namespace) -> None:
    steps = sorted(args.steps)
    command = [
        sys.executable, "-m", "spacy_biobert", "pretrain", str(args.corpus), "--base", str(args.general),
        "--output", str(args.output), "--max-steps", str(steps[-1]), "--batch-size", str(args.batch_size),
        "--precision", args.precision, "--seed", str(args.seed), "--save-every", str(args.save_every),
        "--warmup", str(args.warmup), "--freeze-encoder-steps", str(args.freeze_encoder_steps),
    ]
    for step in steps[:-1]:
        command += ["--export-steps", str(step)]
    if args.resume:
        command.append("--resume")
    run(command)


def run_dir(workdir: Path, corpus: str, step: int, seed: int) -> Path:
    return workdir / f"ner-{corpus}-step{step}-seed{seed}"


def ner_stage(args: argparse.Namespace) -> None:
    available = points(args.general, args.pretrained)
    chosen = args.steps if args.steps else list(available)
    missing = [step for step in chosen if step not in available]
    if missing:
        sys.exit(f"No model for steps {missing} in {args.pretrained} (found {list(available)}).")
    for corpus in args.corpora:
        folder = args.data_dir / "ner" / corpus
        for step in chosen:
            for seed in args.seeds:
                out = run_dir(args.workdir, corpus, step, seed)
                scores_path = out / "test_scores.json"
                if scores_path.is_file():
                    continue
                overrides = [
                    "--paths.train", str(folder / "train.tsv"), "--paths.dev", str(folder / "devel.tsv"),
                    "--paths.base_model", str(available[step]), "--system.seed", str(seed),
                ] + args.overrides
                wall = run([sys.executable, "-m", "spacy", "train", str(args.config), "--output", str(out)]
                           + overrides)
                run([sys.executable, "-m", "spacy_biobert", "evaluate", str(out / args.model),
                     str(folder / "test.tsv"), "--task", "ner", "--output", str(scores_path)])
                result = json.loads(scores_path.read_text(encoding="utf8"))
                result.update(train_minutes=wall / 60, step=step, seed=seed, base=str(available[step]),
                              overrides=overrides)
                scores_path.write_text(json.dumps(result, indent=2), encoding="utf8")


def report_stage(args: argparse.Namespace) -> None:
    available = points(args.general, args.pretrained)
    results: Dict[str, Dict[int, List[float]]] = {}
    for path in sorted(args.workdir.glob("ner-*/test_scores.json")):
        result = json.loads(path.read_text(encoding="utf8"))
        corpus = path.parent.name[len("ner-"):].rsplit("-step", 1)[0]
        results.setdefault(corpus, {}).setdefault(int(result["step"]), []).append(100 * result["scores"]["ents_f"])
    if not results:
        sys.exit(f"No finished runs in {args.workdir}: run the `ner` stage first.")
    corpora = sorted(results)
    header = ("pretraining steps", "held-out MLM loss", *(f"{corpus} test F1 (mean; seeds)" for corpus in corpora))
    rows = []
    for step, folder in available.items():
        loss = heldout_loss(step, folder, args.pretrained)
        cells = []
        for corpus in corpora:
            cells.append(seeds_cell(results[corpus].get(step, [])))
        rows.append((step, f"{loss:.3f}" if loss is not None else "—", *cells))
    print(markdown_table(header, rows))
    for corpus in corpora:
        means = [statistics.mean(results[corpus][step]) for step in sorted(results[corpus])]
        rising = all(later >= earlier for earlier, later in zip(means, means[1:]))
        print(f"{corpus}: mean F1 {'never falls' if rising else 'falls somewhere'} as pretraining steps grow")
    if args.png:
        plot(results, available, args)


def plot(results: Dict[str, Dict[int, List[float]]], available: Dict[int, Path], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (f1_axis, loss_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for corpus, by_step in sorted(results.items()):
        steps = sorted(by_step)
        f1_axis.plot(steps, [statistics.mean(by_step[step]) for step in steps], marker="o", label=corpus)
        for step in steps:
            f1_axis.scatter([step] * len(by_step[step]), by_step[step], s=10, alpha=0.4, color="grey")
    f1_axis.set(xlabel="pretraining steps", ylabel="test F1 (mean of seeds; dots: seeds)",
                title="NER after fine-tuning")
    f1_axis.legend()
    losses = [(step, heldout_loss(step, folder, args.pretrained)) for step, folder in available.items()]
    losses = [(step, loss) for step, loss in losses if loss is not None]
    if losses:
        loss_axis.plot([step for step, _ in losses], [loss for _, loss in losses], marker="o", color="black")
    loss_axis.set(xlabel="pretraining steps", ylabel="held-out masked-LM loss", title="Pretraining")
    figure.tight_layout()
    figure.savefig(args.png, dpi=120)
    print(f"wrote {args.png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stages = parser.add_subparsers(dest="stage", required=True)
    pre = stages.add_parser("pretrain", help="one pretraining run with the model exported at each step")
    pre.add_argument("--general", type=Path, required=True, help="the general base, as a folder")
    pre.add_argument("--output", type=Path, required=True, help="the run's folder (exports in step-N)")
    pre.add_argument("--steps", type=int, nargs="+", required=True, help="points; the largest is the run's length")
    pre.add_argument("--corpus", type=Path, default=DATA / "corpus" / "biomedical_sentences.txt")
    pre.add_argument("--batch-size", type=int, default=32)
    pre.add_argument("--precision", default="fp32", help="fp32, bf16 or auto (`pretrain --precision`)")
    pre.add_argument("--save-every", type=int, default=500, help="checkpoints that --resume continues from")
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--warmup", type=float, default=0.1, help="steps, or a share of the run (`pretrain --warmup`)")
    pre.add_argument("--freeze-encoder-steps", type=int, default=0,
                     help="train only the fresh MLM head for the first N steps (`pretrain --freeze-encoder-steps`)")
    pre.add_argument("--resume", action="store_true", help="continue a killed run from its checkpoint")
    pre.set_defaults(func=pretrain_stage)
    for name, func, text in (("ner", ner_stage, "fine-tune and test NER from every point"),
                             ("report", report_stage, "the table, the monotonicity check and the PNG")):
        stage = stages.add_parser(name, help=text)
        stage.add_argument("--general", type=Path, required=True, help="the general base, as a folder")
        stage.add_argument("--pretrained", type=Path, required=True, help="the `pretrain` stage's --output")
        stage.add_argument("--workdir", type=Path, required=True, help="where the fine-tuned pipelines go")
        stage.set_defaults(func=func)
    ner = stages.choices["ner"]
    ner.add_argument("--config", type=Path, default=ROOT / "configs" / "ner.cfg")
    ner.add_argument("--data-dir", type=Path, default=DATA)
    ner.add_argument("--corpora", nargs="+", default=["NCBI-disease", "BC5CDR"])
    ner.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ner.add_argument("--steps", type=int, nargs="+", default=None, help="points to run (default: all found)")
    ner.add_argument("--model", default="model-best", help="which saved pipeline is tested")
    stages.choices["report"].add_argument("--png", type=Path, default=None, help="write the plot here")
    dispatch(parser)


if __name__ == "__main__":
    main()
