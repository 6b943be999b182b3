"""biobert_rel: candidates, training, prediction, serialisation, with a tiny random BERT."""
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from thinc.api import Adam, fix_random_seed
from typer.testing import CliRunner

from spacy_biobert.annotations import mark_annotated
from spacy_biobert.cli import app
from spacy_biobert.data_classes import RELATIONS_KEY, Relation, encode_relation, set_relations
from spacy_biobert.pipeline.rel import create_entity_pairs
from spacy_biobert.readers.rel import create_rel_jsonl_reader, create_re_tsv_reader

from .util import blank_with_transformer, make_tiny_bert, numeric_gradient, train_ner_rel, write_records

TRAIN_TSV = [
    ("@GENE$ mutations cause @DISEASE$ .", "1"),
    ("@GENE$ is not associated with @DISEASE$ .", "0"),
    ("the @GENE$ kinase causes @DISEASE$ in patients .", "1"),
    ("@GENE$ was not with @DISEASE$ risk .", "0"),
]

MULTI_JSONL = [
    {
        "text": "brca1 causes cancer and tamoxifen inhibits tumor",
        "entities": [
            {"start": 0, "end": 5, "label": "GENE"},
            {"start": 13, "end": 19, "label": "DISEASE"},
            {"start": 24, "end": 33, "label": "DRUG"},
            {"start": 43, "end": 48, "label": "DISEASE"},
        ],
        "relations": [
            {"head": 0, "tail": 1, "label": "CAUSES"},
            {"head": 0, "tail": 1, "label": "ASSOCIATED"},
            {"head": 2, "tail": 3, "label": "TREATS"},
        ],
    }
]


def make_nlp(tiny_bert: Path, rel_config: dict = None) -> Language:
    """A blank pipeline: a transformer on the tiny BERT and biobert_rel listening to it."""
    nlp = blank_with_transformer(tiny_bert)
    nlp.add_pipe("biobert_rel", config=rel_config or {})
    return nlp


def write_tsv(path: Path, rows, header: bool = False) -> Path:
    lines = ["index\tsentence\tlabel"] if header else []
    for i, (sentence, label) in enumerate(rows):
        lines.append(f"{i}\t{sentence}\t{label}" if header else f"{sentence}\t{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def train(nlp: Language, examples: List[Example], n_iter: int = 40, lr: float = 1e-3) -> None:
    nlp.initialize(get_examples=lambda: examples)
    optimizer = Adam(lr)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, drop=0.0)


def relations_of(doc: Doc):
    return sorted((r.head.text, r.tail.text, r.label) for r in doc._.relations)


def doc_with_ents(nlp: Language, words: List[str], ents, sent_starts=None) -> Doc:
    doc = Doc(nlp.vocab, words=words, sent_starts=sent_starts)
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in ents]
    return doc


@contextmanager
def pipe_cfg(pipe, **settings) -> Iterator:
    """Change settings of a component's `cfg` (threshold, spans_keys) for a block, on a shared pipeline."""
    saved = {key: pipe.cfg[key] for key in settings}
    pipe.cfg.update(settings)
    try:
        yield pipe
    finally:
        pipe.cfg.update(saved)


def test_entity_pairs_generator():
    nlp = spacy.blank("en")
    words = "brca1 causes cancer . so tp53 and lymphoma".split()
    doc = doc_with_ents(nlp, words, [(0, 1, "GENE"), (2, 3, "DISEASE"), (5, 6, "GENE"), (7, 8, "DISEASE")])
    labels = [e.label_ for e in doc.ents]
    every = create_entity_pairs()(doc, doc.ents, labels)
    assert len(every) == 12  # ordered pairs of 4 entities, one "sentence" (no boundaries set)
    allowed = create_entity_pairs(allowed_pairs=[["GENE", "DISEASE"]])(doc, doc.ents, labels)
    assert [(c.head.text, c.tail.text) for c in allowed] == [
        ("brca1", "cancer"), ("brca1", "lymphoma"), ("tp53", "cancer"), ("tp53", "lymphoma")
    ]
    unordered = create_entity_pairs(allowed_pairs=[["GENE", "DISEASE"]], ordered=False)(doc, doc.ents, labels)
    assert len(unordered) == 8
    near = create_entity_pairs(max_distance=1, allowed_pairs=[["GENE", "DISEASE"]])(doc, doc.ents, labels)
    assert [(c.head.text, c.tail.text) for c in near] == [("brca1", "cancer"), ("tp53", "lymphoma")]


