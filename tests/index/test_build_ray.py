"""The Ray engine on a local Ray runtime (2 CPUs, no dashboard): the same index as the in-process
build, a worker killed mid-build retried by Ray, a driver killed mid-build resumed from its
checkpoint, an unreachable cluster refused in seconds, and a missing Ray named in one line."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from app.cli import main
from app.index.build import InProcessEngine, build_index
from app.index.checkpoint import text_key
from app.index.embed import HashEmbedder
from app.index.store import builds_dir, load_index, read_manifest
from app.index.verify import verify_index
from app.settings import BuildSettings
from tests.conftest import REPO, CountingEmbedder, kill_when

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

from app.index.build_ray import INSTALL_HINT, RayEngine, default_factory  # noqa: E402

SETTINGS = BuildSettings(chunk_max_words=30)
VERBATIM = str(Path(sys.executable).with_name("verbatim"))


@pytest.fixture(scope="module")
def cluster():
    """One local Ray runtime for the module; its GCS address lets subprocess drivers join it."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


class DyingEmbedder(HashEmbedder):
    """Kills its own worker process on its `die_at`-th encode, once (a marker file remembers)."""

    def __init__(self, marker: str, die_at: int) -> None:
        super().__init__()
        self.marker, self.die_at, self.calls = marker, die_at, 0

    def encode(self, texts, batch_size=32, progress=False):
        self.calls += 1
        if self.calls == self.die_at and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)
        return super().encode(texts, batch_size, progress)


class SlowEmbedder(HashEmbedder):
    def encode(self, texts, batch_size=32, progress=False):
        time.sleep(0.3)
        return super().encode(texts, batch_size, progress)


def reference(corpus: Path, tmp_path: Path) -> Path:
    index = tmp_path / "in-process"
    build_index(index, HashEmbedder(), SETTINGS, corpus_dir=corpus)
    return index


def assert_same_index(a: Path, b: Path, atol: float = 1e-6) -> None:
    x, y = load_index(a), load_index(b)
    assert [(c.id, c.doc, c.text, c.start, c.end, c.paragraph, c.page) for c in x.chunks] == \
        [(c.id, c.doc, c.text, c.start, c.end, c.paragraph, c.page) for c in y.chunks]
    np.testing.assert_array_equal(x.sentences, y.sentences)
    np.testing.assert_allclose(x.chunk_vectors, y.chunk_vectors, atol=atol)
    np.testing.assert_allclose(x.sentence_vectors, y.sentence_vectors, atol=atol)
    assert x.manifest.raw["faiss"] == y.manifest.raw["faiss"] and x.manifest.counts == y.manifest.counts


def test_ray_build_equals_the_in_process_build_and_verifies(cluster, tmp_path: Path, tiny_corpus: Path):
    index = tmp_path / "ray"
    engine = RayEngine(functools.partial(HashEmbedder, 64), workers=2, batch_texts=4)
    built = build_index(index, HashEmbedder(), SETTINGS, corpus_dir=tiny_corpus, engine=engine)
    assert (built.engine, built.workers, built.texts_embedded, built.texts_resumed) == ("ray", 2, 28, 0)
    assert_same_index(index, reference(tiny_corpus, tmp_path), atol=0)
    build = read_manifest(index).raw["build"]
    assert (build["engine"], build["workers"], build["engine_stats"]["batches"]) == ("ray", 2, 7)
    assert verify_index(index) == []
    result = CliRunner().invoke(main, ["index", "verify", "--index", str(index)])
    assert (result.exit_code, result.output) == (0, "ok: 9 chunks and 19 sentences match their documents\n")


def test_a_worker_killed_mid_build_is_retried_and_nothing_is_lost_or_doubled(cluster, tmp_path: Path,
                                                                             tiny_corpus: Path):
    marker = tmp_path / "died"
    # the actor's 1st encode loads the model, its 2nd is the first batch, its 3rd (the 2nd batch) kills it
    engine = RayEngine(functools.partial(DyingEmbedder, str(marker), 3), workers=1, batch_texts=4)
    built = build_index(tmp_path / "ray", HashEmbedder(), SETTINGS, corpus_dir=tiny_corpus, engine=engine)
    assert marker.exists()  # a worker did die
    assert (built.texts_embedded, engine.stats["batches"], engine.stats["actor_processes"]) == (28, 7, 2)
    assert_same_index(tmp_path / "ray", reference(tiny_corpus, tmp_path), atol=0)


KILLED_DRIVER = """
import functools, sys
from pathlib import Path
from app.index.build import build_index
from app.index.build_ray import RayEngine
from app.index.embed import HashEmbedder
from app.settings import BuildSettings
from tests.index.test_build_ray import SlowEmbedder
engine = RayEngine(SlowEmbedder, address=sys.argv[3], workers=1, batch_texts=2)
build_index(Path(sys.argv[1]), HashEmbedder(), BuildSettings(chunk_max_words=30), corpus_dir=Path(sys.argv[2]),
            engine=engine)
"""


