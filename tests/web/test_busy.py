"""The busy notices, each without a trace: 503 while a new build of the index is loaded, the JSON API's bound
on waiting requests, and the chat's bounded queue ("Queue is full"), whose bounds are seen from outside: how
many questions run at once, how many wait (Gradio's public /queue/status), and when one is refused.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx
import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.web.api import create_api
from app.web.chat import build_app
from app.web.http import BUSY
from app.web.live import LiveAssistant
from tests.index.build_jobs import wait_for

from .test_chat import PRISONS, make_assistant, start, write_corpus


def test_503_while_a_new_build_is_loaded_then_answers_from_it(tmp_path: Path):
    from fastapi.testclient import TestClient

    corpus = write_corpus(tmp_path / "corpus")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=corpus)
    served = Assistant.load(tmp_path / "index", HashEmbedder(), corpus_dir=corpus, mmap=True)
    live = LiveAssistant(served, tmp_path / "index", corpus)
    client = TestClient(create_api(lambda: live.current(wait=False)))
    before = os.path.realpath(tmp_path / "index")  # the build folder answering now
    (corpus / "prisons.txt").write_text(PRISONS.replace("212 prisoners", "300 prisoners"), encoding="utf-8")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=corpus)
    live._loading.acquire()  # another request is loading the new build
    try:
        response = client.post("/ask", json={"question": "How many prisoners were held in the cells?"})
        assert (response.status_code, response.json()) == (
            503, {"error": "a new build of the index is being loaded; try again in a moment", "status": 503})
        assert client.get("/health").status_code == 503
    finally:
        live._loading.release()
    assert client.get("/health").json()["status"] == "ready"
    assert os.path.realpath(live.current().index.path) == os.path.realpath(tmp_path / "index") != before
    answer = client.post("/ask", json={"question": "How many prisoners were held in the cells?"}).json()
    assert answer["quotes"][0]["text"] == "They counted 300 prisoners held in cells built for 150."


def test_api_says_busy_when_too_many_requests_wait(tiny_assistant):
    from fastapi.testclient import TestClient

    entered, gate = threading.Event(), threading.Event()

    def slow():
        entered.set()
        assert gate.wait(30)
        return tiny_assistant

    client = TestClient(create_api(slow, max_waiting=1))
    first: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: first.append(client.post("/ask", json={"question": "Who?"})))
    waiting.start()
    try:
        assert entered.wait(30)
        refused = client.post("/ask", json={"question": "Who?"})
        assert (refused.status_code, refused.json(), refused.headers["retry-after"]) == (
            503, {"error": BUSY, "status": 503}, "1")
    finally:
        gate.set()
        waiting.join(30)
    assert first[0].status_code == 200 and first[0].json() == tiny_assistant.ask("Who?").to_dict()


class GatedAssistant:
    """Holds every question until the test opens the gate, so the chat's queue fills; counts the questions
    that got in."""

    def __init__(self, inner) -> None:
        self.inner, self.index, self.embedder, self.settings = inner, inner.index, inner.embedder, inner.settings
        self.gate, self._lock, self.entered = threading.Event(), threading.Lock(), 0

    def ask(self, *args, **kwargs):
        with self._lock:
            self.entered += 1
        assert self.gate.wait(60)
        return self.inner.ask(*args, **kwargs)


def queued(url: str) -> int:
    """How many events wait in the chat's queue, as Gradio's public /queue/status says."""
    return httpx.get(f"{url}gradio_api/queue/status", timeout=10).json()["queue_size"]


@pytest.mark.parametrize("concurrency, size", [(1, 1), (3, 7)])
def test_full_chat_queue_says_busy_try_again_without_a_trace(tmp_path: Path, concurrency: int, size: int):
    """`concurrency` questions are answered at once, `size` more wait, the next is refused: as a gradio_client
    sees it, and as the raw queue/join says it, naming the bound."""
    from gradio_client import Client
    from gradio_client.utils import QueueError

    plain = make_assistant(tmp_path)
    gated = GatedAssistant(plain)
    ui = build_app(gated, tmp_path / "feedback.jsonl", examples=["Q?"], concurrency_limit=concurrency,
                   max_queue=size)
    url = start(ui)
    question = "How many prisoners were held in the cells?"
    try:
        client = Client(url, verbose=False)
        running = [client.submit(question, api_name="/ask") for _ in range(concurrency)]
        assert wait_for(lambda: gated.entered == concurrency, 30)
        waiting = [client.submit(question, api_name="/ask") for _ in range(size)]
        assert wait_for(lambda: queued(url) == size, 30)
        assert gated.entered == concurrency  # the rest wait their turn
        refused = client.submit(question, api_name="/ask")
        with pytest.raises(QueueError, match=r"^Queue is full! Please try again\.$") as caught:
            refused.result(timeout=60)
        assert "Traceback" not in str(caught.value)
        response = httpx.post(url + "gradio_api/queue/join", timeout=10,
                              json={"data": [question, [], []], "session_hash": "loadtest", "event_data": None,
                                    "fn_index": next(k for k, fn in ui.blocks.fns.items() if fn.api_name == "ask"),
                                    "trigger_id": None})
        assert (response.status_code, response.json()) == (
            503, {"detail": f"Queue is full. Max size is {size} and size is {size}."})
        gated.gate.set()
        expected = plain.ask(question).to_dict()
        assert [job.result(timeout=60) for job in running + waiting] == [expected] * (concurrency + size)
    finally:
        gated.gate.set()
        ui.close()


def test_the_chat_and_ask_share_one_concurrency_group(tmp_path: Path):
    from app.web.chat import CONCURRENCY_ID

    app = build_app(make_assistant(tmp_path), tmp_path / "unused.jsonl", concurrency_limit=3, max_queue=7)
    limited = [fn for fn in app.blocks.fns.values() if fn.concurrency_id == CONCURRENCY_ID]
    assert {fn.api_name for fn in limited} >= {"chat", "ask"}
    assert {fn.concurrency_limit for fn in limited} == {3}
