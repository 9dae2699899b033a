"""The bench's behaviour, never its timings: statistics, question variants, the JSON keys of a tiny
run with the hash embedder, and FAISS HNSW/IVF against brute-force numpy top-k."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from app.bench import build as bench_build
from app.bench import common as bench_common
from app.bench import onnx as bench_onnx
from app.bench import run as bench
from app.bench.scale import recall_at_k, synthetic_texts, synthetic_vectors
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.index.search import top_rows


def test_summarize_exact_median_and_p95():
    s = bench_common.summarize([0.004, 0.001, 0.003, 0.002, 0.005])
    assert s == {"n": 5, "p50_ms": 3.0, "p95_ms": 4.8, "mean_ms": 3.0}
    assert bench_common.median([5, 1, 4, 2]) == 3.0
    assert bench_common.summarize([0.007])["p95_ms"] == 7.0


def test_summarize_matches_numpy_on_a_long_list():
    values = [((i * 37) % 101) / 1000 for i in range(101)]
    s = bench_common.summarize(values)
    assert s["p50_ms"] == pytest.approx(float(np.percentile(values, 50)) * 1000)
    assert s["p95_ms"] == pytest.approx(float(np.percentile(values, 95)) * 1000)


def test_ratio():
    assert bench_common.ratio(3.0, 2.0) == 1.5
    assert bench_common.ratio(1.0, 0.0) is None


def test_question_variants_reach_the_minimum_distinct():
    qs = ["How many were arrested, according to the police?", "Who wrote it?"]
    out = bench_common.question_variants(qs, 9)
    assert len(out) >= 9 and len(set(out)) == len(out)
    assert out[:2] == qs
    assert "According to the police, how many were arrested?" in out


def test_read_questions_takes_json_lines_and_plain_lines(tmp_path: Path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"id": "a", "question": "Who?"}\n\nWhat happened?\n', encoding="utf-8")
    assert bench_common.read_questions(f) == ["Who?", "What happened?"]


def test_onnx_verdict_rule():
    runtimes = {"torch": {"report_hit@3": 0.9, "scifact_ndcg@10": 0.70},
                "fast-same": {"speedup_p50": 2.0, "report_hit@3": 0.9, "scifact_ndcg@10": 0.696},
                "fast-worse": {"speedup_p50": 3.0, "report_hit@3": 0.88, "scifact_ndcg@10": 0.70},
                "slow": {"speedup_p50": 1.2, "report_hit@3": 0.9, "scifact_ndcg@10": 0.70}}
    verdict = bench_onnx.onnx_verdict(runtimes)
    assert verdict["adopt"] == "fast-same"
    assert verdict["reasons"]["fast-same"] == ["qualifies"]
    assert any("hit@3" in r for r in verdict["reasons"]["fast-worse"])
    assert any("speed-up" in r for r in verdict["reasons"]["slow"])
    runtimes["fast-same"]["scifact_ndcg@10"] = 0.69
    assert bench_onnx.onnx_verdict(runtimes)["adopt"] == "torch"


def _scifact_like(folder: Path, n: int = 12) -> Path:
    folder.mkdir()
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(f"Finding {i} concerns protein {j} in tissue {i % 3}." for j in range(6))
            f.write(json.dumps({"_id": str(i), "title": f"Study {i}", "text": text}) + "\n")
    return folder


def test_tiny_run_has_the_documented_keys(tiny_index: Path, tmp_path: Path):
    scifact = _scifact_like(tmp_path / "scifact")
    questions = bench_common.question_variants(["Who was arrested?", "What did the report find?"], 12)
    result = bench.run_bench(index_dir=tiny_index, embedder=HashEmbedder(), questions=questions,
                             scifact_dir=scifact, sections=("ask", "build", "rebuild"), repeats=2,
                             build_passages=10, rebuild_documents=5, work_dir=tmp_path / "work")
    assert {"machine", "model", "settings", "ask", "build", "rebuild", "peak_rss_mb", "seconds"} <= set(result)
    ask = result["ask"]
    assert ask["questions"] == 12 and ask["total"]["n"] == 24 and ask["floor"]["n"] == 24
    assert set(ask["stages"]) == set(bench.ASK_STAGES)
    assert ask["ask_p50_over_floor_p50"] > 0
    b = result["build"]
    assert b["passages"] == 10 and b["texts_embedded"] == b["chunks"] + b["sentences"]
    for key in ("build_passages_per_s", "bare_same_texts_passages_per_s", "build_over_bare_same_texts",
                "bare_raw_passages_per_s", "peak_rss_mb", "traced_python_peak_mb"):
        assert b[key] > 0
    r = result["rebuild"]
    assert r["rebuild_embedded_documents"] == 1 and r["rebuild_reused_documents"] == 4
    assert r["only_changed_embedded"] and r["rebuild_texts_embedded"] == r["changed_document_texts"] > 0
    assert not list((tmp_path / "work").glob("build-*"))  # every timed build is cleaned up
    table = bench.format_table(result)
    assert "ask, warm" in table and "build passages/s" in table and "rebuild" in table
    json.dumps(result)  # plain JSON


def test_rebuild_counts_only_the_changed_document(tmp_path: Path):
    docs = [document_from_text(f"d{i}.txt", f"Document {i} says thing {i}. It also says more {i}.") for i in range(4)]
    r = bench_build.bench_rebuild(HashEmbedder(), docs, tmp_path, changed=2)
    assert (r["rebuild_embedded_documents"], r["rebuild_reused_documents"]) == (1, 3)
    assert r["only_changed_embedded"]


def test_bench_command_rejects_a_missing_index(tmp_path: Path):
    result = CliRunner().invoke(bench.bench, ["--index", str(tmp_path / "none"), "--out", str(tmp_path / "b.json")])
    assert result.exit_code != 0 and "verbatim index build" in result.output


def test_top_rows_equals_a_stable_argsort():
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores = rng.integers(0, 5, size=int(rng.integers(1, 300))).astype(np.float32)  # many ties
        n = int(rng.integers(0, 320))
        assert top_rows(scores, n).tolist() == np.argsort(-scores, kind="stable")[:n].tolist()


def test_synthetic_data_is_deterministic_and_unit_length():
    a, b = synthetic_vectors(50, seed=3), synthetic_vectors(50, seed=3)
    assert np.array_equal(a, b) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(a, synthetic_vectors(50, seed=4))
    texts = synthetic_texts(3)
    assert len(texts) == 3 and all(len(t.split()) == 60 for t in texts)


def test_recall_at_k_by_hand():
    assert recall_at_k(np.array([[1, 2, 3]]), np.array([[3, 4, 5]]), 3) == pytest.approx(1 / 3)


def _brute_force(xb: np.ndarray, xq: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(xq @ xb.T), axis=1, kind="stable")[:, :k]


def test_product_hnsw_against_brute_force_numpy():
    """make_faiss_index's HNSW (forced by a low threshold) finds >= 95% of the exact top-10."""
    from app.index.store_write import make_faiss_index

    xb, xq = synthetic_vectors(3000, seed=1), synthetic_vectors(100, seed=2)
    index, info = make_faiss_index(xb, "auto", hnsw_threshold=1000)
    assert info["type"] == "hnsw"
    _, found = index.search(xq, 10)
    assert recall_at_k(found, _brute_force(xb, xq, 10)) >= 0.95


def test_product_flat_is_exact():
    from app.index.store_write import make_faiss_index

    xb, xq = synthetic_vectors(500, seed=1), synthetic_vectors(20, seed=2)
    index, info = make_faiss_index(xb, "auto", hnsw_threshold=1000)
    assert info["type"] == "flat"
    _, found = index.search(xq, 10)
    assert recall_at_k(found, _brute_force(xb, xq, 10)) == 1.0


def test_ivf_against_brute_force_numpy():
    """IVF-Flat (the other option above the threshold) at nprobe 32 of 64 lists: recall >= 0.9."""
    import faiss

    xb, xq = synthetic_vectors(5000, seed=1), synthetic_vectors(100, seed=2)
    quantizer = faiss.IndexFlatIP(384)
    index = faiss.IndexIVFFlat(quantizer, 384, 64, faiss.METRIC_INNER_PRODUCT)
    index.train(xb)
    index.add(xb)
    index.nprobe = 32
    _, found = index.search(xq, 10)
    assert recall_at_k(found, _brute_force(xb, xq, 10)) >= 0.9

