"""Failure behaviour: every bad input a one-line coded error, no data loss when runs collide or are killed,
resumes that notice changed inputs and models (issue 18's table, a test or more a row).

Concurrency and kill cases run real processes (`python -m spacy_biobert ...`); a kill at an exact moment
comes from `KILLER`, a small script that patches one function of the package to SIGKILL its own process
there, then runs the CLI unchanged.
"""
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

import pytest
import spacy
from spacy.language import Language
from typer.testing import CliRunner

from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.annotate.lock import OutputLock
from spacy_biobert.cli import app
from spacy_biobert.errors import AnnotateError, CorpusError
from spacy_biobert.readers.ner import create_iob_tsv_reader, read_iob_sentences
from spacy_biobert.readers.qa import read_squad
from spacy_biobert.readers.rel import create_re_tsv_reader, create_rel_jsonl_reader, read_re_tsv, read_rel_jsonl

from .util import blank_with_transformer, ruler_pipeline

BOM = b"\xef\xbb\xbf"
LATIN1 = "Caf\xe9 BRCA1".encode("latin1")
SLOW_CODE = """
import os
import time
from pathlib import Path
from spacy.language import Language


@Language.component("reliability_slow")
def reliability_slow(doc):
    time.sleep(0.05)
    release = os.environ.get("RELIABILITY_RELEASE")
    if "WAIT" in doc.text and release:  # hold the run here until the test creates the file (at most 30 s)
        for _ in range(3000):
            if Path(release).exists():
                break
            time.sleep(0.01)
    return doc
"""
# Runs the CLI after patching the package so that the process SIGKILLs itself at the point named by argv[1].
KILLER = r"""
import os, signal, sys
point = sys.argv[1]
sys.argv = [sys.argv[0]] + sys.argv[2:]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

from spacy_biobert.annotate import annotator, shards
if point == "in_shard":
    original_record, calls = annotator.doc_record, []
    def doc_record(doc, item):
        calls.append(1)
        if len(calls) == 7:
            die()
        return original_record(doc, item)
    annotator.doc_record = doc_record
elif point in ("between_shards", "file_boundary"):
    original_write, written = shards.ShardStore.write_shard, []
    def write_shard(self, key, last, lines):
        original_write(self, key, last, lines)
        written.append(key)
        if (point == "between_shards" and len(written) == 2) or (point == "file_boundary" and last and key[0] == 0):
            die()
    shards.ShardStore.write_shard = write_shard
elif point == "during_merge":
    original_records = shards.write_records
    def write_records(records, stream, fmt):
        def some():
            for i, record in enumerate(records):
                if i == 3:
                    stream.flush()
                    die()
                yield record
        return original_records(some(), stream, fmt)
    shards.write_records = write_records
elif point == "after_rename":
    original_replace = os.replace
    def replace(src, dst):
        original_replace(src, dst)
        if str(dst).endswith("out.jsonl"):
            die()
    os.replace = replace
from spacy_biobert.cli import main
main()
"""