def test_entity_pairs_stay_in_one_sentence():
    nlp = spacy.blank("en")
    words = "brca1 causes cancer . tp53 and lymphoma".split()
    sent_starts = [True, False, False, False, True, False, False]
    doc = doc_with_ents(nlp, words, [(0, 1, "GENE"), (2, 3, "DISEASE"), (4, 5, "GENE"), (6, 7, "DISEASE")],
                        sent_starts)
    pairs = create_entity_pairs(allowed_pairs=[["GENE", "DISEASE"]])(doc, doc.ents, [e.label_ for e in doc.ents])
    assert [(c.head.text, c.tail.text, c.context.text) for c in pairs] == [
        ("brca1", "cancer", "brca1 causes cancer ."), ("tp53", "lymphoma", "tp53 and lymphoma")
    ]


def test_not_initialized(tiny_bert):
    nlp = make_nlp(tiny_bert)
    doc = doc_with_ents(nlp, "brca1 causes cancer".split(), [(0, 1, "GENE"), (2, 3, "DISEASE")])
    with pytest.raises(ValueError, match=r"E201"):
        nlp.get_pipe("biobert_rel")(doc)


def test_add_label(tiny_bert, tmp_path):
    nlp = make_nlp(tiny_bert)
    rel = nlp.get_pipe("biobert_rel")
    assert rel.add_label("TREATS") == 1 and rel.add_label("TREATS") == 0
    examples = list(create_re_tsv_reader(write_tsv(tmp_path / "train.tsv", TRAIN_TSV))(nlp))
    nlp.initialize(get_examples=lambda: examples)
    assert rel.labels == ("ASSOCIATED", "TREATS")
    assert rel.output_labels == ("NO_RELATION", "ASSOCIATED", "TREATS")
    assert rel.model.get_dim("nO") == 3
    with pytest.raises(ValueError, match="E207"):
        rel.add_label("CAUSES")


def test_add_label_before_initialize_with_labels(tiny_bert, tmp_path):
    nlp = make_nlp(tiny_bert)
    nlp.get_pipe("biobert_rel").add_label("TREATS")
    nlp.config["initialize"]["components"]["biobert_rel"] = {"labels": ["CAUSES"]}
    examples = list(create_re_tsv_reader(write_tsv(tmp_path / "train.tsv", TRAIN_TSV))(nlp))
    nlp.initialize(get_examples=lambda: examples)
    assert nlp.get_pipe("biobert_rel").labels == ("CAUSES", "TREATS")


@pytest.mark.parametrize(
    "config,code",
    [
        ({"model": {"context": "paragraph"}}, "E203"),
        ({"candidates": {"@misc": "spacy_biobert.entity_pairs.v1", "allowed_pairs": [["GENE"]]}}, "E204"),
    ],
)
def test_bad_config(tiny_bert, config, code):
    with pytest.raises(ValueError, match=rf"\[{code}\]"):
        make_nlp(tiny_bert, config)


def _softmax(logits: numpy.ndarray) -> numpy.ndarray:
    exp = numpy.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _sigmoid(logits: numpy.ndarray) -> numpy.ndarray:
    return 1.0 / (1.0 + numpy.exp(-logits))


@pytest.mark.parametrize("multi_label", [False, True])
def test_loss_gradient_matches_finite_differences(tiny_bert, tmp_path, multi_label):
    """get_loss takes the output layer's probabilities (softmax, or sigmoids in multi-label mode) and returns
    the gradient of its loss with respect to the logits under them: checked by central differences, around the
    tiny model's own outputs, on a doc where one pair has two gold labels."""
    nlp = make_nlp(tiny_bert, {"model": {"multi_label": multi_label}})
    examples = list(create_rel_jsonl_reader(write_records(tmp_path / "train.jsonl", MULTI_JSONL))(nlp))
    nlp.initialize(get_examples=lambda: examples)
    rel = nlp.get_pipe("biobert_rel")
    _, probs = rel.predict([nlp.get_pipe("transformer")(eg.predicted.copy()) for eg in examples])
    assert probs.shape == (12, 3 if multi_label else 4)  # 4 mentions: 12 ordered pairs
    probs = numpy.asarray(probs, dtype="float64")
    activation = _sigmoid if multi_label else _softmax
    logits = numpy.log(probs / (1.0 - probs)) if multi_label else numpy.log(probs)
    loss, d_logits = rel.get_loss(examples, activation(logits))
    assert loss > 0.0
    numeric = numeric_gradient(lambda values: rel.get_loss(examples, activation(values))[0], logits)
    assert numpy.abs(numeric).max() > 1e-3
    assert numpy.asarray(d_logits) == pytest.approx(numeric, abs=1e-7)


