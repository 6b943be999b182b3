"""biobert_qa must learn: a tiny synthetic QA set, answers at varied positions in contexts of several windows.

Guards the defect of issue 12: the QA benchmark's training loop built thinc's `warmup_linear` with its
arguments in the wrong order and never stepped the schedule, so every update used a learning rate of 0
and biobert_qa "did not learn". Both the component under spaCy's own optimizer config (configs/qa.cfg)
and the benchmark's loop (bench/qa_vs_hf.py) must reach near-perfect span accuracy in a few dozen updates.
"""
import random
import sys
from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
from spacy.util import fix_random_seed, load_config, registry

from spacy_biobert.readers.qa import QARecord, record_to_example

from .util import numeric_gradient

ROOT = Path(__file__).parent.parent
FILLER = "the cell is associated with the tumor in patients .".split()
ANSWERS = ["brca1", "imatinib", "tamoxifen", "kinase"]
WINDOW = {"max_seq_length": 48, "doc_stride": 16, "max_query_length": 8}


def synthetic_records(n: int, seed: int = 0) -> List[QARecord]:
    """Contexts of 40-70 filler words with one answer word at a random place: 2-4 windows each."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(40, 70))]
        position = rng.randint(0, len(words))
        answer = rng.choice(ANSWERS)
        words.insert(position, answer)
        context = " ".join(words)
        start = len(" ".join(words[:position])) + (1 if position else 0)
        records.append(QARecord(f"s{i}", "what is the answer?", context, [(start, start + len(answer))]))
    return records


def span_accuracy(nlp: spacy.language.Language, records: List[QARecord]) -> float:
    qa = nlp.get_pipe("biobert_qa")
    docs = [nlp.make_doc(record.context) for record in records]
    answers = qa.answer([record.question for record in records], docs, top_k=1)
    hits = [bool(a) and (a[0].span.start_char, a[0].span.end_char) == r.answers[0] for a, r in zip(answers, records)]
    return sum(hits) / len(records)


@pytest.fixture(scope="module")
def records():
    return synthetic_records(24)


@pytest.fixture(scope="module")
def base(tiny_bert):
    return str(tiny_bert)


def test_synthetic_contexts_need_several_windows(base, records):
    nlp = spacy.blank("en")
    qa = nlp.add_pipe("biobert_qa", config={"model": {"name": base, **WINDOW}})
    nlp.initialize(lambda: [record_to_example(nlp, r) for r in records])
    windows = qa.model.predict([(r.question, r.context) for r in records])
    assert len(windows) >= 2 * len(records)


def test_biobert_qa_learns_with_the_training_config_optimizer(base, records):
    """The optimizer of configs/qa.cfg, stepped as `spacy train` steps it."""
    fix_random_seed(0)
    config = load_config(ROOT / "configs" / "qa.cfg")
    optimizer_config = config["training"]["optimizer"]
    steps = 40
    optimizer_config["learn_rate"].update({"warmup_steps": 4, "total_steps": steps, "initial_rate": 0.003})
    optimizer = registry.resolve({"optimizer": optimizer_config})["optimizer"]
    nlp = spacy.blank("en")
    nlp.add_pipe("biobert_qa", config={"model": {"name": base, **WINDOW}})
    examples = [record_to_example(nlp, r) for r in records]
    nlp.initialize(lambda: examples, sgd=optimizer)
    assert span_accuracy(nlp, records) < 0.5
    for step in range(steps):
        batch = examples[(step * 8) % len(examples) :][:8]
        nlp.update(batch, sgd=optimizer, drop=0.1)
        optimizer.step_schedules()
    assert span_accuracy(nlp, records) >= 0.9


def test_benchmark_training_loop_learns(base, records):
    """bench/qa_vs_hf.py's biobert_qa loop (the one that trained nothing) on the same data."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import qa_vs_hf
    finally:
        sys.path.remove(str(ROOT / "bench"))
    args = qa_vs_hf.build_parser().parse_args([])
    vars(args).update(base=base, seed=0, steps=40, epochs=0, batch_size=8, lr=0.003, warmup=0.1, weight_decay=0.01,
                      max_answer_length=30, n_best=20, **WINDOW)
    nlp = qa_vs_hf.train_biobert_qa(args, records)
    assert span_accuracy(nlp, records) >= 0.9


