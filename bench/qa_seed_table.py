"""The per-seed table of several `bench/qa_vs_hf.py --output` files, with the mean of each system.

    python bench/qa_seed_table.py bench/out/qa_seed_0.json bench/out/qa_seed_1.json bench/out/qa_seed_2.json
"""
import json
import math
import sys
from pathlib import Path
from statistics import mean
from typing import Dict, List

KEYS = ("qa_strict_acc", "qa_lenient_acc", "qa_mrr", "qa_list_f")


def main(paths: List[Path]) -> None:
    runs = [json.loads(path.read_text(encoding="utf8")) for path in paths]
    systems = [s for s, value in runs[0].items() if isinstance(value, dict) and "scores" in value]
    systems = [s for s in systems if all(s in run for run in runs)]
    print("| system | seed | strict acc. | lenient acc. | MRR | list F1 | dev MRR | train s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for system in systems:
        totals: Dict[str, List[float]] = {key: [] for key in KEYS}
        for run in runs:
            scores = run[system]["scores"]
            for key in KEYS:
                totals[key].append(scores.get(key, 0.0) * 100)
            values = " | ".join(f"{scores.get(key, 0.0) * 100:.2f}" for key in KEYS)
            dev = run[system].get("dev_mrr")
            totals.setdefault("dev", []).append(dev * 100 if dev is not None else float("nan"))
            dev_text = "-" if dev is None else f"{dev * 100:.2f}"
            seconds = run[system]["train_seconds"]
            seconds_text = "-" if seconds is None else f"{seconds:.0f}"
            print(f"| {system} | {run['settings']['seed']} | {values} | {dev_text} | {seconds_text} |")
        means = " | ".join(_mean_text(totals[key]) for key in (*KEYS, "dev"))
        print(f"| {system} | mean | {means} | |")


def _mean_text(values: List[float]) -> str:
    """The bold mean of a column, or "-" where a run has no value."""
    return "-" if any(math.isnan(value) for value in values) else f"**{mean(values):.2f}**"


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]])
