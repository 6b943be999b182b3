"""How much of what the encoder computes at prediction time is padding: one padded batch per transformer call
(spacy-transformers' TransformerModel.v3) against the length-sorted batches of `spacy_biobert.TransformerModel.v1`.

Counts only, nothing is encoded: the pipeline's sentencizer and span getter cut the abstracts into windows, its
tokenizer gives their wordpiece lengths, and the documents go through the transformer's batching as `annotate` and
`nlp.pipe` give them (documents sorted by length, `--batch-size` documents a `pipe` batch, sub-batches of the
component's `max_batch_items` tokens). For each rule the real share of the padded wordpieces and the number of
encoder calls:

    python bench/window_padding.py --model training/en_biobert --n-docs 1000 --rule 4096:32 --rule 1024:32
"""
import argparse
from pathlib import Path
from typing import List, Tuple

from spacy.util import minibatch
from spacy_transformers.util import batch_by_length

from annotate_throughput import DEFAULT_ABSTRACTS, load_abstracts
from spacy_biobert.ml.transformer_model import length_batches
from spacy_biobert.pipelines import load_trained_pipeline


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="trained pipeline with a `transformer` component")
    parser.add_argument("--abstracts", action="append", default=None, help="as annotate_throughput.py's")
    parser.add_argument("--n-docs", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16, help="documents a pipe batch")
    parser.add_argument("--rule", action="append", default=None,
                        help="MAX_BATCH_WORDPIECES:MAX_ADDED_PADDING of length-sorted prediction (repeatable)")
    return parser.parse_args()


def window_lengths(nlp, texts: List[str], batch_size: int) -> List[List[int]]:
    """Wordpiece lengths of the windows of each transformer call, in the order the pipeline makes the calls."""
    trf = nlp.get_pipe("transformer")
    get_spans, tokenizer = trf.model.attrs["get_spans"], trf.model.tokenizer
    before = nlp.pipe_names[: nlp.pipe_names.index("transformer")]
    with nlp.select_pipes(enable=before):
        docs = sorted(nlp.pipe(texts, batch_size=64), key=len)
    calls = []
    for outer in minibatch(docs, batch_size):
        for indices in batch_by_length(outer, trf.cfg["max_batch_items"]):
            spans = [span for doc_spans in get_spans([outer[i] for i in indices]) for span in doc_spans]
            encoding = tokenizer([span.text for span in spans], truncation=True, max_length=tokenizer.model_max_length)
            calls.append([len(ids) for ids in encoding["input_ids"]])
    return calls


def padded(batches: List[List[int]]) -> Tuple[int, int]:
    """Padded wordpieces and encoder calls of these batches of window lengths."""
    return sum(max(batch) * len(batch) for batch in batches), len(batches)


def main() -> None:
    args = parse_args()
    sources = [s for value in args.abstracts or map(str, DEFAULT_ABSTRACTS) for s in value.split(",") if s]
    texts = load_abstracts(sources, args.n_docs)
    calls = window_lengths(load_trained_pipeline(args.model), texts, args.batch_size)
    real = sum(sum(call) for call in calls)
    rows = [("one padded batch a call (TransformerModel.v3)", *padded(calls))]
    for rule in args.rule or ["4096:32"]:
        max_items, max_added = (int(value) for value in rule.split(":"))
        batches = [[call[i] for i in batch] for call in calls for batch in length_batches(call, max_items, max_added)]
        rows.append((f"length-sorted, max_batch_wordpieces {max_items}, max_added_padding {max_added}", *padded(batches)))
    print(f"{len(texts)} documents, {sum(len(call) for call in calls)} windows, {real} real wordpieces\n")
    print("| prediction batches | padded wordpieces | real share | encoder calls |")
    print("| --- | ---: | ---: | ---: |")
    for name, total, n_calls in rows:
        print(f"| {name} | {total:,} | {100 * real / total:.1f} % | {n_calls} |")


if __name__ == "__main__":
    main()
