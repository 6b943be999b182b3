"""NER corpus readers: typed IOB/IOBES TSV and BioBERT's untyped TSV."""
from pathlib import Path

import pytest
import spacy
from spacy.util import registry

from spacy_biobert.annotations import is_annotated
from spacy_biobert.errors import CorpusError
from spacy_biobert.metrics.entities import iob_to_spans
from spacy_biobert.readers.ner import create_iob_tsv_reader, read_iob_sentences

TYPED = "Tamoxifen\tB-Chemical\nlowers\tO\nbreast\tB-Disease\ncancer\tI-Disease\nrisk\tO\n\n\n" "BRCA1\tO\nmutations\tO\n\n"
IOBES = "a\tS-Gene\nb\tB-Disease\nc\tE-Disease\nd\tO\n"
UNTYPED = "Clustering\tO\nof\tO\nataxia\tB\ntelangiectasia\tI\n\nnormal\tO\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf8")
    return path


@pytest.fixture
def nlp():
    return spacy.blank("en")


def test_readers_are_registered():
    assert registry.readers.get("spacy_biobert.IOBTsvReader.v1") is create_iob_tsv_reader
    assert registry.readers.get("spacy_biobert.BioBertNERReader.v1") is create_iob_tsv_reader


def test_typed_reader_gives_one_example_a_sentence(tmp_path, nlp):
    path = write(tmp_path, "train.tsv", TYPED)
    examples = list(create_iob_tsv_reader(path, spans_key="ner_cd")(nlp))
    assert len(examples) == 2
    eg = examples[0]
    assert [t.text for t in eg.predicted] == [t.text for t in eg.reference] == "Tamoxifen lowers breast cancer risk".split()
    assert [(e.text, e.label_) for e in eg.reference.ents] == [("Tamoxifen", "Chemical"), ("breast cancer", "Disease")]
    assert [(s.text, s.label_) for s in eg.reference.spans["ner_cd"]] == [("Tamoxifen", "Chemical"), ("breast cancer", "Disease")]
    assert not eg.predicted.ents
    assert is_annotated(eg.reference, "ner_cd")
    assert not is_annotated(eg.reference, "ner_gene")
    assert list(examples[1].reference.ents) == []


def test_iobes_and_label_map(tmp_path, nlp):
    path = write(tmp_path, "iobes.tsv", IOBES)
    (eg,) = create_iob_tsv_reader(path, label_map={"Gene": "GENE"})(nlp)
    assert [(e.text, e.label_) for e in eg.reference.ents] == [("a", "GENE"), ("b c", "Disease")]


def test_inside_after_outside_starts_an_entity_as_in_conlleval(tmp_path, nlp):
    path = write(tmp_path, "x.tsv", "a\tO\nb\tI-Disease\nc\tI-Chemical\n")
    (eg,) = create_iob_tsv_reader(path)(nlp)
    assert [(e.text, e.label_) for e in eg.reference.ents] == [("b", "Disease"), ("c", "Chemical")]


def test_untyped_reader_types_entities_with_label(tmp_path, nlp):
    path = write(tmp_path, "test.tsv", UNTYPED)
    examples = list(create_iob_tsv_reader(path, label="Disease")(nlp))
    assert [(e.text, e.label_) for e in examples[0].reference.ents] == [("ataxia telangiectasia", "Disease")]
    assert len(examples) == 2
    assert list(read_iob_sentences(path, label="Disease"))[0][1] == ["O", "O", "B-Disease", "I-Disease"]


def test_folder_and_limit(tmp_path, nlp):
    write(tmp_path, "a.tsv", TYPED)
    write(tmp_path, "b.tsv", TYPED)
    write(tmp_path, "notes.txt", "not a corpus")
    assert len(list(create_iob_tsv_reader(tmp_path)(nlp))) == 4
    assert len(list(create_iob_tsv_reader(tmp_path, limit=3)(nlp))) == 3


@pytest.mark.parametrize(
    "text,line",
    [
        ("a\tO\nb\tB-X\textra\n", 2),  # three columns
        ("a\tO\n\nb\n", 3),  # one column
        ("a\tO\nb\tB_X\n", 2),  # not a tag
        ("a\tO\nb\tB\n", 2),  # untyped tag in a typed file
        ("\tO\n", 1),  # no token
    ],
)
def test_malformed_typed_line_names_file_and_line(tmp_path, nlp, text, line):
    path = write(tmp_path, "bad.tsv", text)
    with pytest.raises(CorpusError, match=r"\[E002\]") as excinfo:
        list(create_iob_tsv_reader(path)(nlp))
    assert f"{path}, line {line}:" in str(excinfo.value)


def test_untyped_reader_rejects_typed_tags(tmp_path, nlp):
    path = write(tmp_path, "bad.tsv", "a\tO\nb\tB-Disease\n")
    with pytest.raises(CorpusError, match=rf"{path}, line 2"):
        list(create_iob_tsv_reader(path, label="Disease")(nlp))


def test_missing_path_empty_folder_and_bad_label(tmp_path):
    with pytest.raises(CorpusError, match=r"\[E001\]"):
        create_iob_tsv_reader(tmp_path / "missing.tsv")
    with pytest.raises(CorpusError, match=r"\[E004\]"):
        create_iob_tsv_reader(tmp_path)
    with pytest.raises(ValueError, match=r"\[E005\]"):
        create_iob_tsv_reader(write(tmp_path, "x.tsv", UNTYPED), label="")


def test_shared_corpora_counts(shared_data):
    """Every NER file of the mirror reads; the counts match the published facts."""
    counts = {}
    files = sorted((shared_data / "ner").glob("*/*.tsv"))
    biobert_files = sorted((shared_data / "ner-biobert-format").glob("*/*.tsv"))
    assert len(files) == 12 and len(biobert_files) == 12
    for path in files + biobert_files:
        label = "Entity" if path in biobert_files else None
        n_sents = n_tokens = 0
        per_type = {}
        for words, tags in read_iob_sentences(path, label=label):
            n_sents += 1
            n_tokens += len(words)
            for _, _, entity_type in iob_to_spans(tags):
                per_type[entity_type] = per_type.get(entity_type, 0) + 1
        assert n_sents > 0 and per_type
        counts[path.relative_to(shared_data).as_posix()] = (n_sents, n_tokens, per_type)
    assert counts["ner/NCBI-disease/test.tsv"] == (940, 24497, {"Disease": 960})
    assert counts["ner-biobert-format/NCBI-disease/test.tsv"] == (940, 24497, {"Entity": 960})
    assert counts["ner/BC5CDR/train.tsv"][2] == {"Chemical": 5203, "Disease": 4182}
    assert counts["ner/BC2GM/test.tsv"][2] == {"GENE": 6325}
