"""`spacy-biobert evaluate MODEL DATA --task qa [--gold GOLD.json ...]`: BioASQ evaluation of a pipeline.

DATA is a SQuAD-format test file (questions over contexts, no answers needed, as BioASQ's factoid test
batches), a folder of them, or BioASQ golden JSON itself. `--gold` names the BioASQ golden file(s) or
folder with the answers; without it, the golden files found in DATA are used. No file name, year or
batch count is assumed: every SQuAD file is one test batch, scored against the gold questions its records
belong to (matched by question id, else by question text), and the overall factoid scores are the means
over the batches, as BioBERT reports them. Each factoid question is answered over all its contexts: the
n-best answers of every context are merged, de-duplicated case-insensitively and ranked; the top 5 count
(strict accuracy, lenient accuracy, MRR).

List and yes/no questions are answered over their golden snippets (BioASQ's phase B), from the golden
files given with `--gold`, or else from those golden files in DATA that hold a question of the test
batches (so a folder that also keeps training years' files scores only the test year). List answers: every
merged answer whose probability reaches `list_threshold` (at least the best one, at most `list_max`);
scored with the official mean precision, recall and F1. Yes/no: the pipeline's yes/no head, when it has
one (`yesno = true` in the model config); accuracy and macro F1. When DATA holds no SQuAD file, factoid
questions are answered over their snippets too, one batch per golden file.
"""
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import spacy

from ..errors import Errors
from ..metrics.qa import (
    BIOASQ_TOP_K,
    GoldSynonyms,
    bioasq_factoid_scores,
    bioasq_list_scores,
    bioasq_yesno_scores,
    rank_bioasq_answers,
)
from ..pipeline.qa import BioBertQA
from ..pipelines import load_trained_pipeline
from ..readers.qa import BioASQQuestion, QARecord, json_kind, question_key, read_bioasq_questions, read_squad
from .settings import QASettings

# Predicts, for each record, candidate answers as (text, score) pairs.
Predictor = Callable[[List[QARecord]], List[List[Tuple[str, float]]]]
# Predicts, for each record, the probability that the answer to its question is "yes".
YesNoPredictor = Callable[[List[QARecord]], List[float]]


class TestBatch(NamedTuple):
    """One test batch: its question/context records and the gold synonyms of its factoid questions.

    `golds` is keyed by the records' `QARecord.group`.
    """

    name: str
    records: List[QARecord]
    golds: Dict[str, GoldSynonyms]


class TestSet(NamedTuple):
    """Factoid batches, and the list and yes/no questions, with their snippets as contexts."""

    batches: List[TestBatch]
    list_questions: List[BioASQQuestion]
    yesno_questions: List[BioASQQuestion]


def evaluate(model: str, data: Path, settings: QASettings = QASettings(), *, gpu_id: int = -1,
             precision: str = "fp32") -> Dict[str, Any]:
    """Score the `biobert_qa` component of pipeline `model` on the BioASQ-style test set `data`, against the
    golden files `settings.gold` (default: those in `data`)."""
    test_set = load_test_set(data, settings.gold)
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = load_trained_pipeline(model, precision=precision)
    qa = next((pipe for _, pipe in nlp.pipeline if isinstance(pipe, BioBertQA)), None)
    if qa is None:
        raise ValueError(Errors.E304.format(model=model))
    n_best = qa.cfg["n_best_size"]

    def predict(records: List[QARecord]) -> List[List[Tuple[str, float]]]:
        docs = [nlp.make_doc(record.context) for record in records]
        answers = qa.answer([record.question for record in records], docs, top_k=n_best)
        return [[(answer.text, answer.score) for answer in doc_answers] for doc_answers in answers]

    def predict_yesno(records: List[QARecord]) -> List[float]:
        docs = [nlp.make_doc(record.context) for record in records]
        return qa.yes_probabilities([record.question for record in records], docs)

    return score_test_set(
        test_set,
        predict,
        predict_yesno if qa.has_yesno else None,
        list_threshold=settings.list_threshold,
        list_max=settings.list_max,
    )


def load_test_set(data: Union[str, Path], gold: Sequence[Union[str, Path]] = ()) -> TestSet:
    """Read the SQuAD test files of `data` and the golden questions of `gold` (or of `data`)."""
    squad_files, golden_files = _json_files_by_kind(Path(data))
    explicit_gold = bool(gold)
    if explicit_gold:
        golden_files = [path for source in gold for path in _json_files_by_kind(Path(source))[1]]
    if not golden_files:
        raise ValueError(Errors.E308.format(data=data))
    by_file = [(path, read_bioasq_questions(path)) for path in golden_files]
    by_id: Dict[str, BioASQQuestion] = {}
    by_text: Dict[str, BioASQQuestion] = {}
    files_of: Dict[str, List[Path]] = {}
    for path, questions in by_file:
        for question in questions:
            by_id.setdefault(question.id, question)
            by_text.setdefault(question_key(question.body), question)
            files_of.setdefault(question.id, []).append(path)
    batches: List[TestBatch] = []
    used_files = set()
    for path in squad_files:
        records = list(read_squad(path))
        golds: Dict[str, GoldSynonyms] = {}
        for record in records:
            match = by_id.get(record.group) or by_id.get(record.id) or by_text.get(question_key(record.question))
            if match is not None and match.type == "factoid":
                golds[record.group] = match.exact_answer
                used_files.update(files_of[match.id])
        batches.append(TestBatch(path.stem, records, golds))
    if squad_files and not any(batch.golds for batch in batches):
        raise ValueError(Errors.E309.format(data=data, gold=", ".join(str(p) for p in golden_files)))
    if not squad_files:
        for path, questions in by_file:
            factoid = [q for q in questions if q.type == "factoid"]
            batches.append(TestBatch(path.stem, snippet_records(factoid), {q.id: q.exact_answer for q in factoid}))
    pooled = _unique(q for path, questions in by_file if explicit_gold or not squad_files or path in used_files
                     for q in questions)
    return TestSet(
        batches=[batch for batch in batches if batch.golds],
        list_questions=[q for q in pooled if q.type == "list"],
        yesno_questions=[q for q in pooled if q.type == "yesno"],
    )


