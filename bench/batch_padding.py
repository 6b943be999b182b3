"""Share of real wordpieces in a training config's batches: the epoch's random order against
`spacy_biobert.batch_by_length.v1` sorting by spaCy tokens and by wordpieces (the transformer pads each batch to its
longest window, so this share is the encoder's useful work). Counts only; nothing is trained.

A window is [CLS] text [SEP], or for biobert_qa [CLS] question [SEP] context [SEP] (its first window, at most
`max_seq_length`). From the project folder (relative paths as the workflow's):

    python bench/batch_padding.py configs/ner_rel.cfg --base base_model/biomedical --set paths.assets=assets
    python bench/batch_padding.py configs/qa.cfg --base base_model/biomedical --set paths.bioasq=assets/qa/BioASQ \
        --size 16
"""
import argparse
import random
from typing import Callable, Dict, List, Sequence

import spacy
from spacy.util import load_config, resolve_dot_names
from transformers import AutoTokenizer

from spacy_biobert.batchers import batch_by_length

QA_QUESTIONS = "biobert_qa.questions"


def real_share(batches: Sequence[Sequence[int]], windows: Sequence[int]) -> float:
    """Real positions over padded positions (each batch padded to its longest window)."""
    real = sum(windows[i] for batch in batches for i in batch)
    padded = sum(max(windows[i] for i in batch) * len(batch) for batch in batches)
    return real / padded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--base", required=True, help="the base model whose tokenizer counts the wordpieces")
    parser.add_argument("--set", action="append", default=[], help="config override, section.key=value")
    parser.add_argument("--size", type=int, default=32, help="examples a batch")
    parser.add_argument("--buffers", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--max-seq-length", type=int, default=384, help="window limit of QA examples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    overrides: Dict[str, str] = dict(item.split("=", 1) for item in args.set)
    overrides["paths.base_model"] = args.base
    config = load_config(args.config, overrides=overrides, interpolate=True)
    corpus = resolve_dot_names(config, ["corpora.train"])[0]
    examples = list(corpus(spacy.blank(config["nlp"]["lang"])))
    tokenizer = AutoTokenizer.from_pretrained(args.base)

    def count(texts: List[str]) -> List[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]

    pieces = count([eg.reference.text for eg in examples])
    questions = [eg.reference.user_data.get(QA_QUESTIONS) for eg in examples]
    if all(questions):
        question_pieces = count([qs[0] for qs in questions])
        windows = [min(args.max_seq_length, 3 + q + c) for q, c in zip(question_pieces, pieces)]
    else:
        windows = [2 + c for c in pieces]
    tokens = [len(eg.reference) for eg in examples]
    print(f"{len(examples)} examples; window wordpieces mean {sum(windows) / len(windows):.1f}, max {max(windows)}")
    keys: Dict[str, Callable[[int], int]] = {"spaCy tokens": tokens.__getitem__, "wordpieces": pieces.__getitem__}
    order = list(range(len(examples)))
    rows = [("random order", 1, "—")]
    for buffer in args.buffers:
        rows.extend((f"grouped by {name}", buffer, name) for name in keys)
    print("| batches | buffer | real wordpieces |\n| --- | ---: | ---: |")
    for label, buffer, key in rows:
        random.seed(args.seed)
        random.shuffle(order)
        get_length = keys.get(key, tokens.__getitem__)
        batches = list(batch_by_length(order, size=args.size, buffer=buffer, get_length=get_length))
        print(f"| {label} | {buffer} | {100 * real_share(batches, windows):.1f} % |")


if __name__ == "__main__":
    main()
