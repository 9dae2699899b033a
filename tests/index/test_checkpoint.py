"""Resumable builds: a build killed midway (an exception, or SIGKILL) and started again embeds only
what its checkpoint lacks, serves the old index whole meanwhile, and ends equal to a plain build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.index.build import InProcessEngine, build_index
from app.index.checkpoint import Checkpoint, text_key
from app.index.embed import HashEmbedder
from app.index.store import builds_dir, load_index, read_manifest
from app.index.verify import verify_index
from app.settings import BuildSettings
from tests.conftest import REPO, CountingEmbedder, kill_when

SETTINGS = BuildSettings(chunk_max_words=30)
BATCH = 4


class Crash(RuntimeError):
    pass


class CrashingEmbedder(CountingEmbedder):
    """Embeds `batches` batches, then raises (a build that dies midway)."""

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.left = batches

    def encode(self, texts, batch_size=32, progress=False):
        if self.left == 0:
            raise Crash("killed mid-build")
        self.left -= 1
        return super().encode(texts, batch_size, progress)


def plain_texts(corpus: Path, tmp_path: Path) -> list[str]:
    """Every text a build of `corpus` embeds, in order (a reference build with a counting embedder)."""
    counting = CountingEmbedder()
    build_index(tmp_path / "reference", counting, SETTINGS, corpus_dir=corpus, engine=InProcessEngine(counting, BATCH))
    return counting.seen


def assert_same_index(a: Path, b: Path) -> None:
    x, y = load_index(a), load_index(b)
    assert [(c.id, c.doc, c.text, c.start, c.end, c.paragraph, c.page) for c in x.chunks] == \
        [(c.id, c.doc, c.text, c.start, c.end, c.paragraph, c.page) for c in y.chunks]
    np.testing.assert_array_equal(x.sentences, y.sentences)
    np.testing.assert_allclose(x.chunk_vectors, y.chunk_vectors, atol=1e-6)
    np.testing.assert_allclose(x.sentence_vectors, y.sentence_vectors, atol=1e-6)
    assert x.manifest.raw["faiss"] == y.manifest.raw["faiss"]


def test_a_crashed_build_resumes_embedding_only_the_rest(tmp_path: Path, tiny_corpus: Path):
    texts = plain_texts(tiny_corpus, tmp_path)
    assert len(texts) == len(set(texts)) == 28  # 9 chunks + 19 sentences
    index = tmp_path / "index"
    crashing = CrashingEmbedder(batches=3)
    with pytest.raises(Crash):
        build_index(index, crashing, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(crashing, BATCH))
    assert crashing.seen == texts[:12] and not index.exists()
    assert [p.name.startswith("work-") for p in builds_dir(index).iterdir()] == [True]

    counting = CountingEmbedder()
    built = build_index(index, counting, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(counting, BATCH))
    assert counting.seen == texts[12:]  # only what the checkpoint lacked
    assert (built.texts_resumed, built.texts_embedded) == (12, 16)
    assert built.summary().startswith("resumed an interrupted build: 12 of 28 texts came from its checkpoint, "
                                       "16 embedded now\nindexed 3 document(s), 9 chunks, 19 sentences in ")
    assert read_manifest(index).raw["build"]["texts_resumed"] == 12
    assert_same_index(index, tmp_path / "reference")
    assert verify_index(index) == []
    assert [p.name.startswith("work-") for p in builds_dir(index).iterdir()] == [False]  # checkpoint removed


def test_while_a_build_is_unfinished_the_old_index_is_served_whole(tmp_path: Path, tiny_corpus: Path):
    index = tmp_path / "index"
    build_index(index, HashEmbedder(), SETTINGS, corpus_dir=tiny_corpus)
    before = index.resolve(), load_index(index).chunks
    (tiny_corpus / "prisons.txt").write_text("A new text about the harbour.\n")
    crashing = CrashingEmbedder(batches=0)
    with pytest.raises(Crash):
        build_index(index, crashing, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(crashing, 2))
    assert (index.resolve(), load_index(index).chunks) == before
    assert verify_index(index) == []
    counting = CountingEmbedder()
    built = build_index(index, counting, SETTINGS, corpus_dir=tiny_corpus)
    assert counting.seen == ["A new text about the harbour."]  # one sentence, one chunk: one vector
    assert (built.embedded_documents, built.reused_documents, built.texts_resumed) == (1, 2, 0)


# A build in another process: after `batches` batches it drops a marker and waits to be killed.
KILLED_BUILD = """
import sys, time
from pathlib import Path
from app.index.build import InProcessEngine, build_index
from app.index.embed import HashEmbedder
from app.settings import BuildSettings

