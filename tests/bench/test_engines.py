"""The engines bench section on the fake embedder: its figures are counted right (speed is not tested)."""

from __future__ import annotations

from pathlib import Path

from app.bench.engines import bench_limits, bench_resume, engine_rows
from app.index.ingest import document_from_text

HASH = "test/hash-embedder-64"


def _documents(n: int) -> list:
    return [document_from_text(f"d{i}.txt", f"Document {i} talks about prison number {i}. It has a second sentence "
                               f"about cell {i * 7}.") for i in range(n)]


def test_resume_stops_at_half_the_batches_and_the_restart_embeds_the_rest(tmp_path: Path):
    r = bench_resume(_documents(40), HASH, tmp_path, batch_texts=16)
    # 40 chunks and 80 sentences, all distinct: 120 texts in 8 batches of 16; stopped after 4
    assert (r["texts"], r["resumed_texts"], r["embedded_after_restart"]) == (120, 64, 56)
    assert list(tmp_path.iterdir()) == []  # every bench index removed


def test_limits_merge_the_shards_back_exactly():
    r = bench_limits(1000, dim=8, shard=64)
    assert (r["vectors"], r["dim"], r["hnsw"]) == (1000, 8, {"M": 32, "efConstruction": 80, "efSearch": 64})


def test_engine_rows_show_each_engine_against_in_process():
    builds = {"passages": 10, "builds": {
        "in-process": {"passages_per_s": 2.0, "peak_driver_rss_mb": 500.0, "ratio_to_in_process": 1.0},
        "ray-2": {"passages_per_s": 1.8, "peak_driver_rss_mb": 420.0, "ratio_to_in_process": 0.9}}}
    assert engine_rows({"builds": builds}) == [
        ("build 10 passages, in-process", "2.0 passages/s", "driver peak 500.0 MB", "1.0x", ""),
        ("build 10 passages, ray-2", "1.8 passages/s", "driver peak 420.0 MB", "0.9x", ">= 0.85x")]
