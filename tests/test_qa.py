import json
import shutil

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import fix_random_seed, registry
from typer.testing import CliRunner

from spacy_biobert import Answer
from spacy_biobert.annotations import QUESTIONS, mark_annotated
from spacy_biobert.cli import app
from spacy_biobert.data_classes import set_qa_data
from spacy_biobert.pipeline.qa import decode_windows, install_extensions
from spacy_biobert.readers.qa import QARecord, record_to_example

TRAIN_DATA = [
    QARecord("q1", "what does imatinib inhibit?", "imatinib inhibits the kinase in cells.", [(22, 28)]),
    QARecord("q2", "what raises breast cancer risk?", "brca1 mutations raise breast cancer risk.", [(0, 15)]),
    QARecord("q3", "which drug lowers the risk?", "tamoxifen lowers the risk of cancer in patients.", [(0, 9)]),
]
ANSWERS = ["kinase", "brca1 mutations", "tamoxifen"]


def make_nlp(tiny_bert, **model_config):
    """A tiny QA pipeline; its head starts from Glorot weights, with which a 32-wide model overfits in 50 updates
    (the default, BERT's std 0.02, needs about 150). `model_config` overrides settings of the model."""
    nlp = spacy.blank("en")
    model = {"name": str(tiny_bert), "max_seq_length": 64, "doc_stride": 16, "max_query_length": 16,
             "init_W": {"@initializers": "glorot_uniform_init.v1"}, **model_config}
    nlp.add_pipe("biobert_qa", config={"model": model})
    return nlp


@pytest.fixture(scope="module")
def trained_nlp(tiny_bert):
    """A tiny pipeline overfitted on TRAIN_DATA (shared by the tests that need answers)."""
    fix_random_seed(0)
    nlp = make_nlp(tiny_bert)
    examples = [record_to_example(nlp, record) for record in TRAIN_DATA]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(50):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
    assert losses["biobert_qa"] < 0.05
    return nlp


def test_overfitting_IO(trained_nlp, tiny_bert, tmp_path):
    nlp = trained_nlp
    before = []
    for record, expected in zip(TRAIN_DATA, ANSWERS):
        answers = nlp(record.context)._.ask(record.question)
        assert answers[0].span.text == expected
        assert all(isinstance(answer, Answer) for answer in answers)
        assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)
        before.append([(a.span.text, a.score) for a in answers])
    examples = [record_to_example(nlp, record) for record in TRAIN_DATA]
    scores = nlp.evaluate(examples)
    assert scores["qa_strict_acc"] == 1.0
    assert scores["qa_mrr"] == 1.0
    assert scores["qa_squad_em"] == 1.0
    nlp.to_disk(tmp_path / "qa")
    nlp2 = spacy.load(tmp_path / "qa")
    for record, expected in zip(TRAIN_DATA, before):
        answers = nlp2(record.context)._.ask(record.question)
        assert [a.span.text for a in answers] == [text for text, _ in expected]
        assert [a.score for a in answers] == pytest.approx([score for _, score in expected], abs=1e-5)
    nlp3 = make_nlp(tiny_bert)
    nlp3.from_bytes(nlp.to_bytes())
    answers = nlp3(TRAIN_DATA[0].context)._.ask(TRAIN_DATA[0].question)
    assert [(a.span.text, pytest.approx(a.score, abs=1e-5)) for a in answers] == before[0]


def test_saved_pipeline_loads_without_the_base_model_folder(tiny_bert, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_bert, base)
    fix_random_seed(0)
    nlp = make_nlp(base)
    nlp.initialize(lambda: [record_to_example(nlp, TRAIN_DATA[0])])
    expected = [(a.span.text, a.score) for a in nlp(TRAIN_DATA[1].context)._.ask(TRAIN_DATA[1].question)]
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(base)
    nlp2 = spacy.load(tmp_path / "pipeline")
    got = nlp2(TRAIN_DATA[1].context)._.ask(TRAIN_DATA[1].question)
    assert [a.span.text for a in got] == [text for text, _ in expected]
    assert [a.score for a in got] == pytest.approx([score for _, score in expected], abs=1e-5)


