"""Run a spaCy pipeline over input documents so that one failing document never stops the run.

Documents go through `nlp.pipe` in batches. The pipeline's error handler is set to drop a failing
batch (spaCy's `ignore_error`), which also works with `n_process > 1`; the documents of a dropped batch
are then annotated one at a time with errors raised, so only the document that fails is recorded as a
failure, with the exception as its reason. Input failures pass through in their place.

To waste less padding, items are read `sort_buffer` at a time and each buffer's documents go to the
pipeline shortest first, so that a batch holds texts of similar lengths; every item carries its input
position, by which the records are put back in input order.
"""
from collections import deque
from itertools import islice
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
from .settings import AnnotateSettings

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
    nlp: Language,
    items: Iterable[Tuple[Item, Context]],
    *,
    batch_size: int = 64,
    n_process: int = 1,
    sort_buffer: int = AnnotateSettings.sort_buffer,
) -> Iterator[Tuple[Context, Record]]:
    """Yield `(context, record)` for each input item, in input order: the output record or the failure.

    Up to `sort_buffer` items are read ahead and their documents annotated shortest first (1 or less:
    in input order); the output is the same either way.
    """
    nlp.set_error_handler(ignore_error)
    try:
        yield from _in_input_order(_annotate_sorted(nlp, items, batch_size, n_process, sort_buffer))
    finally:
        nlp.set_error_handler(raise_error)


def _annotate_sorted(
    nlp: Language, items: Iterable[Tuple[Item, Context]], batch_size: int, n_process: int, sort_buffer: int
) -> Iterator[Tuple[int, Context, Record]]:
    """Yield `(input position, context, record)` for each item, in the order the pipeline sees them: one
    `nlp.pipe` stream (its worker processes start once) of buffers sorted by length, failures first."""
    queue: Deque[Tuple[int, Item, Context]] = deque()  # items in stream order, until their record is made
    numbered = ((seq, _within_max_length(nlp, item), context) for seq, (item, context) in enumerate(items))

    def texts() -> Iterator[Tuple[str, int]]:
        while buffer := list(islice(numbered, max(sort_buffer, 1))):
            for seq, item, context in sorted(buffer, key=_sort_key):
                queue.append((seq, item, context))
                if isinstance(item, InputDoc):
                    yield item.text, seq

    def flush_until(seq: Optional[int]) -> Iterator[Tuple[int, Context, Record]]:
        """Everything queued before `seq`: input failures, and documents whose batch was dropped."""
        while queue and (seq is None or queue[0][0] != seq):
            queued_seq, item, context = queue.popleft()
            yield queued_seq, context, _retry(nlp, item)

    for doc, seq in nlp.pipe(texts(), as_tuples=True, batch_size=batch_size, n_process=n_process):
        yield from flush_until(seq)
        _, item, context = queue.popleft()
        try:
            yield seq, context, doc_record(doc, item)
        except Exception as err:  # an extension getter may fail on one doc: record it, go on
            yield seq, context, failure_record(item.id, item.source, _reason(err))
    yield from flush_until(None)


def _within_max_length(nlp: Language, item: Item) -> Item:
    """The item, or its failure when its text is longer than the pipeline's max_length."""
    if isinstance(item, InputDoc) and len(item.text) > nlp.max_length:
        reason = Errors.E512.format(length=len(item.text), max_length=nlp.max_length)
        return InputFailure(item.id, item.source, reason)
    return item


def _sort_key(entry: Tuple[int, Item, Any]) -> int:
    """Failures first (they skip the pipeline), then documents by text length; ties keep input order."""
    item = entry[1]
    return len(item.text) if isinstance(item, InputDoc) else -1


def _in_input_order(results: Iterable[Tuple[int, Context, Record]]) -> Iterator[Tuple[Context, Record]]:
    """Yield `(context, record)` by input position 0, 1, 2, ..., each as soon as the results before it came.

    Results come buffer by buffer, so at most one buffer's records wait here.
    """
    waiting: Dict[int, Tuple[Context, Record]] = {}
    next_seq = 0
    for seq, context, record in results:
        waiting[seq] = (context, record)
        while next_seq in waiting:
            yield waiting.pop(next_seq)
            next_seq += 1


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
