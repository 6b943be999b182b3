"""Relation readers: BioBERT's placeholder TSV and the JSONL format with character offsets."""
import json
from pathlib import Path

import pytest
import spacy
from spacy.util import registry
from thinc.api import Config

from spacy_biobert.annotations import ANNOTATIONS_KEY, GIVEN_PAIRS, RELATIONS
from spacy_biobert.errors import CorpusError
from spacy_biobert.readers.rel import create_re_tsv_reader, create_rel_jsonl_reader, fold_files, read_re_tsv

TRAIN = (
    "this study proposes that A/A genotype in @GENE$ gene predicts @DISEASE$ development.\t1\n"
    "Results do not support association of the (@GENE$) polymorphism to @DISEASE$.\t0\n"
    "@DISEASE$ was linked to @GENE$-related variants\t1\n"
)
TEST = (
    "index\tsentence\tlabel\n"
    "0\tThese results suggest that @GENE$ is not involved in @DISEASE$.\t0\n"
    "1\tIn our setting, @DISEASE$ depends on mutations in the @GENE$ gene.\t1\n"
)
JSONL = [
    {
        "text": "BRCA1 mutations cause breast cancer.",
        "entities": [{"start": 0, "end": 5, "label": "GENE"}, {"start": 22, "end": 35, "label": "DISEASE"}],
        "relations": [{"head": 0, "tail": 1, "label": "ASSOCIATED"}],
    },
    {"text": "Nothing here."},
]


@pytest.fixture
def nlp():
    return spacy.blank("en")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf8")
    return path


def relations(doc):
    return [(r.head.text, r.head.label_, r.tail.text, r.tail.label_, r.label, r.score) for r in doc._.relations]


def test_re_tsv_train_without_header(nlp, tmp_path):
    examples = list(create_re_tsv_reader(write(tmp_path / "train.tsv", TRAIN))(nlp))
    assert len(examples) == 3
    for eg, line in zip(examples, TRAIN.splitlines()):
        assert eg.reference.text == line.split("\t")[0]
        assert eg.predicted.text == eg.reference.text
        assert [(e.text, e.label_) for e in eg.reference.ents] == sorted(
            [("@GENE$", "GENE"), ("@DISEASE$", "DISEASE")], key=lambda e: eg.reference.text.index(e[0])
        )
        assert [(e.text, e.label_) for e in eg.predicted.ents] == [(e.text, e.label_) for e in eg.reference.ents]
        assert eg.reference.user_data[ANNOTATIONS_KEY] == [RELATIONS, GIVEN_PAIRS]
    assert relations(examples[0].reference) == [("@GENE$", "GENE", "@DISEASE$", "DISEASE", "ASSOCIATED", 1.0)]
    assert relations(examples[1].reference) == []
    assert relations(examples[2].reference) == [("@GENE$", "GENE", "@DISEASE$", "DISEASE", "ASSOCIATED", 1.0)]
    assert [t.text for t in examples[1].reference][7:10] == ["(", "@GENE$", ")"]


def test_re_tsv_test_with_header(nlp, tmp_path):
    rows = list(read_re_tsv(write(tmp_path / "test.tsv", TEST)))
    assert [(r.label, r.line) for r in rows] == [("0", 2), ("1", 3)]
    assert rows[0].sentence.startswith("These results")
    examples = list(create_re_tsv_reader(tmp_path / "test.tsv")(nlp))
    assert [len(eg.reference._.relations) for eg in examples] == [0, 1]


def test_re_tsv_options(nlp, tmp_path):
    text = "@CHEMICAL$ inhibits @GENE$ strongly\t1\n"
    reader = create_re_tsv_reader(
        write(tmp_path / "chem.tsv", text),
        placeholders=[["@CHEMICAL$", "CHEMICAL"], ["@GENE$", "GENE"]],
        positive_label="INHIBITS",
        predicted_ents=False,
    )
    (eg,) = list(reader(nlp))
    assert relations(eg.reference) == [("@CHEMICAL$", "CHEMICAL", "@GENE$", "GENE", "INHIBITS", 1.0)]
    assert list(eg.predicted.ents) == []
    assert len(list(create_re_tsv_reader(tmp_path / "chem.tsv", limit=0,
                                         placeholders=[["@CHEMICAL$", "C"], ["@GENE$", "G"]])(nlp))) == 1