def test_initialize_without_relations(tiny_bert, tmp_path):
    nlp = make_nlp(tiny_bert)
    rows = [(s, "0") for s, _ in TRAIN_TSV]
    examples = list(create_re_tsv_reader(write_tsv(tmp_path / "train.tsv", rows))(nlp))
    with pytest.raises(ValueError, match=r"E202"):
        nlp.initialize(get_examples=lambda: examples)


def test_overfitting_IO(tiny_bert, tmp_path):
    fix_random_seed(0)
    nlp = make_nlp(tiny_bert, {"candidates": {"@misc": "spacy_biobert.entity_pairs.v1",
                                              "allowed_pairs": [["GENE", "DISEASE"]]}})
    examples = list(create_re_tsv_reader(write_tsv(tmp_path / "train.tsv", TRAIN_TSV))(nlp))
    train(nlp, examples, n_iter=60)
    assert nlp.get_pipe("biobert_rel").labels == ("ASSOCIATED",)
    docs = [nlp(eg.predicted.copy()) for eg in examples]
    predicted = [bool(doc._.relations) for doc in docs]
    assert predicted == [True, False, True, False]
    rel = docs[0]._.relations[0]
    assert isinstance(rel, Relation)
    assert (rel.head.text, rel.head.label_, rel.tail.text, rel.tail.label_, rel.label) == (
        "@GENE$", "GENE", "@DISEASE$", "DISEASE", "ASSOCIATED"
    )
    assert 0.5 <= rel.score <= 1.0
    scores = nlp.evaluate(examples)
    assert scores["rel_f"] == 1.0 and scores["rel_p"] == 1.0 and scores["rel_r"] == 1.0
    nlp.to_disk(tmp_path / "model")
    nlp2 = spacy.load(tmp_path / "model")
    docs2 = [nlp2(eg.predicted.copy()) for eg in examples]
    for doc, doc2 in zip(docs, docs2):
        assert relations_of(doc) == relations_of(doc2)
        assert [r.score for r in doc._.relations] == pytest.approx([r.score for r in doc2._.relations], abs=1e-5)


def test_multi_label(tiny_bert, tmp_path):
    fix_random_seed(0)
    nlp = make_nlp(tiny_bert, {"model": {"multi_label": True}})
    examples = list(create_rel_jsonl_reader(write_records(tmp_path / "train.jsonl", MULTI_JSONL))(nlp))
    train(nlp, examples, n_iter=60)
    doc = nlp(examples[0].predicted.copy())
    assert relations_of(doc) == [
        ("brca1", "cancer", "ASSOCIATED"), ("brca1", "cancer", "CAUSES"), ("tamoxifen", "tumor", "TREATS")
    ]
    assert nlp.evaluate(examples)["rel_f"] == 1.0


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    """A pipeline trained on the TSV rows, reused by the tests that only predict."""
    fix_random_seed(0)
    tmp_path = tmp_path_factory.mktemp("rel")
    nlp = make_nlp(tiny_bert, {"candidates": {"@misc": "spacy_biobert.entity_pairs.v1",
                                              "allowed_pairs": [["GENE", "DISEASE"]], "max_distance": 3},
                               "label_map": {"Disease": "DISEASE"}})
    examples = list(create_re_tsv_reader(write_tsv(tmp_path / "train.tsv", TRAIN_TSV))(nlp))
    train(nlp, examples, n_iter=5)
    return nlp