def test_pipeline_answers_doc_questions_and_serialises(trained_nlp):
    nlp = trained_nlp
    doc = nlp.make_doc(TRAIN_DATA[0].context)
    doc._.questions = [TRAIN_DATA[0].question, TRAIN_DATA[2].question]
    doc = nlp(doc)
    answers = doc._.answers
    assert list(answers) == [TRAIN_DATA[0].question, TRAIN_DATA[2].question]
    assert answers[TRAIN_DATA[0].question][0].span.text == "kinase"
    # The pipeline stores what `answer` gives for the same questions: the component's top_k, spans and scores.
    qa = nlp.get_pipe("biobert_qa")
    direct = qa.answer(list(answers), [doc, doc], top_k=qa.cfg["top_k"])
    expected = {q: [(a.span.start, a.span.end, a.score) for a in a_list] for q, a_list in answers.items()}
    assert list(expected.values()) == [
        [(a.span.start, a.span.end, pytest.approx(a.score)) for a in a_list] for a_list in direct
    ]
    assert [len(a_list) for a_list in expected.values()] == [qa.cfg["top_k"]] * 2
    doc_bin = DocBin(store_user_data=True)
    doc_bin.add(doc)
    (restored,) = DocBin().from_bytes(doc_bin.to_bytes()).get_docs(nlp.vocab)
    restored2 = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    for other in (restored, restored2):
        assert other._.questions == doc._.questions
        got = {q: [(a.span.start, a.span.end, a.score) for a in a_list] for q, a_list in other._.answers.items()}
        assert got == expected
    plain = nlp("imatinib inhibits the kinase.")
    assert plain._.answers == {}


def test_answer_batched_and_over_docs(trained_nlp):
    qa = trained_nlp.get_pipe("biobert_qa")
    docs = [trained_nlp(record.context) for record in TRAIN_DATA]
    results = qa.answer([record.question for record in TRAIN_DATA], docs, top_k=2)
    assert [answers[0].span.text for answers in results] == ANSWERS
    assert all(len(answers) <= 2 for answers in results)
    with pytest.raises(ValueError, match="E302"):
        qa.answer(["one", "two"], docs)
    context = TRAIN_DATA[0].context
    same = [trained_nlp(context), trained_nlp(context.upper()), trained_nlp(context)]
    merged = qa.answer_over_docs(TRAIN_DATA[0].question, same, top_k=5)
    texts = [answer.span.text.lower() for answer in merged]
    assert texts[0] == "kinase"
    assert len(texts) == len(set(texts)) == 5
    assert [a.score for a in merged] == sorted((a.score for a in merged), reverse=True)


@pytest.mark.parametrize("question", [None, "", "   ", 3, ["what?"]])
def test_ask_rejects_what_is_not_a_question(trained_nlp, question):
    doc = trained_nlp(TRAIN_DATA[0].context)
    with pytest.raises(ValueError, match="E310"):
        doc._.ask(question)
    with pytest.raises(ValueError, match="E310"):
        trained_nlp.get_pipe("biobert_qa").answer([question], [doc])


@pytest.mark.parametrize("top_k", [0, -1, 2.5, True])
def test_ask_rejects_bad_top_k(trained_nlp, top_k):
    with pytest.raises(ValueError, match="E311"):
        trained_nlp(TRAIN_DATA[0].context)._.ask(TRAIN_DATA[0].question, top_k=top_k)


def test_empty_context(trained_nlp):
    assert trained_nlp("")._.ask(TRAIN_DATA[0].question) == []
    assert trained_nlp("   ")._.ask(TRAIN_DATA[0].question) == []
    assert trained_nlp.get_pipe("biobert_qa").answer([], []) == []


