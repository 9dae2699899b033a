"""`serve --workers 2`: two workers answer from one memory-mapped index, and follow a rebuild; under load, a
worker killed with SIGKILL, early (inside the crash window) and late, while 20 clients ask. The parent starts
it again, health is ready again within seconds, the clients lose at most the requests in flight, and every
answer given is exact.

Loopback only, the hash embedder, each run bounded (LOAD_SECONDS of asking). The crash guard's
policy itself (backoff, stop after repeated quick deaths) is checked without processes.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.answer.assistant import Assistant
from app.bench.common import free_port
from app.bench.load import process_tree, serve_process, stop_server
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.web.workers import BACKOFF_SECONDS, CRASH_WINDOW_SECONDS, MAX_QUICK_DEATHS, CrashGuard

from .test_chat import PRISONS, write_corpus

CLIENTS = 20
LOAD_SECONDS = 8.0  # of asking after the kill
READY_SECONDS = 10.0  # the goal: health ready again (both workers answering) within this
QUESTIONS = ["How many prisoners were held in the cells?", "How long did prisoners wait to see a doctor?",
             "What did the warden write on the visitor board?", "Who won the football match?"]


def test_crash_guard_restarts_with_backoff_and_stops_only_after_repeated_quick_deaths():
    guard = CrashGuard()
    pauses = [guard.exited(0, lived=0.5) for _ in range(MAX_QUICK_DEATHS)]
    assert pauses == [*BACKOFF_SECONDS[:MAX_QUICK_DEATHS - 1], None]  # one quick death never stops the server
    other = CrashGuard()
    assert other.exited(0, lived=1.0) == 0.0 and other.exited(1, lived=1.0) == 0.0  # counted per worker
    assert other.exited(0, lived=CRASH_WINDOW_SECONDS) == 0.0 and other.quick[0] == 0  # a long life resets it


def test_the_server_keeps_idle_connections_longer_than_an_httpx_client_does():
    """Equal timeouts race: the server closing an idle connection as the client reuses it resets the request."""
    from app.web.server import KEEP_ALIVE_SECONDS

    assert KEEP_ALIVE_SECONDS > httpx.Limits().keepalive_expiry


def workers_of(proc: subprocess.Popen) -> set[int]:
    return set(process_tree(proc.pid)) - {proc.pid}


async def ask_while_killing(url: str, kill_after: float, proc: subprocess.Popen) -> dict:
    """20 keep-alive clients ask for LOAD_SECONDS after the kill; one worker is SIGKILLed `kill_after`
    seconds in. Returns answers, failures, the killed pid, and seconds until both workers answer health."""
    answers: list[tuple[str, dict]] = []
    failures: list[str] = []
    stop_at = time.monotonic() + kill_after + LOAD_SECONDS
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    out: dict = {}

    async def client(i: int, http: httpx.AsyncClient) -> None:
        n = 0
        while time.monotonic() < stop_at:
            q = QUESTIONS[(i + n) % len(QUESTIONS)]
            n += 1
            try:
                r = await http.post("/api/v1/ask", json={"question": q})
            except httpx.HTTPError as exc:
                failures.append(repr(exc))
                continue
            (answers.append((q, r.json())) if r.status_code == 200 else failures.append(f"{r.status_code} {r.text}"))

    async def killer() -> None:
        await asyncio.sleep(kill_after)
        before = workers_of(proc)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        seen: set[int] = set()
        while time.monotonic() - t0 < 30 and not (len(seen) == 2 and victim not in seen):
            try:  # a fresh connection each time: the kernel hands it to either worker
                async with httpx.AsyncClient(base_url=url, timeout=5) as fresh:
                    health = await fresh.get("/api/v1/health")
                if health.status_code == 200:
                    seen.add(health.json()["worker_pid"])
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.02)
        out.update(victim=victim, ready_after=time.monotonic() - t0, workers_after=seen)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        await asyncio.gather(killer(), *(client(i, http) for i in range(CLIENTS)))
    return {**out, "answers": answers, "failures": failures}


@pytest.mark.load
@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/maps").exists(), reason="needs fork and /proc")
@pytest.mark.parametrize("kill_after", [0.5, CRASH_WINDOW_SECONDS + 1.0], ids=["early", "late"])
def test_a_worker_killed_under_load_is_restarted_and_loses_at_most_its_requests(tmp_path: Path, kill_after: float):
    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    library = Assistant.load(index, HashEmbedder(), corpus_dir=corpus, mmap=True)
    expected = {q: library.ask(q).to_dict() for q in QUESTIONS}
    port = free_port()
    env = {**os.environ, "VERBATIM_MODEL": "test/hash-embedder-64", "GRADIO_ANALYTICS_ENABLED": "False",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--index", str(index), "--corpus", str(corpus), "--workers", "2",
                             "--feedback", str(tmp_path / "f.jsonl")], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while len(workers_of(proc)) < 2 or httpx.get(f"{url}/api/v1/health", timeout=5).status_code != 200:
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        run = asyncio.run(ask_while_killing(url, kill_after, proc))
        assert proc.poll() is None, "the server stopped after one worker's death"
        assert run["victim"] not in run["workers_after"] and len(run["workers_after"]) == 2
        assert run["ready_after"] <= READY_SECONDS, run["ready_after"]
        total = len(run["answers"]) + len(run["failures"])
        # a killed worker holds at most one request per client; everything else is answered, exactly
        assert len(run["failures"]) <= CLIENTS, run["failures"][:5]
        assert all(answer == expected[q] for q, answer in run["answers"])
        print(f"\nkill at {kill_after:g} s: {len(run['failures'])} of {total} requests lost "
              f"({len(run['failures']) / total:.2%}), health ready after {run['ready_after']:.2f} s")
        served = (tmp_path / "serve.log").read_text()
        assert "Traceback" not in served
        lived = float(re.search(r"exited \(status \d+\) after ([\d.]+) s; starting it again", served).group(1))
        assert (lived < CRASH_WINDOW_SECONDS) == (kill_after < CRASH_WINDOW_SECONDS)  # early = a quick death
    finally:
        stop_server(proc)
        log.close()


# ---------------------------------------------------------------- the index memory-mapped


def test_memory_mapped_index_gives_the_same_answers(tiny_index: Path, tiny_corpus: Path, tiny_assistant):
    mapped = Assistant.load(tiny_index, HashEmbedder(), tiny_assistant.settings, tiny_corpus, mmap=True)
    assert isinstance(mapped.index.chunk_vectors, np.memmap)
    assert isinstance(mapped.index.sentence_vectors, np.memmap)
    assert not mapped.index.chunk_vectors.flags.writeable
    for q in ("Who was arrested?", "How many prisoners were held?", "What did the budget say?"):
        assert mapped.ask(q).to_dict() == tiny_assistant.ask(q).to_dict()
        assert mapped.search(q).to_dict() == tiny_assistant.search(q).to_dict()


# ---------------------------------------------------------------- two workers, one index


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/maps").exists(), reason="needs fork and /proc")
def test_two_workers_answer_from_one_memory_mapped_index(tmp_path: Path):
    from gradio_client import Client

    from app.web.workers import owner

    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    library = Assistant.load(index, HashEmbedder(), corpus_dir=corpus, mmap=True)
    proc, url, log = serve_process(["--index", str(index), "--corpus", str(corpus), "--workers", "2",
                                    "--feedback", str(tmp_path / "f.jsonl")], tmp_path,
                                   {"VERBATIM_MODEL": "test/hash-embedder-64"})
    try:
        pids: set[int] = set()
        for _ in range(600):  # a fresh connection each time: the kernel spreads them over the workers
            try:
                health = httpx.get(f"{url}/api/v1/health", timeout=5)
                if health.status_code == 200:
                    pids.add(health.json()["worker_pid"])
            except httpx.HTTPError:
                pass
            if len(pids) == 2:
                break
            time.sleep(0.05)
        assert len(pids) == 2 and proc.pid not in pids
        vectors = str((index / "chunk_vectors.npy").resolve())
        assert all(vectors in _maps(pid) for pid in pids)  # both read the one file, memory-mapped
        for q in QUESTIONS:
            for _ in range(4):
                assert httpx.post(f"{url}/api/v1/ask", json={"question": q}, timeout=30).json() == \
                    library.ask(q).to_dict()
        sessions = []
        for n in range(6):  # sessions owned by either worker; each call may land on either and be passed on
            client = Client(url + "/", verbose=False)
            client.session_hash = next(f"s{n}-{i}" for i in range(100) if owner(f"s{n}-{i}", 2) == n % 2)
            sessions.append(client)
        for client in sessions:
            assert client.predict(QUESTIONS[0], api_name="/ask") == library.ask(QUESTIONS[0]).to_dict()
        # a rebuild (a new build folder, whatever the clock says): each worker answers from it on its next request
        (corpus / "prisons.txt").write_text(PRISONS.replace("212 prisoners", "300 prisoners"), encoding="utf-8")
        build_index(index, HashEmbedder(), corpus_dir=corpus)
        new = "They counted 300 prisoners held in cells built for 150."
        seen: set[int] = set()
        for _ in range(600):
            with httpx.Client(base_url=url, timeout=30) as one:  # one connection: one worker
                health = one.get("/api/v1/health").json()
                answer = one.post("/api/v1/ask", json={"question": QUESTIONS[0]}).json()
            if answer["quotes"][0]["text"] == new:
                seen.add(health["worker_pid"])
            if seen == pids:
                break
        assert seen == pids
        assert "Traceback" not in log.read_text()
    finally:
        stop_server(proc)
