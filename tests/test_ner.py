"""biobert_ner on a tiny random BERT: training, decoding, serialisation, several instances, long docs."""
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import fix_random_seed, registry
from thinc.api import Linear, Model

from spacy_biobert.evaluation.ner import evaluate
from spacy_biobert.pipeline.ner import bio_transitions, merge_entities, viterbi_decode
from spacy_biobert.readers.ner import sentence_to_example

from .util import blank_with_transformer

TRAIN_DATA = [
    ("tamoxifen lowers breast cancer risk".split(), "B-Chemical O B-Disease I-Disease O".split()),
    ("brca1 mutations cause breast cancer".split(), "O O O B-Disease I-Disease".split()),
    ("imatinib inhibits the kinase".split(), "B-Chemical O O O".split()),
    ("patients with tumor were given tamoxifen".split(), "O O B-Disease O O B-Chemical".split()),
]
# Two corpora with different types: each NER instance learns only from its own.
CHEMICAL_DATA = [
    ("tamoxifen lowers breast cancer risk".split(), "B-Chemical O O O O".split()),
    ("imatinib inhibits the kinase".split(), "B-Chemical O O O".split()),
]
DISEASE_DATA = [
    ("brca1 mutations cause breast cancer".split(), "O O O B-Disease I-Disease".split()),
    ("patients with tumor were given tamoxifen".split(), "O O B-Disease O O O".split()),
]
N_UPDATES = 60


def make_nlp(tiny_bert: Path, ner_names: Sequence[str] = ("biobert_ner",), **ner_config) -> Language:
    nlp = blank_with_transformer(tiny_bert)
    for name in ner_names:
        nlp.add_pipe("biobert_ner", name=name, config=ner_config)
    return nlp


def examples_for(nlp: Language, data: List[Tuple[List[str], List[str]]], key: str) -> List[Example]:
    return [sentence_to_example(nlp, words, tags, spans_key=key) for words, tags in data]


def train(nlp: Language, examples: List[Example], n_updates: int = N_UPDATES) -> None:
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(n_updates):
        nlp.update(examples, sgd=optimizer, losses={})


def ents(doc: Doc) -> List[Tuple[str, str]]:
    return [(ent.text, ent.label_) for ent in doc.ents]


def ent_scores(docs: Sequence[Doc]) -> List[float]:
    return [ent._.score for doc in docs for ent in doc.ents]


@pytest.fixture(scope="module")
def trained(tiny_bert: Path) -> Language:
    nlp = make_nlp(tiny_bert)
    train(nlp, examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    return nlp


def test_overfitting_IO(trained: Language, tmp_path: Path):
    texts = [" ".join(words) for words, _ in TRAIN_DATA]
    expected = [[(s.text, s.label_) for s in eg.reference.ents] for eg in examples_for(trained, TRAIN_DATA, "x")]
    docs = list(trained.pipe(texts))
    assert [ents(doc) for doc in docs] == expected
    for doc in docs:
        assert [(s.text, s.label_) for s in doc.spans["biobert_ner"]] == ents(doc)
        assert all(0.0 <= ent._.score <= 1.0 for ent in doc.ents)
        assert doc.spans["biobert_ner"].attrs["scores"] == [ent._.score for ent in doc.ents]
    scores = trained.evaluate(examples_for(trained, TRAIN_DATA, "biobert_ner"))
    assert scores["ents_f"] == 1.0
    assert set(scores["ents_per_type"]) == {"Chemical", "Disease"}

    trained.to_disk(tmp_path / "model")
    nlp2 = spacy.load(tmp_path / "model")
    assert nlp2.get_pipe("biobert_ner").labels == ("Chemical", "Disease")
    docs2 = list(nlp2.pipe(texts))
    assert [ents(doc) for doc in docs2] == expected
    assert ent_scores(docs2) == pytest.approx(ent_scores(docs))

    tsv = tmp_path / "test.tsv"
    tsv.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*sent)) for sent in TRAIN_DATA) + "\n")
    results = evaluate(str(tmp_path / "model"), tsv)
    assert results["scores"]["ents_f"] == 1.0
    assert results["scores"]["ents_untyped_f"] == 1.0
    assert [row["type"] for row in results["rows"]] == ["Chemical", "Disease"]


def test_not_initialized(tiny_bert: Path):
    nlp = make_nlp(tiny_bert)
    with pytest.raises(ValueError, match=r"\[E101\]"):
        nlp.get_pipe("biobert_ner").predict([nlp.make_doc("tamoxifen")])