def test_answer_at_the_end_of_a_long_context(trained_nlp):
    filler = "the cell is associated with the tumor . " * 1250
    context = filler + TRAIN_DATA[0].context
    doc = trained_nlp(context)
    assert len(doc) > 10000
    answers = doc._.ask(TRAIN_DATA[0].question)
    assert answers[0].span.text == "kinase"
    assert answers[0].span.start_char > len(filler)


def test_top_k_larger_than_candidates(trained_nlp):
    doc = trained_nlp("kinase")
    answers = doc._.ask(TRAIN_DATA[0].question, top_k=50)
    assert [answer.span.text for answer in answers] == ["kinase"]
    doc = trained_nlp(TRAIN_DATA[0].context)
    answers = doc._.ask(TRAIN_DATA[0].question, top_k=1000)
    spans = [(a.span.start, a.span.end) for a in answers]
    assert 1 < len(spans) <= 20
    assert len(set(spans)) == len(spans)


def test_answers_expand_to_token_boundaries(trained_nlp):
    """The learnt answer "kinase" is a wordpiece inside the token "kinasecells": its span is expanded to that
    token, with its own probability (not dropped for a weaker candidate that happens to end on the token's
    boundary), and the other candidates inside the same token collapse into it; its text stays the exact
    characters the model chose, in `doc._.answers` too."""
    qa = trained_nlp.get_pipe("biobert_qa")
    doc = trained_nlp("imatinib inhibits the kinasecells.")
    answers = qa.answer(TRAIN_DATA[0].question, [doc])[0]
    assert answers[0].span.text == "kinasecells" and answers[0].score > 0.5
    assert answers[0].text == "kinase" and answers[0].offsets == (22, 28)
    spans = [(a.span.start, a.span.end) for a in answers]
    assert len(set(spans)) == len(spans) == qa.cfg["top_k"]
    doc._.questions = [TRAIN_DATA[0].question]
    doc = qa(doc)
    stored = doc._.answers[TRAIN_DATA[0].question][0]
    assert (stored.span.text, stored.text) == ("kinasecells", "kinase")
    assert qa.answer_over_docs(TRAIN_DATA[0].question, [doc])[0].text == "kinase"


def test_not_initialized(tiny_bert):
    nlp = make_nlp(tiny_bert)
    with pytest.raises(ValueError, match="E301"):
        nlp("imatinib inhibits the kinase.")
    doc = nlp.make_doc("imatinib inhibits the kinase.")
    doc._.questions = "what does imatinib inhibit?"
    with pytest.raises(ValueError, match="E301"):
        nlp(doc)


def test_ask_without_component(trained_nlp):
    install_extensions()
    with pytest.raises(ValueError, match="E303"):
        spacy.blank("en")("text")._.ask("question?")
    with pytest.raises(ValueError, match="E303"):
        trained_nlp.make_doc("text")._.ask("question?")


def test_ask_binds_the_component_that_made_the_doc(trained_nlp, tiny_bert):
    """Two QA pipelines on one vocab: each doc asks the component that processed it."""
    other = spacy.blank("en", vocab=trained_nlp.vocab)
    other.add_pipe("biobert_qa", config={"model": {"name": str(tiny_bert), "max_seq_length": 64, "doc_stride": 16,
                                                     "max_query_length": 16}})
    other.initialize(lambda: [record_to_example(other, record) for record in TRAIN_DATA])
    trained = trained_nlp(TRAIN_DATA[0].context)._.ask(TRAIN_DATA[0].question)
    untrained = other(TRAIN_DATA[0].context)._.ask(TRAIN_DATA[0].question)
    expected = trained_nlp.get_pipe("biobert_qa").answer(TRAIN_DATA[0].question, [trained_nlp(TRAIN_DATA[0].context)])[0]
    assert [(a.span.text, a.score) for a in trained] == [(a.span.text, a.score) for a in expected]
    assert [(a.span.text, a.score) for a in untrained] != [(a.span.text, a.score) for a in trained]


