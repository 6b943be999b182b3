"""Question-answering metrics: BioASQ factoid (strict/lenient accuracy, MRR), list (mean precision,
recall, F1), yes/no (accuracy, macro F1), and SQuAD v1 (EM, F1).

BioASQ factoid answers are ranked lists (at most five are scored); an answer is right when it equals
one of the gold synonyms case-insensitively, as the official BioASQ measures and BioBERT compare them.
A list answer is a set of entities: precision is the share of predicted answers that match a gold
entity, recall the share of gold entities (each a list of synonyms) matched by an answer, and the
question's F1 their harmonic mean; the official measures average the three over questions. Yes/no:
accuracy, and the mean of the F1 of "yes" and of "no" (macro F1), as the BioASQ evaluation reports.
SQuAD exact match and F1 use the official v1.1 normalisation (lower case, no punctuation, no articles,
single spaces) and take the best score over the gold answers.
"""
import re
import string
from collections import Counter
from typing import Dict, Iterable, List, Mapping, Sequence, Set, Union

BIOASQ_TOP_K = 5

GoldSynonyms = Union[str, Sequence[Union[str, Sequence[str]]]]


def bioasq_key(text: str) -> str:
    """The form two BioASQ answers are compared in: stripped and case-folded."""
    return text.strip().casefold()


def gold_synonyms(gold: GoldSynonyms) -> Set[str]:
    """Flatten a BioASQ `exact_answer` (a string, a list of synonyms, or a list of synonym lists)."""
    if isinstance(gold, str):
        return {bioasq_key(gold)} if gold.strip() else set()
    keys: Set[str] = set()
    for item in gold:
        keys |= gold_synonyms(item)
    return keys


def rank_bioasq_answers(texts: Sequence[str], scores: Sequence[float], *, top_k: int = BIOASQ_TOP_K) -> List[int]:
    """BioBERT's BioASQ post-processing: the indices of the `top_k` best answers, best first.

    Answers pooled from all contexts of a question are sorted by score; an answer equal
    (case-insensitively) to a better one, or empty, is dropped.
    """
    ranked: List[int] = []
    seen: Set[str] = set()
    for i in sorted(range(len(texts)), key=lambda j: -scores[j]):
        key = bioasq_key(texts[i])
        if key and key not in seen:
            seen.add(key)
            ranked.append(i)
            if len(ranked) == top_k:
                break
    return ranked


def bioasq_factoid_scores(
    predictions: Mapping[str, Sequence[str]],
    golds: Mapping[str, GoldSynonyms],
    *,
    top_k: int = BIOASQ_TOP_K,
) -> Dict[str, float]:
    """Strict accuracy, lenient accuracy and MRR over the questions of `golds`.

    predictions (Mapping[str, Sequence[str]]): question id -> ranked answers; only the first `top_k` count,
        a question without predictions scores 0.
    golds (Mapping[str, GoldSynonyms]): question id -> gold synonyms (BioASQ `exact_answer`).
    RETURNS (Dict[str, float]): `strict_acc`, `lenient_acc`, `mrr` in [0, 1], and `n_questions`.
    """
    strict = lenient = reciprocal = 0.0
    for qid, gold in golds.items():
        synonyms = gold_synonyms(gold)
        rank = _first_correct_rank(predictions.get(qid, ()), synonyms, top_k)
        if rank:
            strict += rank == 1
            lenient += 1
            reciprocal += 1.0 / rank
    total = len(golds)
    if total == 0:
        return {"strict_acc": 0.0, "lenient_acc": 0.0, "mrr": 0.0, "n_questions": 0}
    return {
        "strict_acc": strict / total,
        "lenient_acc": lenient / total,
        "mrr": reciprocal / total,
        "n_questions": total,
    }


