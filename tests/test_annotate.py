import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import fix_random_seed
from typer.testing import CliRunner

from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.annotate.inputs import InputFile, count_documents, find_input_files, read_input_file
from spacy_biobert.cli import app
from spacy_biobert.errors import AnnotateError

from .util import ruler_pipeline
from .util import train_ner_rel

TEXTS = [
    "BRCA1 mutations raise breast cancer risk.",
    "Tamoxifen lowers it; tamoxifen is a drug.",
    "Nothing to see here.",
    "",
    "BRCA1 and breast cancer again.",
]
PUBTATOR = """111|t|BRCA1 in breast cancer
111|a|tamoxifen helps. BRCA1 again.
111\t0\t5\tBRCA1\tGene\t672

222|t|A title only

333|t|Another title
333|a|Breast cancer and tamoxifen.
"""
PUBMED_XML = """<?xml version="1.0" encoding="utf-8"?>
<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID>1001</PMID><Article>
<ArticleTitle>BRCA1 and breast cancer.</ArticleTitle>
<Abstract><AbstractText>We studied tamoxifen.</AbstractText></Abstract>
</Article></MedlineCitation></PubmedArticle>
<PubmedArticle><MedlineCitation><PMID>1002</PMID><Article>
<ArticleTitle>No abstract here.</ArticleTitle>
</Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>
"""
# What the tiny biobert_ner + biobert_rel pipeline is trained on (relation JSONL records).
TRAINED = [
    {"text": "BRCA1 mutations raise breast cancer risk.",
     "entities": [{"start": 0, "end": 5, "label": "GENE"}, {"start": 22, "end": 35, "label": "DISEASE"}],
     "relations": [{"head": 0, "tail": 1, "label": "ASSOCIATED"}]},
    {"text": "Tamoxifen lowers breast cancer risk.",
     "entities": [{"start": 0, "end": 9, "label": "CHEMICAL"}, {"start": 17, "end": 30, "label": "DISEASE"}],
     "relations": []},
    {"text": "Nothing to see here.", "entities": [], "relations": []},
]
SLOW_CODE = """
import time
from spacy.language import Language


@Language.component("annotate_test_slow")
def annotate_test_slow(doc):
    time.sleep(0.03)
    return doc
"""


@Language.component("annotate_test_boom")
def annotate_test_boom(doc: Doc) -> Doc:
    if "BOOM" in doc.text:
        raise RuntimeError("exploded on purpose")
    return doc


SEEN: List[str] = []


@Language.component("annotate_test_interrupt")
def annotate_test_interrupt(doc: Doc) -> Doc:
    if "STOP" in doc.text:
        raise KeyboardInterrupt
    return doc


@Language.component("annotate_test_count")
def annotate_test_count(doc: Doc) -> Doc:
    SEEN.append(doc.text)
    return doc




@pytest.fixture(scope="module")
def biobert_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A transformer + biobert_ner + biobert_rel pipeline on disk, trained until it finds TRAINED's annotations."""
    path = tmp_path_factory.mktemp("biobert_model")
    fix_random_seed(0)
    train_ner_rel(tiny_bert, TRAINED, path / "train.jsonl", n_updates=25).to_disk(path / "model")
    return path / "model"


def write_jsonl(path: Path, texts: List[str], prefix: str = "doc") -> Path:
    with path.open("w", encoding="utf8") as file_:
        for i, text in enumerate(texts):
            file_.write(json.dumps({"id": f"{prefix}{i}", "text": text}) + "\n")
    return path


def read_jsonl(path: Path) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines() if line.strip()]


