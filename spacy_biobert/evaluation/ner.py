"""`spacy-biobert evaluate MODEL DATA --task ner`: conlleval's entity scores of a pipeline on a typed IOB TSV."""
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from ..errors import Errors, PipelineError
from ..metrics.entities import score_examples
from ..pipelines import load_trained_pipeline
from ..readers.ner import DEFAULT_SPANS_KEY, Sentence, read_iob_sentences, sentence_to_example
from .length_order import pipe_in_length_order
from .settings import NERSettings


def evaluate(model: str, data: Path, settings: NERSettings = NERSettings(), *, gpu_id: int = -1,
             precision: str = "fp32") -> Dict[str, Any]:
    """Run `model` on the sentences of `data` (typed IOB2/IOBES TSV, file or folder) and score it.

    The gold tokens are kept, and the entities are scored with the NER component's own scorer
    (`spacy_biobert.metrics.entities.score_examples`), which gives conlleval's numbers: typed (`ents_p/r/f`,
    per type in `rows`) and type-agnostic as BioBERT reports them (`ents_untyped_*`). Predictions are
    `doc.ents`, or `doc.spans[settings.spans_key]` when given (one of several NER components).
    """
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = load_trained_pipeline(model, precision=precision)
    assigned = "doc.spans" if settings.spans_key else "doc.ents"
    if not any(assigned in nlp.get_pipe_meta(name).assigns for name in nlp.pipe_names):
        components = ", ".join(nlp.pipe_names) or "none"
        raise PipelineError(Errors.E029.format(model=model, component=f"entity ({assigned})", task="ner",
                                               components=components))
    sentences = list(read_iob_sentences(data))
    n_words = sum(len(words) for words, _ in sentences)
    start = time.perf_counter()
    docs = pipe_in_length_order(nlp, [Doc(nlp.vocab, words=words) for words, _ in sentences], settings.batch_size)
    seconds = time.perf_counter() - start
    examples = gold_examples(nlp, docs, sentences, settings.spans_key)
    typed = score_examples(examples, spans_key=settings.spans_key)
    untyped = score_examples(examples, spans_key=settings.spans_key, typed=False).total
    rows = [
        {"type": label, "p": counts.precision, "r": counts.recall, "f": counts.fscore,
         "gold": counts.tp + counts.fn, "predicted": counts.tp + counts.fp}
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


def gold_examples(nlp: Language, docs: List[Doc], sentences: List[Sentence], spans_key: Optional[str]) -> List[Example]:
    """The predicted docs paired with their sentences' gold, as the NER readers build it."""
    key = spans_key or DEFAULT_SPANS_KEY
    return [
        Example(doc, sentence_to_example(nlp, words, tags, spans_key=key).reference)
        for doc, (words, tags) in zip(docs, sentences)
    ]
