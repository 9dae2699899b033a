"""The JSON API (/api/v1): its answers, errors, briefing, body and upload limits, and the load bench's clients.

The API is served on the chat's server (in-process, a free loopback port) over the hash-embedded
test corpus of tests/web/test_chat.py; answers are compared with what the CLI and the library return
for the same question, never with a hard-coded key list.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.answer.assistant import Assistant
from app.index.embed import HashEmbedder
from app.web.api import create_api
from app.web.chat import build_app
from app.web.http import MAX_BODY_BYTES

from .test_chat import HOSTILE, PRISONS, make_assistant, start

QUESTIONS = ["How many prisoners were held in the cells?", "How long did prisoners wait to see a doctor?",
             "What did the warden write on the visitor board?", "Who won the football match?"]
LIMIT = "the question is 2,001 characters; the limit is 2,000. Shorten it and ask again"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """(base url, assistant, index folder) of a chat server with the API mounted."""
    base = tmp_path_factory.mktemp("api")
    make_assistant(base)  # builds the index
    # as `verbatim serve` loads it
    assistant = Assistant.load(base / "index", HashEmbedder(), corpus_dir=base / "corpus", mmap=True)
    ui = build_app(assistant, base / "feedback.jsonl", examples=["Q?"])
    url = start(ui).rstrip("/")
    try:
        yield url, assistant, base / "index"
    finally:
        ui.close()


def post(url: str, path: str, body) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/{path}", json=body, timeout=30)


# ---------------------------------------------------------------- same answers as the CLI and the library


@pytest.mark.parametrize("question", QUESTIONS)
def test_ask_and_search_equal_the_cli_json(api, question):
    from app.cli import main

    url, assistant, index = api
    env = {"VERBATIM_MODEL": "test/hash-embedder-64"}
    for command in ("ask", "search"):
        cli = CliRunner().invoke(main, [command, question, "--index", str(index), "--json",
                                        "--corpus", str(index.parent / "corpus")], env=env)
        assert cli.exit_code == 0, cli.output
        rest = post(url, command, {"question": question})
        assert rest.status_code == 200 and rest.headers["content-type"] == "application/json"
        assert rest.json() == json.loads(cli.output)
        # byte for byte what FastAPI wrote for the dict: compact, UTF-8, keys in the contract's order
        assert rest.content == json.dumps(json.loads(cli.output), ensure_ascii=False, separators=(",", ":")).encode()


def test_rest_carries_the_answer_span_verbatim(api):
    url, assistant, _ = api
    quote = post(url, "ask", {"question": "How many prisoners were held in the cells?"}).json()["quotes"][0]
    at = PRISONS.index("212 prisoners")  # "They counted 212 prisoners held in cells built for 150."
    assert quote["answer"] == {"text": "212", "start": at, "end": at + 3}
    assert quote["start"] <= at and at + 3 <= quote["end"]
    assert PRISONS[quote["answer"]["start"]:quote["answer"]["end"]] == "212"


def test_per_document_equals_the_library_and_the_cli(api):
    from app.cli import main

    url, assistant, index = api
    question = "What does each report say about prisoners?"
    for flag, value in (([], None), (["--per-document"], True), (["--no-per-document"], False)):
        expected = assistant.ask(question, per_document=value).to_dict()
        body = {"question": question} if value is None else {"question": question, "per_document": value}
        assert post(url, "ask", body).json() == expected
        cli = CliRunner().invoke(main, ["ask", question, "--index", str(index), "--json", *flag],
                                 env={"VERBATIM_MODEL": "test/hash-embedder-64"})
        assert json.loads(cli.output) == expected
    assert post(url, "ask", {"question": question, "per_document": "maybe"}).status_code == 422


def test_k_docs_and_history_equal_the_library(api):
    url, assistant, _ = api
    body = {"question": "How long did they wait?", "k": 1, "docs": ["prisons.txt"],
            "history": ["Who complained about medical care?"]}
    rest = post(url, "ask", body)
    assert rest.status_code == 200
    assert rest.json() == assistant.ask(body["question"], k=1, docs=["prisons.txt"], history=body["history"]).to_dict()
    assert post(url, "search", body).json() == assistant.search(body["question"], k=1, docs=["prisons.txt"],
                                                                 history=body["history"]).to_dict()


def test_documents_and_health(api):
    url, assistant, _ = api
    docs = httpx.get(f"{url}/api/v1/documents", timeout=10).json()
    assert docs == {"built": assistant.index.manifest.created_at, "documents": [
        {"doc": "notes/hostile.md", "title": "Hostile Test Notes", "size_bytes": len(HOSTILE.encode()), "chunks": 1},
        {"doc": "prisons.txt", "title": "Prison Conditions Review", "size_bytes": len(PRISONS.encode()),
         "chunks": 1}]}
    health = httpx.get(f"{url}/api/v1/health", timeout=10)
    assert health.status_code == 200
    body = health.json()
    assert set(body.pop("batches")) == {"parse"}  # the hash embedder does not batch: no "encode" queue
    assert body == {"status": "ready", "worker_pid": os.getpid(), "model": "test/hash-embedder-64",
                    "documents": 2, "chunks": 2, "built": assistant.index.manifest.created_at}


def test_health_counts_the_batches_of_each_queue(tiny_index: Path):
    from fastapi.testclient import TestClient

    from app.batching import BatchingEncoder

    assistant = Assistant.load(tiny_index, BatchingEncoder(HashEmbedder()))  # a new runtime: counts from zero
    client = TestClient(create_api(lambda: assistant))
    assert client.get("/health").json()["batches"] == {"encode": {}, "parse": {}}
    for question in ("How many prisoners were held?", "Who wrote the report?"):
        assert client.post("/ask", json={"question": question}).status_code == 200
    # one after the other: each question encoded and parsed alone, one batch of one each
    assert client.get("/health").json()["batches"] == {"encode": {"1": 2}, "parse": {"1": 2}}


def test_openapi_page_and_schema(api):
    url, _, _ = api
    page = httpx.get(f"{url}/api/v1/docs", timeout=10)
    assert page.status_code == 200 and "swagger" in page.text.lower()
    schema = httpx.get(f"{url}/api/v1/openapi.json", timeout=10).json()
    assert set(schema["paths"]) == {"/ask", "/search", "/brief", "/documents", "/health"}
    assert schema["components"]["schemas"]["Query"]["required"] == ["question"]


# ---------------------------------------------------------------- errors: JSON with the right status


@pytest.mark.parametrize("body, status, message", [
    ({"question": ""}, 400, "the question is empty; type a question about the report"),
    ({"question": "   \n"}, 400, "the question is empty; type a question about the report"),
    ({"question": "who\x00?"}, 400, "the question contains control characters (U+0000); remove them and ask again"),
    ({"question": "x" * 2001}, 413, LIMIT),
    ({"question": "Who?", "docs": ["../secret.txt"]}, 400,
     "unknown document(s) ../secret.txt; choose from notes/hostile.md, prisons.txt"),
    ({}, 422, "malformed request body (question: Field required)"),
    ({"question": 3}, 422, "malformed request body (question: Input should be a valid string)"),
    ({"question": "Who?", "k": 0}, 422, "malformed request body (k: Input should be greater than or equal to 1)"),
    ({"question": "Who?", "history": "Who?"}, 422, "malformed request body (history: Input should be a valid list)"),
    ({"question": "Who?", "colour": "red"}, 422, "malformed request body (colour: Extra inputs are not permitted)"),
    (["Who?"], 422, "malformed request body (body: Input should be a valid dictionary or object to extract fields "
                    "from)"),
])
@pytest.mark.parametrize("path", ["ask", "search"])
def test_bad_requests_get_json_errors(api, path, body, status, message):
    url, _, _ = api
    response = post(url, path, body)
    assert (response.status_code, response.json()) == (status, {"error": message, "status": status})


# ---------------------------------------------------------------- the briefing


def test_brief_equals_the_library_and_summary_questions_get_it(api):
    from app.answer.briefing import briefing

    url, assistant, _ = api
    got = httpx.get(f"{url}/api/v1/brief", params={"doc": "prisons.txt", "words": 30}, timeout=30)
    assert got.status_code == 200
    assert got.json() == briefing(assistant.index, "prisons.txt", 30).to_dict()
    whole = httpx.get(f"{url}/api/v1/brief", timeout=30).json()
    assert whole == briefing(assistant.index).to_dict() and (whole["doc"], whole["words"]) == (None, 120)
    answer = post(url, "ask", {"question": "What is this report about?"}).json()
    assert (answer["verdict"], answer["quotes"]) == ("answered", whole["points"])
    spanish = post(url, "ask", {"question": "¿Cuántos presos había?"}).json()
    assert spanish["language"] == "es" and spanish["message"].startswith(
        "Las citas son las propias palabras del informe, en su idioma (English).")


@pytest.mark.parametrize("params, status, message", [
    ({"words": 5}, 422, "malformed query parameter (words: Input should be greater than or equal to 10 (got '5'))"),
    ({"words": 2001}, 422,
     "malformed query parameter (words: Input should be less than or equal to 2000 (got '2001'))"),
    ({"words": "many"}, 422,
     "malformed query parameter (words: Input should be a valid integer, unable to parse string as an integer "
     "(got 'many'))"),
    ({"doc": "nope.txt"}, 400, "no document 'nope.txt' in the index; known: notes/hostile.md, prisons.txt"),
])
def test_bad_brief_parameters_get_json_errors(api, params, status, message):
    url, _, _ = api
    response = httpx.get(f"{url}/api/v1/brief", params=params, timeout=30)
    assert (response.status_code, response.json()) == (status, {"error": message, "status": status})


def test_bodies_that_are_not_json_or_too_big(api):
    url, _, _ = api
    bad = httpx.post(f"{url}/api/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert (bad.status_code, bad.json()) == (422, {"error": "malformed request body (not valid JSON)", "status": 422})
    big = httpx.post(f"{url}/api/v1/ask", json={"question": "Who?", "history": ["x" * 1000] * 70})
    assert MAX_BODY_BYTES == 64 * 1024  # what docs/serving.md promises
    too_big = "the request body is over 65,536 bytes (64 KiB, the JSON API's limit)"
    assert (big.status_code, big.json()) == (413, {"error": too_big, "status": 413})

    def chunks():  # no Content-Length: refused as it arrives
        for _ in range(100):
            yield b" " * 1000

    streamed = httpx.post(f"{url}/api/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert (streamed.status_code, streamed.json()) == (413, {"error": too_big, "status": 413})
    missing = httpx.get(f"{url}/api/v1/nothing")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found", "status": 404})
    wrong = httpx.get(f"{url}/api/v1/ask")
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed", "status": 405})


def test_an_unexpected_failure_is_a_json_500_without_a_trace(tiny_assistant):
    from fastapi.testclient import TestClient

    def broken():
        raise RuntimeError("disk on fire at /secret/path")

    client = TestClient(create_api(broken), raise_server_exceptions=False)
    response = client.post("/ask", json={"question": "Who?"})
    assert (response.status_code, response.json()) == (
        500, {"error": "internal error; the server log has the details", "status": 500})


# ---------------------------------------------------------------- nothing a visitor sends is stored


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_uploads_are_refused_and_nothing_is_stored(api, tmp_path: Path):
    from gradio.utils import get_upload_folder

    url, _, _ = api
    upload_dir = Path(get_upload_folder())
    before = _files_under(upload_dir)
    five_mb = os.urandom(5 * 1024 * 1024)
    for content in (five_mb, b"x", b""):
        response = httpx.post(f"{url}/gradio_api/upload", files={"files": ("a.txt", content)}, timeout=30)
        assert (response.status_code, response.json()) == (
            413, {"error": "this server accepts no file uploads", "status": 413})
    assert _files_under(upload_dir) == before
    big = httpx.post(f"{url}/gradio_api/queue/join", content=b"{" + b" " * (300 * 1024) + b"}",
                     headers={"content-type": "application/json"}, timeout=30)
    assert big.status_code == 413 and "Traceback" not in big.text


# ---------------------------------------------------------------- the load bench's counting (never its timings)


def test_load_bench_levels_count_answers_and_errors(api):
    from app.bench.clients import chat_level, rest_level, sse_level
    from app.bench.load import derive, load_rows, memory_of, process_tree

    url, _, _ = api
    rest = rest_level(url, QUESTIONS, clients=3, total=12, seconds=60)
    assert (rest["clients"], rest["answered"], rest["errors"]) == (3, 12, 0) and rest["p50_ms"] > 0
    refused = rest_level(url, [""], clients=2, total=4, seconds=60)
    assert (refused["answered"], refused["errors"]) == (0, 4) and "p50_ms" not in refused
    assert refused["first_errors"] == ['400: {"error":"the question is empty; type a question about the report",'
                                       '"status":400}']
    chat = chat_level(url, QUESTIONS, clients=2, total=4, seconds=60)
    assert (chat["answered"], chat["errors"]) == (4, 0)
    sse = sse_level(url, QUESTIONS, clients=2, total=6, seconds=60)  # the chat's queue, as the page asks it
    assert (sse["clients"], sse["answered"], sse["errors"]) == (2, 6, 0)
    me = memory_of(os.getpid())
    assert me["pid"] == os.getpid() and me["rss_mb"] >= me["private_mb"] > 0 and me["pss_mb"] > 0
    assert process_tree(os.getpid())[0] == os.getpid()
    result = {"in_process": {"p50_ms": 2.0, "p95_ms": 3.0, "throughput_per_s_one_thread": 400.0,
                             "seconds_per_ask": 0.0025, "cpu_seconds_per_ask": 0.004, "cores": 2,
                             "capacity_per_s": 800.0},
              "runs": {"1": {"rest": [rest], "chat": [chat], "memory": [me], "total_pss_mb": me["pss_mb"],
                             "rss_per_worker_mb": [me["rss_mb"]]}}}
    rows = load_rows(derive(result))
    assert rows[0] == ("in-process ask p50 / p95 ms", "2.0 / 3.0", "400.0/s one thread", "", "")
    assert rows[1] == ("in-process seconds per ask (CPU)", "2.50 ms", "CPU 4.00 ms", "", "capacity 800.0/s on 2 cores")
    assert [r[0] for r in rows[2:]] == ["rest 1w 3 clients p50 / p95 ms", "chat 1w 2 clients p50 / p95 ms",
                                        "memory 1w RSS per worker MB"]


def test_load_bench_derives_efficiency_and_the_chat_over_rest_ratio():
    from app.bench.load import derive

    level = {"clients": 20, "throughput_per_s": 120.0, "p50_ms": 100.0}
    chat = {"clients": 20, "throughput_per_s": 30.0, "p50_ms": 300.0}
    out = derive({"in_process": {"capacity_per_s": 100.0},  # 2 cores / 20 ms per ask
                  "runs": {"1": {"rest": [level], "chat": [chat], "total_pss_mb": 400.0},
                           "2": {"rest": [], "chat": [], "total_pss_mb": 500.0}}})
    assert (level["efficiency"], chat["efficiency"]) == (1.2, 0.3)
    assert out["runs"]["1"]["chat_p50_over_rest_p50_at_20"] == 3.0
    assert (out["second_worker_adds_mb"], out["second_worker_share"]) == (100.0, 0.25)


def test_a_rest_follow_up_is_resolved_as_the_librarys(tmp_path: Path):
    """A follow-up over REST: its quotes and resolved question equal the library's, byte for byte."""
    from fastapi.testclient import TestClient

    from app.answer.loading import assistant_over_texts
    from tests.conftest import REPORT

    assistant = assistant_over_texts(tmp_path, {REPORT.name: REPORT.read_text(encoding="utf-8")})
    body = {"question": "Where does he work?", "history": ["Who did Farangis Najibullah speak to?"]}
    rest = TestClient(create_api(lambda: assistant)).post("/ask", json=body)
    assert rest.status_code == 200
    assert rest.json() == assistant.ask(body["question"], history=body["history"]).to_dict()
    assert rest.json()["resolved_question"] == "Where does David Diaz-Jogeix work?"