def test_re_tsv_reader_is_registered(tmp_path, nlp):
    make_reader = registry.readers.get("spacy_biobert.BioBertRETsvReader.v1")
    assert len(list(make_reader(write(tmp_path / "train.tsv", TRAIN), limit=2)(nlp))) == 2


def test_re_tsv_reader_from_a_saved_config(tmp_path, nlp):
    """A saved pipeline's config.cfg writes the placeholders' "$" as "$$"; `spacy train` reads it back so."""
    config = Config({"train": {"@readers": "spacy_biobert.BioBertRETsvReader.v1",
                               "path": str(write(tmp_path / "train.tsv", TRAIN)),
                               "placeholders": [["@GENE$", "GENE"], ["@DISEASE$", "DISEASE"]]}})
    reloaded = Config().from_str(config.to_str(), interpolate=False).interpolate()
    assert reloaded["train"]["placeholders"][0][0] == "@GENE$$"
    examples = list(registry.resolve(reloaded)["train"](nlp))
    assert [sorted(ent.label_ for ent in eg.reference.ents) for eg in examples] == [["DISEASE", "GENE"]] * 3


def test_re_tsv_held_out_dev_split(nlp, tmp_path):
    """split="train"/"dev" partition the rows (duplicates on one side), the same every time; "all" keeps all."""
    rows = [f"@GENE$ variant {i} and @DISEASE$\t{i % 2}" for i in range(60)] + ["@GENE$ twice @DISEASE$\t1"] * 2
    path = write(tmp_path / "train.tsv", "\n".join(rows) + "\n")

    def texts(split: str) -> list:
        return [eg.reference.text for eg in create_re_tsv_reader(path, split=split, dev_fraction=0.2)(nlp)]

    train, dev = texts("train"), texts("dev")
    assert sorted(train + dev) == sorted(row.split("\t")[0] for row in rows)
    assert 0 < len(dev) < len(train) and not set(train) & set(dev)
    assert texts("dev") == dev and len(list(create_re_tsv_reader(path, split="all")(nlp))) == 62
    with pytest.raises(ValueError, match="E019"):
        create_re_tsv_reader(path, split="test")
    with pytest.raises(ValueError, match="E012"):
        create_re_tsv_reader(path, split="dev", dev_fraction=0.0)


@pytest.mark.parametrize(
    "text,line,expected",
    [
        ("@GENE$ and @DISEASE$\t1\n@GENE$ and @DISEASE$\t2\n", 2, "label 0 or 1"),
        ("@GENE$ and @DISEASE$\t1\nno tab here\n", 2, "2 tab-separated columns"),
        ("index\tsentence\tlabel\n0\t@GENE$ and @DISEASE$\n", 2, "3 tab-separated columns"),
        ("@GENE$ and something\t1\n", 1, r"exactly one @DISEASE\$"),
        ("@GENE$ and @GENE$ @DISEASE$\t0\n", 1, r"exactly one @GENE\$"),
    ],
)
def test_re_tsv_errors_name_file_and_line(nlp, tmp_path, text, line, expected):
    path = write(tmp_path / "bad.tsv", text)
    with pytest.raises(CorpusError, match=rf"E002.*bad\.tsv, line {line}: expected .*{expected}"):
        list(create_re_tsv_reader(path)(nlp))


def test_missing_file(nlp, tmp_path):
    with pytest.raises(CorpusError, match="E001"):
        list(create_re_tsv_reader(tmp_path / "nope.tsv")(nlp))
    with pytest.raises(CorpusError, match="E001"):
        list(create_rel_jsonl_reader(tmp_path / "nope.jsonl")(nlp))


