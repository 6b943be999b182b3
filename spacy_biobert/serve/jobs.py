"""What the server's pipeline thread runs: a batch of requests' texts through the pipeline in one go.

`/annotate` jobs go through `annotate_items`, the function `spacy-biobert annotate` runs, so a request
gets exactly the records `annotate` writes, and a text that makes the pipeline raise fails its own
request only. `/ask` jobs go through `biobert_qa.answer` in one batch, retried job by job when it raises.
"""
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Union

from spacy.language import Language

from ..annotate.annotator import MAX_REASON_CHARS, annotate_items
from ..annotate.documents import InputDoc, is_failure
from ..annotate.records import SCORE_DIGITS
from ..data_classes import Answer
from ..errors import Errors

Record = Dict[str, Any]
QA_FACTORY = "biobert_qa"


class PipelineError(RuntimeError):
    """The pipeline raised on a text of a request: that request is answered with a 500."""


class AnnotateJob(NamedTuple):
    """The texts of one `/annotate` request."""

    texts: Sequence[str]


class AskJob(NamedTuple):
    """The question and texts of one `/ask` request."""

    question: str
    texts: Sequence[str]
    top_k: int


def job_size(job: Union[AnnotateJob, AskJob]) -> int:
    """How many texts a job adds to a batch."""
    return len(job.texts)


def annotate_jobs(nlp: Language, jobs: List[AnnotateJob], *, batch_size: int) -> List[Union[List[Record], Exception]]:
    """The records of each job's texts (ids: the texts' positions), or the error of a job with a failing text."""
    items = [
        (InputDoc(str(i), text, f"text {i}"), (j, i)) for j, job in enumerate(jobs) for i, text in enumerate(job.texts)
    ]
    records: List[List[Optional[Record]]] = [[None] * len(job.texts) for job in jobs]
    for (j, i), record in annotate_items(nlp, items, batch_size=batch_size):
        records[j][i] = record
    results: List[Union[List[Record], Exception]] = []
    for job_records in records:
        failed = [(i, record) for i, record in enumerate(job_records) if record is None or is_failure(record)]
        if failed:
            i, record = failed[0]
            reason = record["error"] if record is not None else "no output"
            results.append(PipelineError(Errors.E607.format(index=i, reason=reason)))
        else:
            results.append(job_records)  # type: ignore[arg-type]
    return results


def qa_component_name(nlp: Language) -> Optional[str]:
    """The name of the pipeline's first biobert_qa component, if it has one."""
    for name in nlp.pipe_names:
        if nlp.get_pipe_meta(name).factory == QA_FACTORY:
            return name
    return None


def ask_jobs(nlp: Language, qa_name: str, jobs: List[AskJob]) -> List[Union[List[List[Record]], Exception]]:
    """For each job, the ranked answers about each of its texts, or the error of a job that fails alone."""
    try:
        return list(_answer(nlp, qa_name, jobs))
    except Exception:  # find the failing job: every other job is answered on its own
        results: List[Union[List[List[Record]], Exception]] = []
        for job in jobs:
            try:
                results.extend(_answer(nlp, qa_name, [job]))
            except Exception:
                results.append(_failing_text(nlp, qa_name, job))
        return results


def _failing_text(nlp: Language, qa_name: str, job: AskJob) -> PipelineError:
    """The error of the first text of `job` that the QA component cannot answer on its own."""
    for i, text in enumerate(job.texts):
        try:
            _answer(nlp, qa_name, [job._replace(texts=[text])])
        except Exception as err:
            reason = Errors.E513.format(error_type=type(err).__name__, detail=str(err)[:MAX_REASON_CHARS])
            return PipelineError(Errors.E607.format(index=i, reason=reason))
    return PipelineError(Errors.E607.format(index=0, reason="the batch failed, each text alone did not"))


def _answer(nlp: Language, qa_name: str, jobs: List[AskJob]) -> List[List[List[Record]]]:
    qa = nlp.get_pipe(qa_name)
    docs = [nlp.make_doc(text) for job in jobs for text in job.texts]
    questions = [job.question for job in jobs for _ in job.texts]
    answers = iter(qa.answer(questions, docs, top_k=max(job.top_k for job in jobs)))
    return [[[answer_record(a) for a in next(answers)[: job.top_k]] for _ in job.texts] for job in jobs]


def answer_record(answer: Answer) -> Record:
    """An answer as JSON: the character offsets of its exact text into the text, that text and its score."""
    start, end = answer.offsets
    return {
        "start": start,
        "end": end,
        "text": answer.text,
        "score": round(float(answer.score), SCORE_DIGITS),
    }