def write_jsonl(path: Path, texts: Sequence[str], prefix: str = "doc") -> Path:
    path.write_text("".join(json.dumps({"id": f"{prefix}{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
                    encoding="utf8")
    return path


def read_jsonl(path: Path) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines() if line.strip()]


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def assert_one_line_error(result: Any, code: str) -> None:
    """Exit status 1, the coded error on one line, no traceback."""
    if isinstance(result, subprocess.CompletedProcess):
        output, status = result.stdout + result.stderr, result.returncode
    else:
        output, status = result.output, result.exit_code
    assert status == 1, output
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if code in line]
    assert len(errors) == 1 and errors[0].startswith("✘"), output
    assert "Traceback" not in output, output


@Language.component("reliability_interrupt")
def reliability_interrupt(doc: Any) -> Any:
    if "STOP" in doc.text:
        raise KeyboardInterrupt
    return doc



@pytest.fixture
def slow_model(tmp_path: Path) -> Path:
    """A pipeline folder whose component sleeps per document, and the --code file that registers it."""
    code = tmp_path / "slow.py"
    code.write_text(SLOW_CODE, encoding="utf8")
    exec(compile(SLOW_CODE, str(code), "exec"), {})
    path = tmp_path / "slow_model"
    ruler_pipeline("reliability_slow").to_disk(path)
    return path


def _annotate_command(model: Path, inp: Path, out: Path, *extra: str) -> List[str]:
    return [sys.executable, "-m", "spacy_biobert", "annotate", str(model), str(inp), str(out), "--shard-size", "5",
            "--batch-size", "2", "--no-progress", *extra]


# ---------------------------------------------------------------------------------------------------------
# annotate: one writer per OUTPUT
# ---------------------------------------------------------------------------------------------------------


def test_locked_output_refused_in_process(model_dir: Path, tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", ["BRCA1 and cancer."] * 3)
    out = tmp_path / "out.jsonl"
    with OutputLock(out):
        with pytest.raises(AnnotateError, match=rf"E515.*process {os.getpid()}"):
            annotate(model_dir, inp, out, AnnotateSettings(progress=False))
    assert not out.exists()
    assert annotate(model_dir, inp, out, AnnotateSettings(progress=False)).documents == 3


def test_refused_run_names_a_holder_that_has_not_written_its_pid_yet(tmp_path: Path) -> None:
    """A run refused between the holder's lock and its pid write (was: "process unknown", or a finished run's pid)."""
    out = tmp_path / "out.jsonl"
    lock_file = tmp_path / ".out.jsonl.lock"
    lock_file.write_text("999999999\n")
    fd = os.open(lock_file, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def write_pid() -> None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)

    writer = threading.Timer(0.2, write_pid)
    writer.start()
    try:
        with pytest.raises(AnnotateError, match=rf"E515.*process {os.getpid()} holds"):
            OutputLock(out).acquire()
    finally:
        writer.join()
        os.close(fd)


@pytest.mark.slow
def test_second_run_during_last_shard_fails_and_loses_nothing(slow_model: Path, tmp_path: Path) -> None:
    """Row: a second run started while the first is in its last shard (was: OUTPUT emptied)."""
    texts = [f"Patient {i}: BRCA1 and cancer." for i in range(30)]
    texts[27] = "WAIT here: BRCA1."
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    out = tmp_path / "out.jsonl"
    parts = tmp_path / ".out.jsonl.parts"
    release = tmp_path / "release"
    env = {**os.environ, "RELIABILITY_RELEASE": str(release)}
    command = _annotate_command(slow_model, inp, out, "--code", str(tmp_path / "slow.py"), "--sort-buffer", "1")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.jsonl"))) >= 5:
            break
        time.sleep(0.01)
    assert first.poll() is None, "the first run finished before the second could start"
    second = subprocess.run(command, capture_output=True, text=True, env=env)
    release.touch()
    assert_one_line_error(second, "E515")
    assert f"process {first.pid}" in second.stderr
    first.communicate()
    assert first.returncode == 0
    assert [r["id"] for r in read_jsonl(out)] == [f"doc{i}" for i in range(30)]
    assert json.loads((tmp_path / "out.jsonl.manifest.json").read_text())["documents"] == 30
    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0 and len(read_jsonl(out)) == 30


@pytest.mark.slow
def test_two_runs_started_at_once(slow_model: Path, tmp_path: Path) -> None:
    """Row: two runs started at once (was: both did all the work, one died with a FileNotFoundError)."""
    texts = [f"Patient {i}: BRCA1 and cancer." for i in range(30)]
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    out = tmp_path / "out.jsonl"
    command = _annotate_command(slow_model, inp, out, "--code", str(tmp_path / "slow.py"))
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.pid, *run.communicate(), run.returncode) for run in runs]
    codes = sorted(code for *_, code in results)
    assert codes == [0, 1], results
    winner = next(pid for pid, _, _, code in results if code == 0)
    _, stdout, stderr, _ = next(r for r in results if r[3] == 1)
    assert "E515" in stderr and f"process {winner}" in stderr and "Traceback" not in stderr + stdout
    assert [r["id"] for r in read_jsonl(out)] == [f"doc{i}" for i in range(30)]


