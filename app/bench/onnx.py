"""Bench section `onnx`: query encoding on onnxruntime (fp32, int8) against torch, speed and quality."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from app.bench.build import bare_encoder
from app.bench.common import GOALS, Row, ms, ratio, summarize


class QueryEncoder:
    """Another runtime for query vectors, under the name of the embedder that built the index."""

    def __init__(self, inner, name: str) -> None:
        self.inner, self.name, self.dim = inner, name, inner.dim

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False):
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)


def bench_onnx(assistant, questions: Sequence[str], repeats: int, scifact_dir: Path | None,
               beir_limit: int | None, sample_passages: list[str]) -> dict:
    """Query encoding on onnxruntime (fp32, int8) vs torch: latency, cosine, hit@3, nDCG@10."""
    import numpy as np

    from app.index.encoders import encoder
    from app.settings import MODEL_NAME

    torch_emb = assistant.embedder
    runtimes = {"torch": bare_encoder(torch_emb)}
    onnx = {f"onnx-{kind}": encoder(MODEL_NAME, "query", backend=backend)
            for kind, backend in (("fp32", "onnx"), ("int8", "onnx-int8"))}
    for name, emb in onnx.items():
        runtimes[name] = emb.encode
    for fn in runtimes.values():
        for q in questions[:5]:
            fn([q])
    lat: dict[str, list[float]] = {n: [] for n in runtimes}
    for _ in range(repeats):
        for q in questions:
            for name, fn in runtimes.items():  # interleaved: the same load for all three
                t0 = time.perf_counter()
                fn([q])
                lat[name].append(time.perf_counter() - t0)
    texts = list(questions[:200]) + list(sample_passages)
    ref = np.asarray(torch_emb.encode(texts))
    out: dict = {"latency": {n: summarize(v) for n, v in lat.items()}, "runtimes": {}}
    base_p50 = out["latency"]["torch"]["p50_ms"]
    out["runtimes"]["torch"] = {"speedup_p50": 1.0, **_quality(assistant, torch_emb, scifact_dir, beir_limit)}
    for name, emb in onnx.items():
        vecs = emb.encode(texts)
        cos = (vecs * ref).sum(axis=1)
        q_cos, p_cos = cos[:min(200, len(questions))], cos[min(200, len(questions)):]
        row = {"speedup_p50": ratio(base_p50, out["latency"][name]["p50_ms"]),
               "cosine_to_torch_queries_min": round(float(q_cos.min()), 5),
               "cosine_to_torch_queries_mean": round(float(q_cos.mean()), 5)}
        if len(p_cos):
            row.update({"cosine_to_torch_passages_min": round(float(p_cos.min()), 5),
                        "cosine_to_torch_passages_mean": round(float(p_cos.mean()), 5)})
        row.update(_quality(assistant, QueryEncoder(emb, torch_emb.name), scifact_dir, beir_limit))
        out["runtimes"][name] = row
    if scifact_dir is not None:
        sub = scifact_dense_ndcg(scifact_dir, torch_emb, {"torch": torch_emb, **onnx},
                                 queries=100 if beir_limit else 300, documents=500 if beir_limit else 1000)
        out["scifact_subset"] = sub
        for name in out["runtimes"]:
            out["runtimes"][name]["scifact_ndcg@10"] = out["runtimes"][name].get("scifact_ndcg@10_hybrid_full",
                                                                                sub[name])
    out["verdict"] = onnx_verdict(out["runtimes"])
    full = "scifact_ndcg@10_hybrid_full" in out["runtimes"]["torch"]
    out["note"] = ("ONNX encodes the queries; passages keep their torch vectors from the index build "
                   "(the query path is what the speed-up is for). SciFact nDCG@10: "
                   + ("the product's hybrid retrieval on the full train split (the eval suite's cached index)"
                      if full else "dense search over a subset of abstracts (the full cached index was not built)"))
    return out


def _quality(assistant, query_encoder, scifact_dir: Path | None, beir_limit: int | None) -> dict:
    """Report-suite hit@3 (hybrid) and, when the eval suite's cached SciFact index exists, SciFact
    train nDCG@10 of the product's hybrid retrieval, with `query_encoder` making the query vectors."""
    from app.answer.assistant import Assistant
    from app.evaluation.suite import load_dialogues, load_questions, run_suite

    out: dict = {}
    probe = Assistant(assistant.index, query_encoder, assistant.settings)
    report = run_suite(probe, load_questions(), load_dialogues(), methods=("hybrid",))
    out["report_hit@3"] = round(report["methods"]["hybrid"]["hit@3"], 6)
    out["report_hit@3_count"] = sum(bool(r.get("hit@3", False)) for r in report["questions"]["hybrid"])
    folder = _scifact_cache(assistant, scifact_dir)
    if folder is not None:
        from app.evaluation.beir import run_beir

        beir = run_beir(scifact_dir, split="train", embedder=query_encoder, cache_dir=folder, limit=beir_limit)
        out["scifact_ndcg@10_hybrid_full"] = round(beir["methods"]["hybrid"]["ndcg@10"], 6)
        out["scifact_queries_full"] = beir["queries"]
    return out


