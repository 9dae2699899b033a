"""Build jobs for tests, top-level so that a spawned build process imports them by name
(app/index/build_process.py), and the test side's waits on them. Each writes beside the corpus."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from app.index import ingest, ner
from app.index.build_process import ChildBuild, run_build

PID_FILE = "build.pid"  # beside the corpus: the pid of the process that paused
READING_FILE = "reading-gone.txt"  # beside the corpus: the build is reading gone.txt
STARTED_FILE = "builds-started"  # beside the corpus: a line for each build process `announce` started


def _mark(request: dict, name: str, text: str) -> None:
    path = Path(request["corpus_dir"]).parent / name
    path.with_suffix(".tmp").write_text(text)
    path.with_suffix(".tmp").replace(path)


def pause(request: dict) -> dict:
    """Write this process's pid, then wait to be killed: a build that never finishes."""
    _mark(request, PID_FILE, str(os.getpid()))
    threading.Event().wait()
    raise AssertionError("not reached")


def announce(request: dict) -> dict:
    """The build, after adding a line to STARTED_FILE with the corpus files it starts from (space-separated)."""
    from app.index.ingest import corpus_files

    corpus = Path(request["corpus_dir"])
    seen = " ".join(p.relative_to(corpus).as_posix() for p in corpus_files(corpus))
    with open(corpus.parent / STARTED_FILE, "a", encoding="utf-8") as f:
        f.write(f"{seen}\n")
    return run_build(request)


def tight_ner_budget(request: dict) -> dict:
    """The build, with every document over 1,000 characters over its NER budget."""
    ner.ner_budget = lambda chars: -1.0 if chars > 1000 else 1e9
    return run_build(request)


def wait_for_removal(request: dict) -> dict:
    """The build, held as it reads gone.txt until the file is removed (a removal racing the build)."""
    real = ingest.read_document

    def racing(path: Path, root: Path, max_bytes: int = ingest.MAX_CORPUS_FILE_BYTES) -> ingest.Document:
        if path.name == "gone.txt":
            _mark(request, READING_FILE, "")
            while path.exists():
                time.sleep(0.01)
        return real(path, root, max_bytes)

    ingest.read_document = racing
    return run_build(request)


def start_a_paused_build(request: dict) -> dict:
    """A process that starts a paused build process of its own and waits for it, until it is killed."""
    return ChildBuild(request, pause).result()


# ---------------------------------------------------------------- the test's side


def wait_for(check, seconds: float = 120.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def builds_started(folder: Path) -> list[set[str]]:
    """The corpus files each build process `announce` started (beside the corpus in `folder`) starts from."""
    path = folder / STARTED_FILE
    return [set(line.split()) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def paused_pid(folder: Path) -> int:
    """The pid `pause` wrote in `folder` (the corpus folder's parent), once it is written."""
    assert wait_for((folder / PID_FILE).exists), "the build process never paused"
    return int((folder / PID_FILE).read_text())


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (an orphan's reaper may be slow)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:  # gone meanwhile, or a system without /proc (where os.kill has answered)
        return not Path("/proc").is_dir()