# ---------------------------------------------------------------------------------------------------------
# annotate: resume checks inputs and model
# ---------------------------------------------------------------------------------------------------------


def _interrupted_run(tmp_path: Path, model: Any) -> Dict[str, Path]:
    """Two input files; the run stops (KeyboardInterrupt) in the second, after the first was read whole
    (unsorted, so that the documents reach the pipeline in input order)."""
    folder = tmp_path / "in"
    folder.mkdir()
    first = write_jsonl(folder / "a.jsonl", [f"BRCA1 text {i}." for i in range(6)], prefix="a")
    second = write_jsonl(folder / "b.jsonl", ["BRCA1 b0.", "BRCA1 b1.", "STOP", "BRCA1 b3."], prefix="b")
    out = tmp_path / "out.jsonl"
    nlp = ruler_pipeline("reliability_interrupt") if model is None else model
    with pytest.raises(KeyboardInterrupt):
        annotate(nlp, folder, out, AnnotateSettings(shard_size=2, batch_size=1, sort_buffer=1, progress=False))
    assert not out.exists()
    return {"folder": folder, "first": first, "second": second, "out": out}


def _same_size_edit(path: Path, keep_mtime: bool) -> None:
    stat = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"BRCA1", b"XXXXX", 1))
    assert path.stat().st_size == stat.st_size
    if keep_mtime:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("which,keep_mtime", [("first", True), ("second", False)])
def test_resume_refuses_edited_input(tmp_path: Path, which: str, keep_mtime: bool) -> None:
    """Row: an input file edited (same size) between kill and resume (was: silently kept the old text).

    `first` was read whole (its hash is recorded; the edit keeps its mtime), `second` only in part."""
    run = _interrupted_run(tmp_path, None)
    _same_size_edit(run[which], keep_mtime)
    with pytest.raises(AnnotateError, match=rf"E517.*{run[which].name}"):
        annotate(ruler_pipeline(), run["folder"], run["out"], AnnotateSettings(shard_size=2, progress=False))
    summary = annotate(ruler_pipeline(), run["folder"], run["out"],
                       AnnotateSettings(shard_size=2, overwrite=True, progress=False))
    assert summary.documents == 10
    assert "XXXXX" in run["out"].read_text(encoding="utf8")


def test_resume_accepts_touched_input(tmp_path: Path) -> None:
    """A file read whole and only touched since (same bytes, new mtime) does not block the resume."""
    run = _interrupted_run(tmp_path, None)
    os.utime(run["first"], ns=(0, run["first"].stat().st_mtime_ns + 10**9))
    summary = annotate(ruler_pipeline(), run["folder"], run["out"], AnnotateSettings(shard_size=2, progress=False))
    assert summary.documents == 10


def test_resume_refuses_retrained_model(tmp_path: Path) -> None:
    """Row: the model folder retrained in place between kill and resume (was: two models' output mixed)."""
    model = tmp_path / "model"
    nlp = ruler_pipeline("reliability_interrupt")
    nlp.to_disk(model)
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", ["BRCA1 a.", "BRCA1 b.", "STOP", "BRCA1 d."])
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        annotate(model, folder, out, AnnotateSettings(shard_size=2, batch_size=1, sort_buffer=1, progress=False))
    retrained = spacy.blank("en")
    retrained.add_pipe("entity_ruler").add_patterns([{"label": "OTHER", "pattern": "BRCA1"}])
    time.sleep(0.01)
    retrained.to_disk(model)
    with pytest.raises(AnnotateError, match=rf"E518.*{model}"):
        annotate(model, folder, out, AnnotateSettings(shard_size=2, progress=False))
    result = cli("annotate", model, folder, out, "--shard-size", "2", "--no-progress")
    assert_one_line_error(result, "E518")
    assert annotate(model, folder, out, AnnotateSettings(shard_size=2, overwrite=True, progress=False)).documents == 4
    assert {e["label"] for r in read_jsonl(out) for e in r["entities"]} == {"OTHER"}