def test_unknown_decoder(tiny_bert: Path):
    with pytest.raises(ValueError, match=r"\[E102\]"):
        make_nlp(tiny_bert, decoder="beam")


def test_no_labels_in_data(tiny_bert: Path):
    nlp = make_nlp(tiny_bert)
    examples = examples_for(nlp, [(["a", "b"], ["O", "O"])], "biobert_ner")
    with pytest.raises(ValueError, match=r"\[E103\]"):
        nlp.initialize(lambda: examples)


def test_labels_argument(tiny_bert: Path):
    nlp = make_nlp(tiny_bert)
    nlp.config["initialize"]["components"]["biobert_ner"] = {"labels": ["Gene", "Chemical"]}
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    assert nlp.get_pipe("biobert_ner").labels == ("Gene", "Chemical")


def test_add_label_before_initialize_is_kept(tiny_bert: Path):
    """Labels added with `add_label` stay through `initialize`, beside those of the data or of `labels`."""
    nlp = make_nlp(tiny_bert, ner_names=("ner_data", "ner_given"))
    nlp.get_pipe("ner_data").add_label("Gene")
    nlp.get_pipe("ner_given").add_label("Gene")
    nlp.config["initialize"]["components"]["ner_given"] = {"labels": ["Species"]}
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "ner_data") + examples_for(nlp, TRAIN_DATA, "ner_given"))
    assert nlp.get_pipe("ner_data").labels == ("Gene", "Chemical", "Disease")
    assert nlp.get_pipe("ner_given").labels == ("Gene", "Species")


def test_add_label_after_initialize(trained: Language):
    ner = trained.get_pipe("biobert_ner")
    with pytest.raises(ValueError, match=r"\[E104\]"):
        ner.add_label("Gene")
    assert ner.labels == ("Chemical", "Disease")


def test_add_label_before_initialize(tiny_bert: Path):
    nlp = make_nlp(tiny_bert)
    ner = nlp.get_pipe("biobert_ner")
    assert ner.add_label("Gene") == 1 and ner.add_label("Gene") == 0
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    assert set(ner.labels) == {"Chemical", "Disease", "Gene"}
    assert ner.model.get_ref("output_layer").get_dim("nO") == len(ner.tags) == 7


def test_empty_doc(trained: Language):
    doc = trained("")
    assert len(doc.ents) == 0 and len(doc.spans["biobert_ner"]) == 0
    docs = list(trained.pipe(["", "tamoxifen lowers breast cancer risk", ""]))
    assert ents(docs[1]) == [("tamoxifen", "Chemical"), ("breast cancer", "Disease")]
    losses = trained.get_pipe("biobert_ner").update([Example(trained.make_doc(""), trained.make_doc(""))])
    assert losses == {"biobert_ner": 0.0}


def test_whitespace_tokens(trained: Language):
    doc = trained("tamoxifen  lowers \n breast cancer risk")
    assert ents(doc) == [("tamoxifen", "Chemical"), ("breast cancer", "Disease")]