def bioasq_list_scores(
    predictions: Mapping[str, Sequence[str]], golds: Mapping[str, Sequence[Union[str, Sequence[str]]]]
) -> Dict[str, float]:
    """Mean precision, recall and F1 of list answers over the questions of `golds`.

    predictions (Mapping[str, Sequence[str]]): question id -> predicted answers (a missing question scores 0).
    golds: question id -> gold entities, each a synonym or a list of synonyms (BioASQ `exact_answer`).
    RETURNS (Dict[str, float]): `p`, `r`, `f` in [0, 1] and `n_questions`.
    """
    total_p = total_r = total_f = 0.0
    for qid, gold in golds.items():
        entities = [gold_synonyms(entity) for entity in gold]
        entities = [entity for entity in entities if entity]
        answers = {bioasq_key(answer) for answer in predictions.get(qid, ())} - {""}
        correct = sum(any(answer in entity for entity in entities) for answer in answers)
        found = sum(bool(entity & answers) for entity in entities)
        p = correct / len(answers) if answers else 0.0
        r = found / len(entities) if entities else 0.0
        total_p += p
        total_r += r
        total_f += 2 * p * r / (p + r) if p + r else 0.0
    n = len(golds)
    if n == 0:
        return {"p": 0.0, "r": 0.0, "f": 0.0, "n_questions": 0}
    return {"p": total_p / n, "r": total_r / n, "f": total_f / n, "n_questions": n}


def bioasq_yesno_scores(predictions: Mapping[str, str], golds: Mapping[str, str]) -> Dict[str, float]:
    """Accuracy and macro F1 (mean of the F1 of "yes" and of "no") of yes/no answers over `golds`.

    A missing or other prediction counts as wrong for accuracy and as neither class for the F1s.
    RETURNS (Dict[str, float]): `acc`, `macro_f`, `yes_f`, `no_f` in [0, 1] and `n_questions`.
    """
    gold = {qid: bioasq_key(answer) for qid, answer in golds.items()}
    predicted = {qid: bioasq_key(predictions.get(qid, "")) for qid in gold}
    n = len(gold)
    if n == 0:
        return {"acc": 0.0, "macro_f": 0.0, "yes_f": 0.0, "no_f": 0.0, "n_questions": 0}
    f1s = {}
    for label in ("yes", "no"):
        tp = sum(gold[q] == label and predicted[q] == label for q in gold)
        n_pred = sum(predicted[q] == label for q in gold)
        n_gold = sum(gold[q] == label for q in gold)
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gold if n_gold else 0.0
        f1s[label] = 2 * p * r / (p + r) if p + r else 0.0
    accuracy = sum(gold[q] == predicted[q] for q in gold) / n
    macro = (f1s["yes"] + f1s["no"]) / 2
    return {"acc": accuracy, "macro_f": macro, "yes_f": f1s["yes"], "no_f": f1s["no"], "n_questions": n}


def _first_correct_rank(answers: Sequence[str], synonyms: Set[str], top_k: int) -> int:
    """1-based rank of the first answer among the top `top_k` that matches a synonym; 0 if none."""
    for rank, answer in enumerate(list(answers)[:top_k], start=1):
        if bioasq_key(answer) in synonyms:
            return rank
    return 0


def normalize_squad_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, drop punctuation and articles, collapse whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = frozenset(string.punctuation)


def squad_exact_match(prediction: str, golds: Iterable[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer, else 0.0."""
    normalized = normalize_squad_answer(prediction)
    return float(any(normalized == normalize_squad_answer(gold) for gold in golds))


def squad_f1(prediction: str, golds: Iterable[str]) -> float:
    """The best token-overlap F1 of the prediction against any gold answer (0.0 without golds)."""
    return max((_token_f1(prediction, gold) for gold in golds), default=0.0)


def _token_f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_squad_answer(prediction).split()
    gold_tokens = normalize_squad_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions: Mapping[str, str], golds: Mapping[str, List[str]]) -> Dict[str, float]:
    """Mean SQuAD exact match and F1 over the questions of `golds` (missing predictions score 0)."""
    if not golds:
        return {"exact_match": 0.0, "f1": 0.0}
    em = sum(squad_exact_match(predictions.get(qid, ""), answers) for qid, answers in golds.items())
    f1 = sum(squad_f1(predictions.get(qid, ""), answers) for qid, answers in golds.items())
    return {"exact_match": em / len(golds), "f1": f1 / len(golds)}