# ---------------------------------------------------------------------------------------------------------
# annotate: SIGKILL at five moments, then resume: byte-identical to an uninterrupted run
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("point", ["in_shard", "between_shards", "file_boundary", "during_merge", "after_rename"])
def test_sigkill_then_resume_is_lossless(model_dir: Path, tmp_path: Path, point: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [f"BRCA1 and cancer {i}." for i in range(12)], prefix="a")
    write_jsonl(folder / "b.jsonl", [f"Cancer {i} without genes." for i in range(9)] + [""], prefix="b")
    (folder / "c.jsonl").write_bytes(b'{"id": "c0", "text": "BRCA1 \xff"}\nnot json\n')
    out = tmp_path / "out.jsonl"
    command = _annotate_command(model_dir, folder, out)
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER, encoding="utf8")
    killed = subprocess.run([sys.executable, str(killer), point, *command[3:]], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert json.loads((tmp_path / "out.jsonl.manifest.json").read_text())["status"] == "running"
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    reference = tmp_path / "reference" / "out.jsonl"
    annotate(model_dir, folder, reference, AnnotateSettings(shard_size=5, progress=False))
    assert out.read_bytes() == reference.read_bytes()
    errors = tmp_path / "out.jsonl.errors.jsonl"
    assert errors.read_bytes() == (reference.parent / "out.jsonl.errors.jsonl").read_bytes()
    assert len(read_jsonl(out)) + len(read_jsonl(errors)) == 24


# ---------------------------------------------------------------------------------------------------------
# annotate: OUTPUT that cannot be written; MODEL that is no pipeline; blank pipeline
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["under_a_file", "output_is_a_folder", "proc"])
def test_unwritable_output_is_one_line(model_dir: Path, tmp_path: Path, where: str) -> None:
    """Row: OUTPUT under a file, or where nothing can be created (was: FileNotFoundError/FileExistsError tracebacks)."""
    inp = write_jsonl(tmp_path / "in.jsonl", ["BRCA1."])
    (tmp_path / "a_file").write_text("x", encoding="utf8")
    (tmp_path / "a_folder").mkdir()
    output = {"under_a_file": tmp_path / "a_file" / "out.jsonl", "output_is_a_folder": tmp_path / "a_folder",
              "proc": Path("/proc/spacy_biobert_test/out.jsonl")}[where]
    if where == "output_is_a_folder":
        output = output.with_suffix(".jsonl")
        output.mkdir()
    assert_one_line_error(cli("annotate", model_dir, inp, output, "--no-progress"), "E516")


@pytest.mark.slow
def test_read_only_output_folder_is_one_line() -> None:
    """Row: OUTPUT in a read-only folder (was: a PermissionError traceback). As root (who writes anywhere),
    the command runs as `nobody` through `setpriv`."""
    as_nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"] if os.geteuid() == 0 else []
    if as_nobody and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop privileges")
    base = Path(tempfile.mkdtemp())
    try:
        base.chmod(0o755)
        ruler_pipeline().to_disk(base / "model")
        inp = write_jsonl(base / "in.jsonl", ["BRCA1."])
        locked = base / "ro"
        locked.mkdir()
        locked.chmod(0o555)
        command = [*as_nobody, sys.executable, "-m", "spacy_biobert", "annotate", str(base / "model"), str(inp),
                   str(locked / "out.jsonl"), "--no-progress"]
        result = subprocess.run(command, capture_output=True, text=True, cwd=str(Path(__file__).parent.parent))
        assert_one_line_error(result, "E516")
        assert "Permission denied" in result.stderr
    finally:
        locked.chmod(0o755)
        shutil.rmtree(base)


