"""From `verbatim serve` to the first search, the path through app/index (issue 28): "the index folder
crosses 8 files or fewer and enters none twice".

The measure, `index_crossings`, profiles (`sys.setprofile`) a call of `prepare_serving` (what `verbatim serve`
runs, app/web/serve.py) on a fresh index built with the hash embedder, then one `Assistant.search`, with the
warm-up question stubbed out:

- a file of app/index is *crossed* when code of it runs: a Python function whose code object lives in it
  (`@property` getters included; dataclass-generated methods, whose file is "<string>", are no file's code);
- it is *entered* by each such call whose caller is outside app/index: the nearest frame below the call that
  is the project's own code (app/), skipping library frames (the stdlib, site-packages: a logging filter or a
  bm25s callback runs for the app/index code that called that library) and generated code;
- a call into a file already running further up the stack (a callback) enters nothing: that file's entry is
  still open;
- code run while a module is imported (a frame of a module body between the window's start and the call) is
  not counted: an import is not a crossing, and which modules are imported already depends on test order.

Goal: at most 8 files crossed, each entered from outside at most once: with the tests' hash embedder (embed.py)
and with the default encoder, multilingual-e5-small (e5.py; its engine is loaded by `app.lazy.Lazy`, a utility
of no layer's own). The warm-up question, stubbed here, is an answer, whose quoting reads the index by many
calls.
"""

from __future__ import annotations

import heapq
import importlib.util
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import app
from app.answer import loading
from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.lexical import BM25Index, stem
from app.runtime import Runtime

APP = Path(app.__file__).resolve().parent
INDEX = str(APP / "index") + "/"
PROJECT = str(APP) + "/"
MAX_FILES = 8


@dataclass
class Crossings:
    """Files of app/index whose code ran (calls by caller), and the calls that entered each from outside."""

    calls: Counter = field(default_factory=Counter)  # (file, caller file) -> calls
    entries: Counter = field(default_factory=Counter)  # file -> calls from outside app/index

    @property
    def files(self) -> set[str]:
        return {f for f, _ in self.calls}

    def table(self) -> str:
        return "\n".join(f"{f:18} <- {c:34} {n}" for (f, c), n in sorted(self.calls.items()))


def _caller(frame, base) -> str | None:
    """The project file that called `frame` ('' if none); None when the call runs inside an import."""
    caller = None
    f = frame
    while f is not None and f is not base:
        if f.f_code.co_name == "<module>":
            return None
        if caller is None and f is not frame and f.f_code.co_filename.startswith(PROJECT):
            caller = f.f_code.co_filename
        f = f.f_back
    return caller or ""


def _open(frame, base) -> bool:
    """Whether `frame`'s file is already running further up the stack: a callback (e5.py's engine loader, called
    by `app.lazy.Lazy` for e5.py's own encode) runs inside an entry still open, it does not enter again."""
    f = frame.f_back
    while f is not None and f is not base:
        if f.f_code.co_filename == frame.f_code.co_filename:
            return True
        f = f.f_back
    return False


def index_crossings(run) -> Crossings:
    """The crossings into app/index while `run()` runs (see the module docstring)."""
    out = Crossings()
    base = sys._getframe()

    def profile(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(INDEX):
            return
        caller = _caller(frame, base)
        if caller is None:
            return
        name = frame.f_code.co_filename[len(INDEX):]
        out.calls[(name, caller.removeprefix(PROJECT.rsplit("app/", 1)[0]))] += 1
        if not caller.startswith(INDEX) and not _open(frame, base):
            out.entries[name] += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return out


def serve_and_search(index_dir: Path, question: str, monkeypatch) -> Crossings:
    """The crossings from `prepare_serving` on `index_dir` to the end of the first search for `question`."""
    monkeypatch.setattr(Assistant, "ask", lambda self, *a, **kw: None)  # the warm-up question: not measured here
    runtime = Runtime()

    def run() -> None:
        serving = loading.prepare_serving(index_dir, None, runtime)
        assert serving.built is None  # a fresh index: nothing built
        assert serving.assistant.search(question).hits

    return index_crossings(run)


def test_serve_to_the_first_search_crosses_at_most_8_index_files_each_entered_once(tmp_path: Path, tiny_corpus: Path,
                                                                                   monkeypatch):
    """Today: `open_index` (verify.py) opens the index, `Searcher.search` (search.py) searches it; the
    loader asks encoders.py for the default model, the question's language reads language.py, and the
    query encoder (embed.py) is called through the batcher (app/batching.py). Inside: store.py (the
    manifest, the files, the calibration), ingest.py (the corpus's hashes, for freshness), lexical.py."""
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=tiny_corpus)
    crossed = serve_and_search(tmp_path / "index", "How many prisoners were held?", monkeypatch)
    assert len(crossed.files) <= MAX_FILES, crossed.table()
    assert max(crossed.entries.values()) == 1, (crossed.entries, crossed.table())


def test_a_question_in_another_latin_script_language_enters_the_language_file_once(tmp_path: Path,
                                                                                   tiny_corpus: Path, monkeypatch):
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=tiny_corpus)
    crossed = serve_and_search(tmp_path / "index", "¿Cuántas personas fueron arrestadas en la prisión?", monkeypatch)
    assert len(crossed.files) <= MAX_FILES and max(crossed.entries.values()) == 1, crossed.entries


def test_serving_the_default_encoder_crosses_at_most_8_index_files(tmp_path: Path, tiny_corpus: Path, monkeypatch):
    from app.index.encoders import DEFAULT_MODEL, encoder

    monkeypatch.setenv("VERBATIM_MODEL", DEFAULT_MODEL)
    build_index(tmp_path / "index", encoder(DEFAULT_MODEL, "build"), corpus_dir=tiny_corpus)
    crossed = serve_and_search(tmp_path / "index", "How many prisoners were held?", monkeypatch)
    assert max(crossed.entries.values()) == 1, crossed.entries  # each entered once all the same
    assert len(crossed.files) <= MAX_FILES, crossed.table()


def test_the_measure_counts_properties_and_callbacks_but_not_imports(monkeypatch):
    """The measure on known calls, so that a broken profiler cannot pass the tests above by seeing nothing."""
    bm25 = BM25Index.build(["The prisoners were held", "in cells"])
    spec = importlib.util.spec_from_file_location("verbatim_probe", APP / "index" / "encoders.py")
    probe = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "verbatim_probe", probe)

    def run() -> None:
        assert bm25.vocabulary  # a property of app/index/lexical.py: one entry
        heapq.nsmallest(1, ["held", "cells"], key=stem)  # called back by a library, for this file: two entries
        spec.loader.exec_module(probe)  # an import, whose body runs a comprehension of encoders.py: not counted

    crossed = index_crossings(run)
    assert crossed.entries == Counter({"lexical.py": 3}) and crossed.files == {"lexical.py"}, crossed.table()
