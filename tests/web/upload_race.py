"""One run of uploads raced with deletes (issue 27), and the truth its statuses must tell afterwards.

A shelf starts with one document and a served index of it. Threads, released together, each upload one
small distinct document; some delete theirs again: one at once, the others once the first or the second
build process to see it in the corpus has started (so that build may still be reading it, and may be the one
that reports its status). When the shelf is idle,
`truth_problems` compares what the shelf says with what is so: an upload still in the corpus is "ready"
and answerable from the served index, a deleted one is listed as "removed" (app/web/statuses.py), the
kept statuses file says the same, and the served index holds exactly the corpus files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import corpus_files
from app.web.live import LiveAssistant
from app.web.statuses import read_statuses, statuses_path
from app.web.uploads import Shelf
from tests.index import build_jobs

FIRST = "The first report found that prisoners waited six weeks to see a doctor.\n"
UPLOADS = 8
DELETED_AT_ONCE = (1,)  # deleted as soon as their upload returns
# deleted once the first (4) or second (6) build process to see them in the corpus has started, or when all is built
DELETED_DURING_A_BUILD = {4: 1, 6: 2}


def name(i: int) -> str:
    return f"harbour-{i}.txt"


def text(i: int) -> str:
    return f"The harbour inspection number {i} counted {100 + i} fishing boats with broken radios.\n"


@dataclass(frozen=True)
class Run:
    """What one run left: the statuses shown and kept, the corpus files, and the served assistant."""

    errors: list[str]
    statuses: dict[str, str]
    kept: dict[str, str]
    corpus: list[str]
    served: Assistant


def race(base: Path) -> Run:
    """Upload UPLOADS documents from as many threads at once, delete some, and wait until the shelf is idle."""
    corpus, index = base / "corpus", base / "index"
    corpus.mkdir(parents=True)
    (corpus / "first.txt").write_text(FIRST)
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    live = LiveAssistant(Assistant.load(index, HashEmbedder(), corpus_dir=corpus, mmap=True), index, corpus)
    shelf = Shelf(corpus, index, HashEmbedder().name, job=build_jobs.announce)
    errors: list[str] = []
    start = threading.Barrier(UPLOADS)

    def one(i: int) -> None:
        start.wait()
        try:
            shelf.add(name(i), text(i).encode())
            if i in DELETED_DURING_A_BUILD and not build_jobs.wait_for(lambda: shelf.wait_idle(0) or sum(
                    name(i) in seen for seen in build_jobs.builds_started(base)) >= DELETED_DURING_A_BUILD[i], 300):
                raise AssertionError(f"no build started with {name(i)} in the corpus")
            if i in (*DELETED_AT_ONCE, *DELETED_DURING_A_BUILD):
                shelf.remove(name(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(f"{name(i)}: {exc!r}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(UPLOADS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not shelf.wait_idle(600):
            errors.append("the shelf was not idle within 600 s")
        statuses = shelf.status()
    finally:
        shelf.close()
    return Run(errors, statuses, read_statuses(statuses_path(index)),
               [p.relative_to(corpus).as_posix() for p in corpus_files(corpus)], live.current())


def expected_statuses() -> dict[str, str]:
    deleted = {*DELETED_AT_ONCE, *DELETED_DURING_A_BUILD}
    return {name(i): "removed" if i in deleted else "ready" for i in range(UPLOADS)}


def truth_problems(run: Run) -> list[str]:
    """Every way the run's statuses or served index differ from the truth ([] when they tell it)."""
    problems = list(run.errors)
    expected = expected_statuses()
    if run.statuses != expected:
        problems.append(f"statuses {dict(sorted(run.statuses.items()))} != {expected}")
    if run.kept != run.statuses:
        problems.append(f"kept statuses {run.kept} != shown {run.statuses}")
    ready = sorted(n for n, s in expected.items() if s == "ready")
    if run.corpus != sorted(["first.txt", *ready]):
        problems.append(f"corpus {run.corpus} != {sorted(['first.txt', *ready])}")
    served = sorted(d.doc for d in run.served.index.documents)
    if served != run.corpus:
        problems.append(f"served documents {served} != corpus {run.corpus}")
    for i in range(UPLOADS):
        if expected[name(i)] == "ready":
            quotes = run.served.ask(f"How many fishing boats did harbour inspection number {i} count?",
                                    docs=[name(i)]).quotes
            if not quotes or quotes[0].doc != name(i) or quotes[0].text != text(i).strip():
                problems.append(f"{name(i)} is not answerable from the served index: {quotes}")
    return problems
