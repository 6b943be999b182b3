"""Entity linking on NCBI-disease: dictionary lookup vs scispaCy's TF-IDF linker, then end to end on raw text.

The PubTator file's documents are split by PMID (80/20, fixed seed). The KB is built from the 80% part's
gold mentions (`spacy_biobert.linking.sources.entities_from_mentions`: each concept id with its mention
texts as aliases, as `spacy-biobert kb build TRAIN.pubtator` does) and indexed as `kb build` indexes it.

1. accuracy@1 on the 20% part's gold mentions (gold spans, so only the linking is measured):
   - exact-string dictionary lookup (the concept id a mention text had most often in the 80% part), as
     written and lowercased;
   - scispaCy's candidate generator (TF-IDF character 3-grams + nmslib), the best-scoring concept, with
     no threshold and with scispaCy's default threshold 0.7 (below it: no id, counted wrong);
   - `--rerank`: the pretrained encoder (`--encoder`, default the offline base model; mean-pooled, cosine)
     re-ranks the TF-IDF candidates, alone and added to the TF-IDF score; and as a dense nearest-alias
     search over the whole KB.
2. end to end (`--model`: a trained NER pipeline that never saw these abstracts): raw text → NER →
   scispaCy's `abbreviation_detector` → `biobert_abbreviations` → `biobert_linker`; P/R/F1 of
   (start, end, concept id) against the gold, and of (start, end) alone.

    python bench/linking.py ../shared/data/pubtator/NCBI-disease/train.pubtator --model training/ner/model-last
"""
import argparse
import random
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy
import spacy

from spacy_biobert.linking.index import build_index, load_index
from spacy_biobert.linking.sources import entities_from_mentions
from spacy_biobert.readers.pubtator import PubTatorDoc, read_pubtator

THRESHOLDS = (0.0, 0.7)


def split_by_pmid(docs: Sequence[PubTatorDoc], share: float, seed: int) -> Tuple[List[PubTatorDoc], List[PubTatorDoc]]:
    ids = sorted({doc.id for doc in docs})
    random.Random(seed).shuffle(ids)
    train_ids = set(ids[: round(share * len(ids))])
    return [d for d in docs if d.id in train_ids], [d for d in docs if d.id not in train_ids]


def dictionary(docs: Sequence[PubTatorDoc], lower: bool) -> Dict[str, str]:
    counts: Dict[str, Counter] = defaultdict(Counter)
    for doc in docs:
        for m in doc.mentions:
            if m.concept_id is not None:
                counts[_key(m.text, lower)][m.concept_id] += 1
    return {text: c.most_common(1)[0][0] for text, c in counts.items()}


def _key(text: str, lower: bool) -> str:
    text = " ".join(text.split())
    return text.lower() if lower else text


def prf(pred: Set[Tuple], gold: Set[Tuple]) -> Tuple[float, float, float]:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pubtator", type=Path)
    parser.add_argument("--model", type=Path, default=None, help="trained NER pipeline for the end-to-end part")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--share", type=float, default=0.8)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--rerank", action="store_true", help="also re-rank with the pretrained encoder")
    parser.add_argument("--encoder", default=None, help="Hugging Face folder or name (default: the offline base model)")
    args = parser.parse_args()

    docs = list(read_pubtator(args.pubtator))
    train, test = split_by_pmid(docs, args.share, args.seed)
    gold = [m for d in test for m in d.mentions if m.concept_id is not None]
    entities = entities_from_mentions(train)
    known = {e.concept_id for e in entities}
    print(f"{len(train)} / {len(test)} documents (seed {args.seed}); KB: {len(entities)} concepts from the "
          f"{sum(len(d.mentions) for d in train)} mentions of the 80% part; {len(gold)} gold mentions to link, "
          f"{sum(m.concept_id in known for m in gold)} of them with a concept id in the KB\n")

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        meta = build_index(entities, tmp)
        built = time.perf_counter() - start
        index = load_index(tmp)
        print(f"index: {meta['aliases']} aliases, {meta['features']} 3-gram features, built in {built:.1f} s\n")
        rows = []
        for lower in (False, True):
            table = dictionary(train, lower)
            hits = sum(table.get(_key(m.text, lower)) == m.concept_id for m in gold)
            rows.append((f"dictionary, exact string{' (lowercased)' if lower else ''}", hits))
        generator = index.candidate_generator()
        start = time.perf_counter()
        candidates = generator([m.text for m in gold], args.k)
        seconds = time.perf_counter() - start
        best = [max(((max(c.similarities), c.concept_id) for c in cands), default=(0.0, None)) for cands in candidates]
        for threshold in THRESHOLDS:
            hits = sum(cid == m.concept_id and score >= threshold for (score, cid), m in zip(best, gold))
            rows.append((f"scispaCy TF-IDF + nmslib (k={args.k}, threshold {threshold})", hits))
        if args.rerank:
            rows.extend(rerank_rows(args.encoder, index, [m.text for m in gold], [m.concept_id for m in gold], candidates))
        print("| method | accuracy@1 |\n| --- | ---: |")
        for name, hits in rows:
            print(f"| {name} | {100 * hits / len(gold):.2f} ({hits} / {len(gold)}) |")
        print(f"\ncandidate generation: {len(gold) / seconds:,.0f} mentions/s\n")

        if args.model is not None:
            end_to_end(args.model, test, tmp, args.k)


