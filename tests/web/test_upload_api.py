"""REST uploads: POST and DELETE /api/v1/documents on a served page, the token rule, and uploads off."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.answer.assistant import Assistant
from app.index.embed import HashEmbedder
from app.settings import MAX_CORPUS_FILE_BYTES
from app.web.chat import build_app
from app.web.live import LiveAssistant
from app.web.uploads import Shelf, UploadRoutes
from tests.index.build_jobs import wait_for

from .test_chat import make_assistant, start
from .test_uploads import make_pdf

TOKEN = "s3cret-token"


def serve_page(base: Path, uploads: bool, token: str | None = None) -> tuple[str, object, Path]:
    make_assistant(base)
    served = Assistant.load(base / "index", HashEmbedder(), corpus_dir=base / "corpus", mmap=True)  # as serve does
    live = LiveAssistant(served, base / "index", base / "corpus")
    routes = UploadRoutes(Shelf(base / "corpus", base / "index", HashEmbedder().name), token) if uploads else None
    page = build_app(live, base / "feedback.jsonl", examples=["Q?"], uploads=routes)
    return start(page).rstrip("/"), page, base / "corpus"


@pytest.fixture(scope="module")
def with_token(tmp_path_factory):
    url, page, corpus = serve_page(tmp_path_factory.mktemp("up"), True, TOKEN)
    yield url, page, corpus
    page.close()


def documents(url: str) -> list[str]:
    return [d["doc"] for d in httpx.get(f"{url}/api/v1/documents", timeout=10).json()["documents"]]


def test_upload_is_indexed_answered_from_and_removed(with_token):
    url, page, corpus = with_token
    pdf = make_pdf("The harbour inspection counted 47 fishing boats with broken radios.")
    headers = {"X-Upload-Token": TOKEN}
    sent = httpx.post(f"{url}/api/v1/documents", files={"file": ("Harbour report.pdf", pdf, "application/pdf")},
                      headers=headers, timeout=60)
    assert sent.status_code == 202 and sent.json() == {"doc": "Harbour-report.pdf", "status": "indexing"}
    assert wait_for(lambda: "Harbour-report.pdf" in documents(url))
    status = httpx.get(f"{url}/api/v1/uploads", headers=headers, timeout=10).json()
    assert status == {"documents": {"Harbour-report.pdf": "ready"}}
    answer = httpx.post(f"{url}/api/v1/ask", json={"question": "How many fishing boats had broken radios?",
                                                   "docs": ["Harbour-report.pdf"]}, timeout=30).json()
    assert answer["quotes"][0]["doc"] == "Harbour-report.pdf" and "47 fishing boats" in answer["quotes"][0]["text"]
    again = httpx.post(f"{url}/api/v1/documents", files={"file": ("copy.pdf", pdf)}, headers=headers, timeout=60)
    assert again.status_code == 409
    assert again.json()["error"] == "copy.pdf: the same file is already in the corpus as Harbour-report.pdf"
    gone = httpx.delete(f"{url}/api/v1/documents/Harbour-report.pdf", headers=headers, timeout=30)
    assert gone.status_code == 202 and gone.json() == {"doc": "Harbour-report.pdf", "status": "removed"}
    assert wait_for(lambda: "Harbour-report.pdf" not in documents(url))
    assert not (corpus / "Harbour-report.pdf").exists()


def test_refusals_over_rest_store_nothing(with_token):
    url, _, corpus = with_token
    before = sorted(p.name for p in corpus.rglob("*"))
    headers = {"X-Upload-Token": TOKEN}
    cases = [
        ({"file": ("tool.txt", b"\x00\x01binary")}, headers, 415,
         "tool.txt: binary content (NUL bytes), not a PDF, HTML, Markdown or text file"),
        ({"file": ("notes.txt", b"Fine words.")}, {}, 401, "a valid upload token is required (X-Upload-Token header)"),
        ({"file": ("notes.txt", b"Fine words.")}, {"X-Upload-Token": "wrong"}, 401,
         "a valid upload token is required (X-Upload-Token header)"),
        ({"file": ("notes.txt", b"Fine words.")}, {"Authorization": TOKEN}, 401,  # a bare token: no scheme
         "a valid upload token is required (X-Upload-Token header)"),
        ({"other": ("notes.txt", b"Fine words.")}, headers, 400, "no file in the multipart field 'file'"),
    ]
    for files, head, status, error in cases:
        r = httpx.post(f"{url}/api/v1/documents", files=files, headers=head, timeout=30)
        assert (r.status_code, r.json()["error"]) == (status, error)
    assert declared_too_big(url) == (413, f"the upload is over {MAX_CORPUS_FILE_BYTES + 64 * 1024:,} bytes")
    missing = httpx.delete(f"{url}/api/v1/documents/nope.txt", headers=headers, timeout=30)
    assert missing.status_code == 404 and missing.json()["error"].startswith("no document named 'nope.txt'")
    assert httpx.delete(f"{url}/api/v1/documents/prisons.txt", timeout=30).status_code == 401
    assert sorted(p.name for p in corpus.rglob("*")) == before


def declared_too_big(url: str) -> tuple[int, str]:
    """Declare a body over the limit and send none of it: the server answers before reading."""
    import http.client
    import json
    from urllib.parse import urlsplit

    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    conn.putrequest("POST", "/api/v1/documents")
    conn.putheader("Content-Length", str(MAX_CORPUS_FILE_BYTES + 10**6))
    conn.putheader("X-Upload-Token", TOKEN)
    conn.endheaders()
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body["error"]


def test_with_uploads_off_nothing_a_visitor_sends_is_stored(tmp_path: Path):
    url, page, corpus = serve_page(tmp_path, False)
    try:
        before = sorted(p.name for p in corpus.rglob("*"))
        r = httpx.post(f"{url}/api/v1/documents", files={"file": ("a.txt", b"Words.")}, timeout=30)
        assert r.status_code == 405  # the API has only GET /documents
        assert httpx.delete(f"{url}/api/v1/documents/prisons.txt", timeout=30).status_code == 404
        assert sorted(p.name for p in corpus.rglob("*")) == before
    finally:
        page.close()


def test_serve_refuses_uploads_off_loopback_without_a_token_and_with_workers(tmp_path: Path):
    from app.cli import main

    env = {"VERBATIM_MODEL": "test/hash-embedder-64", "VERBATIM_UPLOAD_TOKEN": ""}
    off_loopback = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--allow-uploads",
                                             "--index", str(tmp_path / "i")], env=env)
    assert off_loopback.exit_code == 2
    assert "uploads on a non-loopback host need --upload-token (or VERBATIM_UPLOAD_TOKEN)" in off_loopback.output
    workers = CliRunner().invoke(main, ["serve", "--allow-uploads", "--workers", "2", "--index", str(tmp_path / "i")],
                                 env=env)
    assert workers.exit_code == 2 and "--allow-uploads needs --workers 1" in workers.output


def test_serve_with_uploads_reads_the_manifest_once(tmp_path: Path, recorded_serve, manifest_opens: list[str]):
    """`verbatim serve --allow-uploads` on a fresh index: one reading of manifest.json serves the corpus check,
    the load and the upload shelf (its model, index type and first look at the corpus), issue 28."""
    from app.cli import main
    from app.index.build import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text("The inspectors counted 212 prisoners in 2019.\n", encoding="utf-8")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=corpus)
    manifest_opens.clear()
    result = CliRunner().invoke(main, ["serve", "--allow-uploads", "--index", str(tmp_path / "index"),
                                       "--feedback", str(tmp_path / "f.jsonl")], env={"VERBATIM_UPLOAD_TOKEN": ""})
    assert result.exit_code == 0, result.output
    assert [d.doc for d in recorded_serve["assistant"].current().index.documents] == ["note.txt"]
    assert manifest_opens == [str(tmp_path / "index" / "manifest.json")]


# ---------------------------------------------------------------- issue 27 faults against `verbatim serve` (load)


def serve_uploads(base: Path, fresh: bool = True):
    """`verbatim serve --allow-uploads` (hash embedder) over the test corpus: (process, url, log)."""
    from app.bench.load import serve_process
    from app.index.build import build_index

    from .test_chat import write_corpus

    if fresh:
        build_index(base / "index", HashEmbedder(), corpus_dir=write_corpus(base / "corpus"))
    return serve_process(["--index", str(base / "index"), "--corpus", str(base / "corpus"), "--allow-uploads",
                          "--feedback", str(base / "f.jsonl")], base, {"VERBATIM_MODEL": "test/hash-embedder-64"})


@pytest.mark.load
def test_the_punctuation_upload_is_indexed_within_30_s_while_health_answers(tmp_path: Path):
    from app.bench.load import stop_server
    from app.evaluation.metrics import percentile

    proc, url, _ = serve_uploads(tmp_path)
    try:
        sent = httpx.post(f"{url}/api/v1/documents", files={"file": ("punct.txt", b"!?.,;:" * 2000)}, timeout=30)
        assert sent.status_code == 202
        t0, seconds, status = time.monotonic(), [], "indexing"
        while status == "indexing" and time.monotonic() - t0 < 30:  # the bound: indexed or refused
            t = time.perf_counter()
            assert httpx.get(f"{url}/api/v1/health", timeout=30).status_code == 200
            seconds.append(time.perf_counter() - t)
            status = httpx.get(f"{url}/api/v1/uploads", timeout=30).json()["documents"]["punct.txt"]
        print(f"\npunctuation upload {status} after {time.monotonic() - t0:.1f} s; health p95 "
              f"{percentile(seconds, 95) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms over {len(seconds)}")
        assert status == "ready"
    finally:
        stop_server(proc)


@pytest.mark.load
def test_a_server_killed_during_an_uploads_build_answers_at_once_after_a_restart(tmp_path: Path):
    import signal

    from app.bench.load import stop_server
    from app.web.statuses import read_statuses, statuses_path

    proc, url, _ = serve_uploads(tmp_path)
    body = " ".join(f"Section {i} of the late report describes harbour {i}." for i in range(3000)).encode()
    assert httpx.post(f"{url}/api/v1/documents", files={"file": ("late.txt", body)}, timeout=30).status_code == 202
    proc.send_signal(signal.SIGKILL)  # at once: the build has not landed (or has: the restart then has nothing to do)
    proc.wait(10)
    assert read_statuses(statuses_path(tmp_path / "index")) == {"late.txt": "indexing"}
    t0 = time.monotonic()
    proc, url, _ = serve_uploads(tmp_path, fresh=False)  # returns once health says ready
    ready = time.monotonic() - t0
    try:
        assert "prisons.txt" in documents(url)
        assert wait_for(lambda: httpx.get(f"{url}/api/v1/uploads", timeout=10).json()["documents"] == {
            "late.txt": "ready"})
        assert wait_for(lambda: "late.txt" in documents(url))
        print(f"\nafter SIGKILL during a build: health ready {ready:.1f} s after the restart began")
    finally:
        stop_server(proc)


def test_the_api_answers_in_its_json_where_schemathesis_found_it_did_not(with_token):
    """Issue 27, item 5: Allow lists every method of /documents; a name the mount cannot match still gets
    the API's JSON 404; a field the schema does not declare is refused before the file is read."""
    url, _, corpus = with_token
    before = sorted(p.name for p in corpus.rglob("*"))
    for method in ("OPTIONS", "PUT"):
        r = httpx.request(method, f"{url}/api/v1/documents", timeout=10)
        assert (r.status_code, r.headers["allow"], r.json()) == (405, "GET, POST",
                                                                 {"error": "Method Not Allowed", "status": 405})
    r = httpx.delete(f"{url}/api/v1/documents/a%0Ab.txt", headers={"X-Upload-Token": TOKEN}, timeout=10)
    assert (r.status_code, r.json()) == (404, {"error": "Not Found", "status": 404})
    assert httpx.get(f"{url}/x%0Ay", timeout=10).json() == {"detail": "Not Found"}  # the page's own, as before
    r = httpx.post(f"{url}/api/v1/documents", files={"file": ("notes.txt", b"Fine words.")}, data={"x": "1"},
                   headers={"X-Upload-Token": TOKEN}, timeout=30)
    assert (r.status_code, r.json()["error"]) == (400, "send only the multipart field 'file', not 'x'")
    assert sorted(p.name for p in corpus.rglob("*")) == before


def test_the_schema_declares_the_upload_routes_with_their_errors(with_token):
    url, _, _ = with_token
    paths = httpx.get(f"{url}/api/v1/openapi.json", timeout=10).json()["paths"]
    post = paths["/documents"]["post"]
    assert sorted(paths["/documents"]) == ["get", "post"]
    assert sorted(post["responses"]) == ["202", "400", "401", "405", "409", "413", "415", "503"]
    body = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert (body["required"], body["additionalProperties"], body["properties"]["file"]["minLength"]) == (
        ["file"], False, 1)
    delete = paths["/documents/{name}"]["delete"]
    assert sorted(delete["responses"]) == ["202", "401", "404", "405", "409", "422", "503"]
    assert sorted(paths["/uploads"]["get"]["responses"]) == ["200", "401", "405"]
