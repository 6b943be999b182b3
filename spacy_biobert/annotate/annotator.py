"""Run a spaCy pipeline over input documents so that one failing document never stops the run.

Documents go through `nlp.pipe` in batches. The pipeline's error handler is set to drop a failing
batch (spaCy's `ignore_error`), which also works with `n_process > 1`; the documents of a dropped batch
are then annotated one at a time with errors raised, so only the document that fails is recorded as a
failure, with the exception as its reason. Input failures pass through in their place.
"""
from collections import deque
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, Iterator, Optional, Tuple, TypeVar, Union

import spacy
from spacy.language import Language
from spacy.util import ignore_error, import_file, raise_error

from ..errors import Errors
from ..pipelines import load_trained_pipeline
from ..precision import set_precision
from .documents import InputDoc, InputFailure, Item, failure_record
from .records import doc_record

Context = TypeVar("Context")
Record = Dict[str, Any]
MAX_REASON_CHARS = 500


def load_pipeline(
    model: Union[str, Path, Language],
    *,
    gpu_id: int = -1,
    max_length: int = 0,
    code: Optional[Path] = None,
    precision: str = "fp32",
) -> Language:
    """Load MODEL (a folder, an installed package or a `Language`) on CPU or the given GPU.

    `code` is a Python file to import first (custom components); `max_length`, when positive,
    replaces the pipeline's `max_length`; `precision` is that of the encoders (`spacy_biobert.precision`).
    """
    if code is not None:
        import_file("python_code", code)
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    if isinstance(model, Language):
        nlp = model
        set_precision(nlp, precision)
    else:
        nlp = load_trained_pipeline(model, precision=precision)
    if max_length > 0:
        nlp.max_length = max_length
    return nlp


def annotate_items(
    nlp: Language, items: Iterable[Tuple[Item, Context]], *, batch_size: int = 64, n_process: int = 1
) -> Iterator[Tuple[Context, Record]]:
    """Yield `(context, record)` for each input item, in input order: the output record or the failure."""
    queue: Deque[Tuple[Item, Context]] = deque()

    def texts() -> Iterator[Tuple[str, Context]]:
        for item, context in items:
            if isinstance(item, InputDoc) and len(item.text) > nlp.max_length:
                reason = Errors.E512.format(length=len(item.text), max_length=nlp.max_length)
                item = InputFailure(item.id, item.source, reason)
            queue.append((item, context))
            if isinstance(item, InputDoc):
                yield item.text, context

    def flush_until(context: Any) -> Iterator[Tuple[Context, Record]]:
        """Everything queued before `context`: input failures, and documents whose batch was dropped."""
        while queue and (context is None or queue[0][1] != context):
            item, ctx = queue.popleft()
            yield ctx, _retry(nlp, item)

    nlp.set_error_handler(ignore_error)
    try:
        for doc, context in nlp.pipe(texts(), as_tuples=True, batch_size=batch_size, n_process=n_process):
            yield from flush_until(context)
            item, _ = queue.popleft()
            try:
                yield context, doc_record(doc, item)
            except Exception as err:  # an extension getter may fail on one doc: record it, go on
                yield context, failure_record(item.id, item.source, _reason(err))
        yield from flush_until(None)
    finally:
        nlp.set_error_handler(raise_error)


def _retry(nlp: Language, item: Item) -> Record:
    """An item the batch pass did not return: its failure, or its record annotated on its own."""
    if isinstance(item, InputFailure):
        return failure_record(item.id, item.source, item.reason)
    nlp.set_error_handler(raise_error)
    try:
        return doc_record(nlp(item.text), item)
    except Exception as err:  # any exception of any component is this document's failure
        return failure_record(item.id, item.source, _reason(err))
    finally:
        nlp.set_error_handler(ignore_error)


def _reason(err: Exception) -> str:
    return Errors.E513.format(error_type=type(err).__name__, detail=str(err)[:MAX_REASON_CHARS])
