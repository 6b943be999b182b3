"""Throughput of `spacy-biobert annotate` against a Hugging Face token-classification loop.

The spaCy side runs `annotate()` (local engine, one process) with a pipeline whose NER components
(one per entity type) and optional relation component all listen to one shared transformer, so the
encoder runs once per text. The Hugging Face side runs one `pipeline("token-classification")` per NER
model over the same abstracts, as one would with one fine-tuned checkpoint per entity type: the encoder
runs once per text and model. Both sides use the same base encoder, batch size and thread count.

Speed does not depend on the weights, so the Hugging Face models are the base encoder with a randomly
initialised token-classification head of the right size; without `--model` the spaCy pipeline is built
the same way (base encoder, random heads, one per `--labels` entry). Prints a table of documents/s and
words/s (whitespace words) and the ratio.

    python bench/annotate_throughput.py --model /path/to/ner-model --n-docs 200
    python bench/annotate_throughput.py --labels Chemical,Disease,Gene --rel --n-docs 200
"""
import argparse
import glob
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

import spacy
import torch
from spacy.language import Language
from spacy.training import Example

from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.base_model import OFFLINE_BASE_MODEL, resolve_base_model

DEFAULT_ABSTRACTS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "qa" / "BioASQ"
WARMUP_DOCS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="trained pipeline (transformer + biobert_ner ...)")
    parser.add_argument("--base", default=None,
                        help="base encoder (folder or hub name); default: the pipeline's, else the offline model")
    parser.add_argument("--labels", default="Disease",
                        help="without --model: comma-separated entity types, one NER head each")
    parser.add_argument("--rel", action="store_true", help="without --model: add a biobert_rel to the spaCy pipeline")
    parser.add_argument("--abstracts", type=Path, default=DEFAULT_ABSTRACTS,
                        help="JSONL with a `text` field, or a folder of BioASQ SQuAD-style files (PubMed abstracts)")
    parser.add_argument("--n-docs", type=int, default=200, help="abstracts to annotate")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size of both sides")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--stride", type=int, default=128, help="Hugging Face: token overlap of windows over long texts")
    parser.add_argument("--repeats", type=int, default=2, help="alternate the two sides this often; the best time counts")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = load_abstracts(args.abstracts, args.n_docs)
    n_words = sum(len(text.split()) for text in texts)
    if args.model is not None:
        nlp = spacy.load(args.model)
        base = args.base or pipeline_base(nlp)
        setup = f"trained pipeline {args.model}"
    else:
        base = resolve_base_model(args.base or OFFLINE_BASE_MODEL)
        nlp = build_pipeline(base, args.labels.split(","), args.rel, texts[:WARMUP_DOCS])
        setup = "pipeline built from the base encoder (random heads)"
    ner_labels = [
        list(pipe.labels) for name, pipe in nlp.pipeline if nlp.get_pipe_meta(name).factory == "biobert_ner"
    ]
    components = ", ".join(nlp.pipe_names)
    print(f"{len(texts)} abstracts, {n_words} words; base {base}; torch threads {torch.get_num_threads()}")
    print(f"spaCy: {setup}: {components}")
    hf_pipes = [hf_pipeline(base, labels, args.stride) for labels in ner_labels]
    spacy_runs, hf_runs = [], []
    for _ in range(args.repeats):
        spacy_runs.append(time_annotate(nlp, texts, args.batch_size))
        hf_runs.append(sum(time_hf(pipe, texts, args.batch_size) for pipe in hf_pipes))
    spacy_seconds, hf_seconds = min(spacy_runs), min(hf_runs)
    print("runs (s): spaCy", [round(t, 1) for t in spacy_runs], "HF", [round(t, 1) for t in hf_runs])
    rows = [
        (f"spacy-biobert annotate ({components})", spacy_seconds),
        (f"HF token-classification x{len(ner_labels)}", hf_seconds),
    ]
    print(f"\n| system | docs/s | words/s | seconds |\n| --- | ---: | ---: | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {len(texts) / seconds:.1f} | {n_words / seconds:.0f} | {seconds:.1f} |")
    print(f"\nspeed-up (words/s): {hf_seconds / spacy_seconds:.2f}x")


def load_abstracts(path: Path, n_docs: int) -> List[str]:
    """Distinct abstracts in file order: a JSONL's `text` fields, or the contexts of BioASQ SQuAD files."""
    texts: List[str] = []
    if path.is_dir():
        for name in sorted(glob.glob(str(path / "BioASQ-test-factoid-*.json"))):
            data = json.loads(Path(name).read_text(encoding="utf8"))["data"]
            texts.extend(p["context"] for article in data for p in article["paragraphs"])
    else:
        texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf8").splitlines() if line.strip()]
    return list(dict.fromkeys(texts))[:n_docs]


def pipeline_base(nlp: Language) -> str:
    """The base encoder a pipeline's transformer was built from."""
    return nlp.config.interpolate()["components"]["transformer"]["model"]["name"]


def build_pipeline(base: str, labels: Sequence[str], rel: bool, sample: Sequence[str]) -> Language:
    """transformer + one biobert_ner per label (+ biobert_rel), all listening to the transformer; random heads."""
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "transformer",
        config={
            "model": {
                "@architectures": "spacy-transformers.TransformerModel.v3",
                "name": base,
                "tokenizer_config": {"use_fast": True},
                "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
            }
        },
    )
    init: Dict[str, Dict[str, List[str]]] = {}
    for label in labels:
        name = f"ner_{label.lower()}"
        nlp.add_pipe("biobert_ner", name=name)
        init[name] = {"labels": [label]}
    if rel:
        nlp.add_pipe("biobert_rel")
        init["biobert_rel"] = {"labels": ["ASSOCIATED"]}
    nlp.config["initialize"]["components"] = init
    docs = [nlp.make_doc(text) for text in sample]
    nlp.initialize(lambda: [Example(doc, doc.copy()) for doc in docs])
    return nlp


def time_annotate(nlp: Language, texts: Sequence[str], batch_size: int) -> float:
    """Seconds `annotate()` takes over the texts (after a warm-up), output written as JSONL."""
    list(nlp.pipe(texts[:WARMUP_DOCS]))
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "abstracts.jsonl"
        lines = (json.dumps({"id": str(i), "text": text}) + "\n" for i, text in enumerate(texts))
        inp.write_text("".join(lines), encoding="utf8")
        start = time.perf_counter()
        summary = annotate(nlp, inp, Path(tmp) / "out.jsonl", AnnotateSettings(batch_size=batch_size, progress=False))
        seconds = time.perf_counter() - start
    assert summary.documents == len(texts), summary
    return seconds


def hf_pipeline(base: str, labels: Sequence[str], stride: int) -> Any:
    """A Hugging Face token-classification pipeline: the base encoder with a random BIO head for `labels`."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    tags = ["O"] + [f"{prefix}-{label}" for label in labels for prefix in ("B", "I")]
    tokenizer = AutoTokenizer.from_pretrained(base, use_fast=True)
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)}
    )
    return pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple",
                    stride=stride, device=-1)


def time_hf(ner: Any, texts: Sequence[str], batch_size: int) -> float:
    """Seconds one Hugging Face token-classification pipeline takes over the texts (after a warm-up)."""
    list(ner(list(texts[:WARMUP_DOCS]), batch_size=batch_size))
    start = time.perf_counter()
    outputs = list(ner(list(texts), batch_size=batch_size))
    seconds = time.perf_counter() - start
    assert len(outputs) == len(texts)
    return seconds


if __name__ == "__main__":
    main()