@pytest.mark.slow
def test_long_doc_gets_entities_throughout(trained: Language):
    sentence = "tamoxifen lowers breast cancer risk".split()
    n_repeats = 4000
    words = sentence * n_repeats
    assert len(words) == 20000
    doc = trained(Doc(trained.vocab, words=words))
    starts = [ent.start for ent in doc.ents]
    thirds = [sum(1 for s in starts if k * len(doc) // 3 <= s < (k + 1) * len(doc) // 3) for k in range(3)]
    assert all(count > 0.9 * 2 * n_repeats / 3 for count in thirds), thirds
    assert any(ent.start > 19900 for ent in doc.ents)


def _is_valid(tags: Sequence[str]) -> bool:
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return False
        prev = tag
    return True


def test_viterbi_never_invalid_and_optimal():
    rng = numpy.random.RandomState(0)
    for _ in range(300):
        n_labels = rng.randint(1, 4)
        n_tags = 1 + 2 * n_labels
        n_tokens = rng.randint(0, 7)
        probs = rng.dirichlet(numpy.ones(n_tags) * 0.3, size=n_tokens).astype("f")
        tags = ["O"] + [f"{p}-L{i}" for i in range(n_labels) for p in ("B", "I")]
        allowed, allowed_start = bio_transitions(n_labels)
        path = viterbi_decode(probs, allowed, allowed_start)
        assert len(path) == n_tokens
        assert _is_valid([tags[i] for i in path])
        if n_tokens <= 4:
            log_probs = numpy.log(numpy.maximum(probs, 1e-12))
            best = max(
                (seq for seq in itertools.product(range(n_tags), repeat=n_tokens) if _is_valid([tags[i] for i in seq])),
                key=lambda seq: sum(log_probs[i, t] for i, t in enumerate(seq)),
            )
            score = sum(log_probs[i, t] for i, t in enumerate(path))
            assert score == pytest.approx(sum(log_probs[i, t] for i, t in enumerate(best)), abs=1e-6)


# Tag probabilities of four tokens over O, B-Chemical, I-Chemical, B-Disease, I-Disease: their argmax,
# I-Disease I-Disease O I-Chemical, is no valid BIO sequence; the best valid one is B-Disease I-Disease O O.
FIXED_PROBS = numpy.asarray(
    [[0.40, 0.0, 0.0, 0.10, 0.50], [0.05, 0.0, 0.0, 0.05, 0.90], [0.90, 0.05, 0.05, 0.0, 0.0],
     [0.45, 0.05, 0.50, 0.0, 0.0]],
    dtype="f",
)


@registry.architectures("test_ner.FixedProbabilities.v1")
def fixed_probabilities() -> Model:
    """A stand-in token classifier giving every doc FIXED_PROBS' rows, so the decoders see known probabilities."""
    output_layer = Linear()

    def forward(model: Model, docs: List[Doc], is_train: bool):
        return [model.ops.asarray2f(FIXED_PROBS[: len(doc)]) for doc in docs], lambda d_scores: []

    return Model("fixed_probabilities", forward, init=lambda model, X=None, Y=None: None, layers=[output_layer],
                 refs={"output_layer": output_layer})


@pytest.mark.parametrize(
    "decoder,expected",
    [
        ("viterbi", [("a b", "Disease", 0.5)]),
        # argmax reads invalid tags as conlleval does: an I- tag after O or another type starts an entity.
        ("argmax", [("a b", "Disease", 0.7), ("d", "Chemical", 0.5)]),
    ],
)
def test_decoder_on_known_probabilities(decoder: str, expected: List[Tuple[str, str, float]]):
    nlp = spacy.blank("en")
    model = {"@architectures": "test_ner.FixedProbabilities.v1"}
    nlp.add_pipe("biobert_ner", config={"decoder": decoder, "model": model})
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    assert nlp.get_pipe("biobert_ner").tags == ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
    doc = nlp("a b c d")
    assert [(ent.text, ent.label_, pytest.approx(ent._.score)) for ent in doc.ents] == expected


def test_merge_keeps_unscored_and_prefers_higher_score(trained: Language):
    doc = trained.make_doc("a b c d e")
    ruled = Span(doc, 0, 1, label="Rule")
    low = Span(doc, 1, 3, label="X")
    high = Span(doc, 2, 4, label="Y")
    low._.score, high._.score = 0.4, 0.9
    overlapping_rule = Span(doc, 0, 2, label="Z")
    overlapping_rule._.score = 0.99
    merged = merge_entities(doc, [ruled], [low, high, overlapping_rule])
    assert [(s.start, s.end, s.label_) for s in merged] == [(0, 1, "Rule"), (2, 4, "Y")]


def test_two_instances_share_transformer_and_learn_from_own_corpus(tiny_bert: Path):
    nlp = make_nlp(tiny_bert, ner_names=("ner_chemical", "ner_disease"))
    chem = examples_for(nlp, CHEMICAL_DATA, "ner_chemical")
    dis = examples_for(nlp, DISEASE_DATA, "ner_disease")
    ner_chem, ner_dis = nlp.get_pipe("ner_chemical"), nlp.get_pipe("ner_disease")
    assert nlp.get_pipe("transformer").listening_components == ["ner_chemical", "ner_disease"]
    train(nlp, chem + dis)
    assert ner_chem.labels == ("Chemical",) and ner_dis.labels == ("Disease",)
    # A corpus that is not the component's own gives it no loss and a zero gradient.
    scores = ner_dis.model.predict([eg.predicted for eg in chem])
    loss, d_scores = ner_dis.get_loss(chem, scores)
    assert loss == 0.0 and all(not d.any() for d in d_scores)
    loss, d_scores = ner_dis.get_loss(dis, ner_dis.model.predict([eg.predicted for eg in dis]))
    assert any(d.any() for d in d_scores)
    for eg in chem:
        doc = nlp(eg.reference.text)
        assert [(s.text, s.label_) for s in doc.spans["ner_chemical"]] == [(s.text, s.label_) for s in eg.reference.ents]
    for eg in dis:
        doc = nlp(eg.reference.text)
        assert [(s.text, s.label_) for s in doc.spans["ner_disease"]] == [(s.text, s.label_) for s in eg.reference.ents]
        # Both instances write to doc.ents; where they overlap, the higher-scoring span stays.
        for span in doc.spans["ner_chemical"]:
            assert span in doc.ents or any(
                ent._.score >= span._.score for ent in doc.ents if ent.start < span.end and span.start < ent.end
            )
    # Each instance's own score survives in `spans_<key>_f`; `ents_f` is the last instance's.
    scores = nlp.evaluate(chem + dis)
    assert scores["spans_ner_chemical_f"] == 1.0 and scores["spans_ner_disease_f"] == 1.0
    assert scores["ents_f"] == scores["spans_ner_disease_f"]


def test_unmarked_examples_teach_every_instance(tiny_bert: Path):
    nlp = make_nlp(tiny_bert, ner_names=("ner_a",))
    examples = examples_for(nlp, TRAIN_DATA, "ner_a")
    for eg in examples:
        eg.reference.user_data.clear()
        del eg.reference.spans["ner_a"]
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("ner_a").labels == ("Chemical", "Disease")


N_PROCESS_SCRIPT = """
import json, sys
import spacy
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
multi = list(nlp.pipe(texts, n_process=2, batch_size=4))
single = list(nlp.pipe(texts))
out = [[[(e.text, e.label_, e._.score) for e in d.ents], d.spans["biobert_ner"].attrs["scores"]] for d in multi + single]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_pipe_n_process(trained: Language, tmp_path: Path):
    """`nlp.pipe(n_process=2)` in a fresh interpreter (forking after torch has run its thread pool hangs)."""
    trained.to_disk(tmp_path / "model")
    texts = [" ".join(words) for words, _ in TRAIN_DATA] * 4
    result = subprocess.run(
        [sys.executable, "-c", N_PROCESS_SCRIPT, str(tmp_path / "model"), json.dumps(texts)],
        capture_output=True, text=True, timeout=600, check=True,
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    multi, single = out[: len(texts)], out[len(texts):]
    assert [[e[:2] for e in doc[0]] for doc in multi] == [[e[:2] for e in doc[0]] for doc in single]
    assert [e[2] for doc in multi for e in doc[0]] == pytest.approx([e[2] for doc in single for e in doc[0]])
    assert [doc[1] for doc in multi] == [[e[2] for e in doc[0]] for doc in multi]
    assert [[tuple(e[:2]) for e in doc[0]] for doc in single[:4]] == [
        [(s.text, s.label_) for s in eg.reference.ents] for eg in examples_for(trained, TRAIN_DATA, "x")
    ]


@pytest.mark.slow
def test_config_trains_with_spacy_train(tiny_bert: Path, tmp_path: Path):
    """configs/ner.cfg runs through `spacy train` on a typed IOB TSV (a few steps on the tiny BERT)."""
    from spacy.cli.train import train as spacy_train

    tsv = tmp_path / "train.tsv"
    tsv.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*sent)) for sent in TRAIN_DATA) + "\n")
    config = Path(__file__).resolve().parent.parent / "configs" / "ner.cfg"
    overrides = {
        "paths.train": str(tsv),
        "paths.dev": str(tsv),
        "paths.base_model": str(tiny_bert),
        "training.max_steps": 4,
        "training.eval_frequency": 2,
        "training.optimizer.learn_rate.warmup_steps": 1,
    }
    spacy_train(config, tmp_path / "out", overrides=overrides)
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.pipe_names == ["transformer", "biobert_ner", "doc_cleaner"]
    assert nlp.get_pipe("biobert_ner").labels == ("Chemical", "Disease")
    assert "ents_f" in nlp.evaluate(examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    words = TRAIN_DATA[0][0]
    assert nlp(Doc(nlp.vocab, words=words))._.trf_data is None
    kept = spacy.load(tmp_path / "out" / "model-last", exclude=["doc_cleaner"])
    assert kept(Doc(kept.vocab, words=words))._.trf_data is not None


@pytest.mark.parametrize("init_W,nonzero", [(None, True), ({"@initializers": "zero_init.v1"}, False)])
def test_output_layer_initializer(tiny_bert: Path, init_W, nonzero):
    config = {"model": {"init_W": init_W}} if init_W else {}
    nlp = make_nlp(tiny_bert, **config)
    nlp.initialize(lambda: examples_for(nlp, TRAIN_DATA, "biobert_ner"))
    W = nlp.get_pipe("biobert_ner").model.get_ref("output_layer").get_param("W")
    assert bool(W.any()) == nonzero
