"""Throughput of `spacy-biobert annotate` with a trained pipeline against Hugging Face models doing the same work.

What is measured, over the same abstracts, batch size and torch threads, at each `--precision`:
- spaCy: `annotate()` (local engine, one process, JSONL in and out: reading, records and shards count) with the
  trained pipeline `--model`, every component of it running as a user has it (en_biobert: sentencizer, one
  shared transformer, three biobert_ner, abbreviation detector and resolver, linker, biobert_rel,
  biobert_qa). The precision is the package's `set_precision` (bf16: autocast; int8: dynamically quantized
  Linear layers of the encoders).
- Hugging Face: one `pipeline("token-classification", aggregation_strategy="simple", stride=...)` per
  biobert_ner component (its entity types, BIO tags; texts in input order, where annotate sorts each
  `--sort-buffer` by length), as one runs one fine-tuned checkpoint per entity type;
  and, for each biobert_rel, an `AutoModelForSequenceClassification` classifying the candidate pairs that
  biobert_rel classifies, each as BioBERT's RE input: the pair's sentence with the head and tail mentions
  replaced by `@LABEL$` markers (GAD's `@GENE$`, `@DISEASE$`; labels after the component's `label_map`),
  `--batch-size` sentences a batch, tokenizer and forward pass timed, truncation at 128 wordpieces. The pairs
  come from an untimed fp32 run of the pipeline up to biobert_rel, through the component's own candidate
  generator on those predicted docs. The models are the base encoder (`--base`, default the one the
  pipeline's transformer was built from) with randomly initialised heads: speed does not depend on the
  weights. bf16: `torch.autocast("cpu", dtype=torch.bfloat16)` around the forward passes; int8:
  `quantize_dynamic` of every model's Linear layers.

Each run is its own subprocess: loading (not timed), a warm-up on a few documents (not timed), one timed pass;
its peak RSS is the subprocess's `ru_maxrss`, so the models' loading counts. On Linux a child's `ru_maxrss`
starts from its parent's peak, so this launcher imports neither torch nor spaCy (its own peak is in the JSON).
spaCy and Hugging Face alternate `--repeats` times per precision; the best time of each counts.

Inputs (`--abstracts`, repeatable or comma-separated): a folder of BioASQ SQuAD-style files (the contexts of
every `*.json` with a top-level `data`), a PubTator file (title + " " + abstract) or JSONL with `text`. The
distinct texts in file order, the first `--n-docs`. The defaults hold 1,109: 517 distinct contexts of the BioASQ
6b factoid files and 592 distinct NCBI-disease train abstracts (PMID 8528200 is in train.pubtator twice).

Only a trained pipeline is a valid measurement: random NER heads tag far more spans than a trained model, and
biobert_rel's work grows with the square of the mentions a sentence, so there is no random-head spaCy side.

    python bench/annotate_throughput.py --model training/en_biobert --precision fp32,bf16,int8 --repeats 3 \\
        --threads 2 --output bench/annotate_throughput.json
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, ContextManager, Dict, List, Optional, Sequence

from machine import cpu_description

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DEFAULT_ABSTRACTS = [SHARED / "qa" / "BioASQ", SHARED / "pubtator" / "NCBI-disease" / "train.pubtator"]
PRECISIONS = ("fp32", "bf16", "int8")
SYSTEMS = ("spacy", "hf")
WARMUP_DOCS = 4
RE_MAX_LENGTH = 128
Job = Dict[str, Any]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="trained pipeline: folder or package (transformer + biobert_ner ...)")
    parser.add_argument("--base", default=None, help="HF side's base encoder (folder or hub name); default: the "
                        "pipeline's transformer's")
    parser.add_argument("--abstracts", action="append", default=None,
                        help="BioASQ SQuAD-style folder, PubTator file or JSONL with `text`; repeatable or "
                        "comma-separated (default: the BioASQ folder and NCBI-disease train.pubtator of ../shared)")
    parser.add_argument("--n-docs", type=int, default=1000, help="distinct abstracts to annotate (0: all)")
    parser.add_argument("--precision", default="fp32", help=f"comma-separated, from {', '.join(PRECISIONS)}")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size of both sides")
    parser.add_argument("--sort-buffer", type=int, default=None, help="annotate's --sort-buffer (default: its own)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--stride", type=int, default=128, help="HF NER: token overlap of windows over long texts")
    parser.add_argument("--repeats", type=int, default=3, help="alternate the two sides this often; the best counts")
    parser.add_argument("--output", type=Path, default=None, help="JSON file for all figures")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is None:
        if not args.model:
            parser.error("--model is required")
        precisions = args.precision.split(",")
        unknown = [p for p in precisions if p not in PRECISIONS]
        if unknown:
            parser.error(f"unknown precision {', '.join(unknown)}; choose from {', '.join(PRECISIONS)}")
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    if args.worker is not None:
        run_worker(args.worker)
        return
    precisions = args.precision.split(",")
    sources = [s for value in args.abstracts or map(str, DEFAULT_ABSTRACTS) for s in value.split(",") if s]
    model = Path(args.model).resolve() if Path(args.model).exists() else args.model
    runs: Dict[str, List[Dict[str, Any]]] = {f"{system} {p}": [] for p in precisions for system in SYSTEMS}
    with tempfile.TemporaryDirectory(prefix="annotate_throughput_") as tmp:
        work = Path(tmp)
        common = {"work": str(work), "model": str(model), "threads": args.threads, "batch_size": args.batch_size}
        info = launch({**common, "task": "prepare", "sources": [str(Path(s).resolve()) for s in sources],
                       "n_docs": args.n_docs, "base": args.base})
        info["prepare_peak_rss_mib"] = info.pop("peak_rss_mib")
        for _ in range(args.repeats):
            for precision in precisions:
                for system in SYSTEMS:
                    job = {**common, "task": system, "precision": precision, "sort_buffer": args.sort_buffer,
                           "stride": args.stride, "base": info["base"], "ner": info["ner"], "rel": info["rel"]}
                    runs[f"{system} {precision}"].append(launch(job))
    report(args, info, precisions, runs)


def launch(job: Job) -> Dict[str, Any]:
    """Run one job in a fresh Python process; its result."""
    work = Path(job["work"])
    job_file, result_file = work / "job.json", work / "result.json"
    job_file.write_text(json.dumps(job), encoding="utf8")
    result_file.unlink(missing_ok=True)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(job_file)], check=True)
    return json.loads(result_file.read_text(encoding="utf8"))


def report(args: argparse.Namespace, info: Dict[str, Any], precisions: Sequence[str],
           runs: Dict[str, List[Dict[str, Any]]]) -> None:
    """Print the Markdown table and write `--output`."""
    n_docs, n_words = info["docs"], info["words"]
    pairs = sum(rel["pairs"] for rel in info["rel"])
    names = {
        "spacy": "spacy-biobert annotate",
        "hf": f"HF token-classification x{len(info['ner'])}"
        + "".join(f" + sequence-classification ({rel['pairs']} pairs)" for rel in info["rel"]),
    }
    best = {key: min(run["seconds"] for run in results) for key, results in runs.items()}
    ratios = {p: best[f"hf {p}"] / best[f"spacy {p}"] for p in precisions}
    rows = [
        {
            "system": system, "name": names[system], "precision": p, "docs_per_s": n_docs / best[f"{system} {p}"],
            "words_per_s": n_words / best[f"{system} {p}"], "best_seconds": best[f"{system} {p}"],
            "runs_seconds": [run["seconds"] for run in runs[f"{system} {p}"]],
            "peak_rss_mib": max(run["peak_rss_mib"] for run in runs[f"{system} {p}"]), "runs": runs[f"{system} {p}"],
        }
        for p in precisions
        for system in SYSTEMS
    ]
    sort_buffer = runs[f"spacy {precisions[0]}"][0]["sort_buffer"]
    print(f"\n{cpu_description()}; mkldnn bf16: {info['mkldnn_bf16']}; torch {info['torch']}; "
          f"{info['threads']} threads; {n_docs} docs, {n_words} words; batch size {args.batch_size}, "
          f"sort buffer {sort_buffer}; pipeline {args.model}: {', '.join(info['components'])}; "
          f"HF base {info['base']}; candidate pairs: {pairs}\n")
    print("| system | precision | docs/s | words/s | best s | runs (s) | peak RSS MiB | spaCy / HF words/s |")
    print("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for row in rows:
        ratio = f"{ratios[row['precision']]:.2f}x" if row["system"] == "spacy" else ""
        runs_text = ", ".join(f"{s:.1f}" for s in row["runs_seconds"])
        print(f"| {row['name']} | {row['precision']} | {row['docs_per_s']:.1f} | {row['words_per_s']:,.0f} | "
              f"{row['best_seconds']:.1f} | {runs_text} | {row['peak_rss_mib']:,.0f} | {ratio} |")
    if args.output is not None:
        figures = {
            "machine": cpu_description(), **info, "model": str(args.model), "batch_size": args.batch_size,
            "sort_buffer": sort_buffer, "stride": args.stride, "repeats": args.repeats,
            "precisions": list(precisions), "rows": rows, "spacy_over_hf_words_per_s": ratios,
            "launcher_peak_rss_mib": peak_rss_mib(),
        }
        args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf8")
        print(f"\nwrote {args.output}")


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Everything below runs in the worker processes, which import torch, spaCy and transformers.


def run_worker(job_file: Path) -> None:
    """Run the job of `job_file`; write its result, with the process's peak RSS, next to it."""
    import torch

    job = json.loads(job_file.read_text(encoding="utf8"))
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    tasks = {"prepare": prepare, "spacy": time_spacy, "hf": time_hf}
    result = tasks[job["task"]](job)
    result["peak_rss_mib"] = peak_rss_mib()
    (job_file.parent / "result.json").write_text(json.dumps(result), encoding="utf8")


