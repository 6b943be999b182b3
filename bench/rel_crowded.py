"""Relation extraction on crowded text: one sentence with N mentions, and a long doc dense with mentions.

Times `biobert_rel` alone (the transformer's pass is done first and not counted) on a pipeline built from
configs/rel.cfg's architecture on the offline base (`spacy-biobert base-model`), its relation head
initialised but untrained (the cost does not depend on the weights), at threshold 0 so that every candidate
pair is classified and stored. Rows: the default cap (`max_pairs` of `spacy_biobert.entity_pairs.v1`) and no
cap (`--max-pairs 0` stands for the behaviour before the cap existed, with the new pooling).

    python bench/rel_crowded.py --base /tmp/base --mentions 300 --doc-tokens 50000
"""
import argparse
import json
import time
import warnings
from typing import Any, Dict, List

import spacy
import torch
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_biobert.data_classes import Relation, set_relations

from machine import cpu_description


def build(base: str, max_pairs: int) -> spacy.language.Language:
    """A blank English transformer + biobert_rel pipeline with two labels, initialised on one example."""
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": base, "tokenizer_config": {"use_fast": True}}})
    nlp.add_pipe(
        "biobert_rel",
        config={
            "threshold": 0.0,
            "candidates": {"@misc": "spacy_biobert.entity_pairs.v1", "max_pairs": max_pairs, "max_distance": 100000},
        },
    )
    doc = nlp.make_doc("aspirin treats headache")
    doc.ents = [Span(doc, 0, 1, "CHEMICAL"), Span(doc, 2, 3, "DISEASE")]
    set_relations(doc, [Relation(doc.ents[0], doc.ents[1], "TREATS", 1.0)])
    nlp.initialize(lambda: [Example(nlp.make_doc(doc.text), doc)])
    return nlp


def crowded_doc(nlp: spacy.language.Language, n_tokens: int, n_mentions: int, sentence_length: int) -> Doc:
    """`n_tokens` words, every `n_tokens // n_mentions`-th a one-word mention, sentences of `sentence_length`."""
    words = [f"gene{i % 97}" if i % max(1, n_tokens // n_mentions) == 0 else "and" for i in range(n_tokens)]
    doc = Doc(nlp.vocab, words=words, sent_starts=[i % sentence_length == 0 for i in range(n_tokens)])
    step = max(1, n_tokens // n_mentions)
    doc.ents = [Span(doc, i, i + 1, "CHEMICAL" if (i // step) % 2 else "DISEASE") for i in range(0, n_tokens, step)]
    return doc


def time_rel(nlp: spacy.language.Language, doc: Doc) -> Dict[str, Any]:
    """Seconds of biobert_rel over `doc` (transformer output already set), and the relations it stored."""
    doc = nlp.get_pipe("transformer")(doc)
    rel = nlp.get_pipe("biobert_rel")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = rel(doc)
    return {"seconds": round(time.perf_counter() - start, 4), "relations": len(doc._.relations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="base model folder (spacy-biobert base-model OUT)")
    parser.add_argument("--mentions", type=int, default=300, help="mentions in the crowded sentence")
    parser.add_argument("--doc-tokens", type=int, default=50000, help="tokens of the long dense doc")
    parser.add_argument("--doc-mentions", type=int, default=10000, help="mentions in the long doc")
    parser.add_argument("--max-pairs", type=int, default=1000, help="the cap measured beside no cap")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}; torch threads {torch.get_num_threads()}")
    results: List[Dict[str, Any]] = []
    for cap in (args.max_pairs, 0):
        nlp = build(args.base, cap)
        sentence = crowded_doc(nlp, 2 * args.mentions, args.mentions, 2 * args.mentions)
        long_doc = crowded_doc(nlp, args.doc_tokens, args.doc_mentions, 50)
        time_rel(nlp, nlp.make_doc("warm up"))
        results.append({"max_pairs": cap, "case": f"1 sentence, {args.mentions} mentions", **time_rel(nlp, sentence)})
        results.append({"max_pairs": cap, "case": f"{args.doc_tokens:,}-token doc, {args.doc_mentions:,} mentions",
                        **time_rel(nlp, long_doc)})
    print("| max_pairs | case | biobert_rel seconds | relations stored |\n| ---: | --- | ---: | ---: |")
    for row in results:
        print(f"| {row['max_pairs']} | {row['case']} | {row['seconds']} | {row['relations']:,} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