@pytest.mark.parametrize(
    "words,ents,sent_starts,expected",
    [
        ("brca1 mutations cause cancer".split(), [], None, []),  # no entities
        ("brca1 mutations cause cancer".split(), [(0, 1, "GENE")], None, []),  # one entity
        ("brca1 mutations . cause cancer".split(), [(0, 1, "GENE"), (4, 5, "DISEASE")],
         [True, False, False, True, False], []),  # different sentences
        ("brca1 a b c d e f cancer".split(), [(0, 1, "GENE"), (7, 8, "DISEASE")], None, []),  # beyond max_distance
        ("brca1 mutations cause cancer".split(), [(0, 1, "GENE"), (3, 4, "Disease")], None,
         [("brca1", "GENE", "cancer", "Disease")]),  # label map: the relation keeps the pipeline's labels
        ("brca1 mutations cause cancer".split(), [(0, 1, "GENE"), (3, 4, "Chemical")], None, []),  # not allowed
        ([], [], None, []),  # empty doc
    ],
)
def test_candidates_in_pipeline(trained, words, ents, sent_starts, expected):
    """At threshold 0 every candidate is a relation; the default threshold keeps those scoring 0.5 or more."""
    doc = doc_with_ents(trained, words, ents, sent_starts)
    rel = trained.get_pipe("biobert_rel")
    candidates = rel.find_candidates(doc, doc.ents)
    assert [(c.head.text, c.tail.text) for c in candidates] == [(head, tail) for head, _, tail, _ in expected]
    with pipe_cfg(rel, threshold=0.0):
        every = trained(doc.copy())._.relations
    assert [(r.head.text, r.head.label_, r.tail.text, r.tail.label_) for r in every] == expected
    assert all(r.label == "ASSOCIATED" for r in every)
    scored = [(r.head.text, r.tail.text, r.label, round(r.score, 5)) for r in every]
    kept = trained(doc)._.relations
    assert [(r.head.text, r.tail.text, r.label, round(r.score, 5)) for r in kept] == [
        row for row in scored if row[3] >= 0.5
    ]


def test_mentions_from_span_groups(trained):
    """A gene that another NER's overlapping "Chemical" displaced from doc.ents is still related through its
    span group; overlapping mentions of one word never pair with each other."""
    doc = doc_with_ents(trained, "brca1 mutations cause cancer".split(), [(0, 1, "Chemical"), (3, 4, "Disease")])
    doc.spans["genes"] = [Span(doc, 0, 1, label="GENE")]
    doc.spans["diseases"] = [Span(doc, 3, 4, label="Disease")]
    rel = trained.get_pipe("biobert_rel")
    assert [(m.text, m.label_) for m in rel.mentions(doc)] == [("brca1", "Chemical"), ("cancer", "Disease")]
    with pipe_cfg(rel, spans_keys=["genes", "diseases"], threshold=0.0):
        assert [(m.text, m.label_) for m in rel.mentions(doc)] == [
            ("brca1", "Chemical"), ("brca1", "GENE"), ("cancer", "Disease")
        ]
        doc = trained(doc)
    assert [(r.head.text, r.head.label_, r.tail.text) for r in doc._.relations] == [("brca1", "GENE", "cancer")]
    same_word = create_entity_pairs()(doc, [doc.ents[0], doc.spans["genes"][0]], ["Chemical", "GENE"])
    assert same_word == []


def test_training_candidates_are_those_of_prediction(trained):
    """Training pairs the mentions `predict` pairs: `doc.ents` and the `spans_keys` groups. Here the only
    allowed pair (GENE, Disease) needs the gene of the span group."""
    reference = doc_with_ents(trained, "brca1 mutations cause cancer".split(), [(0, 1, "Chemical"), (3, 4, "Disease")])
    reference.spans["genes"] = [Span(reference, 0, 1, label="GENE")]
    set_relations(reference, [Relation(reference.spans["genes"][0], reference.ents[1], "ASSOCIATED", 1.0)])
    rel = trained.get_pipe("biobert_rel")
    rel.cfg["spans_keys"] = ["genes"]
    try:
        gold = rel.get_gold([Example(reference.copy(), reference)])
        predicted, _ = rel.predict([reference])
    finally:
        rel.cfg["spans_keys"] = []

    def pairs(candidates):
        return [(c.head.start, c.head.end, c.head.label_, c.tail.start, c.tail.end) for c in candidates]

    assert pairs(gold.candidates[0]) == pairs(predicted[0]) == [(0, 1, "GENE", 3, 4)]
    assert gold.targets.tolist() == [[0.0, 1.0]]


