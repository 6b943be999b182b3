"""Issue 14's parity table: biobert_ner against the plain Hugging Face token-classification fine-tune of the same
base, at several epoch budgets, on several corpora, with several seeds (`bench/ner_vs_hf.py` does each run).

Stage `run`: one `ner_vs_hf.py --systems biobert_ner,hf` per corpus x epochs x seed, into
WORKDIR/<corpus>-e<epochs>-s<seed>; a system whose result is already there is skipped, so the stage can be split
over lock slots or sessions (`--corpora`, `--epochs`, `--seeds` select). Stage `report`: test F1 of both systems
per corpus and budget (mean and each seed), their difference, and whether biobert_ner's mean is at least HF's
everywhere. Every run is CPU-heavy: one at a time under the bench lock.

    flock /tmp/spacy_biobert_bench.lock python bench/ner_parity.py run --workdir W --base BASE \\
        --corpora NCBI-disease BC5CDR BC2GM BioNLP13CG --epochs 1 3 --seeds 0 1
    python bench/ner_parity.py report --workdir W
    python bench/ner_parity.py report --workdir W1 W2     # one table of runs split over several workdirs
"""
import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from domain_adaptation import markdown_table, run, seeds_cell

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "ner"
SYSTEMS = ("biobert_ner", "hf")


def run_dir(workdir: Path, corpus: str, epochs: int, seed: int) -> Path:
    return workdir / f"{corpus}-e{epochs}-s{seed}"


def run_stage(args: argparse.Namespace) -> None:
    for corpus in args.corpora:
        folder = args.data_dir / corpus
        for epochs in args.epochs:
            for seed in args.seeds:
                out = run_dir(args.workdir, corpus, epochs, seed)
                todo = [system for system in SYSTEMS if not (out / f"{system}.json").is_file()]
                if not todo:
                    continue
                run([
                    sys.executable, str(HERE / "ner_vs_hf.py"), "--train", str(folder / "train.tsv"),
                    "--dev", str(folder / "devel.tsv"), "--test", str(folder / "test.tsv"), "--base", str(args.base),
                    "--epochs", str(epochs), "--seed", str(seed), "--systems", ",".join(todo), "--output", str(out),
                ])


def report_stage(args: argparse.Namespace) -> None:
    scores: Dict[Tuple[str, int], Dict[str, List[float]]] = {}
    found: Dict[Tuple[str, str], Path] = {}
    for workdir in args.workdir:
        for path in sorted(workdir.glob("*-e*-s*/*.json")):
            system = path.stem
            if system not in SYSTEMS:
                continue
            if (path.parent.name, system) in found:
                sys.exit(f"{path.parent.name}'s {system} run is in {found[path.parent.name, system].parent.parent} "
                         f"and in {workdir}: name each corpus, budget and seed once.")
            found[path.parent.name, system] = path
            corpus, rest = path.parent.name.rsplit("-e", 1)
            epochs = int(rest.split("-s", 1)[0])
            f1 = 100 * json.loads(path.read_text(encoding="utf8"))["test"]["f"]
            scores.setdefault((corpus, epochs), {}).setdefault(system, []).append(f1)
    if not scores:
        sys.exit(f"No finished runs in {', '.join(map(str, args.workdir))}: run the `run` stage first.")
    rows = []
    ahead = True
    for (corpus, epochs), by_system in sorted(scores.items()):
        cells = [seeds_cell(by_system.get(system, [])) for system in SYSTEMS]
        if all(by_system.get(system) for system in SYSTEMS):
            delta = statistics.mean(by_system["biobert_ner"]) - statistics.mean(by_system["hf"])
            ahead = ahead and delta >= 0
            cells.append(f"{delta:+.2f}")
        else:
            cells.append("—")
        rows.append((corpus, epochs, *cells))
    header = ("corpus", "epochs", "biobert_ner test F1 (mean; seeds)", "HF test F1 (mean; seeds)", "difference")
    print(markdown_table(header, rows))
    print(f"biobert_ner's mean {'is' if ahead else 'is not'} at least HF's in every finished row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stages = parser.add_subparsers(dest="stage", required=True)
    run_parser = stages.add_parser("run", help="train and test both systems for every corpus, budget and seed")
    run_parser.add_argument("--base", type=Path, required=True, help="the base model, as a folder")
    run_parser.add_argument("--data-dir", type=Path, default=DATA, help="folder of corpus folders (typed IOB TSV)")
    run_parser.add_argument("--corpora", nargs="+", default=["NCBI-disease", "BC5CDR", "BC2GM", "BioNLP13CG"])
    run_parser.add_argument("--epochs", type=int, nargs="+", default=[1, 3])
    run_parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    run_parser.set_defaults(func=run_stage)
    report_parser = stages.add_parser("report", help="the parity table")
    report_parser.set_defaults(func=report_stage)
    run_parser.add_argument("--workdir", type=Path, required=True, help="where each run's folder goes")
    report_parser.add_argument("--workdir", type=Path, nargs="+", required=True,
                               help="one or more `run` workdirs, each run in one of them")
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
