"""How much resident memory a trained pipeline's docs hold when they are kept, with and without `doc._.trf_data`.

spaCy's dev evaluation keeps every predicted doc until it scores them, as does a user who collects `nlp.pipe`'s
output in a list. Each mode runs in a fresh process over the first `--n` sentences of a typed IOB TSV file:
`keep` keeps the docs with the transformer's output (the pipeline without `doc_cleaner`), `clean` keeps them
after `doc_cleaner` has dropped it, `discard` keeps none (the inference's own working memory). The growth of
resident memory over the `nlp.pipe` pass is printed for each.

    python bench/kept_docs_memory.py --model training/general/ner_rel/model-best --tsv ../shared/data/ner/BC5CDR/test.tsv \\
        --n 1500 --exclude ner_ncbi,ner_bc2gm,biobert_rel
"""
import argparse
import gc
import os
import subprocess
import sys
from pathlib import Path
from typing import List

MODES = ("keep", "clean", "discard")


def resident_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm", encoding="utf8") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(model: Path, tsv: Path, n: int, mode: str, threads: int, exclude: List[str]) -> None:
    """One mode in this process: print the resident-memory growth of one `nlp.pipe` pass."""
    import spacy
    import torch
    from spacy.tokens import Doc

    from spacy_biobert.readers.ner import read_iob_sentences

    torch.set_num_threads(threads)
    nlp = spacy.load(model, exclude=["doc_cleaner", *exclude])
    if mode == "clean":
        nlp.add_pipe("doc_cleaner", config={"attrs": {"_.trf_data": None, "tensor": None}})
    sentences: List[List[str]] = [words for words, _ in read_iob_sentences(tsv)][:n]
    gc.collect()
    before = resident_mib()
    docs = nlp.pipe((Doc(nlp.vocab, words=words) for words in sentences), batch_size=64)
    kept = list(docs) if mode != "discard" else [len(doc) for doc in docs]
    gc.collect()
    growth = resident_mib() - before
    print(f"{mode:<8} {len(kept):>6} sentences  resident memory +{growth:,.0f} MiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a trained pipeline with a transformer")
    parser.add_argument("--tsv", type=Path, required=True, help="typed IOB TSV file whose sentences are run")
    parser.add_argument("--n", type=int, default=1500, help="how many of its sentences")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--exclude", default="", help="comma-separated components to leave out (e.g. other NER heads)")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        measure(args.model, args.tsv, args.n, args.mode, args.threads, [n for n in args.exclude.split(",") if n])
        return
    for mode in MODES:
        subprocess.run([sys.executable, __file__, "--model", str(args.model), "--tsv", str(args.tsv), "--n",
                        str(args.n), "--threads", str(args.threads), "--exclude", args.exclude, "--mode", mode], check=True)


if __name__ == "__main__":
    main()
