"""`spacy-biobert evaluate MODEL DATA --task qa`: BioBERT's BioASQ 6b factoid evaluation of a pipeline.

DATA is the BioASQ folder holding the five 6b test batches (`BioASQ-test-factoid-6b-{1..5}.json`,
SQuAD-style: one context a PubMed abstract) and their gold answers (`6B{1..5}_golden.json`). Each factoid
question is answered over all its contexts; the n-best answers of every context are merged, de-duplicated
case-insensitively and ranked (the top 5 count), then scored with strict accuracy, lenient accuracy and
MRR per batch. The overall scores are the means over the batches, as BioBERT reports them.
"""
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Sequence, Tuple

import spacy

from ..errors import Errors
from ..metrics.qa import BIOASQ_TOP_K, GoldSynonyms, bioasq_factoid_scores, rank_bioasq_answers
from ..pipeline.qa import BioBertQA
from ..readers.qa import QARecord, read_bioasq_gold, read_squad

N_BATCHES = 5

# Predicts, for each record, candidate answers as (text, score) pairs.
Predictor = Callable[[List[QARecord]], List[List[Tuple[str, float]]]]


class TestBatch(NamedTuple):
    """One 6b test batch: its question/context records and the gold synonyms of its factoid questions."""

    name: str
    records: List[QARecord]
    golds: Dict[str, GoldSynonyms]


def evaluate(model: str, data: Path, *, gpu_id: int = -1, batch_size: int = 16, **options: Any) -> Dict[str, Any]:
    """Score the `biobert_qa` component of pipeline `model` on the 6b batches under `data`.

    `options` holds the other tasks' options, unused here.
    """
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    qa = next((pipe for _, pipe in nlp.pipeline if isinstance(pipe, BioBertQA)), None)
    if qa is None:
        raise ValueError(Errors.E304.format(model=model))
    n_best = qa.cfg["n_best_size"]

    def predict(records: List[QARecord]) -> List[List[Tuple[str, float]]]:
        docs = [nlp.make_doc(record.context) for record in records]
        answers = qa.answer([record.question for record in records], docs, top_k=n_best)
        return [[(answer.span.text, answer.score) for answer in doc_answers] for doc_answers in answers]

    return score_test_batches(load_test_batches(data), predict)


def load_test_batches(data: Path, n_batches: int = N_BATCHES) -> List[TestBatch]:
    """The 6b test batches of the BioASQ folder `data`."""
    data = Path(data)
    return [
        TestBatch(
            name=f"6b-{i}",
            records=list(read_squad(data / f"BioASQ-test-factoid-6b-{i}.json")),
            golds=read_bioasq_gold(data / f"6B{i}_golden.json", question_types=["factoid"]),
        )
        for i in range(1, n_batches + 1)
    ]


def score_test_batches(batches: Sequence[TestBatch], predict: Predictor, *, top_k: int = BIOASQ_TOP_K) -> Dict[str, Any]:
    """Predict each batch, merge the answers of each question's contexts, and score it.

    RETURNS (Dict[str, Any]): `rows` (one a batch) and `scores`: the batch means of `qa_strict_acc`,
    `qa_lenient_acc`, `qa_mrr`, the number of questions and contexts, and questions answered a second.
    """
    rows = []
    seconds = 0.0
    for batch in batches:
        start = time.perf_counter()
        candidates = predict(batch.records)
        seconds += time.perf_counter() - start
        ranked = merge_by_question(batch.records, candidates, top_k=top_k)
        scores = bioasq_factoid_scores(ranked, batch.golds, top_k=top_k)
        rows.append(
            {
                "batch": batch.name,
                "questions": scores["n_questions"],
                "contexts": len(batch.records),
                "strict_acc": scores["strict_acc"],
                "lenient_acc": scores["lenient_acc"],
                "mrr": scores["mrr"],
            }
        )
    n_questions = sum(row["questions"] for row in rows)
    mean = {key: sum(row[key] for row in rows) / max(len(rows), 1) for key in ("strict_acc", "lenient_acc", "mrr")}
    scores = {
        "qa_strict_acc": mean["strict_acc"],
        "qa_lenient_acc": mean["lenient_acc"],
        "qa_mrr": mean["mrr"],
        "questions": n_questions,
        "contexts": sum(row["contexts"] for row in rows),
        "questions_per_second": n_questions / seconds if seconds > 0 else 0.0,
    }
    return {"scores": scores, "rows": rows}


def merge_by_question(
    records: Sequence[QARecord], candidates: Sequence[Sequence[Tuple[str, float]]], *, top_k: int = BIOASQ_TOP_K
) -> Dict[str, List[str]]:
    """The ranked answers of each question id (`QID` of record ids `QID_000`) over all its contexts."""
    pooled: Dict[str, List[Tuple[str, float]]] = {}
    for record, record_candidates in zip(records, candidates):
        pooled.setdefault(record.id.split("_")[0], []).extend(record_candidates)
    return {
        qid: [answers[i][0] for i in rank_bioasq_answers([t for t, _ in answers], [s for _, s in answers], top_k=top_k)]
        for qid, answers in pooled.items()
    }
