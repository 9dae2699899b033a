"""What the benchmarks share: the cached index and the vector cache (app/evaluation/benchmark.py),
run through `run_beir` on the tiny BEIR folder of tests/evaluation/test_beir.py."""

from __future__ import annotations

import numpy as np
import pytest

from app.evaluation.beir import run_beir
from app.evaluation.benchmark import TextVectorCache, vector_cache_folder
from app.index.embed import HashEmbedder
from app.settings import BuildSettings
from tests.evaluation.test_beir import CountingEmbedder, write_beir


def test_rerun_reuses_the_cached_index(tmp_path):
    data = write_beir(tmp_path / "tiny")
    first = CountingEmbedder()
    run_beir(data, cache_dir=tmp_path / "cache", embedder=first)
    assert len(first.seen) == 5 + 2  # five passages, two queries
    again = CountingEmbedder()
    result = run_beir(data, cache_dir=tmp_path / "cache", embedder=again, limit=1)
    assert again.seen == ["alpha beta"]  # only the query: no passage re-embedded
    assert result["queries"] == 1 and result["methods"]["hybrid"]["ndcg@10"] == 1.0


def test_vector_cache_survives_a_chunker_change(tmp_path):
    data = write_beir(tmp_path / "tiny")
    run_beir(data, cache_dir=tmp_path / "cache", embedder=CountingEmbedder())
    again = CountingEmbedder()
    result = run_beir(data, cache_dir=tmp_path / "cache", embedder=again,
                      build_settings=BuildSettings(embed_sentences=False, chunk_overlap_sentences=0))
    # other build settings: the index is rebuilt, but every passage text is already in the vector cache
    assert result["build_settings"]["chunk_overlap_sentences"] == 0
    assert again.seen == ["alpha beta", "gamma delta"]
    cache = TextVectorCache(HashEmbedder(512), vector_cache_folder(again, tmp_path))
    assert len(cache._rows) == 5
    text = ["gamma delta quokka."]
    np.testing.assert_array_equal(cache.encode(text), HashEmbedder(512).encode(text))
    assert (cache.hits, cache.misses) == (1, 0)


def test_a_killed_build_resumes_from_the_vector_cache(tmp_path, monkeypatch):
    import app.evaluation.benchmark as benchmark

    monkeypatch.setattr(benchmark, "SAVE_EVERY", 2)

    class Crashing(CountingEmbedder):
        def encode(self, texts, batch_size=32, progress=False):
            if len(self.seen) >= 2:
                raise KeyboardInterrupt("killed mid-build")
            return super().encode(texts, batch_size, progress)

    data = write_beir(tmp_path / "tiny")
    with pytest.raises(KeyboardInterrupt):
        run_beir(data, cache_dir=tmp_path / "cache", embedder=Crashing())
    again = CountingEmbedder()
    resumed = run_beir(data, cache_dir=tmp_path / "cache", embedder=again)
    assert len(again.seen) == 3 + 2  # the three passages not saved before the crash, then two queries
    plain = run_beir(data, cache_dir=tmp_path / "plain", embedder=HashEmbedder(512))
    assert resumed["methods"] == plain["methods"]


def test_a_misspelt_option_is_refused_by_name(tmp_path):
    """The suites share `RunOptions`: a keyword outside it fails before any work, naming it."""
    data = write_beir(tmp_path / "tiny")
    with pytest.raises(TypeError, match=r"unknown option\(s\) cache_folder; a suite takes out_dir, cache_dir"):
        run_beir(data, cache_folder=tmp_path / "cache", embedder=HashEmbedder(512))
    assert not (tmp_path / "cache").exists()
