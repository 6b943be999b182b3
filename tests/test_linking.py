"""Entity linking: `kb build` from each source format, `biobert_linker`'s `Span._.kb_ents`, concept ids in outputs."""
import json
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.language import Language
from typer.testing import CliRunner

from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.annotate.writers import write_records
from spacy_biobert.cli import app
from spacy_biobert.errors import CorpusError
from spacy_biobert.linking.index import build_index, load_index
from spacy_biobert.linking.sources import read_kb_source

CONCEPTS = [
    {"concept_id": "D001943", "canonical_name": "Breast Neoplasms", "aliases": ["breast cancer", "breast tumour"],
     "types": ["Disease"]},
    {"concept_id": "D003123", "canonical_name": "Colorectal Neoplasms, Hereditary Nonpolyposis",
     "aliases": ["hereditary nonpolyposis colorectal cancer", "Lynch syndrome"], "types": ["Disease"]},
    {"concept_id": "D010051", "canonical_name": "Ovarian Neoplasms", "aliases": ["ovarian cancer"]},
]
MEDIC_HEADER = "# DiseaseName\tDiseaseID\tAltDiseaseIDs\tDefinition\tParentIDs\tTreeNumbers\tParentTreeNumbers\tSynonyms\tSlimMappings\n"
PUBTATOR = (
    "1|t|Breast cancer and ovarian cancer.\n"
    "1|a|Lynch syndrome is hereditary nonpolyposis colorectal cancer.\n"
    "1\t0\t13\tBreast cancer\tSpecificDisease\tD001943\n"
    "1\t18\t32\tovarian cancer\tSpecificDisease\tD010051\n"
    "1\t34\t48\tLynch syndrome\tSpecificDisease\tD003123\n"
    "1\t52\t93\thereditary nonpolyposis colorectal cancer\tSpecificDisease\tD003123\n"
    "\n"
)
RUNNER = CliRunner()


def write_sources(tmp_path: Path) -> List[Path]:
    jsonl = tmp_path / "kb.jsonl"
    jsonl.write_text("".join(json.dumps(c) + "\n" for c in CONCEPTS), encoding="utf8")
    tsv = tmp_path / "medic.tsv"
    rows = [f"{c['canonical_name']}\tMESH:{c['concept_id']}\t\t\t\t\t\t{'|'.join(c['aliases'])}\t\n" for c in CONCEPTS]
    tsv.write_text(MEDIC_HEADER + "".join(rows), encoding="utf8")
    pubtator = tmp_path / "train.pubtator"
    pubtator.write_text(PUBTATOR, encoding="utf8")
    return [jsonl, tsv, pubtator]


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A tiny index: 3 concepts, 8 aliases (fewer than scispaCy's min_df of 10)."""
    entities = read_kb_source(write_sources(tmp_path)[0])
    build_index(entities, tmp_path / "index")
    return tmp_path / "index"


@Language.component("test_disease_ruler")
def disease_ruler(doc):
    """Tags the disease phrases of these tests (a stand-in for a trained NER)."""
    spans = []
    for phrase in ("breast cancer", "ovarian cancers", "hereditary nonpolyposis colorectal cancer", "myopia"):
        start = doc.text.lower().find(phrase)
        if start >= 0:
            spans.append(doc.char_span(start, start + len(phrase), label="Disease"))
    doc.ents = sorted(spans, key=lambda span: span.start)
    return doc


def linker_pipeline(kb: Path = None) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("test_disease_ruler")
    nlp.add_pipe("abbreviation_detector", config={"make_serializable": True})  # as en_biobert
    nlp.add_pipe("biobert_abbreviations")
    nlp.add_pipe("biobert_linker", name="linker")
    nlp.initialize()
    if kb is not None:
        nlp.get_pipe("linker").initialize(kb=kb)
    return nlp


@pytest.mark.parametrize("index", [0, 1, 2], ids=["jsonl", "medic_tsv", "pubtator"])
def test_kb_build_each_format(tmp_path: Path, index: int) -> None:
    source = write_sources(tmp_path)[index]
    columns = ["--synonyms-column", "7"] if index == 1 else []
    result = RUNNER.invoke(app, ["kb", "build", str(source), str(tmp_path / "out"), *columns])
    assert result.exit_code == 0, result.output
    kb = load_index(tmp_path / "out").kb
    ids = {cid.replace("MESH:", "") for cid in kb.cui_to_entity}
    assert ids == {"D001943", "D003123", "D010051"}
    lynch = next(e for e in kb.cui_to_entity.values() if e.concept_id.endswith("D003123"))
    assert {"Lynch syndrome", "hereditary nonpolyposis colorectal cancer"} <= set(lynch.aliases + [lynch.canonical_name])


def test_tsv_three_columns_and_prefix(tmp_path: Path) -> None:
    tsv = tmp_path / "vocab.tsv"
    tsv.write_text("Myopia\tMESH:D009216\tnearsightedness|short sight\n", encoding="utf8")
    (entity,) = read_kb_source(tsv, strip_prefix="MESH:")
    assert entity.concept_id == "D009216" and entity.aliases == ["nearsightedness", "short sight"]


def test_tiny_kb_builds(tmp_path: Path) -> None:
    """One concept, two aliases: scispaCy's fixed min_df=10 would prune every 3-gram."""
    meta = build_index(read_kb_source(write_sources(tmp_path)[1], synonyms_column=7)[:1], tmp_path / "tiny")
    assert meta["aliases"] == 3 and meta["min_df"] == 1
    generator = load_index(tmp_path / "tiny").candidate_generator()
    (candidates,) = generator(["breast cancers"], 5)
    assert [c.concept_id for c in candidates] == ["MESH:D001943"]


@pytest.mark.parametrize("content,code", [("", "E704"), ("not json\n", "E003"), ('{"concept_id": "1"}\n', "E002")])
def test_bad_sources(tmp_path: Path, content: str, code: str) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text(content, encoding="utf8")
    with pytest.raises(CorpusError, match=code):
        read_kb_source(path)


def test_kb_build_cli_errors(tmp_path: Path) -> None:
    source = write_sources(tmp_path)[0]
    unknown = tmp_path / "kb.xyz"
    unknown.write_text("x", encoding="utf8")
    result = RUNNER.invoke(app, ["kb", "build", str(unknown), str(tmp_path / "out")])
    assert result.exit_code == 1 and "E702" in result.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x", encoding="utf8")
    result = RUNNER.invoke(app, ["kb", "build", str(source), str(tmp_path / "full")])
    assert result.exit_code == 1 and "E701" in result.output


def test_linker_sets_kb_ents_and_survives_to_disk(kb_dir: Path, tmp_path: Path) -> None:
    nlp = linker_pipeline(kb_dir)
    text = "Breast cancer and ovarian cancers. Hereditary nonpolyposis colorectal cancer (HNPCC) is frequent. Myopia."
    doc = nlp(text)
    links = {e.text: e._.kb_ents for e in doc.ents}
    assert links["Breast cancer"][0] == ("D001943", pytest.approx(1.0))
    assert links["ovarian cancers"][0][0] == "D010051" and links["ovarian cancers"][0][1] < 1.0
    assert links["HNPCC"][0][0] == "D003123"  # a short form linked through its long form
    assert links["Myopia"] == []  # nothing above the threshold
    nlp.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    assert {e.text: e._.kb_ents for e in reloaded(text).ents} == links


def test_linker_without_kb_passes_docs_through(tmp_path: Path) -> None:
    nlp = linker_pipeline()
    doc = nlp("Breast cancer.")
    assert [e._.kb_ents for e in doc.ents] == [[]]
    nlp.to_disk(tmp_path / "pipeline")
    assert not spacy.load(tmp_path / "pipeline").get_pipe("linker").has_kb


def test_linker_bad_kb_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="E706"):
        linker_pipeline(tmp_path)