def _scifact_cache(assistant, scifact_dir: Path | None) -> Path | None:
    """The eval suite's cached SciFact index for this model, if it has been built (never built here)."""
    if scifact_dir is None:
        return None
    from app.evaluation.beir import BEIR_BUILD_SETTINGS, beir_documents
    from app.evaluation.benchmark import cache_folder
    from app.index.store import read_manifest

    folder = cache_folder(scifact_dir.name, scifact_dir, assistant.embedder, BEIR_BUILD_SETTINGS)
    try:
        manifest = read_manifest(folder)
    except Exception:  # noqa: BLE001 - missing or unreadable: not usable
        return None
    wanted = {d.doc: d.sha256 for d in beir_documents(scifact_dir)}
    return folder if manifest.documents == wanted and manifest.model_name == assistant.embedder.name \
        else None


def scifact_dense_ndcg(scifact_dir: Path, doc_encoder, query_encoders: dict, queries: int = 300,
                       documents: int = 1500) -> dict:
    """SciFact train nDCG@10 of dense search over whole abstracts, for each query encoder.

    The passages are every abstract judged relevant to the first `queries` judged train queries,
    plus the first other abstracts of the corpus up to `documents`, all encoded once by
    `doc_encoder`; only the query vectors differ between encoders, so any change in nDCG is theirs.
    """
    import numpy as np

    from app.evaluation.beir import beir_documents, judged_queries
    from app.evaluation.ir_metrics import ndcg_at_k

    qs, qrels = judged_queries(scifact_dir, "train", queries)
    relevant = set().union(*(qrels[q] for q, _ in qs))
    docs = beir_documents(scifact_dir)
    chosen = [d for d in docs if d.doc in relevant]
    chosen += [d for d in docs if d.doc not in relevant][:max(0, documents - len(chosen))]
    ids = [d.doc for d in chosen]
    doc_vecs = np.asarray(doc_encoder.encode([d.text for d in chosen], batch_size=32))
    out = {"queries": len(qs), "passages": len(chosen), "what": "dense search over whole abstracts (subset)"}
    for name, enc in query_encoders.items():
        qv = np.asarray(enc.encode([t for _, t in qs]))
        top = np.argsort(-(qv @ doc_vecs.T), axis=1)[:, :10]
        out[name] = round(float(np.mean([ndcg_at_k([ids[j] for j in row], qrels[q], 10)
                                         for row, (q, _) in zip(top, qs, strict=True)])), 6)
    return out


def onnx_verdict(runtimes: dict) -> dict:
    """Adopt an ONNX runtime only if >= 1.5x faster per query with hit@3 unchanged and nDCG@10
    within 0.005 of torch; the fastest that qualifies wins."""
    base = runtimes["torch"]
    reasons, qualifying = {}, []
    for name, row in runtimes.items():
        if name == "torch":
            continue
        why = []
        if (row.get("speedup_p50") or 0) < GOALS["onnx_speedup"]:
            why.append(f"speed-up {row.get('speedup_p50')} < {GOALS['onnx_speedup']}")
        if row.get("report_hit@3") != base.get("report_hit@3"):
            why.append(f"report hit@3 {row.get('report_hit@3')} != {base.get('report_hit@3')}")
        nd, bnd = row.get("scifact_ndcg@10"), base.get("scifact_ndcg@10")
        if nd is None or bnd is None:
            why.append("SciFact nDCG@10 not measured")
        elif abs(nd - bnd) > GOALS["onnx_ndcg_delta"]:
            why.append(f"SciFact nDCG@10 moved {nd - bnd:+.4f} (limit {GOALS['onnx_ndcg_delta']})")
        reasons[name] = why or ["qualifies"]
        if not why:
            qualifying.append((row["speedup_p50"], name))
    choice = max(qualifying)[1] if qualifying else "torch"
    return {"adopt": choice, "reasons": reasons}


def onnx_rows(o: dict) -> list[Row]:
    rows: list[Row] = []
    for name, row in o["runtimes"].items():
        rows.append((f"query encode {name} p50 / p95 ms", ms(o["latency"][name]),
                     f"hit@3 {row.get('report_hit@3')}, nDCG@10 {row.get('scifact_ndcg@10')}",
                     f"{row['speedup_p50']}x faster", ">= 1.5x, same quality"))
    rows.append(("  verdict", o["verdict"]["adopt"], "", "", ""))
    return rows