@pytest.mark.parametrize("command", ["annotate", "evaluate"])
@pytest.mark.parametrize("model,code", [("missing", "E025"), ("empty", "E026"), ("hf", "E027")])
def test_model_that_is_no_pipeline(command: str, model: str, code: str, tmp_path: Path, tiny_bert: Path) -> None:
    """Row: nonexistent model, empty folder, a Hugging Face folder as MODEL (was: tracebacks ending in E050/E053)."""
    (tmp_path / "empty").mkdir()
    path = {"missing": tmp_path / "no_such_model", "empty": tmp_path / "empty", "hf": tiny_bert}[model]
    inp = write_jsonl(tmp_path / "in.jsonl", ["BRCA1."])
    tsv = tmp_path / "test.tsv"
    tsv.write_text("BRCA1\tB-GENE\n", encoding="utf8")
    args = (["annotate", path, inp, tmp_path / "out.jsonl", "--no-progress"] if command == "annotate"
            else ["evaluate", path, tsv, "--task", "ner"])
    result = cli(*args)
    assert_one_line_error(result, code)
    assert str(path) in result.output


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", ["BRCA1."])
    result = cli("annotate", tmp_path / "missing", inp, tmp_path / "out.jsonl", "--verbose")
    assert result.exit_code == 1 and "E025" in result.output
    assert "Traceback (most recent call last)" in result.output


def test_blank_pipeline_warns(tmp_path: Path) -> None:
    """Row: a blank pipeline with no components (was: empty entities without a warning)."""
    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    inp = write_jsonl(tmp_path / "in.jsonl", ["BRCA1 and cancer."])
    with pytest.warns(UserWarning, match="W501"):
        summary = annotate(blank, inp, tmp_path / "out.jsonl", AnnotateSettings(progress=False))
    assert summary.documents == 1


# ---------------------------------------------------------------------------------------------------------
# evaluate: bad data and models without the task's component
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rel_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised (untrained) transformer + biobert_rel pipeline on disk."""
    tmp_path = tmp_path_factory.mktemp("rel_model")
    nlp = blank_with_transformer(tiny_bert)
    nlp.add_pipe("biobert_rel")
    train = tmp_path / "train.tsv"
    train.write_text("@GENE$ causes @DISEASE$ .\t1\n@GENE$ and @DISEASE$ .\t0\n", encoding="utf8")
    examples = list(create_re_tsv_reader(train)(nlp))
    nlp.initialize(get_examples=lambda: examples)
    nlp.to_disk(tmp_path / "model")
    return tmp_path / "model"


@pytest.mark.parametrize(
    "data,content,code",
    [
        ("malformed.tsv", b"BRCA1\tB-GENE\nbroken line without tab\n", "E002"),
        ("latin1.tsv", b"BRCA1\tB-GENE\n" + LATIN1 + b"\tO\n", "E006"),
        ("missing.tsv", None, "E001"),
        ("empty.tsv", b"\n\n", "E007"),
    ],
)
def test_evaluate_ner_bad_data(model_dir: Path, tmp_path: Path, data: str, content: bytes, code: str) -> None:
    """Row: malformed TSV line, non-UTF-8 data, missing data (was: full tracebacks)."""
    if content is not None:
        (tmp_path / data).write_bytes(content)
    result = cli("evaluate", model_dir, tmp_path / data, "--task", "ner")
    assert_one_line_error(result, code)
    assert data in result.output


GOLDEN_QA = {"questions": [{"id": "Q1", "type": "factoid", "body": "What causes cancer?", "exact_answer": [["BRCA1"]],
                             "snippets": [{"text": "BRCA1 causes cancer."}]}]}


@pytest.mark.parametrize(
    "task,data,content,code",
    [
        ("ner", "test.tsv", "BRCA1\tB-GENE\n", "E029"),
        ("rel", "test.tsv", "index\tsentence\tlabel\n0\t@GENE$ x @DISEASE$\t1\n", "E029"),
        ("qa", "golden.json", json.dumps(GOLDEN_QA), "E304"),
    ],
)
def test_evaluate_model_without_the_component(tmp_path: Path, task: str, data: str, content: str, code: str) -> None:
    """Row: a model without the task's component (was: a traceback)."""
    model = tmp_path / "model"
    spacy.blank("en").to_disk(model)
    (tmp_path / data).write_text(content, encoding="utf8")
    assert_one_line_error(cli("evaluate", model, tmp_path / data, "--task", task), code)


