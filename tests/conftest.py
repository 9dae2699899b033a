"""Shared fixtures: a tiny corpus, a deterministic fake embedder, and indexes built in tmp_path."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.runtime import Runtime
from app.settings import AnswerSettings, BuildSettings

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "corpus" / "old-habits-kazakhstan-torture-rferl-interview.txt"
BENCHMARKS = REPO.parent / "shared" / "benchmarks"
# The shared fixtures' builds share one runtime, so spaCy's pipeline and the language identifier (~0.5 s and
# ~0.9 s to load) load once a session, not once a build; a test that watches what a build loads passes its own.
BUILD_RUNTIME = Runtime()


def build_report_index(tmp_path_factory) -> tuple[Path, Path]:
    """The bundled report copied into a corpus folder and indexed with the default encoder: (index, corpus)."""
    from app.index.encoders import DEFAULT_MODEL, encoder

    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / REPORT.name).write_bytes(REPORT.read_bytes())
    index_dir = tmp_path_factory.mktemp("index") / "report"
    build_index(index_dir, encoder(DEFAULT_MODEL, "build"), corpus_dir=corpus, runtime=BUILD_RUNTIME)
    return index_dir, corpus


def need_benchmark(relative: str) -> Path:
    """`../shared/benchmarks/<relative>`; when it is missing, the test is skipped and says why, except
    under CI (`CI=true`, set by .ci/run), where a missing benchmark is a failure: CI skips nothing."""
    return need_path(BENCHMARKS / relative, f"no {relative} under {BENCHMARKS}; CI needs ../shared/benchmarks "
                                            "beside the checkout")


def need_path(path: Path, why: str) -> Path:
    """`path`, which the test needs; missing, the test is skipped saying `why`, except under CI (a failure)."""
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    return path


class CountingEmbedder(HashEmbedder):
    """A hash embedder that records every text it embeds."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.seen: list[str] = []

    def encode(self, texts, batch_size=32, progress=False):
        self.seen.extend(texts)
        return super().encode(texts, batch_size, progress)


def assert_quotes_verbatim(answer_dict: dict, assistant: Assistant) -> None:
    """Every quote equals its document's text at its offsets."""
    for q in answer_dict["quotes"]:
        assert assistant.index.document(q["doc"]).text[q["start"]:q["end"]] == q["text"]


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(DATA / "tiny", dest)
    return dest


@pytest.fixture
def tiny_index(tmp_path: Path, tiny_corpus: Path) -> Path:
    index_dir = tmp_path / "index" / "tiny"
    build_index(index_dir, HashEmbedder(), BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus,
                runtime=BUILD_RUNTIME)
    return index_dir


@pytest.fixture
def tiny_assistant(tiny_index: Path, tiny_corpus: Path) -> Assistant:
    # floor == threshold: two verdicts (answered / not_found); tests of "uncertain" set a floor below
    return Assistant.load(tiny_index, settings=AnswerSettings(threshold=0.2, floor=0.2), corpus_dir=tiny_corpus)


def kill_when(proc: subprocess.Popen, reached: Callable[[], bool], what: str | None, seconds: float = 60.0) -> None:
    """Wait until `reached()` (or the process ends), then SIGKILL `proc` and reap it. With `what`, fail
    saying the build never reached it when it did not."""
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not reached() and proc.poll() is None:
            time.sleep(0.05)
        if what is not None:
            assert reached(), f"the build never reached {what}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture
def recorded_serve(monkeypatch) -> dict:
    """`verbatim serve` with the hash embedder and no server: the app it builds is recorded
    (`["assistant"]`, `["ui"]`) and closed after the test; `launch` does nothing."""
    import app.web.chat
    import app.web.server

    served: dict = {}
    original = app.web.chat.build_app

    def recording_build_app(assistant, *args, **kwargs):
        served["assistant"] = assistant
        served["ui"] = original(assistant, *args, **kwargs)
        return served["ui"]

    monkeypatch.setattr(app.web.chat, "build_app", recording_build_app)
    monkeypatch.setattr(app.web.server, "launch", lambda ui, host, port, **kw: None)
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    yield served
    if "ui" in served:
        served["ui"].close()


@pytest.fixture
def manifest_opens(monkeypatch) -> list[str]:
    """The path of every manifest.json opened from now on (`Path.read_text` and `open` both call `io.open`)."""
    import builtins
    import io

    opened: list[str] = []
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, str | Path) and Path(file).name == "manifest.json":
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    return opened
