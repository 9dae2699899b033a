"""An index build in a child process, so that ingest, NER and embedding never hold the caller's GIL.

    build = ChildBuild(build_request(index_dir, corpus_dir, "test/hash-embedder-64"))
    report = build.result()  # waits; the build report as plain data, or raises

The child is started with `spawn` (the server has threads; a fork would copy their locks). It makes
the encoder by name (`encoders.encoder(model, "build")`) and its own `Runtime`, runs `build_index`,
and sends back one plain message: the report, a document's refusal (raised again here as
`DocumentRefused`), or another error's message (`IndexBuildError`). The build lands as every build
does (a new folder, then the link flips), so whoever serves the index swaps it in. A child that dies
without a message (killed, crashed) raises `IndexBuildError`, and the previous index is untouched.
A child also ends when its parent is gone (`_lifeline`): no build outlives the server that asked for it.
(Run in tests/index/test_build_process.py.)
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import DocumentRefused, IndexBuildError
from app.settings import BuildSettings

if TYPE_CHECKING:
    from app.index.build import BuildSummary

BuildJob = Callable[[dict], dict]  # a top-level function (the child imports it by name): request -> report
STOP_SECONDS = 5.0  # after SIGTERM, before SIGKILL


def build_request(index_dir: Path, corpus_dir: Path, model: str, settings: BuildSettings | None = None) -> dict:
    """What a build process is asked to build, as plain data.

    >>> build_request(Path("idx"), Path("corpus"), "test/hash-embedder-16")["model"]
    'test/hash-embedder-16'
    """
    return {"index_dir": str(index_dir), "corpus_dir": str(corpus_dir), "model": model,
            "settings": (settings or BuildSettings()).to_dict()}


def run_build(request: dict) -> dict:
    """The child's work: build the index `request` asks for; the build report with `summary` and `pid`."""
    from app.index.build import build_index
    from app.index.encoders import encoder

    report = build_index(Path(request["index_dir"]), encoder(request["model"], "build"),
                         BuildSettings.from_dict(request["settings"]), corpus_dir=Path(request["corpus_dir"]))
    return {**asdict(report), "path": str(report.path), "summary": report.summary(), "pid": os.getpid()}


def build_in_child(index_dir: Path, corpus_dir: Path, model: str,
                   settings: BuildSettings | None = None) -> BuildSummary:
    """Build the index in a child process and wait for it: the caller's process never loads the build's
    models (an OpenMP engine that has embedded passages slows the questions asked after it); its
    `BuildSummary`."""
    from dataclasses import fields

    from app.index.build import BuildSummary

    report = ChildBuild(build_request(index_dir, corpus_dir, model, settings)).result()
    known = {f.name for f in fields(BuildSummary)}
    return BuildSummary(**{**{k: v for k, v in report.items() if k in known}, "path": Path(report["path"])})


def _child(job: BuildJob, request: dict, result: Any, lifeline: Any) -> None:
    """The child process's entry: run `job`, send one message, exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the parent, which ends this build
    threading.Thread(target=_lifeline, args=(lifeline,), name="verbatim-build-lifeline", daemon=True).start()
    try:
        message: dict = {"report": job(request)}
    except DocumentRefused as exc:
        message = {"refused": exc.doc, "error": str(exc)}
    except Exception as exc:  # any failure goes back as its message; the parent decides what it means
        message = {"error": str(exc) or type(exc).__name__}
    result.send(message)
    result.close()


def _lifeline(lifeline: Any) -> None:
    """Exit when the parent closes its end of the lifeline or dies (the kernel closes it then)."""
    try:
        lifeline.recv()
    except (EOFError, OSError):
        pass
    os._exit(1)


class ChildBuild:
    """One build running in a child process: `result()` waits for it, `stop()` ends it."""

    def __init__(self, request: dict, job: BuildJob = run_build) -> None:
        context = multiprocessing.get_context("spawn")
        self._result, result_end = context.Pipe(duplex=False)
        lifeline_end, self._lifeline = context.Pipe(duplex=False)
        self.process = context.Process(target=_child, args=(job, request, result_end, lifeline_end),
                                       name="verbatim-build", daemon=True)
        self.process.start()
        result_end.close()  # the child holds the only writer: its death is an EOF here
        lifeline_end.close()

    def result(self) -> dict:
        """Wait (without the GIL) for the build's report; raises `DocumentRefused` or `IndexBuildError`.

        After a message the child exits on its own; its teardown (up to a second with a model loaded) is
        not waited for: `stop()`, or the start of the next process, reaps it."""
        try:
            message = self._result.recv()
        except (EOFError, OSError):  # the child died without a message
            message = None
        finally:
            self._result.close()
        if message is None:
            self.process.join()
            raise IndexBuildError(f"the build process {_ended(self.process.exitcode)} before it finished; "
                                  "the index is unchanged")
        if "refused" in message:
            raise DocumentRefused(message["refused"], message["error"])
        if "error" in message:
            raise IndexBuildError(message["error"])
        return message["report"]

    def stop(self) -> None:
        """End the build process (SIGTERM, then SIGKILL if it lingers) and reap it."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(STOP_SECONDS)
            if self.process.is_alive():
                self.process.kill()
        self.process.join()
        self._lifeline.close()


def _ended(exitcode: int | None) -> str:
    """How a process ended, in words.

    >>> _ended(-9), _ended(3)
    ('was killed by SIGKILL', 'exited with code 3')
    """
    if exitcode is not None and exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"