def encode(encoder: Optional[str], texts: Sequence[str]) -> numpy.ndarray:
    """Mean-pooled, L2-normalised embeddings of `texts` from a Hugging Face encoder."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from spacy_biobert.base_model import OFFLINE_BASE_MODEL, resolve_base_model

    name = resolve_base_model(encoder or OFFLINE_BASE_MODEL)
    tokenizer, model = AutoTokenizer.from_pretrained(name), AutoModel.from_pretrained(name).eval()
    chunks = []
    with torch.no_grad():
        for i in range(0, len(texts), 256):
            batch = tokenizer(list(texts[i:i + 256]), padding=True, truncation=True, max_length=32, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return numpy.concatenate(chunks)


def rerank_rows(encoder: Optional[str], index, mentions: List[str], gold: List[str], candidates) -> List[Tuple[str, int]]:
    """accuracy@1 rows for the encoder re-ranking the TF-IDF candidates, and for dense search alone."""
    start = time.perf_counter()
    alias_vectors = encode(encoder, index.aliases)
    mention_vectors = encode(encoder, mentions)
    position = {alias: i for i, alias in enumerate(index.aliases)}
    similarity = mention_vectors @ alias_vectors.T
    picks: Dict[str, List[Optional[str]]] = {"encoder": [], "sum": [], "dense": []}
    for row, cands in enumerate(candidates):
        scored = []
        for c in cands:
            dense = max(similarity[row, position[a]] for a in c.aliases)
            scored.append((dense, dense + max(c.similarities), c.concept_id))
        picks["encoder"].append(max(scored)[2] if scored else None)
        picks["sum"].append(max(scored, key=lambda x: x[1])[2] if scored else None)
        nearest = index.aliases[int(similarity[row].argmax())]
        picks["dense"].append(sorted(index.kb.alias_to_cuis[nearest])[0])
    print(f"encoder: {len(index.aliases) + len(mentions)} texts embedded in {time.perf_counter() - start:.1f} s")
    names = {"encoder": "TF-IDF candidates re-ranked by the encoder's cosine",
             "sum": "TF-IDF candidates re-ranked by TF-IDF + encoder cosine",
             "dense": "encoder nearest alias over the whole KB (no TF-IDF)"}
    return [(names[key], sum(p == g for p, g in zip(preds, gold))) for key, preds in picks.items()]


def end_to_end(model: Path, docs: Sequence[PubTatorDoc], kb: str, k: int) -> None:
    nlp = spacy.load(model)
    nlp.add_pipe("abbreviation_detector")
    nlp.add_pipe("biobert_abbreviations")
    linker = nlp.add_pipe("biobert_linker", config={"threshold": 0.0, "k": k, "max_entities_per_mention": 1})
    linker.initialize(kb=kb)
    gold_links = {(d.id, m.start, m.end, m.concept_id) for d in docs for m in d.mentions if m.concept_id}
    gold_spans = {(d.id, m.start, m.end) for d in docs for m in d.mentions}
    pred_spans: Set[Tuple] = set()
    pred_links: Dict[float, Set[Tuple]] = {t: set() for t in THRESHOLDS}
    for doc, gold in zip(nlp.pipe(d.text for d in docs), docs):
        for ent in doc.ents:
            pred_spans.add((gold.id, ent.start_char, ent.end_char))
            if ent._.kb_ents:
                cid, score = ent._.kb_ents[0]
                for t in THRESHOLDS:
                    if score >= t:
                        pred_links[t].add((gold.id, ent.start_char, ent.end_char, cid))
    print(f"end to end on the {len(docs)} held-out documents ({model}):\n")
    print("| predicted | P | R | F1 |\n| --- | ---: | ---: | ---: |")
    print("| mention spans (NER + abbreviations) | %.2f | %.2f | %.2f |" % tuple(100 * x for x in prf(pred_spans, gold_spans)))
    for t in THRESHOLDS:
        print(f"| (span, concept id), linker threshold {t} | %.2f | %.2f | %.2f |" % tuple(100 * x for x in prf(pred_links[t], gold_links)))


if __name__ == "__main__":
    main()