class Stalling(HashEmbedder):
    calls = 0
    def encode(self, texts, batch_size=32, progress=False):
        if self.calls == int(sys.argv[3]):
            Path(sys.argv[4]).write_text("stalled")
            time.sleep(120)
        self.calls += 1
        return super().encode(texts, batch_size, progress)

emb = Stalling()
build_index(Path(sys.argv[1]), emb, BuildSettings(chunk_max_words=30), corpus_dir=Path(sys.argv[2]),
            engine=InProcessEngine(emb, int(sys.argv[5])))
"""


def test_kill_9_mid_embedding_then_restart_reuses_the_checkpoint(tmp_path: Path, tiny_corpus: Path):
    texts = plain_texts(tiny_corpus, tmp_path)
    index, marker = tmp_path / "index", tmp_path / "stalled"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(index), str(tiny_corpus), "5", str(marker),
                             str(BATCH)],
                            cwd=REPO, env=env)
    kill_when(proc, marker.exists, "its sixth batch")
    assert proc.returncode == -signal.SIGKILL and not index.exists()

    counting = CountingEmbedder()
    built = build_index(index, counting, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(counting, BATCH))
    assert counting.seen == texts[5 * BATCH:]
    assert (built.texts_resumed, built.texts_embedded) == (20, 8)
    assert_same_index(index, tmp_path / "reference")
    assert verify_index(index) == []


def test_a_checkpoint_from_another_model_or_settings_is_not_reused(tmp_path: Path, tiny_corpus: Path):
    index = tmp_path / "index"
    crashing = CrashingEmbedder(batches=3)
    with pytest.raises(Crash):
        build_index(index, crashing, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(crashing, BATCH))
    other_model = CountingEmbedder(dim=32)
    built = build_index(index, other_model, SETTINGS, corpus_dir=tiny_corpus)
    assert (built.texts_resumed, len(other_model.seen)) == (0, 28)

    crashing = CrashingEmbedder(batches=3)
    with pytest.raises(Crash):
        build_index(tmp_path / "i2", crashing, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(crashing, 4))
    counting = CountingEmbedder()
    other_settings = BuildSettings(chunk_max_words=40)
    assert build_index(tmp_path / "i2", counting, other_settings, corpus_dir=tiny_corpus).texts_resumed == 0


def test_a_damaged_shard_is_dropped_and_its_texts_embedded_again(tmp_path: Path, tiny_corpus: Path):
    texts = plain_texts(tiny_corpus, tmp_path)
    index = tmp_path / "index"
    crashing = CrashingEmbedder(batches=3)
    with pytest.raises(Crash):
        build_index(index, crashing, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(crashing, BATCH))
    (work,) = builds_dir(index).iterdir()
    records = sorted(work.glob("shard-*.json"), key=lambda p: p.stat().st_mtime_ns)
    damaged = records[1].with_suffix(".npy")
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 1
    damaged.write_bytes(bytes(data))
    counting = CountingEmbedder()
    built = build_index(index, counting, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(counting, BATCH))
    assert counting.seen == texts[BATCH:2 * BATCH] + texts[12:]
    assert built.texts_resumed == 8
    assert_same_index(index, tmp_path / "reference")


def test_checkpoint_shards_are_plain_files_keyed_by_text_hash(tmp_path: Path):
    cp = Checkpoint.open(tmp_path, "m", 3, {"a": 1})
    vectors = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    cp.add([text_key("x"), text_key("y")], vectors)
    (record,) = cp.folder.glob("shard-*.json")
    info = json.loads(record.read_text())
    assert info["keys"] == [text_key("x"), text_key("y")] and info["rows"] == 2
    np.testing.assert_array_equal(np.load(record.with_suffix(".npy"), allow_pickle=False), vectors)
    again = Checkpoint.open(tmp_path, "m", 3, {"a": 1})
    out = np.zeros((3, 3), np.float32)
    again.fill([text_key("y"), text_key("x")], out, np.array([0, 2]))
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"a checkpoint batch of 1 keys got vectors of shape \(2, 3\)"):
        again.add(["k"], vectors)
    assert len(Checkpoint.open(tmp_path, "m", 3, {"a": 2})) == 0  # other settings: a fresh checkpoint
