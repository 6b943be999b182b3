"""The per-seed table of several `bench/qa_vs_hf.py --output` files, with the mean of each system.

    python bench/qa_seed_table.py bench/out/qa_seed_0.json bench/out/qa_seed_1.json bench/out/qa_seed_2.json
"""
import json
import sys
from pathlib import Path
from statistics import mean
from typing import Dict, List

KEYS = ("qa_strict_acc", "qa_lenient_acc", "qa_mrr", "qa_list_f")


def main(paths: List[Path]) -> None:
    runs = [json.loads(path.read_text(encoding="utf8")) for path in paths]
    systems = [s for s in ("biobert_qa", "hf") if all(s in run for run in runs)]
    print("| system | seed | strict acc. | lenient acc. | MRR | list F1 | train s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for system in systems:
        totals: Dict[str, List[float]] = {key: [] for key in KEYS}
        for run in runs:
            scores = run[system]["scores"]
            for key in KEYS:
                totals[key].append(scores.get(key, 0.0) * 100)
            values = " | ".join(f"{scores.get(key, 0.0) * 100:.2f}" for key in KEYS)
            print(f"| {system} | {run['settings']['seed']} | {values} | {run[system]['train_seconds']:.0f} |")
        means = " | ".join(f"**{mean(totals[key]):.2f}**" for key in KEYS)
        print(f"| {system} | mean | {means} | |")


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]])
