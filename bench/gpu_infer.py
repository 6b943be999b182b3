"""Inference words/s of a trained biobert_ner pipeline vs a Hugging Face token-classification loop, per precision.

Both read the same sentences (typed IOB TSV) in batches of the same size; the HF loop tokenises the words
(`is_split_into_words`), runs `AutoModelForTokenClassification` (the pipeline's base, head random) and takes
each word's first wordpiece, as biobert_ner does. Precisions: fp32; bf16 and fp16 by autocast (biobert_ner:
spacy-transformers' `mixed_precision` with torch's autocast dtype set to the precision). One warm-up pass,
then one timed pass each. Prints one JSON list of rows.

    python bench/gpu_infer.py training/ner/model-last base_model ../shared/data/ner/NCBI-disease/devel.tsv --gpu-id 0
"""
import argparse
import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Dict, List

DTYPES = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}


def read_sentences(path: Path, limit: int) -> List[List[str]]:
    sentences, words = [], []
    for line in path.read_text(encoding="utf8").splitlines():
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            sentences.append(words)
            words = []
    if words:
        sentences.append(words)
    return sentences[:limit] if limit else sentences


def time_spacy(model: Path, sentences: List[List[str]], precision: str, batch_size: int, gpu: bool) -> float:
    """Seconds for biobert_ner's pipeline over the sentences (pre-tokenised Docs, so both sides get the same words)."""
    import spacy
    import torch
    from spacy.tokens import Doc

    mixed = DTYPES[precision] is not None
    if mixed:
        torch.set_autocast_dtype("cuda", getattr(torch, DTYPES[precision]))
    nlp = spacy.load(model, config={"components.transformer.model.mixed_precision": mixed})
    docs = lambda: [Doc(nlp.vocab, words=words) for words in sentences]  # noqa: E731
    list(nlp.pipe(docs()[:batch_size], batch_size=batch_size))
    if gpu:
        torch.cuda.synchronize()
    start = time.perf_counter()
    entities = [[(ent.start, ent.end, ent.label_) for ent in doc.ents] for doc in nlp.pipe(docs(), batch_size=batch_size)]
    if gpu:
        torch.cuda.synchronize()
    assert len(entities) == len(sentences)
    return time.perf_counter() - start


def time_hf(base: str, sentences: List[List[str]], precision: str, batch_size: int, device: str) -> float:
    """Seconds for the HF token-classification loop (first wordpiece of each word, argmax)."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=3).to(device).eval()
    dtype = DTYPES[precision]
    autocast = (lambda: torch.autocast(device.split(":")[0], dtype=getattr(torch, dtype))) if dtype else nullcontext

    def run(batches: List[List[List[str]]]) -> List[List[int]]:
        predicted = []
        for batch in batches:
            enc = tokenizer(batch, is_split_into_words=True, truncation=True, max_length=512, padding=True,
                            return_tensors="pt")
            with torch.no_grad(), autocast():
                logits = model(**{k: v.to(device) for k, v in enc.items()}).logits
            tags = logits.argmax(-1).cpu().tolist()
            for row in range(len(batch)):
                word_ids = enc.word_ids(row)
                firsts = [i for i, word in enumerate(word_ids) if word is not None and word != word_ids[i - 1]]
                predicted.append([tags[row][i] for i in firsts])
        return predicted

    batches = [sentences[i:i + batch_size] for i in range(0, len(sentences), batch_size)]
    run(batches[:1])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    run(batches)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="Trained spaCy pipeline with biobert_ner.")
    parser.add_argument("base", help="Its base model (Hugging Face folder) for the HF loop.")
    parser.add_argument("data", type=Path, help="Typed IOB TSV whose sentences are annotated.")
    parser.add_argument("--gpu-id", type=int, default=-1)
    parser.add_argument("--precisions", default="fp32,bf16,fp16")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="Sentences to read (0: all).")
    args = parser.parse_args()

    gpu = args.gpu_id >= 0
    if gpu:
        from thinc.api import require_gpu, set_gpu_allocator

        set_gpu_allocator("pytorch")
        require_gpu(args.gpu_id)
    device = f"cuda:{args.gpu_id}" if gpu else "cpu"
    sentences = read_sentences(args.data, args.limit)
    n_words = sum(len(words) for words in sentences)
    rows: List[Dict[str, object]] = []
    for precision in args.precisions.split(","):
        for system, timer in (("biobert_ner", lambda p: time_spacy(args.model, sentences, p, args.batch_size, gpu)),
                              ("hf_token_classification", lambda p: time_hf(args.base, sentences, p,
                                                                            args.batch_size, device))):
            try:
                seconds = timer(precision)
                rows.append({"system": system, "precision": precision, "words": n_words,
                             "words_per_s": round(n_words / seconds)})
            except Exception as err:  # a precision the device or library lacks is a row, not a crash
                rows.append({"system": system, "precision": precision, "words": n_words, "words_per_s": None,
                             "error": f"{type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}"})
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
