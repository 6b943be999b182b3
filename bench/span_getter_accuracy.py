"""What the transformer's span getter changes in a trained pipeline's entities on whole abstracts.

The same pipeline is loaded twice, once as trained (`strided_spans`, usually) and once with
`spacy_biobert.sentence_windows.v1` (same `--window` / `--stride`), through `spacy.load(config=...)`, and run over
PubTator documents (title + abstract). Reported: the share of documents whose entities are identical, entities
found by one only, and exact-match precision/recall/F1 of each against the PubTator gold mentions (character
offsets; type-agnostic, since PubTator's types need not be the model's labels). Evaluation sets made of single
sentences cannot show a difference: both getters give a one-sentence document the same windows.

    python bench/span_getter_accuracy.py --model training/en_biobert --spans-key ner_ncbi \\
        --pubtator ../shared/data/pubtator/NCBI-disease/train.pubtator
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

Spans = Set[Tuple[int, int]]


def entities(nlp: Any, texts: List[str], key: str, batch_size: int) -> List[Spans]:
    found = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        spans = doc.spans[key] if key else doc.ents
        found.append({(span.start_char, span.end_char) for span in spans})
    return found


def prf(predicted: List[Spans], gold: List[Spans]) -> Dict[str, float]:
    tp = sum(len(p & g) for p, g in zip(predicted, gold))
    n_pred, n_gold = sum(map(len, predicted)), sum(map(len, gold))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"p": 100 * precision, "r": 100 * recall, "f": 100 * f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="trained pipeline (folder or package)")
    parser.add_argument("--pubtator", type=Path, required=True, help="PubTator file with gold mentions")
    parser.add_argument("--spans-key", default="", help="the NER component's spans key (default: doc.ents)")
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--stride", type=int, default=96)
    parser.add_argument("--n-docs", type=int, default=0, help="first N documents (0: all)")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import spacy

    from spacy_biobert.readers.pubtator import read_pubtator

    docs = list(read_pubtator(args.pubtator))
    if args.n_docs:
        docs = docs[: args.n_docs]
    texts = [doc.text for doc in docs]
    gold = [{(mention.start, mention.end) for mention in doc.mentions} for doc in docs]
    getter = {"@span_getters": "spacy_biobert.sentence_windows.v1", "window": args.window, "stride": args.stride}
    results = {}
    for name, config in (("as trained", {}),
                         ("sentence_windows", {"components": {"transformer": {"model": {"get_spans": getter}}}})):
        nlp = spacy.load(args.model, config=config)
        results[name] = entities(nlp, texts, args.spans_key, args.batch_size)
        print(f"{name}: {nlp.get_pipe('transformer').model.attrs['get_spans']}", file=sys.stderr)
    a, b = results["as trained"], results["sentence_windows"]
    same = sum(x == y for x, y in zip(a, b))
    print(f"{len(docs)} documents, {sum(map(len, gold))} gold mentions; identical entities in {same} "
          f"({100 * same / len(docs):.1f} %); only as trained: {sum(len(x - y) for x, y in zip(a, b))}, "
          f"only sentence_windows: {sum(len(y - x) for x, y in zip(a, b))}\n")
    print("| span getter | entities | P | R | F1 (exact, type-agnostic) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, found in results.items():
        scores = prf(found, gold)
        print(f"| {name} | {sum(map(len, found))} | {scores['p']:.2f} | {scores['r']:.2f} | {scores['f']:.2f} |")


if __name__ == "__main__":
    main()