def test_jsonl_output_records(model_dir: Path, tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    summary = annotate(model_dir, inp, tmp_path / "out.jsonl", AnnotateSettings(progress=False))
    assert (summary.documents, summary.errors) == (len(TEXTS), 0)
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in records] == [f"doc{i}" for i in range(len(TEXTS))]
    assert [r["text"] for r in records] == TEXTS
    first = records[0]
    assert [(e["start"], e["end"], e["text"], e["label"]) for e in first["entities"]] == [
        (0, 5, "BRCA1", "GENE"),
        (22, 35, "breast cancer", "DISEASE"),
    ]
    assert all("score" not in e for e in first["entities"])
    assert first["relations"] == []
    assert records[3]["entities"] == []
    assert read_jsonl(tmp_path / "out.jsonl.errors.jsonl") == []
    assert not (tmp_path / ".out.jsonl.parts").exists()
    assert json.loads((tmp_path / "out.jsonl.manifest.json").read_text())["status"] == "complete"


def test_real_components_scores_and_relations(biobert_model: Path, tmp_path: Path) -> None:
    """biobert_ner's entities with their scores and biobert_rel's relations, through `spacy-biobert annotate`
    (JSONL, the relation JSONL format itself) and the API (BioC), exactly as the pipeline gives them."""
    texts = [record["text"] for record in TRAINED] + [""]
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    result = CliRunner().invoke(app, ["annotate", str(biobert_model), str(inp), str(tmp_path / "out.jsonl"),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [[(e["start"], e["end"], e["label"]) for e in r["entities"]] for r in records] == [
        [(e["start"], e["end"], e["label"]) for e in record["entities"]] for record in TRAINED
    ] + [[]]
    assert [[(rel["head"], rel["tail"], rel["label"]) for rel in r["relations"]] for r in records] == [
        [(rel["head"], rel["tail"], rel["label"]) for rel in record["relations"]] for record in TRAINED
    ] + [[]]
    nlp = spacy.load(biobert_model)
    for record, doc in zip(records, nlp.pipe(texts)):
        scores = [e["score"] for e in record["entities"]] + [rel["score"] for rel in record["relations"]]
        assert scores == [round(score, 4) for score in scores]
        assert scores == pytest.approx([ent._.score for ent in doc.ents] + [rel.score for rel in doc._.relations],
                                       abs=1e-4)
    annotate(biobert_model, inp, tmp_path / "out.json", AnnotateSettings(progress=False))
    document = json.loads((tmp_path / "out.json").read_text())["documents"][0]
    assert document["relations"][0]["nodes"] == [{"refid": "T0", "role": "head"}, {"refid": "T1", "role": "tail"}]
    gene = records[0]["entities"][0]
    assert document["passages"][0]["annotations"][0]["infons"] == {"type": "GENE", "score": str(gene["score"])}


@pytest.mark.parametrize("fmt", ["jsonl", "text", "pubtator", "pubmed"])
def test_input_formats(fmt: str, tmp_path: Path) -> None:
    if fmt == "jsonl":
        path = write_jsonl(tmp_path / "in.jsonl", TEXTS)
        expected = [(f"doc{i}", text) for i, text in enumerate(TEXTS)]
    elif fmt == "text":
        path = tmp_path / "in.txt"
        path.write_text("\n".join(TEXTS) + "\n", encoding="utf8")
        expected = [(f"in.txt:{i + 1}", text) for i, text in enumerate(TEXTS) if text]
    elif fmt == "pubtator":
        path = tmp_path / "in.pubtator"
        path.write_text(PUBTATOR, encoding="utf8")
        expected = [
            ("111", "BRCA1 in breast cancer tamoxifen helps. BRCA1 again."),
            ("222", "A title only"),
            ("333", "Another title Breast cancer and tamoxifen."),
        ]
    else:
        path = tmp_path / "in.xml.gz"
        with gzip.open(path, "wt", encoding="utf8") as file_:
            file_.write(PUBMED_XML)
        expected = [("1001", "BRCA1 and breast cancer. We studied tamoxifen."), ("1002", "No abstract here.")]
    (file_,) = find_input_files(str(path))
    assert file_.format == fmt
    items = list(read_input_file(file_))
    assert [(item.id, item.text) for item in items] == expected
    assert count_documents(file_) == len(expected)


def test_title_and_abstract_passages(tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_text(PUBMED_XML, encoding="utf8")
    first = next(iter(read_input_file(find_input_files(str(path))[0])))
    assert [(p.type, first.text[p.start:p.end]) for p in first.passages] == [
        ("title", "BRCA1 and breast cancer."),
        ("abstract", "We studied tamoxifen."),
    ]


def test_pubtator_round_trip(model_dir: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.pubtator"
    inp.write_text(PUBTATOR, encoding="utf8")
    annotate(model_dir, inp, tmp_path / "out.jsonl", AnnotateSettings(progress=False))
    annotate(model_dir, inp, tmp_path / "out.pubtator", AnnotateSettings(progress=False))
    records = read_jsonl(tmp_path / "out.jsonl")
    out = tmp_path / "out.pubtator"
    reread = list(read_input_file(InputFile(out, "out.pubtator", "pubtator", out.stat().st_size)))
    assert [(d.id, d.text) for d in reread] == [(r["id"], r["text"]) for r in records]
    blocks = out.read_text(encoding="utf8").strip().split("\n\n")
    for block, record in zip(blocks, records):
        entity_lines = [line.split("\t") for line in block.splitlines()[2:]]
        assert [(int(s), int(e), t, label) for _, s, e, t, label, _ in entity_lines] == [
            (e["start"], e["end"], e["text"], e["label"]) for e in record["entities"]
        ]
        for _, start, end, text, _, _ in entity_lines:
            assert record["text"][int(start):int(end)] == text


def test_bioc_output(model_dir: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.xml"
    inp.write_text(PUBMED_XML, encoding="utf8")
    annotate(model_dir, inp, tmp_path / "out.json", AnnotateSettings(progress=False))
    collection = json.loads((tmp_path / "out.json").read_text(encoding="utf8"))
    assert [d["id"] for d in collection["documents"]] == ["1001", "1002"]
    first = collection["documents"][0]
    assert [p["infons"]["type"] for p in first["passages"]] == ["title", "abstract"]
    found = []
    for passage in first["passages"]:
        for annotation in passage["annotations"]:
            (location,) = annotation["locations"]
            local = location["offset"] - passage["offset"]
            assert passage["text"][local:local + location["length"]] == annotation["text"]
            found.append((annotation["text"], annotation["infons"]["type"]))
    assert found == [("BRCA1", "GENE"), ("breast cancer", "DISEASE"), ("tamoxifen", "CHEMICAL")]


def test_folder_and_glob_inputs_deterministic(model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "b").mkdir(parents=True)
    (corpus / "a").mkdir()
    (corpus / "b" / "x.txt").write_text("BRCA1 here.\n\nbreast cancer there.\n", encoding="utf8")
    (corpus / "a" / "y.txt").write_text("tamoxifen.\n", encoding="utf8")
    write_jsonl(corpus / "a" / "z.jsonl", ["BRCA1"], prefix="z")
    (corpus / "README.md").write_text("not an input\n", encoding="utf8")
    (corpus / ".hidden.txt").write_text("skipped\n", encoding="utf8")
    annotate(model_dir, corpus, tmp_path / "dir.jsonl", AnnotateSettings(shard_size=1, progress=False))
    ids = [r["id"] for r in read_jsonl(tmp_path / "dir.jsonl")]
    assert ids == ["a/y.txt:1", "z0", "b/x.txt:1", "b/x.txt:3"]
    annotate(model_dir, f"{corpus}/*/*.txt", tmp_path / "glob.jsonl", AnnotateSettings(progress=False))
    assert [r["id"] for r in read_jsonl(tmp_path / "glob.jsonl")] == ["a/y.txt:1", "b/x.txt:1", "b/x.txt:3"]
    annotate(model_dir, corpus, tmp_path / "again.jsonl", AnnotateSettings(shard_size=3, batch_size=2, progress=False))
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "dir.jsonl").read_bytes()


def test_failures_go_to_errors_file(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    write_jsonl(inp, ["BRCA1 fine.", "This one goes BOOM.", "breast cancer fine.", "x" * 200])
    with inp.open("ab") as file_:
        file_.write(b"not json at all\n")
        file_.write(b'{"id": "badbytes", "text": "caf\xe9"}\n')
        file_.write(b'{"id": "notext"}\n')
    nlp = ruler_pipeline("annotate_test_boom")
    summary = annotate(nlp, inp, tmp_path / "out.jsonl", AnnotateSettings(batch_size=4, max_length=100, progress=False))
    assert (summary.documents, summary.errors) == (2, 5)
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["doc0", "doc2"]
    errors = {e["id"]: e["error"] for e in read_jsonl(tmp_path / "out.jsonl.errors.jsonl")}
    assert errors["doc1"].startswith("[E513]") and "exploded on purpose" in errors["doc1"]
    assert errors["doc3"].startswith("[E512]")
    assert errors["in.jsonl:5"].startswith("[E511]")
    assert errors["badbytes"].startswith("[E510]")
    assert errors["in.jsonl:7"].startswith("[E511]")


def test_failures_isolated_with_two_processes(tmp_path: Path) -> None:
    texts = [f"BRCA1 number {i}." if i != 5 else "BOOM" for i in range(12)]
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    nlp = ruler_pipeline("annotate_test_boom")
    summary = annotate(nlp, inp, tmp_path / "out.jsonl", AnnotateSettings(batch_size=3, n_process=2, progress=False))
    assert (summary.documents, summary.errors) == (11, 1)
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == [f"doc{i}" for i in range(12) if i != 5]


def test_empty_and_huge_documents(model_dir: Path, tmp_path: Path) -> None:
    huge = " ".join(["BRCA1 causes breast cancer."] * 20000)
    inp = write_jsonl(tmp_path / "in.jsonl", ["", huge])
    summary = annotate(model_dir, inp, tmp_path / "out.jsonl", AnnotateSettings(max_length=len(huge), progress=False))
    assert (summary.documents, summary.errors) == (2, 0)
    empty, big = read_jsonl(tmp_path / "out.jsonl")
    assert empty["entities"] == [] and len(big["entities"]) == 40000


def test_interrupted_run_redoes_only_unfinished_shards(tmp_path: Path) -> None:
    texts = [f"BRCA1 text {i}." for i in range(20)]
    texts[12] = "STOP here."
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        annotate(ruler_pipeline("annotate_test_interrupt"), inp, out,
                 AnnotateSettings(shard_size=5, batch_size=1, sort_buffer=1, progress=False))
    assert not out.exists() and len(list((tmp_path / ".out.jsonl.parts").glob("*.jsonl"))) == 2
    SEEN.clear()
    summary = annotate(ruler_pipeline("annotate_test_count"), inp, out,
                       AnnotateSettings(shard_size=5, batch_size=4, progress=False))
    assert SEEN == sorted(texts[10:], key=len)
    assert summary.documents == 20 and [r["id"] for r in read_jsonl(out)] == [f"doc{i}" for i in range(20)]


def test_resume_needs_same_settings(model_dir: Path, tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    out = tmp_path / "out.jsonl"
    annotate(model_dir, inp, out, AnnotateSettings(shard_size=2, progress=False))
    before = out.stat().st_mtime_ns
    summary = annotate(model_dir, inp, out, AnnotateSettings(shard_size=2, batch_size=7, sort_buffer=3,
                                                             progress=False))
    assert summary.documents == len(TEXTS) and out.stat().st_mtime_ns == before
    with pytest.raises(AnnotateError, match="E504"):
        annotate(model_dir, inp, out, AnnotateSettings(shard_size=3, progress=False))
    summary = annotate(model_dir, inp, out, AnnotateSettings(shard_size=3, overwrite=True, progress=False))
    assert summary.documents == len(TEXTS)


@pytest.mark.parametrize(
    "inputs,kwargs,code",
    [("missing/*.jsonl", {}, "E501"), ("in.csv", {}, "E502"), ("in.jsonl", {"input_format": "xls"}, "E503"),
     ("in.jsonl", {"engine": "spark"}, "E506"), ("in.jsonl", {"shard_size": 0}, "E507"),
     ("in.jsonl", {"sort_buffer": 0}, "E507")],
)
def test_bad_arguments(model_dir: Path, tmp_path: Path, inputs: str, kwargs: Dict[str, Any], code: str) -> None:
    write_jsonl(tmp_path / "in.jsonl", TEXTS)
    (tmp_path / "in.csv").write_text("a,b\n", encoding="utf8")
    with pytest.raises(AnnotateError, match=code):
        annotate(model_dir, str(tmp_path / inputs), tmp_path / "out.jsonl", AnnotateSettings(progress=False, **kwargs))


def test_cli(model_dir: Path, tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    args = ["annotate", str(model_dir), str(inp), str(tmp_path / "o.pubtator"), "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.pubtator").read_text(encoding="utf8").startswith("doc0|t|BRCA1 mutations")
    result = CliRunner().invoke(app, ["annotate", str(model_dir), str(inp), str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "E503" in result.output


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(tmp_path: Path) -> None:
    """Killed with SIGKILL (twice, at different points) and re-run: every document exactly once, as unkilled."""
    code = tmp_path / "slow.py"
    code.write_text(SLOW_CODE, encoding="utf8")
    model = tmp_path / "model"
    exec(compile(SLOW_CODE, str(code), "exec"), {})
    ruler_pipeline("annotate_test_slow").to_disk(model)
    texts = [f"Patient {i} has breast cancer; BRCA1 test {i}." for i in range(80)]
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    out = tmp_path / "out.jsonl"
    parts = tmp_path / ".out.jsonl.parts"
    command = [sys.executable, "-m", "spacy_biobert", "annotate", str(model), str(inp), str(out),
               "--code", str(code), "--shard-size", "5", "--batch-size", "2", "--no-progress"]
    for min_shards in (2, 6):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.is_dir() and len(list(parts.glob("*.jsonl"))) >= min_shards:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not out.exists()
    assert subprocess.run(command, capture_output=True).returncode == 0
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids == [f"doc{i}" for i in range(len(texts))]
    reference = tmp_path / "reference.jsonl"
    annotate(ruler_pipeline(), inp, reference, AnnotateSettings(shard_size=5, progress=False))
    assert out.read_bytes() == reference.read_bytes()


@pytest.mark.slow
def test_ray_engine_matches_local(model_dir: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    inp = tmp_path / "in"
    inp.mkdir()
    write_jsonl(inp / "a.jsonl", TEXTS + ["tamoxifen " * 3])
    (inp / "b.pubtator").write_text(PUBTATOR, encoding="utf8")
    with (inp / "c.jsonl").open("wb") as file_:
        file_.write(b'{"id": "bad", "text": "\xff"}\n')
    (inp / "d.txt").write_text("", encoding="utf8")
    local = annotate(model_dir, inp, tmp_path / "local.json", AnnotateSettings(shard_size=2, progress=False))
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        remote = annotate(model_dir, inp, tmp_path / "ray.json",
                          AnnotateSettings(shard_size=2, batch_size=3, engine="ray", progress=False))
    finally:
        ray.shutdown()
    assert (remote.documents, remote.errors) == (local.documents, local.errors) == (9, 1)
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "local.json").read_bytes()
    assert (tmp_path / "ray.json.errors.jsonl").read_bytes() == (tmp_path / "local.json.errors.jsonl").read_bytes()
