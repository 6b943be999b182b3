"""`spacy-biobert evaluate MODEL DATA --task ner`: conlleval's entity scores of a pipeline on a typed IOB TSV."""
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import spacy
from spacy.tokens import Doc, Span

from ..errors import Errors, PipelineError
from ..metrics.entities import score_tag_sequences
from ..pipelines import load_trained_pipeline
from ..readers.ner import read_iob_sentences


def evaluate(
    model: str,
    data: Path,
    *,
    gpu_id: int = -1,
    batch_size: int = 64,
    spans_key: Optional[str] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Run `model` on the sentences of `data` (typed IOB2/IOBES TSV, file or folder) and score it.

    The gold tokens are kept, so the scores are those conlleval gives on the same tag sequences: typed
    (`ents_p/r/f`, per type in `rows`) and type-agnostic as BioBERT reports them (`ents_untyped_*`).
    Predictions are `doc.ents`, or `doc.spans[spans_key]` when given (one of several NER components).
    `options` holds the other tasks' options, unused here.
    """
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = load_trained_pipeline(model)
    assigned = "doc.spans" if spans_key else "doc.ents"
    if not any(assigned in nlp.get_pipe_meta(name).assigns for name in nlp.pipe_names):
        components = ", ".join(nlp.pipe_names) or "none"
        raise PipelineError(Errors.E029.format(model=model, component=f"entity ({assigned})", task="ner",
                                               components=components))
    sentences = list(read_iob_sentences(data))
    gold = [tags for _, tags in sentences]
    n_words = sum(len(words) for words, _ in sentences)
    start = time.perf_counter()
    docs = nlp.pipe((Doc(nlp.vocab, words=words) for words, _ in sentences), batch_size=batch_size)
    predicted = [spans_to_tags(len(doc), doc.spans.get(spans_key, []) if spans_key else doc.ents) for doc in docs]
    seconds = time.perf_counter() - start
    typed = score_tag_sequences(gold, predicted)
    untyped = score_tag_sequences(gold, predicted, typed=False).total
    rows = [
        {"type": label, "p": counts.precision, "r": counts.recall, "f": counts.fscore, "gold": counts.gold, "predicted": counts.predicted}
        for label, counts in sorted(typed.per_type.items())
    ]
    scores = {
        "ents_p": typed.total.precision,
        "ents_r": typed.total.recall,
        "ents_f": typed.total.fscore,
        "ents_untyped_p": untyped.precision,
        "ents_untyped_r": untyped.recall,
        "ents_untyped_f": untyped.fscore,
        "sentences": len(sentences),
        "words": n_words,
        "words_per_second": n_words / seconds if seconds > 0 else 0.0,
    }
    return {"scores": scores, "rows": rows}


def spans_to_tags(n_tokens: int, spans: Sequence[Span]) -> List[str]:
    """IOB2 tags for non-overlapping spans of a doc of `n_tokens` tokens."""
    tags = ["O"] * n_tokens
    for span in spans:
        tags[span.start] = f"B-{span.label_}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label_}"
    return tags
