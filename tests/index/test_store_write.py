"""Writing a build: a temporary folder swapped in whole, the FAISS index type (app/index/store_write.py)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.store import load_index, read_manifest
from app.index.store_write import make_faiss_index
from app.index.verify import verify_index
from tests.conftest import REPO


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


def test_failed_build_leaves_the_old_index_whole(tmp_path: Path, tiny_corpus: Path, monkeypatch):
    index_dir = tmp_path / "idx"
    build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    before = read_manifest(index_dir).created_at, load_index(index_dir).chunks
    (tiny_corpus / "prisons.txt").write_text("Changed text.\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("app.index.lexical.BM25Index.save", boom)
    with pytest.raises(OSError, match="disk full"):
        build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    assert (read_manifest(index_dir).created_at, load_index(index_dir).chunks) == before
    assert [p.name for p in (tmp_path / "idx.builds").iterdir() if p.name.startswith("tmp-")] == []


KILL_SCRIPT = """
import sys, time
from pathlib import Path
import app.index.build
import app.index.lexical
from app.index.embed import HashEmbedder
original = app.index.lexical.BM25Index.save
def slow_save(self, folder):
    original(self, folder)
    Path(sys.argv[3]).write_text("writing")
    time.sleep(60)
app.index.lexical.BM25Index.save = slow_save
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