def prepare(job: Job) -> Dict[str, Any]:
    """Write the abstracts as JSONL and each biobert_rel's marked candidate sentences; describe the setup."""
    import torch

    from spacy_biobert.base_model import resolve_base_model
    from spacy_biobert.pipelines import component_factories, load_trained_pipeline
    from spacy_biobert.precision import cpu_has_bf16

    work = Path(job["work"])
    texts = load_abstracts(job["sources"], job["n_docs"])
    with (work / "texts.jsonl").open("w", encoding="utf8") as out:
        out.writelines(json.dumps({"id": str(i), "text": text}) + "\n" for i, text in enumerate(texts))
    nlp = load_trained_pipeline(job["model"])
    factories = component_factories(nlp)
    rels = []
    for name in [name for name, factory in factories.items() if factory == "biobert_rel"]:
        sentences = candidate_sentences(nlp, name, texts, job["batch_size"])
        (work / f"pairs-{name}.json").write_text(json.dumps(sentences), encoding="utf8")
        rels.append({"name": name, "labels": len(nlp.get_pipe(name).output_labels), "pairs": len(sentences)})
    return {
        "docs": len(texts),
        "words": sum(len(text.split()) for text in texts),
        "components": nlp.pipe_names,
        "ner": [list(nlp.get_pipe(name).labels) for name, factory in factories.items() if factory == "biobert_ner"],
        "rel": rels,
        "base": resolve_base_model(job["base"] or pipeline_base(nlp)),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn_bf16": cpu_has_bf16(),
    }


