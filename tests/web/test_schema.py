"""The API's OpenAPI schema says what the server enforces: the limits are the server's, and the server
refuses exactly what the schema forbids. A schemathesis run (`--checks all`, one minute) is in the
load marker (`make test` runs it in CI).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answer.assistant import Assistant
from app.batching import BatchingEncoder
from app.index.embed import HashEmbedder
from app.settings import MAX_HISTORY, MAX_K, MAX_QUESTION_CHARS, MIN_K
from app.web.api import create_api
from app.web.api_schema import QUESTION_PATTERN

from .test_chat import make_assistant, start

QUESTION = "How many prisoners were held in the cells?"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    base = tmp_path_factory.mktemp("schema")
    make_assistant(base)
    assistant = Assistant.load(base / "index", BatchingEncoder(HashEmbedder()), corpus_dir=base / "corpus", mmap=True)
    with TestClient(create_api(lambda: assistant)) as http:
        yield http, assistant


def schema_of(http) -> dict:
    r = http.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_the_schema_declares_the_servers_limits(client):
    http, assistant = client
    schema = schema_of(http)
    query = schema["components"]["schemas"]["Query"]
    q = query["properties"]["question"]
    assert (q["minLength"], q["maxLength"], q["pattern"]) == (1, MAX_QUESTION_CHARS, QUESTION_PATTERN)
    assert MAX_QUESTION_CHARS == assistant.settings.max_question_chars  # the assistant's own limit
    k = query["properties"]["k"]["anyOf"][0]
    assert (k["type"], k["minimum"], k["maximum"]) == ("integer", MIN_K, MAX_K)  # app/settings.py's one range
    history = query["properties"]["history"]["anyOf"][0]
    assert (history["maxItems"], history["items"]["maxLength"]) == (MAX_HISTORY, MAX_QUESTION_CHARS)
    assert query["additionalProperties"] is False and query["required"] == ["question"]
    names = sorted(d.doc for d in assistant.index.documents)
    assert query["properties"]["docs"]["anyOf"][0]["items"]["enum"] == names
    doc = next(p for p in schema["paths"]["/brief"]["get"]["parameters"] if p["name"] == "doc")
    assert doc["schema"]["anyOf"][0]["enum"] == names  # GET /brief's one document, too
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path in ("/ask", "/search"):
        responses = schema["paths"][path]["post"]["responses"]
        assert sorted(responses) == ["200", "400", "405", "413", "422", "503"]
        for status in ("400", "405", "413", "422", "503"):
            assert responses[status]["content"]["application/json"]["schema"] == error
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["error", "status"]


@pytest.mark.parametrize(("question", "status"), [
    ("x" * MAX_QUESTION_CHARS, 200), ("x" * (MAX_QUESTION_CHARS + 1), 413),
    (" " * MAX_QUESTION_CHARS + "x", 413),  # the schema counts what is sent, white space included
    ("", 400), ("   \n\t ", 400), ("\u00a0", 400), ("Who\x00?", 400), ("Who\x85?", 400), ("Who\x1f?", 400),
    ("\tWho?\r\n", 200), ("Qui a écrit ?", 200)])
def test_the_server_refuses_exactly_what_the_pattern_and_lengths_refuse(client, question, status):
    http, _ = client
    in_schema = MAX_QUESTION_CHARS >= len(question) >= 1 and re.fullmatch(QUESTION_PATTERN, question) is not None
    assert in_schema == (status == 200)
    r = http.post("/ask", json={"question": question})
    assert r.status_code == status, r.text
    if status != 200:
        assert r.json()["status"] == status and list(r.json()) == ["error", "status"]
        assert (r.json()["error"].startswith("the question is")
                or r.json()["error"].startswith("the question contains control characters"))


@pytest.mark.parametrize("body", [{"question": QUESTION, "k": 0}, {"question": QUESTION, "k": MAX_K + 1},
                                  {"question": QUESTION, "k": "3"}, {"question": QUESTION, "k": 2.5},
                                  {"question": QUESTION, "k": True}, {"question": 7}, {"question": QUESTION, "x": 1},
                                  {"question": QUESTION, "history": ["q"] * (MAX_HISTORY + 1)}])
def test_bodies_outside_the_schema_get_422(client, body):
    http, _ = client
    r = http.post("/ask", json=body)
    assert r.status_code == 422 and r.json()["status"] == 422


def test_k_at_its_bounds_and_an_unknown_document(client):
    http, assistant = client
    for k in (1, MAX_K, 2.0):  # 2.0 is an integer to JSON Schema
        assert http.post("/ask", json={"question": QUESTION, "k": k}).json() == \
            assistant.ask(QUESTION, k=int(k)).to_dict()
    r = http.post("/ask", json={"question": QUESTION, "docs": ["nope.txt"]})
    assert r.status_code == 400 and r.json()["error"].startswith("unknown document(s) nope.txt; choose from ")


def test_a_wrong_method_gets_405_with_allow(client):
    http, _ = client
    for method, path, allowed in (("PUT", "/ask", "POST"), ("GET", "/search", "POST"), ("POST", "/health", "GET"),
                                  ("DELETE", "/documents", "GET")):
        r = http.request(method, path)
        assert r.status_code == 405 and r.headers["allow"] == allowed
        assert r.json() == {"error": "Method Not Allowed", "status": 405}


@pytest.mark.load
def test_schemathesis_finds_no_failure(tmp_path: Path):
    """Every check schemathesis has, for a minute, against the API served on loopback."""
    from app.web.chat import build_app

    make_assistant(tmp_path)
    assistant = Assistant.load(tmp_path / "index", BatchingEncoder(HashEmbedder()), corpus_dir=tmp_path / "corpus",
                               mmap=True)
    ui = build_app(assistant, tmp_path / "feedback.jsonl", examples=["Q?"])
    url = start(ui).rstrip("/")
    try:
        generated = run_schemathesis(url, tmp_path)
    finally:
        ui.close()
    print(f"\nschemathesis --checks all: {generated} test cases, 0 failures")


def run_schemathesis(url: str, base: Path, seconds: int = 60, select: tuple[str, ...] = (),
                     accepted: tuple[str, ...] = ()) -> str:
    """`schemathesis run --checks all` against the served API (`select`: its operation filters): the count of
    test cases, once it found no failure in more than 100. `accepted`: statuses a valid request may also get."""
    config = base / "schemathesis.toml"
    # 413 is this API's documented answer to an over-long question: a rejection like 400; with uploads on,
    # 401 (no token sent) and 415 (no document in the file) are rejections too
    positive = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", *accepted]  # schemathesis's, and these
    config.write_text('[checks.negative_data_rejection]\nexpected-statuses = ["400", "401", "405", "413", "415", '
                      '"422"]\n[checks.positive_data_acceptance]\nexpected-statuses = '
                      f'[{", ".join(f"{chr(34)}{s}{chr(34)}" for s in positive)}]\n')
    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
         f"{url}/api/v1/openapi.json", "--checks", "all", "--max-time", str(seconds), "--workers", "2",
         "--generation-database", "none", "--seed", "21", "--no-color", *select],
        capture_output=True, text=True, timeout=240, cwd=base,  # its cache and reports stay in base
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    generated = re.search(r"(\d+) generated", summary)
    assert generated and int(generated.group(1)) > 100, summary  # it really ran
    return generated.group(0)


@pytest.mark.load
@pytest.mark.parametrize("token", [None, "s3cret-token"])
def test_schemathesis_finds_no_failure_with_uploads_on(tmp_path: Path, token):
    """The same run with uploads on (POST/DELETE /documents, GET /uploads declared): without a token,
    and with one, where schemathesis sends none (every upload call is a declared 401)."""
    from .test_upload_api import serve_page

    url, page, _ = serve_page(tmp_path, True, token)
    try:
        others = run_schemathesis(url, tmp_path, 40, ("--exclude-name", "POST /documents"))
        # a file the schema allows may hold no document the server can read (a PDF without text, say): a
        # refusal the schema cannot express, 415 or 400 with its reason (docs/serving.md). Schemathesis 4.32
        # applies an [[operations]] table's checks to every operation, so this one runs on its own
        upload = run_schemathesis(url, tmp_path, 20, ("--include-name", "POST /documents"), accepted=("400", "415"))
    finally:
        page.close()
    print(f"\nschemathesis --checks all, uploads on, token {token is not None}: {others} test cases and "
          f"{upload} for POST /documents, 0 failures")
