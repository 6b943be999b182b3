"""Tokenizer and sentence splitter for raw biomedical text: do gold mentions fall on their boundaries?

On a PubTator file (raw title + abstract with gold character offsets), for spaCy's English tokenizer and
scispaCy's `combined_rule_tokenizer` (`spacy_biobert.SciSpacyTokenizer.v1`), each with spaCy's rule-based
`sentencizer` and with scispaCy's `pysbd_sentencizer`:

- boundary %: gold mentions whose start and end both fall on token boundaries (`doc.char_span` strict),
  the only mentions a token-level NER can predict exactly;
- cut by a sentence split: gold mentions whose tokens lie in more than one sentence (relation candidates
  are pairs within one sentence, so such a mention is lost to `biobert_rel`);
- sentences per document and documents/s (CPU; the sentence splitter dominates).

    python bench/tokenizer_boundaries.py ../shared/data/pubtator/NCBI-disease/train.pubtator
"""
import argparse
import time
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.language import Language

from spacy_biobert.readers.pubtator import PubTatorDoc, read_pubtator

TOKENIZERS = {"spaCy English": "spacy.Tokenizer.v1", "scispaCy combined_rule": "spacy_biobert.SciSpacyTokenizer.v1"}
SENTENCIZERS = {"spaCy sentencizer": "sentencizer", "scispaCy pysbd": "pysbd_sentencizer"}


def build(tokenizer: str, sentencizer: str) -> Language:
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": tokenizer}}})
    nlp.add_pipe(sentencizer)
    return nlp


def measure(nlp: Language, docs: List[PubTatorDoc]) -> Dict[str, float]:
    start = time.perf_counter()
    parsed = list(nlp.pipe(doc.text for doc in docs))
    seconds = time.perf_counter() - start
    mentions = on_boundary = cut = sentences = 0
    for doc, gold in zip(parsed, docs):
        sentences += len(list(doc.sents))
        for mention in gold.mentions:
            mentions += 1
            if doc.char_span(mention.start, mention.end) is not None:
                on_boundary += 1
            span = doc.char_span(mention.start, mention.end, alignment_mode="expand")
            if span is not None and len({token.sent.start for token in span}) > 1:
                cut += 1
    return {
        "mentions": mentions,
        "on_boundary": on_boundary,
        "cut": cut,
        "sents_per_doc": sentences / len(docs),
        "docs_per_s": len(docs) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pubtator", type=Path, help="PubTator file with gold mentions")
    args = parser.parse_args()
    docs = list(read_pubtator(args.pubtator))
    print(f"{args.pubtator}: {len(docs)} documents, {sum(len(d.mentions) for d in docs)} mentions\n")
    print("| tokenizer | sentences | mentions on token boundaries | mentions cut by a sentence split "
          "| sentences/doc | docs/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for tok_name, tokenizer in TOKENIZERS.items():
        for sent_name, sentencizer in SENTENCIZERS.items():
            r = measure(build(tokenizer, sentencizer), docs)
            print(f"| {tok_name} | {sent_name} | {r['on_boundary']:,} / {r['mentions']:,} "
                  f"({100 * r['on_boundary'] / r['mentions']:.2f}%) | {r['cut']} | {r['sents_per_doc']:.2f} "
                  f"| {r['docs_per_s']:.0f} |")


if __name__ == "__main__":
    main()
