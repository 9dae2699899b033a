"""Load: 20 gradio_client users asking 50 questions each of a `verbatim serve` on 127.0.0.1.

The server is the real command in its own process on 127.0.0.1, on the bundled report, with the
hash embedder (VERBATIM_MODEL=test/hash-embedder-64). The test checks correctness under load, never
speed (that is `verbatim bench --sections load`): every user asks all its questions, 1,000 in all,
and every answer must be exact. Run it alone with `pytest -m load -s` to see the latency line.
"""

from __future__ import annotations

import json
import statistics
import threading
import time

import pytest

from app.answer.assistant import Assistant
from app.bench.load import serve_process, stop_server
from app.evaluation.metrics import percentile
from app.index.build import build_index
from app.index.embed import HashEmbedder
from tests.conftest import REPO, REPORT

pytestmark = pytest.mark.load

USERS, QUESTIONS_EACH = 20, 50
HUNG_AFTER = 1800.0  # only a hung run takes this long (measured: 1,000 questions in 86 s); not a pass mark
CONTRACT = ["question", "answered", "verdict", "confidence", "message", "quotes"]
QUOTE_KEYS = ["n", "text", "doc", "start", "end", "paragraph", "page", "score"]
OPTIONAL_QUOTE_KEYS = ["answer"]  # present only when an answer span is known (README, the JSON contract)


def report_questions() -> list[str]:
    rows = [json.loads(line) for line in (REPO / "eval" / "report_questions.jsonl").read_text().splitlines() if line]
    return [r["question"] for r in rows][:QUESTIONS_EACH]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("load")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / REPORT.name).write_bytes(REPORT.read_bytes())
    index = base / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    proc, url, log = serve_process(["--index", str(index), "--corpus", str(corpus), "--feedback",
                                    str(base / "f.jsonl")], base, {"VERBATIM_MODEL": "test/hash-embedder-64"})
    try:
        yield url + "/", Assistant.load(index, embedder=HashEmbedder(), corpus_dir=corpus), log
    finally:
        stop_server(proc)


def test_twenty_users_fifty_questions_each_no_errors_and_the_contract(server):
    from gradio_client import Client

    url, assistant, serve_log = server
    questions = report_questions()
    expected = {q: assistant.ask(q).to_dict() for q in questions}  # what `verbatim ask --json` prints
    results: list[tuple[int, str, dict, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(USERS, timeout=120)

    def user(i: int) -> None:
        try:
            client = Client(url, verbose=False)
            start.wait()
            for j in range(QUESTIONS_EACH):
                question = questions[(i * 7 + j) % len(questions)]  # users ask in different orders
                t0 = time.perf_counter()
                result = client.predict(question, api_name="/ask")
                took = time.perf_counter() - t0
                with lock:
                    results.append((i, question, result, took))
        except Exception as exc:  # noqa: BLE001 - any error is the failure being counted
            with lock:
                errors.append(f"user {i}: {exc!r}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:  # wait for every user to finish, however long a busy machine takes
        t.join(max(1.0, HUNG_AFTER - (time.perf_counter() - t0)))
    wall = time.perf_counter() - t0
    assert not any(t.is_alive() for t in threads), f"users still waiting for answers after {HUNG_AFTER:.0f} s"
    assert errors == []
    assert sorted(i for i, *_ in results) == sorted(list(range(USERS)) * QUESTIONS_EACH)  # 50 answers each
    for _, question, result, _ in results:
        assert list(result) == CONTRACT and result == expected[question]
        for q in result["quotes"]:
            assert list(q) in (QUOTE_KEYS, QUOTE_KEYS + OPTIONAL_QUOTE_KEYS)
            assert assistant.index.document(q["doc"]).text[q["start"]:q["end"]] == q["text"]
    latencies = [r[3] for r in results]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"\nload: {len(results)} questions from {USERS} users in {wall:.1f} s "
          f"({len(results) / wall:.0f}/s); latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms")
    assert "Traceback" not in serve_log.read_text()