def test_ask_with_sourced_component(trained_nlp):
    nlp = spacy.blank("en")
    nlp.add_pipe("biobert_qa", source=trained_nlp)
    answers = nlp(TRAIN_DATA[0].context)._.ask(TRAIN_DATA[0].question)
    assert answers[0].span.text == "kinase"


def test_slow_tokenizer_is_refused(tiny_bert):
    nlp = make_nlp(tiny_bert, tokenizer_config={"use_fast": False})
    with pytest.raises(ValueError, match=r"\[E306\]"):
        nlp.initialize(lambda: [record_to_example(nlp, TRAIN_DATA[0])])


def test_bad_window_config(tiny_bert):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="E305"):
        nlp.add_pipe("biobert_qa", config={"model": {"name": str(tiny_bert), "max_seq_length": 64, "doc_stride": 48}})


def test_bad_answer_scores(tiny_bert):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="E316"):
        nlp.add_pipe("biobert_qa", config={"model": {"name": str(tiny_bert)}, "answer_scores": "max"})


def _one_window(cls_logit: float) -> tuple:
    """Logits of one window: [CLS] at 0, a question wordpiece at 1, context wordpieces 2..5 (characters 0..7)
    with the best start at 2 and the best end at 3."""
    logits = numpy.zeros((1, 6, 4), dtype="float32")
    logits[0, 0, :2] = cls_logit
    logits[0, 2, 0] = logits[0, 3, 1] = 4.0
    offsets = numpy.full((1, 6, 2), -1)
    offsets[0, 2:, 0] = [0, 2, 4, 6]
    offsets[0, 2:, 1] = [1, 3, 5, 7]
    return logits, offsets, numpy.ones((1, 6))


def test_window_scores_say_when_a_window_has_no_answer():
    """With "window" scores, a context whose [CLS] wins gives its best span a low probability, so the
    contexts of a question rank against each other; BioBERT's n-best softmax gives both the same."""
    scores = {}
    for cls_logit in (0.0, 12.0):
        logits, offsets, mask = _one_window(cls_logit)
        window = decode_windows(logits, offsets, n_best_size=5, max_answer_length=4, mask=mask, answer_scores="window")
        n_best = decode_windows(logits, offsets, n_best_size=5, max_answer_length=4, answer_scores="n_best")
        assert window[0][:2] == n_best[0][:2] == (0, 3)
        assert sum(p for _, _, p in n_best) == pytest.approx(1.0)
        assert sum(p for _, _, p in window) < 1.0
        scores[cls_logit] = (window[0][2], n_best[0][2])
    assert scores[12.0][0] < 0.01 < 0.5 < scores[0.0][0]
    assert scores[12.0][1] == pytest.approx(scores[0.0][1])


def test_update_skips_examples_without_gold(trained_nlp):
    nlp = trained_nlp
    doc = nlp.make_doc("imatinib inhibits the kinase.")
    set_qa_data(doc, ["what?"])
    reference = doc.copy()
    mark_annotated(reference, [QUESTIONS])
    losses = nlp.get_pipe("biobert_qa").update([Example(doc, reference)])
    assert losses == {"biobert_qa": 0.0}
    assert nlp.get_pipe("biobert_qa").update([]) == {"biobert_qa": 0.0}


def test_scorer_is_registered():
    scorer = registry.scorers.get("spacy_biobert.qa_scorer.v1")()
    assert scorer([]) == {
        "qa_strict_acc": 0.0,
        "qa_lenient_acc": 0.0,
        "qa_mrr": 0.0,
        "qa_squad_em": 0.0,
        "qa_squad_f1": 0.0,
    }


