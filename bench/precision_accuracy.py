"""Accuracy and speed of a trained pipeline at each inference precision (`--precision` of evaluate/annotate).

Runs `spacy-biobert evaluate --task ner` (the package's `evaluation.ner.evaluate`) on each test set at each
precision, one after the other in this process, and prints entity F1 (conlleval, exact match), its change
against fp32, and the seconds the evaluation took (loading included, so only a rough speed figure; the
throughput benchmark is `bench/annotate_throughput.py`). A precision may become a default only if it costs at
most 0.5 F1 on every test set.

    python bench/precision_accuracy.py training/en_biobert \
        --test ner_ncbi=../shared/data/ner/NCBI-disease/test.tsv --test ner_bc5cdr=../shared/data/ner/BC5CDR/test.tsv
"""
import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

from spacy_biobert.evaluation.ner import evaluate
from spacy_biobert.evaluation.settings import NERSettings
from spacy_biobert.precision import cpu_has_bf16

from machine import cpu_description


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="trained pipeline folder or package")
    parser.add_argument("--test", action="append", required=True,
                        help="SPANS_KEY=TSV (or TSV alone to score doc.ents); repeatable")
    parser.add_argument("--precisions", default="fp32,bf16,int8")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--output", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tests: List[Tuple[Optional[str], Path]] = []
    for spec in args.test:
        key, _, path = spec.rpartition("=")
        tests.append((key or None, Path(path)))
    rows: List[Dict[str, object]] = []
    for spans_key, path in tests:
        reference: Optional[float] = None
        for precision in args.precisions.split(","):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = evaluate(args.model, path, NERSettings(spans_key=spans_key), precision=precision)["scores"]
            seconds = time.perf_counter() - start
            f1 = 100 * scores["ents_f"]
            reference = f1 if reference is None else reference
            rows.append({"test": str(path), "spans_key": spans_key, "precision": precision, "f1": f1,
                         "delta": f1 - reference, "seconds": seconds})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{cpu_description()}; native bf16: {cpu_has_bf16()}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; model {args.model}\n")
    print("| test set | spans key | precision | entity F1 | vs first | seconds |\n| --- | --- | --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['test']} | {row['spans_key'] or 'doc.ents'} | {row['precision']} | {row['f1']:.2f} | "
              f"{row['delta']:+.2f} | {row['seconds']:.0f} |")
    if args.output is not None:
        args.output.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
