"""`spacy-biobert serve`: the REST API on a tiny pipeline (TestClient), its micro-batching, its CLI, and
the web page in headless Chromium against a real server (slow)."""
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import spacy
from fastapi.testclient import TestClient
from spacy.language import Language
from typer.testing import CliRunner

from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.cli import app as cli_app
from spacy_biobert.readers.qa import QARecord, record_to_example
from spacy_biobert.serve import ServeSettings
from spacy_biobert.serve.app import create_app
from spacy_biobert.serve.batching import MicroBatcher

from . import serve_components  # noqa: F401  (registers serve_test_relate)
from .util import RULER_PATTERNS as PATTERNS

COMPONENTS = Path(serve_components.__file__)
TEXTS = [
    "BRCA1 mutations raise breast cancer risk.",
    "Tamoxifen lowers it; tamoxifen is a drug.",
    "Nothing to see here.",
    "BRCA1 and breast cancer again, and tamoxifen.",
]
QA_TEXT = "BRCA1 mutations raise breast cancer risk; tamoxifen lowers it."
QUESTION = "What raises breast cancer risk?"
SETTINGS = ServeSettings(max_text_chars=200, max_texts=4, max_top_k=5, batch_size=8, max_wait_ms=20)


def make_nlp(tiny_bert: Path, qa: bool = True) -> Language:
    """Entity ruler, scores and a relation (serve_test_relate) and, optionally, an untrained biobert_qa."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.add_pipe("serve_test_relate")
    if qa:
        config = {"name": str(tiny_bert), "max_seq_length": 64, "doc_stride": 16, "max_query_length": 16}
        nlp.add_pipe("biobert_qa", config={"model": config})
        examples = [record_to_example(nlp, QARecord("q", QUESTION, QA_TEXT, [(0, 15)]))]
        nlp.get_pipe("biobert_qa").initialize(lambda: examples, nlp=nlp)
    return nlp


@pytest.fixture(scope="module")
def nlp(tiny_bert: Path) -> Language:
    return make_nlp(tiny_bert)


@pytest.fixture(scope="module")
def client(nlp: Language) -> Iterator[TestClient]:
    with TestClient(create_app(nlp, SETTINGS, model_name="tiny")) as test_client:
        yield test_client


def assert_healthy(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    response = client.post("/annotate", json={"text": TEXTS[0]})
    assert response.status_code == 200 and response.json()["text"] == TEXTS[0]


def test_annotate_returns_the_records_annotate_writes(client: TestClient, nlp: Language, tmp_path: Path) -> None:
    with (tmp_path / "in.jsonl").open("w", encoding="utf8") as file_:
        for i, text in enumerate(TEXTS):
            file_.write(json.dumps({"id": str(i), "text": text}) + "\n")
    annotate(nlp, tmp_path / "in.jsonl", tmp_path / "out.jsonl", AnnotateSettings(progress=False))
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf8").splitlines()]
    response = client.post("/annotate", json={"texts": TEXTS})
    assert response.status_code == 200
    assert response.json() == written
    first = written[0]
    assert [(e["text"], e["label"], e["score"]) for e in first["entities"]] == [
        ("BRCA1", "GENE", 0.55),
        ("breast cancer", "DISEASE", 0.63),
    ]
    assert first["relations"] == [{"head": 0, "tail": 1, "label": "ASSOCIATED", "score": 0.75}]
    single = client.post("/annotate", json={"text": TEXTS[1]})
    assert single.json() == {**written[1], "id": "0"}


def test_ask_returns_ranked_answers_with_offsets(client: TestClient) -> None:
    response = client.post("/ask", json={"text": QA_TEXT, "question": QUESTION, "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["question"] == QUESTION
    answers = body["answers"]
    assert 1 <= len(answers) <= 3
    assert [a["score"] for a in answers] == sorted((a["score"] for a in answers), reverse=True)
    for answer in answers:
        assert QA_TEXT[answer["start"]:answer["end"]] == answer["text"]
    several = client.post("/ask", json={"texts": [QA_TEXT, TEXTS[1]], "question": QUESTION, "top_k": 2}).json()
    assert len(several["answers"]) == 2
    assert several["answers"][0] == answers[:2]
    assert all(len(text_answers) <= 2 for text_answers in several["answers"])


BAD_REQUESTS = [
    ("/annotate", b"{not json", 400, "E601"),
    ("/annotate", ("text=BRCA1", "application/x-www-form-urlencoded"), 415, "E612"),
    ("/annotate", b"", 422, "E602"),
    ("/annotate", b"[1, 2]", 422, "E602"),
    ("/annotate", {"text": 5}, 422, "E602"),
    ("/annotate", {"text": None, "texts": "a string"}, 422, "E602"),
    ("/annotate", {"texts": ["fine", 3]}, 422, "E602"),
    ("/annotate", {"text": "fine", "pmid": 123}, 422, "E602"),
    ("/annotate", {}, 422, "E603"),
    ("/annotate", {"text": "a", "texts": ["b"]}, 422, "E603"),
    ("/annotate", {"texts": []}, 422, "E603"),
    ("/annotate", {"text": ""}, 422, "E604"),
    ("/annotate", {"texts": ["fine", " \n\t"]}, 422, "E604"),
    ("/annotate", {"text": "x" * 201}, 413, "E605"),
    ("/annotate", {"texts": ["fine"] * 5}, 413, "E606"),
    ("/ask", {"text": QA_TEXT}, 422, "E602"),
    ("/ask", {"text": QA_TEXT, "question": " "}, 422, "E609"),
    ("/ask", {"text": QA_TEXT, "question": "q" * 201}, 413, "E605"),
    ("/ask", {"text": QA_TEXT, "question": QUESTION, "top_k": 0}, 422, "E602"),
    ("/ask", {"text": QA_TEXT, "question": QUESTION, "top_k": 6}, 422, "E602"),
    ("/ask", {"text": QA_TEXT, "question": QUESTION, "top_k": "3"}, 422, "E602"),
    ("/ask", {"question": QUESTION}, 422, "E603"),
    ("/ask", {"text": "", "question": QUESTION}, 422, "E604"),
]


@pytest.mark.parametrize("path,body,status,code", BAD_REQUESTS)
def test_bad_input_is_a_4xx_with_a_one_line_reason(
    client: TestClient, path: str, body: Any, status: int, code: str
) -> None:
    if isinstance(body, tuple):
        response = client.post(path, content=body[0], headers={"Content-Type": body[1]})
    elif isinstance(body, bytes):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        response = client.post(path, json=body)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.startswith(f"[{code}]") and "\n" not in detail
    assert_healthy(client)


def test_a_failing_text_fails_its_request_only(client: TestClient) -> None:
    texts = ["BRCA1 is fine.", "This one goes BOOM.", "breast cancer"]
    response = client.post("/annotate", json={"texts": texts})
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert detail.startswith("[E607]") and "text 1" in detail and "RuntimeError" in detail and "\n" not in detail
    with ThreadPoolExecutor(4) as pool:  # a failing request batched with good ones fails alone
        futures = [pool.submit(client.post, "/annotate", json={"text": text}) for text in texts * 3]
        statuses = [future.result().status_code for future in futures]
    assert statuses == [200, 500, 200] * 3
    assert_healthy(client)


def test_concurrent_requests_get_their_own_records(client: TestClient) -> None:
    requests = [{"texts": [f"{text} ({i})" for text in TEXTS[: 1 + i % 4]]} for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda body: client.post("/annotate", json=body), requests))
    for body, response in zip(requests, responses):
        assert response.status_code == 200
        assert [record["text"] for record in response.json()] == body["texts"]


def test_pipeline_work_runs_off_the_event_loop(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert, qa=False)
    nlp.add_pipe("serve_test_wait")
    serve_components.STARTED.clear()
    serve_components.RELEASE.clear()
    release = threading.Timer(60, serve_components.RELEASE.set)  # never hang the suite
    release.start()
    try:
        with TestClient(create_app(nlp, SETTINGS)) as client, ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(client.post, "/annotate", json={"text": "BRCA1, WAIT here."})
            assert serve_components.STARTED.wait(60)
            assert client.get("/health").json() == {"status": "ok"}
            assert client.get("/info").status_code == 200
            assert not serve_components.RELEASE.is_set() and not waiting.done()
            serve_components.RELEASE.set()
            assert waiting.result().status_code == 200
    finally:
        release.cancel()
        serve_components.RELEASE.set()


def test_info_health_page_and_docs(client: TestClient) -> None:
    info = client.get("/info").json()
    assert info["model"] == "tiny"
    assert info["components"] == {
        "entity_ruler": "entity_ruler", "serve_test_relate": "serve_test_relate", "biobert_qa": "biobert_qa"
    }
    assert set(info["labels"]["entity_ruler"]) == {"GENE", "DISEASE", "CHEMICAL"}
    assert set(info["colors"]) >= {"GENE", "DISEASE", "CHEMICAL"}
    assert info["question_answering"] is True
    assert info["limits"]["max_text_chars"] == 200 and info["limits"]["max_texts"] == 4
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="/static/page.js"' in page.text and 'href="/static/page.css"' in page.text
    for name, media_type in (("page.js", "text/javascript"), ("page.css", "text/css")):
        static = client.get(f"/static/{name}")
        assert static.status_code == 200 and static.headers["content-type"].startswith(media_type)
        assert not re.search(r"(https?:)?//[a-z]", re.sub(r"/\*.*?\*/|//[^\n]*", "", static.text))  # offline
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/missing.js").status_code == 404
    assert "/annotate" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_ask_without_biobert_qa_is_a_501(tiny_bert: Path) -> None:
    with TestClient(create_app(make_nlp(tiny_bert, qa=False), SETTINGS, model_name="no-qa")) as client:
        response = client.post("/ask", json={"text": QA_TEXT, "question": QUESTION})
        assert response.status_code == 501 and response.json()["detail"].startswith("[E608]")
        assert client.get("/info").json()["question_answering"] is False
        assert_healthy(client)


def run_batcher(jobs: List[int], process: Any, max_items: int) -> List[Any]:
    """Submit `jobs` (each of size `job`) at once to a MicroBatcher; its results or exceptions, in order."""

    async def main() -> List[Any]:
        with ThreadPoolExecutor(1) as executor:
            batcher = MicroBatcher(process, executor=executor, size=lambda job: job, max_items=max_items, max_wait=0.05)
            batcher.start()
            results = await asyncio.gather(*(batcher.submit(job) for job in jobs), return_exceptions=True)
            assert batcher.running
            await batcher.stop()
            return list(results)

    return asyncio.run(main())


def test_micro_batcher_gathers_concurrent_jobs() -> None:
    batches: List[List[int]] = []

    def process(jobs: List[int]) -> List[Any]:
        batches.append(list(jobs))
        return [ValueError(job) if job == 3 else job * 10 for job in jobs]

    results = run_batcher([1, 2, 3, 1, 1, 2], process, max_items=100)
    assert batches == [[1, 2, 3, 1, 1, 2]]
    assert [r if not isinstance(r, Exception) else "error" for r in results] == [10, 20, "error", 10, 10, 20]
    batches.clear()
    run_batcher([2, 2, 2, 2, 2], process, max_items=4)
    assert batches == [[2, 2], [2, 2], [2]]


def test_micro_batcher_survives_a_failing_batch() -> None:
    def process(jobs: List[int]) -> List[Any]:
        raise RuntimeError("broken")

    results = run_batcher([1, 1], process, max_items=100)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_cli_serves_on_localhost(monkeypatch: pytest.MonkeyPatch, nlp: Language, tmp_path: Path) -> None:
    import uvicorn

    calls: List[Dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    nlp.to_disk(tmp_path / "model")
    runner = CliRunner()
    args = ["serve", str(tmp_path / "model"), "--code", str(COMPONENTS), "--max-texts", "2", "--port", "8123"]
    result = runner.invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert (calls[0]["host"], calls[0]["port"]) == ("127.0.0.1", 8123)
    with TestClient(calls[0]["app"]) as client:
        assert client.get("/info").json()["limits"]["max_texts"] == 2
        assert client.post("/annotate", json={"texts": ["a", "b", "c"]}).status_code == 413
    bad = runner.invoke(cli_app, ["serve", str(tmp_path / "model"), "--batch-size", "0"])
    assert bad.exit_code == 1 and "E507" in bad.output
    missing = runner.invoke(cli_app, ["serve", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "E611" in missing.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("headless Chromium is missing: .ci/run installs it with `apt-get install -y chromium`")
    pytest.skip("no Chromium on this machine (`apt-get install chromium`); CI installs it")


def chromium(binary: str, url: str, *args: str) -> str:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--virtual-time-budget=60000", "--window-size=1200,1000", *args, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_page_in_headless_chromium(tiny_bert: Path, tmp_path: Path) -> None:
    browser = find_chromium()
    make_nlp(tiny_bert).to_disk(tmp_path / "model")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spacy_biobert", "serve", str(tmp_path / "model"), "--code", str(COMPONENTS),
         "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    if json.load(response)["status"] == "ok":
                        break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start within 120 s"
                time.sleep(0.5)
        query = urllib.parse.urlencode({"text": QA_TEXT, "question": QUESTION, "top_k": 2})
        url = f"{base}/?{query}"
        dom = chromium(browser, url, "--dump-dom")
        assert 'data-state="done"' in dom, dom[-3000:]
        marks = re.findall(r'<mark class="entity"[^>]*data-label="(\w+)"', dom)
        assert marks == ["GENE", "DISEASE", "CHEMICAL"]
        assert re.search(r'title="GENE · score 0\.550"', dom)
        assert '<span class="answer rank-1"' in dom
        assert re.search(r'<li class="relation"><b>BRCA1</b> \(GENE\) — ASSOCIATED → <b>breast cancer</b>', dom)
        screenshot = tmp_path / "page.png"
        chromium(browser, url, f"--screenshot={screenshot}")
        assert screenshot.stat().st_size > 10_000
    finally:
        server.terminate()
        server.wait(timeout=30)