def load_abstracts(sources: Sequence[str], n_docs: int) -> List[str]:
    """The distinct non-empty texts of all sources in file order, the first `n_docs` (0: all)."""
    texts = [text for source in sources for text in read_source(Path(source)) if text.strip()]
    distinct = list(dict.fromkeys(texts))
    return distinct[:n_docs] if n_docs else distinct


def read_source(path: Path) -> List[str]:
    """The texts of a BioASQ SQuAD-style folder, a JSONL file (`text`) or a PubTator file."""
    if path.is_dir():
        texts = []
        for file in sorted(path.glob("*.json")):
            data = json.loads(file.read_text(encoding="utf8"))
            if isinstance(data, dict) and "data" in data:
                texts.extend(p["context"] for article in data["data"] for p in article["paragraphs"])
        return texts
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf8").splitlines()
        return [json.loads(line)["text"] for line in lines if line.strip()]
    from spacy_biobert.readers.pubtator import read_pubtator

    return [doc.text for doc in read_pubtator(path)]


def pipeline_base(nlp: Any) -> str:
    """The base encoder the pipeline's (first) transformer was built from."""
    components = nlp.config.interpolate()["components"]
    names = [name for name in nlp.component_names if nlp.get_pipe_meta(name).factory == "transformer"]
    if not names:
        sys.exit("The pipeline has no transformer component: give the HF side's base encoder with --base.")
    name = components[names[0]]["model"]["name"]
    if not Path(name).is_dir():
        print(f"The pipeline's base encoder {name!r} is no folder here, so it is looked up as a hub name; if it is "
              "a path relative to where the pipeline was trained, give it with --base.", file=sys.stderr)
    return name


