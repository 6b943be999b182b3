"""Time `nlp.evaluate` of a trained pipeline's dev corpus (the `[corpora.dev]` of its own config) in reading order
and shortest first, twice each, with the scores, which must agree (the evaluation's padding is the only difference).

    python bench/dev_eval_order.py training/biomedical/ner_rel/model-best   # from the project folder (relative paths)
"""
import argparse
import time

import spacy
from spacy.util import resolve_dot_names

from spacy_biobert.evaluation.length_order import examples_in_length_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a trained pipeline whose config names its dev corpus")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    config = nlp.config.interpolate()
    examples = list(resolve_dot_names(config, ["corpora.dev"])[0](nlp))
    print(f"{len(examples)} examples, {sum(len(eg.predicted) for eg in examples)} tokens")
    orders = [("reading order", examples), ("shortest first", examples_in_length_order(examples))]
    for _ in range(args.repeats):
        for name, ordered in orders:
            start = time.perf_counter()
            scores = nlp.evaluate(ordered)
            seconds = time.perf_counter() - start
            shown = {key: round(value, 6) for key, value in scores.items() if key.endswith("_f") and value is not None}
            print(f"{name}: {seconds:.1f} s {shown}", flush=True)


if __name__ == "__main__":
    main()