def test_huge_doc(trained):
    words = ("brca1 mutations cause cancer . " * 150).split()
    ents = [(i, i + 1, "GENE" if i % 5 == 0 else "DISEASE") for i in range(len(words)) if i % 5 in (0, 3)]
    sent_starts = [i % 5 == 0 for i in range(len(words))]
    with pipe_cfg(trained.get_pipe("biobert_rel"), threshold=0.0):
        doc = trained(doc_with_ents(trained, words, ents, sent_starts))
    assert len(doc) == 750
    # Every one of the 150 sentences, to the last, gives its one candidate pair a score.
    assert [(r.head.start, r.head.label_, r.tail.start) for r in doc._.relations] == [
        (start, "GENE", start + 3) for start in range(0, 750, 5)
    ]


def test_relations_serialise(trained):
    doc = doc_with_ents(trained, "brca1 mutations cause cancer".split(), [(0, 1, "GENE"), (3, 4, "DISEASE")])
    doc.user_data[RELATIONS_KEY] = [encode_relation(doc.ents[0], doc.ents[1], "ASSOCIATED", 0.75)]
    expected = [("brca1", "cancer", "ASSOCIATED")]
    doc2 = Doc(trained.vocab).from_bytes(doc.to_bytes())
    assert relations_of(doc2) == expected
    assert doc2._.relations[0].score == 0.75
    doc_bin = DocBin(store_user_data=True, docs=[doc])
    doc3 = list(DocBin().from_bytes(doc_bin.to_bytes()).get_docs(trained.vocab))[0]
    assert relations_of(doc3) == expected
    assert doc3._.relations[0].head.label_ == "GENE"


MULTIPROCESS_SCRIPT = """
import sys
import spacy
from spacy.tokens import Doc, Span

nlp = spacy.load(sys.argv[1])
nlp.get_pipe("biobert_rel").cfg["threshold"] = 0.0
doc = Doc(nlp.vocab, words="brca1 mutations cause cancer".split())
doc.ents = [Span(doc, 0, 1, "GENE"), Span(doc, 3, 4, "DISEASE")]
docs = list(nlp.pipe([doc, nlp.make_doc("")] * 2, n_process=2, batch_size=1))
print([[(r.head.text, r.tail.text, r.label) for r in d._.relations] for d in docs])
"""


def test_pipe_multiprocess(trained, tmp_path):
    """Relations come back from worker processes. A fresh interpreter: torch hangs in workers forked
    from a process that has already run it (a torch limitation, not one of the component)."""
    trained.to_disk(tmp_path / "model")
    result = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, str(tmp_path / "model")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    assert result.returncode == 0, result.stderr
    expected = [[("brca1", "cancer", "ASSOCIATED")], []] * 2
    assert result.stdout.strip().splitlines()[-1] == str(expected)


def test_update_skips_unmarked_layers(tiny_bert, tmp_path):
    """Examples marked for another layer (a NER corpus) give no relation loss and no error."""
    fix_random_seed(0)
    nlp = make_nlp(tiny_bert)
    examples = list(create_re_tsv_reader(write_tsv(tmp_path / "train.tsv", TRAIN_TSV))(nlp))
    nlp.initialize(get_examples=lambda: examples)
    ner_doc = Doc(nlp.vocab, words="brca1 causes cancer".split())
    ner_doc.ents = [Span(ner_doc, 0, 1, label="GENE"), Span(ner_doc, 2, 3, label="DISEASE")]
    mark_annotated(ner_doc, ["ner_gene"])
    ner_example = Example(Doc(nlp.vocab, words="brca1 causes cancer".split()), ner_doc)
    losses = nlp.update([ner_example], sgd=Adam(1e-3))
    assert losses["biobert_rel"] == 0.0