def candidate_sentences(nlp: Any, name: str, texts: Sequence[str], batch_size: int) -> List[str]:
    """The pairs biobert_rel `name` classifies over `texts`, each as its marked sentence: the docs as the
    components before it leave them, through its own candidate generator."""
    rel = nlp.get_pipe(name)
    before = nlp.pipe_names[: nlp.pipe_names.index(name)]
    label_map = rel.cfg["label_map"]
    sentences = []
    with nlp.select_pipes(enable=before):
        for doc in nlp.pipe(texts, batch_size=batch_size):
            for candidate in rel.find_candidates(doc, rel.mentions(doc)):
                sentences.append(marked_sentence(candidate, label_map))
    return sentences


def marked_sentence(candidate: Any, label_map: Dict[str, str]) -> str:
    """The candidate's sentence with its head and tail replaced by `@LABEL$`, as BioBERT's RE data has them."""
    text, offset = candidate.context.text, candidate.context.start_char
    for span in sorted((candidate.head, candidate.tail), key=lambda s: s.start_char, reverse=True):
        marker = f"@{label_map.get(span.label_, span.label_).upper()}$"
        text = text[: span.start_char - offset] + marker + text[span.end_char - offset :]
    return text


def read_texts(job: Job) -> List[str]:
    """The abstracts `prepare` wrote."""
    lines = (Path(job["work"]) / "texts.jsonl").read_text(encoding="utf8").splitlines()
    return [json.loads(line)["text"] for line in lines]


def time_spacy(job: Job) -> Dict[str, Any]:
    """Seconds of `annotate()` over the abstracts with the loaded pipeline at the job's precision."""
    from spacy_biobert.annotate import AnnotateSettings, annotate
    from spacy_biobert.pipelines import load_trained_pipeline

    nlp = load_trained_pipeline(job["model"], precision=job["precision"])
    texts = read_texts(job)
    list(nlp.pipe(texts[:WARMUP_DOCS]))
    options = {"sort_buffer": job["sort_buffer"]} if job["sort_buffer"] is not None else {}
    settings = AnnotateSettings(batch_size=job["batch_size"], precision=job["precision"], progress=False, **options)
    with tempfile.TemporaryDirectory(dir=job["work"]) as out:
        start = time.perf_counter()
        summary = annotate(nlp, Path(job["work"]) / "texts.jsonl", Path(out) / "out.jsonl", settings)
        seconds = time.perf_counter() - start
    if summary.documents != len(texts):
        sys.exit(f"annotate wrote {summary.documents} records for {len(texts)} documents")
    return {"seconds": seconds, "errors": summary.errors, "sort_buffer": settings.sort_buffer}