def test_writers_write_concept_ids() -> None:
    record = {
        "id": "7", "text": "BRCA1 breast cancer",
        "entities": [{"start": 0, "end": 5, "text": "BRCA1", "label": "Gene"},
                     {"start": 6, "end": 19, "text": "breast cancer", "label": "Disease", "concept_id": "D001943",
                      "concept_score": 1.0}],
        "relations": [{"head": 0, "tail": 1, "label": "ASSOCIATED"}],
    }
    import io

    stream = io.StringIO()
    write_records([record], stream, "pubtator")
    lines = stream.getvalue().splitlines()
    assert lines[2].split("\t")[5] == "T0"
    assert lines[3].split("\t")[5] == "D001943"
    assert lines[4] == "7\tASSOCIATED\tT0\tD001943"
    stream = io.StringIO()
    write_records([record], stream, "bioc")
    annotations = json.loads(stream.getvalue())["documents"][0]["passages"][0]["annotations"]
    assert "identifier" not in annotations[0]["infons"]
    assert annotations[1]["infons"]["identifier"] == "D001943"


def test_annotate_writes_concept_ids(kb_dir: Path, tmp_path: Path) -> None:
    linker_pipeline(kb_dir).to_disk(tmp_path / "pipeline")
    inputs = tmp_path / "in.pubtator"
    inputs.write_text("9|t|Breast cancer risk.\n9|a|Ovarian cancers too.\n\n", encoding="utf8")
    annotate(tmp_path / "pipeline", inputs, tmp_path / "out.pubtator", AnnotateSettings(progress=False))
    rows = [line.split("\t") for line in (tmp_path / "out.pubtator").read_text(encoding="utf8").splitlines() if "\t" in line]
    assert [(row[3], row[5]) for row in rows] == [("Breast cancer", "D001943"), ("Ovarian cancers", "D010051")]
    annotate(tmp_path / "pipeline", inputs, tmp_path / "out.jsonl", AnnotateSettings(progress=False))
    record = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf8").splitlines()[0])
    assert [e["concept_id"] for e in record["entities"]] == ["D001943", "D010051"]