@pytest.mark.parametrize("placeholders", [[["@GENE$", "GENE"]], [["@GENE$", "GENE", "x"], ["@DISEASE$", "DISEASE"]]])
def test_wrong_number_of_placeholders(nlp, tmp_path, placeholders):
    with pytest.raises(ValueError, match="E010"):
        list(create_re_tsv_reader(write(tmp_path / "t.tsv", TRAIN), placeholders=placeholders)(nlp))


def test_fold_files(tmp_path):
    for fold in ("2", "1", "10"):
        (tmp_path / fold).mkdir()
        write(tmp_path / fold / "train.tsv", TRAIN)
        write(tmp_path / fold / "test.tsv", TEST)
    assert [train.parent.name for train, _ in fold_files(tmp_path)] == ["1", "2", "10"]
    with pytest.raises(CorpusError, match="E011"):
        fold_files(tmp_path / "1")


def test_rel_jsonl(nlp, tmp_path):
    path = write(tmp_path / "rel.jsonl", "\n".join(json.dumps(r) for r in JSONL) + "\n\n")
    examples = list(create_rel_jsonl_reader(path)(nlp))
    assert len(examples) == 2
    doc = examples[0].reference
    assert [(e.text, e.label_) for e in doc.ents] == [("BRCA1", "GENE"), ("breast cancer", "DISEASE")]
    assert relations(doc) == [("BRCA1", "GENE", "breast cancer", "DISEASE", "ASSOCIATED", 1.0)]
    assert [e.text for e in examples[0].predicted.ents] == ["BRCA1", "breast cancer"]
    assert list(examples[1].reference.ents) == [] and examples[1].reference._.relations == []
    assert list(create_rel_jsonl_reader(path, predicted_ents=False)(nlp))[0].predicted.ents == ()


def test_rel_jsonl_expands_to_tokens(nlp, tmp_path):
    record = {"text": "BRCA1-related cancer", "entities": [{"start": 0, "end": 3, "label": "GENE"}]}
    path = write(tmp_path / "rel.jsonl", json.dumps(record) + "\n")
    (eg,) = list(create_rel_jsonl_reader(path)(nlp))
    assert [e.text for e in eg.reference.ents] == ["BRCA1"]


@pytest.mark.parametrize(
    "line,expected",
    [
        ('{"text": "abc", "entities": [', "valid JSON"),
        ('["not an object"]', "a JSON object"),
        ('{"text": "abc", "entities": [{"start": 2, "end": 9, "label": "X"}]}', "entity offsets"),
        ('{"text": "abc", "entities": [{"start": "0", "end": 1, "label": "X"}]}', "entities as"),
        ('{"text": "abc", "relations": [{"head": 0, "tail": 1, "label": "R"}]}', "indices into the 0 entities"),
        ('{"text": "ab cd", "entities": [{"start": 0, "end": 4, "label": "X"}, '
         '{"start": 3, "end": 5, "label": "Y"}]}', "do not overlap"),
    ],
)
def test_rel_jsonl_errors_name_file_and_line(nlp, tmp_path, line, expected):
    path = write(tmp_path / "bad.jsonl", json.dumps(JSONL[1]) + "\n" + line + "\n")
    with pytest.raises(CorpusError, match=rf"E002.*bad\.jsonl, line 2: expected .*{expected}"):
        list(create_rel_jsonl_reader(path)(nlp))


def test_gad_counts(shared_data, nlp):
    """GAD fold 1: train 4,796 rows (2,520 positive), test 534 rows (281 positive); every fold reads."""
    gad = shared_data / "re" / "GAD"
    train = list(read_re_tsv(gad / "1" / "train.tsv"))
    test = list(read_re_tsv(gad / "1" / "test.tsv"))
    assert (len(train), sum(r.label == "1" for r in train)) == (4796, 2520)
    assert (len(test), sum(r.label == "1" for r in test)) == (534, 281)
    folds = fold_files(gad)
    assert len(folds) == 10
    for train_path, test_path in folds:
        for path in (train_path, test_path):
            for eg in create_re_tsv_reader(path)(nlp):
                assert len(eg.reference.ents) == 2