def time_hf(job: Job) -> Dict[str, Any]:
    """Seconds of the HF token-classification pipelines and relation classifiers over the abstracts."""
    from transformers import AutoConfig, AutoTokenizer, pipeline
    from transformers import logging as hf_logging

    hf_logging.set_verbosity_error()
    base, precision = job["base"], job["precision"]
    tokenizer = AutoTokenizer.from_pretrained(base, use_fast=True)
    # A tokenizer without a config knows no length limit; the pipelines' windows need the encoder's.
    positions = AutoConfig.from_pretrained(base).max_position_embeddings
    tokenizer.model_max_length = min(tokenizer.model_max_length, positions)
    ner = {}
    for labels in job["ner"]:
        model = at_precision(token_classifier(base, labels), precision)
        ner["+".join(labels)] = pipeline("token-classification", model=model, tokenizer=tokenizer,
                                         aggregation_strategy="simple", stride=job["stride"], device=-1)
    rel = {}
    for component in job["rel"]:
        sentences = json.loads((Path(job["work"]) / f"pairs-{component['name']}.json").read_text(encoding="utf8"))
        rel[component["name"]] = (at_precision(pair_classifier(base, component["labels"]), precision), sentences)
    texts = read_texts(job)
    hf_pass(ner, rel, tokenizer, texts[:WARMUP_DOCS], WARMUP_DOCS, precision, job["batch_size"])
    parts = hf_pass(ner, rel, tokenizer, texts, None, precision, job["batch_size"])
    return {"seconds": sum(parts.values()), "parts": parts}


def hf_pass(ner: Dict[str, Any], rel: Dict[str, Any], tokenizer: Any, texts: Sequence[str], n_pairs: Optional[int],
            precision: str, batch_size: int) -> Dict[str, float]:
    """Seconds of each NER pipeline over `texts` and of each relation classifier over its first `n_pairs`
    sentences (None: all)."""
    import torch

    parts = {}
    with autocast(precision), torch.inference_mode():
        for labels, ner_pipe in ner.items():
            start = time.perf_counter()
            list(ner_pipe(list(texts), batch_size=batch_size))
            parts[f"ner {labels}"] = time.perf_counter() - start
        for name, (model, sentences) in rel.items():
            start = time.perf_counter()
            classify(model, tokenizer, sentences[:n_pairs], batch_size)
            parts[f"rel {name}"] = time.perf_counter() - start
    return parts


def token_classifier(base: str, labels: Sequence[str]) -> Any:
    """The base encoder with a randomly initialised BIO head for `labels`."""
    from transformers import AutoModelForTokenClassification

    tags = ["O"] + [f"{prefix}-{label}" for label in labels for prefix in ("B", "I")]
    return AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)}
    )


def pair_classifier(base: str, n_labels: int) -> Any:
    """The base encoder with a randomly initialised sequence-classification head of `n_labels` outputs."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(base, num_labels=n_labels)


def at_precision(model: Any, precision: str) -> Any:
    """`model` in eval mode, its Linear layers dynamically quantized to int8 for `int8`."""
    import torch

    model.eval()
    if precision != "int8":
        return model
    with warnings.catch_warnings():  # torch's notices of eager-mode quantization moving to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def autocast(precision: str) -> ContextManager[Any]:
    """bf16 autocast on CPU for `bf16`, else nothing."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


def classify(model: Any, tokenizer: Any, sentences: Sequence[str], batch_size: int) -> None:
    """Class probabilities of each marked sentence, `batch_size` a batch, truncated to RE_MAX_LENGTH wordpieces."""
    for i in range(0, len(sentences), batch_size):
        batch = tokenizer(list(sentences[i : i + batch_size]), padding=True, truncation=True,
                          max_length=RE_MAX_LENGTH, return_tensors="pt")
        model(**batch).logits.float().softmax(-1)


if __name__ == "__main__":
    main()