@pytest.mark.parametrize(
    "data,code,where",
    [
        ("test.tsv", "E002", "line 2"),  # RE label `2` (was: a CorpusError traceback)
        ("test.txt", "E206", "test.txt"),  # not a relation test file
    ],
)
def test_evaluate_rel_bad_data(rel_model: Path, tmp_path: Path, data: str, code: str, where: str) -> None:
    (tmp_path / data).write_text("index\tsentence\tlabel\n0\t@GENE$ causes @DISEASE$ .\t2\n", encoding="utf8")
    result = cli("evaluate", rel_model, tmp_path / data, "--task", "rel")
    assert_one_line_error(result, code)
    assert where in result.output


# ---------------------------------------------------------------------------------------------------------
# readers: encodings, BOM, empty files
# ---------------------------------------------------------------------------------------------------------

NER_TYPED = b"BRCA1\tB-GENE\ncauses\tO\ncancer\tB-DISEASE\n"
NER_UNTYPED = b"BRCA1\tB\ncauses\tO\n"
RE_TSV = b"index\tsentence\tlabel\n0\t@GENE$ causes @DISEASE$ .\t1\n"
REL_JSONL = b'{"text": "BRCA1 causes cancer", "entities": [], "relations": []}\n'
SQUAD = (b'{"data": [{"paragraphs": [{"context": "BRCA1 causes cancer", "qas": [{"id": "q1", "question": '
         b'"What causes cancer?", "answers": [{"text": "BRCA1", "answer_start": 0}]}]}]}]}')
READERS = {
    "ner_typed": (lambda p, **kw: list(read_iob_sentences(p, **kw)), NER_TYPED),
    "ner_untyped": (lambda p, **kw: list(read_iob_sentences(p, label="GENE", **kw)), NER_UNTYPED),
    "re_tsv": (lambda p, **kw: list(read_re_tsv(p, **kw)), RE_TSV),
    "rel_jsonl": (lambda p, **kw: list(read_rel_jsonl(p, **kw)), REL_JSONL),
    "squad": (lambda p, **kw: list(read_squad(p)), SQUAD),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_non_utf8_names_file_line_and_byte(tmp_path: Path, reader: str) -> None:
    """Row: non-UTF-8 bytes in NER (typed/untyped), RE TSV, SQuAD (was: a bare UnicodeDecodeError)."""
    read, content = READERS[reader]
    lines = content.split(b"\n")
    lines[1 if len(lines) > 2 else 0] = lines[1 if len(lines) > 2 else 0].replace(b"causes", b"caus\xe9s")
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"\n".join(lines))
    line = 2 if len(lines) > 2 else 1
    offset = len(b"\n".join(lines[: line - 1])) + (1 if line > 1 else 0) + lines[line - 1].index(b"\xe9")
    with pytest.raises(CorpusError, match=re.escape(f"E006] {path}, line {line}, byte {offset}: not valid UTF-8")):
        read(path)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_bom_is_stripped(tmp_path: Path, reader: str) -> None:
    """Rows: a BOM at the start of a NER TSV (was: first token '\\ufeffBRCA1'), before an RE TSV header
    (was: "expected 2 columns" on line 1); every text reader drops it."""
    read, content = READERS[reader]
    plain, with_bom = tmp_path / "plain.txt", tmp_path / "bom.txt"
    plain.write_bytes(content)
    with_bom.write_bytes(BOM + content)
    assert read(with_bom) == read(plain)


