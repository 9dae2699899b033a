"""Loading an assistant to serve (app/answer/loading.py)."""

from __future__ import annotations

from pathlib import Path

from app.answer import loading
from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.runtime import Runtime


def test_serving_loads_what_answers_need_before_workers_fork(tmp_path: Path, monkeypatch):
    """`verbatim serve --workers N` forks after `prepare_serving`: whatever an answer loads on first use
    (spaCy's pipeline, the span weights) must be loaded by then, or every worker loads its own copy."""
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text("The inspectors counted 212 prisoners in 2019. They found the cells cold.\n")
    asked: list[str] = []
    runtime = Runtime()
    real_ask = Assistant.ask
    monkeypatch.setattr(Assistant, "ask", lambda self, q, *a, **kw: asked.append(q) or real_ask(self, q, *a, **kw))
    serving = loading.prepare_serving(tmp_path / "index", corpus, runtime)
    assert asked == [loading.WARM_UP_QUESTION]
    assert runtime.nlp_loaded and runtime.loaded(("span-model", ""))
    assert serving.assistant.runtime is runtime
    assert [d.doc for d in serving.assistant.index.documents] == ["note.txt"]


def test_serving_builds_a_missing_index_in_another_process(tmp_path: Path, monkeypatch):
    """The serving process only answers: `build_index` broken here is never called, the build a spawned
    child runs lands all the same, and its summary comes back."""
    import app.index.build

    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    monkeypatch.setattr(app.index.build, "build_index", lambda *a, **kw: (_ for _ in ()).throw(AssertionError))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text("The inspectors counted 212 prisoners in 2019. They found the cells cold.\n")
    serving = loading.prepare_serving(tmp_path / "index", corpus)
    assert (serving.built.documents, serving.built.path) == (1, tmp_path / "index")
    assert [d.doc for d in serving.assistant.index.documents] == ["note.txt"]
    assert loading.prepare_serving(tmp_path / "index", corpus).built is None  # fresh: nothing built


def test_serving_with_uploads_answers_from_the_last_good_index_when_only_the_corpus_changed(tmp_path: Path,
                                                                                            monkeypatch):
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text("The inspectors counted 212 prisoners in 2019.\n")
    loading.prepare_serving(tmp_path / "index", corpus)
    built = (tmp_path / "index").resolve()
    (corpus / "late.txt").write_text("An upload stored just before the server was killed.\n")
    serving = loading.prepare_serving(tmp_path / "index", corpus, defer_corpus_changes=True)
    assert serving.built is None and (tmp_path / "index").resolve() == built  # no build before serving
    assert [d.doc for d in serving.assistant.index.documents] == ["note.txt"]


def test_serving_a_fresh_index_reads_its_manifest_once(tmp_path: Path, tiny_corpus: Path, monkeypatch,
                                                       manifest_opens: list[str]):
    """From `verbatim serve` to the loaded assistant, manifest.json is opened once (issue 28): the corpus it
    records, its index type, the freshness check, the load and the file checks all use that one reading."""
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=tiny_corpus)
    manifest_opens.clear()
    serving = loading.prepare_serving(tmp_path / "index", None)
    assert serving.built is None and serving.corpus_dir == tiny_corpus.resolve()
    assert manifest_opens == [str(tmp_path / "index" / "manifest.json")]


def test_loading_for_a_command_reads_the_manifest_once(tiny_index: Path, manifest_opens: list[str]):
    manifest_opens.clear()
    assistant = loading.load_assistant(tiny_index, None)
    assert assistant.embedder.name == "test/hash-embedder-64" and len(assistant.index.documents) == 3
    assert manifest_opens == [str(tiny_index / "manifest.json")]


def test_serving_a_fresh_index_checksums_each_of_its_files_once(tmp_path: Path, tiny_corpus: Path, monkeypatch):
    """The freshness check before serving reads every file's checksum; loading then does not read them again."""
    import app.index.store

    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=tiny_corpus)
    hashed: list[str] = []
    real = app.index.store.sha256_file
    monkeypatch.setattr(app.index.store, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    assert loading.prepare_serving(tmp_path / "index", None).built is None
    assert "manifest.json" not in hashed and "dense.faiss" in hashed and len(hashed) == len(set(hashed))
