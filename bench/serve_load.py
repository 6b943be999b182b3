"""Load test of `spacy-biobert serve`: concurrent clients posting real abstracts to a local server.

Starts `spacy-biobert serve MODEL` on 127.0.0.1 (a free port), then for each client count N runs N
threads, each posting M abstracts one at a time (`POST /annotate {"text": ...}`, keep-alive), bounded
by `--max-seconds` a run. Reports requests/s, words/s (whitespace words of the answered texts), latency
p50/p95/p99, failed requests, and the server's peak RSS. The server is then stopped and `annotate()`
(what `spacy-biobert annotate` runs) annotates the same abstracts in this process, with the same batch
size, to give the words/s ratio serve / annotate. Load times are excluded on both sides.

    flock /tmp/spacy_biobert_bench.lock python bench/serve_load.py MODEL --clients 10,50 --requests 4
    flock /tmp/spacy_biobert_bench.lock python bench/serve_load.py --labels Disease --clients 10,50 --requests 4

Without MODEL, the served pipeline is built as `bench/annotate_throughput.py` builds it: the offline base
encoder with one randomly initialised biobert_ner head per `--labels` entry (speed does not depend on the
weights), written to a temporary folder.
"""
import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy

from annotate_throughput import DEFAULT_ABSTRACTS, WARMUP_DOCS, build_pipeline, load_abstracts, time_annotate

from spacy_biobert.base_model import OFFLINE_BASE_MODEL, resolve_base_model


class RunResult(NamedTuple):
    clients: int
    requests: int
    failed: int
    seconds: float
    words: int
    latencies: List[float]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=None,
                        help="pipeline to serve: a folder or an installed package; default: built, see --labels")
    parser.add_argument("--labels", default="Disease",
                        help="without MODEL: comma-separated entity types, one random NER head each")
    parser.add_argument("--code", type=Path, default=None, help="Python file with custom components (serve --code)")
    parser.add_argument("--abstracts", type=Path, default=DEFAULT_ABSTRACTS,
                        help="JSONL with a `text` field, or a folder of BioASQ SQuAD-style files (PubMed abstracts)")
    parser.add_argument("--n-docs", type=int, default=200, help="distinct abstracts to draw requests from")
    parser.add_argument("--clients", default="10,50", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--requests", type=int, default=4, help="requests per client (M)")
    parser.add_argument("--max-seconds", type=float, default=300, help="bound on each run's wall time")
    parser.add_argument("--batch-size", type=int, default=64, help="server's and annotate's batch size")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="server's micro-batching wait")
    parser.add_argument("--timeout", type=float, default=300, help="client timeout per request, seconds")
    args = parser.parse_args()
    texts = load_abstracts(args.abstracts, args.n_docs)
    with tempfile.TemporaryDirectory() as tmp:
        if args.model is None:
            args.model = str(Path(tmp) / "pipeline")
            base = resolve_base_model(OFFLINE_BASE_MODEL)
            build_pipeline(base, args.labels.split(","), False, texts[:WARMUP_DOCS]).to_disk(args.model)
            print(f"serving a pipeline built from {base}: random biobert_ner heads for {args.labels}")
        run(args, texts)


def run(args: argparse.Namespace, texts: Sequence[str]) -> None:
    """Serve args.model, load it with each client count, then time annotate() on the same abstracts."""
    client_counts = [int(n) for n in args.clients.split(",")]
    port = free_port()
    server = start_server(args, port)
    results: List[RunResult] = []
    try:
        warm_up(port, texts[:4], args.timeout)
        for clients in client_counts:
            results.append(load(port, texts, clients, args.requests, args.max_seconds, args.timeout))
            print(f"{clients} clients done: {results[-1].requests} requests in {results[-1].seconds:.1f} s",
                  flush=True)
    finally:
        peak_rss = peak_rss_mib(server.pid)
        server.terminate()
        server.wait(timeout=60)
    sent = texts[: max(min(len(texts), r.clients * args.requests) for r in results)]
    annotate_words_per_s = annotate_throughput(args, sent)
    print(f"\n{len(texts)} distinct abstracts ({sum(len(t.split()) for t in texts) / len(texts):.0f} words on "
          f"average); server batch size {args.batch_size}, max wait {args.max_wait_ms} ms; "
          f"annotate over {len(sent)} of them: {annotate_words_per_s:,.0f} words/s\n")
    print("| clients × requests | answered | failed | requests/s | words/s | p50 s | p95 s | p99 s "
          "| server peak RSS MiB | words/s vs annotate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        p50, p95, p99 = numpy.percentile(r.latencies, [50, 95, 99]) if r.latencies else (0, 0, 0)
        words_per_s = r.words / r.seconds
        print(f"| {r.clients} × {args.requests} | {r.requests} | {r.failed} | {r.requests / r.seconds:.2f} "
              f"| {words_per_s:,.0f} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {peak_rss:,.0f} "
              f"| {100 * words_per_s / annotate_words_per_s:.0f}% |")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    """`spacy-biobert serve` on 127.0.0.1:port, returned once /health answers ok."""
    command = [sys.executable, "-m", "spacy_biobert", "serve", args.model, "--port", str(port),
               "--batch-size", str(args.batch_size), "--max-wait-ms", str(args.max_wait_ms),
               "--log-level", "warning"]
    if args.code is not None:
        command += ["--code", str(args.code)]
    server = subprocess.Popen(command)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if json.load(response)["status"] == "ok":
                    return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the server did not answer /health within 300 s")


def post(conn: http.client.HTTPConnection, text: str) -> int:
    conn.request("POST", "/annotate", body=json.dumps({"text": text}), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status


def warm_up(port: int, texts: Sequence[str], timeout: float) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    for text in texts:
        assert post(conn, text) == 200
    conn.close()


def load(port: int, texts: Sequence[str], clients: int, requests: int, max_seconds: float, timeout: float) -> RunResult:
    """N clients × M requests, each client on its own keep-alive connection, until done or out of time."""
    latencies: List[float] = []
    words = [0]
    failed = [0]
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + max_seconds

    def client(index: int) -> None:
        conn: Optional[http.client.HTTPConnection] = None
        for i in range(requests):
            if time.perf_counter() > deadline:
                return
            text = texts[(index * requests + i) % len(texts)]
            sent = time.perf_counter()
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                status = post(conn, text)
            except (OSError, http.client.HTTPException):
                status, conn = 0, None
            with lock:
                if status == 200:
                    latencies.append(time.perf_counter() - sent)
                    words[0] += len(text.split())
                else:
                    failed[0] += 1

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return RunResult(clients, len(latencies), failed[0], seconds, words[0], latencies)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (Linux VmHWM)."""
    status: Dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    return int(status["VmHWM"].split()[0]) / 1024


def annotate_throughput(args: argparse.Namespace, texts: Sequence[str]) -> float:
    """Words/s of `annotate()` over `texts` (pipeline loaded and warmed up first, as the server's is)."""
    from spacy_biobert.annotate.annotator import load_pipeline

    nlp = load_pipeline(args.model, code=args.code)
    seconds = time_annotate(nlp, texts, args.batch_size)
    return sum(len(text.split()) for text in texts) / seconds


if __name__ == "__main__":
    main()