def test_bom_ner_first_token_and_entity(tmp_path: Path) -> None:
    path = tmp_path / "bom.tsv"
    path.write_bytes(BOM + NER_TYPED)
    examples = list(create_iob_tsv_reader(path)(spacy.blank("en")))
    assert examples[0].reference[0].text == "BRCA1"
    assert [e.text for e in examples[0].reference.ents] == ["BRCA1", "cancer"]


def test_bom_before_re_header(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_bytes(BOM + RE_TSV)
    assert [row.label for row in read_re_tsv(path)] == ["1"]


EMPTY_READERS = {
    "ner_typed": lambda p, **kw: create_iob_tsv_reader(p, **kw),
    "ner_untyped": lambda p, **kw: create_iob_tsv_reader(p, label="GENE", **kw),
    "re_tsv": lambda p, **kw: create_re_tsv_reader(p, **kw),
    "rel_jsonl": lambda p, **kw: create_rel_jsonl_reader(p, **kw),
}


@pytest.mark.parametrize("reader", sorted(EMPTY_READERS))
@pytest.mark.parametrize("content", [b"", b"\n  \n\t\n"])
def test_empty_corpus_file_is_an_error(tmp_path: Path, reader: str, content: bytes) -> None:
    """Row: an empty or blank-only corpus file (was: 0 examples, no error, no warning)."""
    path = tmp_path / "corpus.tsv"
    path.write_bytes(content)
    nlp = spacy.blank("en")
    with pytest.raises(CorpusError, match=re.escape(f"E007] {path}")):
        list(EMPTY_READERS[reader](path)(nlp))
    assert list(EMPTY_READERS[reader](path, allow_empty=True)(nlp)) == []


def test_empty_squad_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "squad.json"
    path.write_bytes(b"")
    with pytest.raises(CorpusError, match=re.escape(f"E007] {path}")):
        list(read_squad(path))


# ---------------------------------------------------------------------------------------------------------
# pretrain
# ---------------------------------------------------------------------------------------------------------

PRETRAIN_TEXTS = [
    "BRCA1 mutations raise breast cancer risk.",
    "Tamoxifen lowers the risk of breast cancer.",
    "The kinase inhibits tumor cells in patients.",
    "Imatinib is a treatment for the disease.",
    "Mutations in the gene cause the disease.",
]
# Runs `pretrain` after patching its progress bar so the process SIGKILLs itself when step argv[1] is done
# (before that step is logged, after the checkpoint of an earlier step).
PRETRAIN_KILLER = r"""
import os, signal, sys
kill_at = int(sys.argv[1])
sys.argv = [sys.argv[0]] + sys.argv[2:]
from spacy_biobert.pretraining import trainer
original = trainer.tqdm

class Bar(original):
    def update(self, n=1):
        super().update(n)
        if self.n >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

trainer.tqdm = Bar
from spacy_biobert.cli import main
main()
"""


def _pretrain_command(tiny_bert: Path, corpus: Path, output: Path, *extra: str) -> List[str]:
    return ["-m", "spacy_biobert", "pretrain", str(corpus), "--base", str(tiny_bert), "--output", str(output),
            "--max-steps", "10", "--max-seq-length", "32", "--batch-size", "4", "--lr", "1e-3", "--warmup", "2",
            "--heldout", "4", "--heldout-every", "5", "--precision", "fp32", "--save-every", "3",
            "--shuffle-buffer", "16", *extra]


@pytest.mark.slow
def test_pretrain_resume_is_bit_for_bit(tiny_bert: Path, tmp_path: Path) -> None:
    """Row: SIGKILL after a checkpoint, then --resume (was: log repeated steps, final weights differed)."""
    from safetensors.torch import load_file

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(PRETRAIN_TEXTS * 30) + "\n", encoding="utf8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    subprocess.run([sys.executable, *_pretrain_command(tiny_bert, corpus, whole)], env=env, check=True,
                   capture_output=True)
    killer = tmp_path / "killer.py"
    killer.write_text(PRETRAIN_KILLER, encoding="utf8")
    killed = subprocess.run([sys.executable, str(killer), "8", *_pretrain_command(tiny_bert, corpus, resumed)[2:]],
                            env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert [json.loads(line)["step"] for line in (resumed / "pretraining_log.jsonl").read_text().splitlines()] == \
        list(range(1, 8))
    subprocess.run([sys.executable, *_pretrain_command(tiny_bert, corpus, resumed, "--resume")], env=env,
                   check=True, capture_output=True)
    log = [json.loads(line) for line in (resumed / "pretraining_log.jsonl").read_text().splitlines()]
    reference = [json.loads(line) for line in (whole / "pretraining_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 11))
    assert [(r["step"], r["loss"], r["lr"]) for r in log] == [(r["step"], r["loss"], r["lr"]) for r in reference]
    weights, expected = load_file(str(resumed / "model.safetensors")), load_file(str(whole / "model.safetensors"))
    assert weights.keys() == expected.keys()
    assert all(weights[key].equal(expected[key]) for key in expected)


def test_long_single_line_is_split_before_tokenizing(tiny_bert: Path, tmp_path: Path, monkeypatch: Any) -> None:
    """Row: a corpus that is one 1 MB line with --heldout 0 (was: 277 s before step 1): the tokenizer never
    sees a text longer than --max-text-chars."""
    from spacy_biobert.pretraining import PretrainingSettings, pretrain, packing

    original, longest = packing._tokenize, []

    def checked(texts: Any, tokenizer: Any, batch_size: int) -> Any:
        def measured() -> Any:
            for text in texts:
                longest.append(len(text))
                assert len(text) <= 2000, "a text longer than max_text_chars reached the tokenizer"
                yield text
        return original(measured(), tokenizer, batch_size)

    monkeypatch.setattr(packing, "_tokenize", checked)
    corpus = tmp_path / "one_line.txt"
    words = " ".join(PRETRAIN_TEXTS)
    corpus.write_text((words + " ") * (1_000_000 // (len(words) + 1)) + "\n", encoding="utf8")
    settings = PretrainingSettings(corpus=[str(corpus)], base=str(tiny_bert), output=str(tmp_path / "out"),
                                   max_steps=1, max_seq_length=32, batch_size=2, heldout=0, precision="fp32",
                                   save_every=0, max_text_chars=2000)
    metrics = pretrain(settings)
    assert metrics["train"]["steps_this_run"] == 1 and max(longest) <= 2000


def test_split_long_texts_keeps_every_word() -> None:
    from spacy_biobert.pretraining.packing import split_long_texts

    text = " ".join(f"w{i}" for i in range(1000))
    pieces = list(split_long_texts([text, "short", "x" * 25], 20))
    assert all(len(piece) <= 20 for piece in pieces)
    assert " ".join(pieces[:-3]).split() == text.split() and pieces[-3:] == ["short", "x" * 20, "x" * 5]
    assert list(split_long_texts([text], 0)) == [text]


def test_pretrain_random_bytes_names_the_file(tiny_bert: Path, tmp_path: Path) -> None:
    """Row: random bytes as corpus (was: one line without the file name)."""
    corpus = tmp_path / "random.txt"
    corpus.write_bytes(b"\xff\xfe" + os.urandom(4096))
    result = cli("pretrain", corpus, "--base", tiny_bert, "--output", tmp_path / "out", "--max-steps", "1",
                 "--max-seq-length", "32", "--precision", "fp32")
    assert_one_line_error(result, "E006")
    assert str(corpus) in result.output and "line 1" in result.output


def test_pretrain_empty_corpus_file_names_it(tiny_bert: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "empty.txt"
    corpus.write_bytes(b"\n\n")
    result = cli("pretrain", corpus, "--base", tiny_bert, "--output", tmp_path / "out", "--max-steps", "1",
                 "--max-seq-length", "32", "--precision", "fp32")
    assert_one_line_error(result, "E007")
    assert str(corpus) in result.output
