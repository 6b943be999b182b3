"""Abbreviations: NER precision and recall on short-form mentions, with and without `biobert_abbreviations`.

A trained NER pipeline reads each PubTator document's raw text (title + abstract) whole. "Without": its
entities as they are. "With": scispaCy's `abbreviation_detector` and `biobert_abbreviations` added after
it, so a short form defined in the document ("... colorectal cancer (HNPCC)") takes its long form's entity
label where the NER missed it. Scored on exact character spans (types ignored: NCBI-disease's four
mention types are one `Disease` label in the NER corpora):

- abbreviation mentions: gold and predicted spans whose text looks like an abbreviation (one word, at most
  10 characters, at least two capitals: "HNPCC", "DM1", "A-T"), the same rule for both sides;
- all mentions.

The model must not have seen the documents: the NER TSVs' train split is the PubTator training file's
abstracts, so train on `devel.tsv` + `test.tsv` (disjoint abstracts) and evaluate on the whole file.

    python bench/abbreviations.py ../shared/data/pubtator/NCBI-disease/train.pubtator --model training/ner/model-last
"""
import argparse
import re
from pathlib import Path
from typing import Dict, Set, Tuple

import spacy

from spacy_biobert.readers.pubtator import read_pubtator

ABBREVIATION = re.compile(r"^(?=\S{2,10}$)(?=(?:\S*[A-Z]){2})\S+$")


def is_abbreviation(text: str) -> bool:
    return ABBREVIATION.match(text) is not None


def prf(pred: Set[Tuple], gold: Set[Tuple]) -> Dict[str, float]:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    return {"p": 100 * p, "r": 100 * r, "f": 100 * (2 * p * r / (p + r) if p + r else 0.0), "n": len(pred)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pubtator", type=Path)
    parser.add_argument("--model", type=Path, required=True, help="trained NER pipeline")
    args = parser.parse_args()

    docs = list(read_pubtator(args.pubtator))
    gold = {(d.id, m.start, m.end, d.text[m.start:m.end]) for d in docs for m in d.mentions}
    nlp = spacy.load(args.model)
    ner_docs = list(nlp.pipe(d.text for d in docs))
    before = {(d.id, e.start_char, e.end_char, e.text) for d, doc in zip(docs, ner_docs) for e in doc.ents}
    detector = nlp.add_pipe("abbreviation_detector")
    propagate = nlp.add_pipe("biobert_abbreviations")
    after = set()
    defined = 0
    for d, doc in zip(docs, ner_docs):
        doc = propagate(detector(doc))
        defined += len(doc._.abbreviations)
        after |= {(d.id, e.start_char, e.end_char, e.text) for e in doc.ents}

    def subset(spans: Set[Tuple]) -> Set[Tuple]:
        return {s for s in spans if is_abbreviation(s[3])}

    def key(spans: Set[Tuple]) -> Set[Tuple]:
        return {s[:3] for s in spans}

    print(f"{args.pubtator}: {len(docs)} documents, {len(gold)} gold mentions, {len(subset(gold))} of them "
          f"abbreviations; scispaCy found {defined} short-form occurrences; model {args.model}\n")
    print("| mentions | pipeline | predicted | P | R | F1 |\n| --- | --- | ---: | ---: | ---: | ---: |")
    for name, pick in (("abbreviations", subset), ("all", lambda s: s)):
        for label, pred in (("NER", before), ("NER + abbreviations", after)):
            r = prf(key(pick(pred)), key(pick(gold)))
            print(f"| {name} | {label} | {r['n']} | {r['p']:.2f} | {r['r']:.2f} | {r['f']:.2f} |")


if __name__ == "__main__":
    main()