@pytest.mark.parametrize(
    "threshold,expected",
    [
        # Candidates (GENE-DISEASE within 3 tokens): rows 0 and 2 (gold relations) and row 3; row 1 is too far.
        (0.0, {"rel_p": 2 / 3, "rel_r": 1.0, "rel_f": 0.8}),  # every candidate predicted
        (1.01, {"rel_p": 0.0, "rel_r": 0.0, "rel_f": 0.0}),  # none predicted
    ],
)
def test_evaluate_cli_scores_the_pipeline_predictions(trained, tmp_path, threshold, expected):
    with pipe_cfg(trained.get_pipe("biobert_rel"), threshold=threshold):
        trained.to_disk(tmp_path / "model")
    test = write_tsv(tmp_path / "test.tsv", TRAIN_TSV, header=True)
    output = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "model"), str(test), "--task", "rel",
                                      "--output", str(output)])
    assert result.exit_code == 0, result.output
    scores = json.loads(output.read_text(encoding="utf8"))["scores"]
    assert scores == {**{key: pytest.approx(value) for key, value in expected.items()}, "examples": 4}


def test_cross_validation_smoke(tiny_bert, tmp_path):
    from spacy_biobert.evaluation.rel import evaluate
    from spacy_biobert.evaluation.settings import RelSettings

    for fold in ("1", "2"):
        (tmp_path / "GAD" / fold).mkdir(parents=True)
        write_tsv(tmp_path / "GAD" / fold / "train.tsv", TRAIN_TSV)
        write_tsv(tmp_path / "GAD" / fold / "test.tsv", TRAIN_TSV, header=True)
    config = Path(__file__).resolve().parent.parent / "configs" / "rel.cfg"
    overrides = {"paths.base_model": str(tiny_bert), "training.max_steps": 2}
    results = evaluate(str(config), tmp_path / "GAD", RelSettings(folds=2, overrides=overrides))
    assert [row["fold"] for row in results["rows"]] == ["1", "2"]
    assert [row["test_rows"] for row in results["rows"]] == [4, 4]
    assert results["scores"]["folds"] == 2
    mean_f = sum(row["rel_f"] for row in results["rows"]) / 2
    assert results["scores"]["rel_f"] == pytest.approx(mean_f)
    with pytest.raises(ValueError, match="E205"):
        evaluate(str(config), tmp_path / "GAD" / "1" / "train.tsv", RelSettings(folds=1))


E2E_TEXTS = [
    ("BRCA1 mutations cause breast cancer.", "BRCA1", "breast cancer", True),
    ("TP53 is associated with lung cancer.", "TP53", "lung cancer", True),
    ("KRAS mutations are not linked to breast cancer.", "KRAS", "breast cancer", False),
    ("EGFR was not associated with lung cancer.", "EGFR", "lung cancer", False),
]


@pytest.mark.slow
def test_end_to_end_ner_and_rel(tmp_path):
    """biobert_ner finds the mentions in raw text, biobert_rel (label map on) relates them."""

    fix_random_seed(0)
    words = "brca1 tp53 kras egfr mutations cause breast lung cancer linked associated not with".split()
    tiny = make_tiny_bert(tmp_path / "bert", extra_words=words)
    records = []
    for text, gene, disease, related in E2E_TEXTS:
        g, d = text.index(gene), text.index(disease)
        records.append({
            "text": text,
            "entities": [{"start": g, "end": g + len(gene), "label": "GENE"},
                         {"start": d, "end": d + len(disease), "label": "Disease"}],
            "relations": [{"head": 0, "tail": 1, "label": "ASSOCIATED"}] if related else [],
        })
    nlp = train_ner_rel(tiny, records, tmp_path / "train.jsonl", n_updates=100, rel_config={
        "label_map": {"Disease": "DISEASE"},
        "candidates": {"@misc": "spacy_biobert.entity_pairs.v1", "allowed_pairs": [["GENE", "DISEASE"]]},
    })
    nlp.to_disk(tmp_path / "model")
    nlp = spacy.load(tmp_path / "model")
    doc = nlp("BRCA1 mutations cause breast cancer.")
    assert [(e.text, e.label_) for e in doc.ents] == [("BRCA1", "GENE"), ("breast cancer", "Disease")]
    assert [(r.head.text, r.head.label_, r.tail.text, r.tail.label_, r.label) for r in doc._.relations] == [
        ("BRCA1", "GENE", "breast cancer", "Disease", "ASSOCIATED")
    ]
    assert not nlp("KRAS mutations are not linked to breast cancer.")._.relations