def test_scorer_merges_the_contexts_of_a_question():
    """Examples sharing a question id are one question: their answers merged, de-duplicated case-insensitively
    and ranked; SQuAD EM/F1 still score each example's first answer."""
    nlp = spacy.blank("en")
    question = "which drug inhibits the kinase?"
    records = [
        QARecord("q1.a", question, "imatinib inhibits the kinase.", [(0, 8)], "Q1"),
        QARecord("q1.b", question, "Imatinib is a drug; the kinase is its target.", [(0, 8)], "Q1"),
        QARecord("q2", "what raises the risk?", "brca1 raises the risk.", [(0, 5)], "Q2"),
    ]
    predicted = [  # (start, end, probability) of each context's answers
        [[22, 28, 0.9], [0, 8, 0.05]],  # kinase, imatinib
        [[0, 8, 0.8], [14, 18, 0.1]],  # Imatinib, drug
        [[0, 5, 0.7]],  # brca1
    ]
    examples = [record_to_example(nlp, record) for record in records]
    for eg, record, answers in zip(examples, records, predicted):
        set_qa_data(eg.predicted, [record.question], answers={record.question: answers})
    scores = registry.scorers.get("spacy_biobert.qa_scorer.v1")()(examples)
    # Q1 ranks kinase (0.9), Imatinib (0.8; imatinib 0.05 is its duplicate), drug: gold at rank 2. Q2: rank 1.
    assert scores == pytest.approx({"qa_strict_acc": 0.5, "qa_lenient_acc": 1.0, "qa_mrr": 0.75,
                                    "qa_squad_em": 2 / 3, "qa_squad_f1": 2 / 3})


def test_evaluate_cli_scores_the_trained_pipeline(trained_nlp, tmp_path):
    """`evaluate --task qa` on a folder holding a SQuAD test file and the golden JSON (no `--gold`): the trained
    pipeline's answers against the gold, one gold deliberately absent from its context."""
    data = tmp_path / "test"
    data.mkdir()
    paragraphs = [{"context": r.context, "qas": [{"id": r.id, "question": r.question}]} for r in TRAIN_DATA]
    (data / "batch.json").write_text(json.dumps({"data": [{"paragraphs": paragraphs}]}), encoding="utf8")
    golds = ANSWERS[:2] + ["insulin"]
    questions = [{"id": r.id, "type": "factoid", "body": r.question, "exact_answer": [[gold]], "snippets": []}
                 for r, gold in zip(TRAIN_DATA, golds)]
    (data / "golden.json").write_text(json.dumps({"questions": questions}), encoding="utf8")
    trained_nlp.to_disk(tmp_path / "model")
    output = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "model"), str(data), "--task", "qa",
                                      "--output", str(output)])
    assert result.exit_code == 0, result.output
    results = json.loads(output.read_text(encoding="utf8"))
    assert [(row["batch"], row["questions"], row["contexts"]) for row in results["rows"]] == [("batch", 3, 3)]
    scores = results["scores"]
    assert (scores["qa_strict_acc"], scores["qa_lenient_acc"], scores["qa_mrr"]) == pytest.approx((2 / 3,) * 3)


def test_windows_longer_than_the_model_positions(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("biobert_qa", config={"model": {"name": str(tiny_bert), "max_seq_length": 600, "doc_stride": 16,
                                                 "max_query_length": 16}})
    examples = [record_to_example(nlp, record) for record in TRAIN_DATA]
    with pytest.raises(ValueError, match="E314"):
        nlp.initialize(lambda: examples)


def test_head_starts_from_bert_initialisation(tiny_bert):
    """The factory's head is drawn from N(0, 0.02²), as BERT's SQuAD head, not from thinc's Glorot default."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("biobert_qa", config={"model": {"name": str(tiny_bert), "max_seq_length": 64, "doc_stride": 16,
                                                 "max_query_length": 16}})
    nlp.initialize(lambda: [record_to_example(nlp, TRAIN_DATA[0])])
    weights = nlp.get_pipe("biobert_qa").model.layers[1].get_param("W")
    assert weights.std() == pytest.approx(0.02, rel=0.25)
    assert abs(float(weights.mean())) < 0.01
    glorot = make_nlp(tiny_bert)
    glorot.initialize(lambda: [record_to_example(glorot, TRAIN_DATA[0])])
    assert glorot.get_pipe("biobert_qa").model.layers[1].get_param("W").std() > 0.1