def yesno_records(n: int, seed: int = 0) -> List[QARecord]:
    """Yes/no questions whose answer is "yes" where the context says "raises", "no" where it says "lowers"."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        verb = rng.choice(["raises", "lowers"])
        words = [rng.choice(FILLER) for _ in range(rng.randint(5, 15))] + ["brca1", verb, "the", "risk", "."]
        label = "yes" if verb == "raises" else "no"
        records.append(QARecord(f"y{i}", "does brca1 raise the risk?", " ".join(words), [], f"y{i}", "yesno", label))
    return records


def test_yesno_head_learns(base, records):
    fix_random_seed(0)
    yesno = yesno_records(16)
    nlp = spacy.blank("en")
    qa = nlp.add_pipe("biobert_qa", config={"model": {"name": base, **WINDOW, "yesno": True}})
    examples = [record_to_example(nlp, r) for r in yesno + records[:8]]
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.003
    for step in range(45):
        nlp.update(examples[(step * 8) % len(examples) :][:8], sgd=optimizer)
    probabilities = qa.yes_probabilities([r.question for r in yesno], [nlp.make_doc(r.context) for r in yesno])
    assert all((p >= 0.5) == (r.yesno == "yes") for p, r in zip(probabilities, yesno))
    doc = nlp.make_doc(yesno[0].context)
    doc._.questions = [yesno[0].question]
    assert (nlp(doc).user_data["biobert_qa.yesno"][yesno[0].question] >= 0.5) == (yesno[0].yesno == "yes")


def test_yesno_needs_the_head(base, records):
    nlp = spacy.blank("en")
    qa = nlp.add_pipe("biobert_qa", config={"model": {"name": base, **WINDOW}})
    examples = [record_to_example(nlp, r) for r in yesno_records(2)]
    nlp.initialize(lambda: [record_to_example(nlp, r) for r in records[:2]])
    with pytest.raises(ValueError, match="E312"):
        nlp.update(examples)
    with pytest.raises(ValueError, match="E312"):
        qa.yes_probabilities("does it?", [nlp.make_doc("it does.")])


def test_loss_gradient_matches_finite_differences(base, records):
    """get_loss's d_logits is the gradient of its loss: checked by central differences on every logit of the
    tiny model's windows (shifted by noise), for a context of several windows (the windows without the answer
    target [CLS]), an answer occurring twice in one window (the loss targets the first) and a yes/no
    question (its no/yes logits at [CLS])."""
    nlp = spacy.blank("en")
    qa = nlp.add_pipe("biobert_qa", config={"model": {"name": base, **WINDOW, "yesno": True}})
    twice = QARecord("t", "which kinase?", "the kinase and the kinase .", [(4, 10), (19, 25)])
    chosen = records[:1] + [twice] + yesno_records(1)
    examples = [record_to_example(nlp, r) for r in chosen]
    nlp.initialize(lambda: examples)
    windows = qa.model.predict([(r.question, r.context) for r in chosen])
    assert list(windows.example_ids).count(0) >= 2
    logits = numpy.asarray(windows.logits, dtype="float64")
    logits += numpy.random.RandomState(0).normal(0.0, 1.0, logits.shape)

    def loss_at(values: numpy.ndarray) -> float:
        windows.logits = values
        return qa.get_loss(examples, windows)[0]

    windows.logits = logits
    loss, d_logits = qa.get_loss(examples, windows)
    assert loss > 0.0
    numeric = numeric_gradient(loss_at, logits, eps=1e-5)
    assert numpy.abs(numeric).max() > 1e-2
    assert numpy.asarray(d_logits, dtype="float64") == pytest.approx(numeric, abs=1e-6)


def test_loss_is_berts_squad_objective(base):
    """With equal logits every real wordpiece of the window is equally likely: the loss is ln(real wordpieces)
    (question and special tokens compete too, padding does not), and only the first gold occurrence is a
    target: its start and end wordpieces get p - 1, the second occurrence's get p."""
    nlp = spacy.blank("en")
    qa = nlp.add_pipe("biobert_qa", config={"model": {"name": base, **WINDOW}})
    twice = QARecord("t", "which kinase?", "the kinase and the kinase .", [(4, 10), (19, 25)])
    short = QARecord("s", "which?", "a kinase .", [(2, 8)])
    examples = [record_to_example(nlp, r) for r in (twice, short)]
    nlp.initialize(lambda: examples)
    windows = qa.model.predict([(r.question, r.context) for r in (twice, short)])
    assert len(windows) == 2 and windows.attention_mask[1].sum() < windows.attention_mask[0].sum()
    windows.logits = numpy.zeros(windows.logits.shape, dtype="float32")
    loss, d_logits = qa.get_loss(examples, windows)
    n_real = windows.attention_mask.sum(axis=1)
    assert loss == pytest.approx(numpy.log(n_real).mean(), rel=1e-6)
    d_logits = numpy.asarray(d_logits) * 4  # 2 windows x (start + end)
    first, second = [int(numpy.flatnonzero(windows.offsets[0, :, 0] == start)[0]) for start in (4, 19)]
    p = 1.0 / n_real[0]
    assert d_logits[0, first, 0] == pytest.approx(p - 1.0) and d_logits[0, first, 1] == pytest.approx(p - 1.0)
    assert d_logits[0, second, 0] == pytest.approx(p) and d_logits[0, 1, 0] == pytest.approx(p)
    assert not d_logits[1, n_real[1]:].any()