def snippet_records(questions: Sequence[BioASQQuestion]) -> List[QARecord]:
    """One record per distinct snippet of each question, grouped by the question's id."""
    records = []
    for question in questions:
        for i, snippet in enumerate(dict.fromkeys(question.snippets)):
            records.append(QARecord(f"{question.id}_{i:03d}", question.body, snippet, [], question.id))
    return records


def score_test_set(
    test_set: TestSet,
    predict: Predictor,
    predict_yesno: Optional[YesNoPredictor] = None,
    *,
    top_k: int = BIOASQ_TOP_K,
    list_threshold: float = 0.1,
    list_max: int = 100,
) -> Dict[str, Any]:
    """Factoid scores per batch and their means, list and (with `predict_yesno`) yes/no scores.

    RETURNS (Dict[str, Any]): `rows` (one a factoid batch) and `scores`: `qa_strict_acc`, `qa_lenient_acc`,
    `qa_mrr` (batch means), the number of questions and contexts, questions answered a second, and
    `qa_list_p/r/f`, `qa_yesno_acc`, `qa_yesno_macro_f` where the test set has such questions.
    """
    results = score_test_batches(test_set.batches, predict, top_k=top_k)
    scores = results["scores"]
    if test_set.list_questions:
        records = snippet_records(test_set.list_questions)
        pooled = merge_by_question(records, predict(records), top_k=list_max)
        answers = {qid: select_list_answers(candidates, list_threshold) for qid, candidates in pooled.items()}
        list_scores = bioasq_list_scores(answers, {q.id: q.exact_answer for q in test_set.list_questions})
        scores.update({"qa_list_p": list_scores["p"], "qa_list_r": list_scores["r"], "qa_list_f": list_scores["f"],
                       "list_questions": list_scores["n_questions"]})
    if test_set.yesno_questions and predict_yesno is not None:
        records = snippet_records(test_set.yesno_questions)
        yes: Dict[str, List[float]] = {}
        for record, probability in zip(records, predict_yesno(records)):
            yes.setdefault(record.group, []).append(probability)
        predicted = {qid: "yes" if sum(probs) / len(probs) >= 0.5 else "no" for qid, probs in yes.items()}
        golds = {q.id: _yesno_gold(q) for q in test_set.yesno_questions}
        yesno = bioasq_yesno_scores(predicted, golds)
        scores.update({"qa_yesno_acc": yesno["acc"], "qa_yesno_macro_f": yesno["macro_f"],
                       "yesno_questions": yesno["n_questions"]})
    return results


def score_test_batches(batches: Sequence[TestBatch], predict: Predictor, *, top_k: int = BIOASQ_TOP_K) -> Dict[str, Any]:
    """Predict each batch, merge the answers of each question's contexts, and score its factoid questions.

    RETURNS (Dict[str, Any]): `rows` (one a batch) and `scores`: the batch means of `qa_strict_acc`,
    `qa_lenient_acc`, `qa_mrr`, the number of questions and contexts, and questions answered a second.
    """
    rows = []
    seconds = 0.0
    for batch in batches:
        start = time.perf_counter()
        candidates = predict(batch.records)
        seconds += time.perf_counter() - start
        pooled = merge_by_question(batch.records, candidates, top_k=top_k)
        ranked = {qid: [text for text, _ in answers] for qid, answers in pooled.items()}
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
) -> Dict[str, List[Tuple[str, float]]]:
    """The ranked (answer, score) pairs of each question (`QARecord.group`) over all its contexts."""
    pooled: Dict[str, List[Tuple[str, float]]] = {}
    for record, record_candidates in zip(records, candidates):
        pooled.setdefault(record.group, []).extend(record_candidates)
    return {
        qid: [answers[i] for i in rank_bioasq_answers([t for t, _ in answers], [s for _, s in answers], top_k=top_k)]
        for qid, answers in pooled.items()
    }


def select_list_answers(ranked: Sequence[Tuple[str, float]], threshold: float) -> List[str]:
    """A list question's answers: those scoring at least `threshold`, and always the best one."""
    return [text for i, (text, score) in enumerate(ranked) if i == 0 or score >= threshold]


def _yesno_gold(question: BioASQQuestion) -> str:
    answer = question.exact_answer
    return answer if isinstance(answer, str) else " ".join(str(a) for a in answer)


def _json_files_by_kind(path: Path) -> Tuple[List[Path], List[Path]]:
    """The SQuAD and the BioASQ JSON files of a file or folder (sorted by name)."""
    if not path.exists():
        raise ValueError(Errors.E001.format(path=path))
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    kinds = {file: json_kind(file) for file in files}
    return [f for f in files if kinds[f] == "squad"], [f for f in files if kinds[f] == "bioasq"]


def _unique(questions: Any) -> List[BioASQQuestion]:
    """Questions without repeats (a year's file and its batches' files share questions), by id."""
    return list({question.id: question for question in questions}.values())