def test_a_driver_killed_mid_build_restarts_from_its_checkpoint(cluster, tmp_path: Path, tiny_corpus: Path):
    index = tmp_path / "ray"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_DRIVER, str(index), str(tiny_corpus), cluster], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shards = builds_dir(index)
    kill_when(proc, lambda: shards.exists() and len(list(shards.glob("work-*/shard-*.json"))) >= 3, None, seconds=90)
    assert proc.returncode == -signal.SIGKILL and not index.exists()
    done = {key for record in builds_dir(index).glob("work-*/shard-*.json")
            for key in __import__("json").loads(record.read_text())["keys"]}
    assert 6 <= len(done) < 28

    counting = CountingEmbedder()
    built = build_index(index, counting, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(counting))
    assert (built.texts_resumed, built.texts_embedded) == (len(done), 28 - len(done))
    assert {text_key(t) for t in counting.seen}.isdisjoint(done)  # nothing embedded twice
    assert_same_index(index, reference(tiny_corpus, tmp_path), atol=0)


def test_resuming_on_ray_embeds_only_what_the_checkpoint_lacks(cluster, tmp_path: Path, tiny_corpus: Path):
    index = tmp_path / "ray"

    class Crashing(HashEmbedder):
        left = 3

        def encode(self, texts, batch_size=32, progress=False):
            if self.left == 0:
                raise RuntimeError("killed")
            self.left -= 1
            return super().encode(texts, batch_size, progress)

    crashing = Crashing()
    with pytest.raises(RuntimeError, match="killed"):
        build_index(index, crashing, SETTINGS, corpus_dir=tiny_corpus, engine=InProcessEngine(crashing, 4))
    engine = RayEngine(functools.partial(HashEmbedder, 64), workers=2, batch_texts=4)
    built = build_index(index, HashEmbedder(), SETTINGS, corpus_dir=tiny_corpus, engine=engine)
    assert (built.texts_resumed, built.texts_embedded, engine.stats["batches"]) == (12, 16, 4)
    assert_same_index(index, reference(tiny_corpus, tmp_path), atol=0)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_address_fails_in_seconds_with_one_line(tmp_path: Path, tiny_corpus: Path):
    port = _closed_port()
    env = {**os.environ, "VERBATIM_MODEL": "test/hash-embedder-64", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        run = subprocess.run([VERBATIM, "index", "build", "--corpus", str(tiny_corpus), "--index",
                              str(tmp_path / "i"), "--engine", "ray", "--address", address],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 1
        assert run.stderr == (f"Error: cannot reach the Ray cluster at {address} (Connection refused within 5 s); "
                              "start it with `ray start --head` or check --address\n")
    assert not (tmp_path / "i").exists()
    bad = CliRunner().invoke(main, ["index", "build", "--corpus", str(tiny_corpus), "--index", str(tmp_path / "i"),
                                    "--engine", "ray", "--address", "http://x"])
    assert bad.exit_code == 1 and bad.output == "Error: --address 'http://x' is not auto, HOST:PORT or ray://HOST:PORT\n"


def test_without_ray_the_engine_says_how_to_install_it(tmp_path: Path, tiny_corpus: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    result = CliRunner().invoke(main, ["index", "build", "--corpus", str(tiny_corpus), "--index",
                                       str(tmp_path / "i"), "--engine", "ray"])
    assert (result.exit_code, result.output) == (1, f"Error: {INSTALL_HINT}\n")
    assert INSTALL_HINT == ("--engine ray needs Ray: pip install -e '.[ray]' "
                            "(or pip install 'ray[data,client]>=2.60,<2.61')")
    misuse = CliRunner().invoke(main, ["index", "build", "--workers", "2"])
    assert misuse.exit_code == 2 and "--address and --workers apply to --engine ray" in misuse.output


@pytest.mark.model
def test_the_real_model_through_ray_matches_the_in_process_build(cluster, tmp_path: Path, tiny_corpus: Path):
    from app.index.encoders import encoder
    from app.settings import MODEL_NAME

    local = tmp_path / "in-process"
    build_index(local, encoder(MODEL_NAME, "build"), SETTINGS, corpus_dir=tiny_corpus)
    engine = RayEngine(default_factory(MODEL_NAME), workers=2, batch_texts=8)
    build_index(tmp_path / "ray", encoder(MODEL_NAME, "build"), SETTINGS, corpus_dir=tiny_corpus, engine=engine)
    assert_same_index(tmp_path / "ray", local, atol=1e-5)
    assert read_manifest(tmp_path / "ray").model_name == MODEL_NAME
    assert verify_index(tmp_path / "ray") == []
