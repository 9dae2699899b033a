"""`verbatim bench`: how long users wait, each figure beside the floor it cannot beat.

Sections (all measured in one process, one run, so every ratio compares like with like):

- ask      warm `Assistant.ask` over >= 200 questions (the eval set and variations of it), total and
           per stage, against the bare `model.encode([question])` of the same question, interleaved.
- build    index build of SciFact passages (passages/s) against bare `model.encode` of the same
           texts the build embeds, and of the raw passages; peak memory.
- rebuild  change one document of a built corpus: only that document is embedded (counts).
- start    `verbatim serve` to the first answered question over HTTP (gradio_client).
- onnx     query encoding on onnxruntime (fp32, int8) against torch: speed, cosine, and the
           quality figures (report-suite hit@3, SciFact train nDCG@10) side by side.
- scale    (`--scale`) FAISS and BM25 at 100k and 1M synthetic passages: see `app/scale_bench.py`.

Latencies are medians (p50) and 95th percentiles over every question x repeat; throughputs are
medians over repeats. Nothing heavy is imported until a section runs.

>>> summarize([0.010, 0.020, 0.030, 0.040])
{'n': 4, 'p50_ms': 25.0, 'p95_ms': 38.5, 'mean_ms': 25.0}
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from .evaluation.metrics import percentile
from .settings import DEFAULT_INDEX_DIR, PROJECT_ROOT

log = logging.getLogger(__name__)

SCIFACT_DIR = Path(os.environ.get("VERBATIM_SCIFACT", PROJECT_ROOT.parent / "shared" / "benchmarks" / "scifact"))
QUESTIONS_FILE = PROJECT_ROOT / "eval" / "report_questions.jsonl"
MIN_QUESTIONS = 200
SECTIONS = ("ask", "build", "rebuild", "start", "onnx")
OPTIONAL_SECTIONS = ("engines",)  # only when named: in-process vs Ray builds (app/bench_engines.py)
ASK_STAGES = ("encode", "dense", "bm25", "fusion", "quote", "other")
GOALS = {"ask_over_floor": 1.5, "build_over_bare": 0.9, "start_seconds": 15.0, "onnx_speedup": 1.5,
         "onnx_ndcg_delta": 0.005}


# ---------------------------------------------------------------- statistics


def summarize(seconds: Sequence[float]) -> dict:
    """Count, p50, p95 and mean of durations given in seconds, reported in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 6), "p95_ms": round(percentile(ms, 95), 6),
            "mean_ms": round(sum(ms) / len(ms), 6)}


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count).

    >>> median([3, 1, 2]), median([4, 1, 3, 2])
    (2.0, 2.5)
    """
    return percentile(values, 50)


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, rounded; None when the baseline is zero."""
    return round(value / baseline, 4) if baseline else None


def memory_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss), in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def machine() -> dict:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_1_5_15": [round(x, 2) for x in load]}


# ---------------------------------------------------------------- questions


def read_questions(path: Path = QUESTIONS_FILE) -> list[str]:
    """The "question" of every JSON line (plain lines are questions too)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line)["question"] if line.startswith("{") else line)
    return out


def question_variants(questions: Sequence[str], minimum: int = MIN_QUESTIONS) -> list[str]:
    """The questions, then rewordings of them (lower case, a polite lead-in, a clause moved first,
    "according to the report"), until there are at least `minimum` distinct ones.

    >>> question_variants(["Who wrote it?"], 3)
    ['Who wrote it?', 'who wrote it?', 'Please tell me: who wrote it?']
    """
    def lower_first(q: str) -> str:
        return q[:1].lower() + q[1:]

    def reorder(q: str) -> str:  # "A, B?" -> "B, A?"
        body, end = (q[:-1], q[-1]) if q[-1:] in "?." else (q, "")
        if ", " not in body:
            return f"In the report, {lower_first(q)}"
        head, tail = body.split(", ", 1)
        return f"{tail[:1].upper()}{tail[1:]}, {lower_first(head)}{end}"

    rewrites: list[Callable[[str], str]] = [
        lambda q: q, lambda q: q.lower(), lambda q: f"Please tell me: {lower_first(q)}", reorder,
        lambda q: f"According to the report, {lower_first(q)}", lambda q: f"{q.rstrip('?.')} - what does it say?",
    ]
    out: list[str] = []
    seen: set[str] = set()
    for rewrite in rewrites:
        for q in questions:
            v = rewrite(q.strip())
            if v not in seen:
                seen.add(v)
                out.append(v)
            if len(out) >= minimum and rewrite is not rewrites[0]:
                return out
    return out


# ---------------------------------------------------------------- helpers over embedders


def bare_encoder(embedder) -> Callable[[list[str]], object]:
    """The floor: sentence-transformers' own `model.encode`, or the embedder itself when it has no model."""
    model = getattr(embedder, "model", None)
    if model is None:
        return lambda texts: embedder.encode(texts)
    return lambda texts: model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)


class RecordingEmbedder:
    """Wraps an embedder; remembers the texts of each `encode` call and the seconds it took."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.texts: list[str] = []
        self.seconds = 0.0

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False):
        self.texts.extend(texts)
        t0 = time.perf_counter()
        out = self.inner.encode(texts, batch_size=batch_size, progress=progress)
        self.seconds += time.perf_counter() - t0
        return out


class QueryEncoder:
    """Another runtime for query vectors, under the name of the embedder that built the index."""

    def __init__(self, inner, name: str) -> None:
        self.inner, self.name, self.dim = inner, name, inner.dim

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False):
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)


# ---------------------------------------------------------------- sections


def bench_ask(assistant, questions: Sequence[str], repeats: int) -> dict:
    """Warm ask latency, total and per stage, against the bare encode of the same question."""
    floor_fn = bare_encoder(assistant.embedder)
    for q in questions[:5]:  # warm-up: lazy loads, caches, first-call allocations
        assistant.ask(q)
        floor_fn([q])
    floors, totals = [], []
    stages: dict[str, list[float]] = {s: [] for s in ASK_STAGES}
    answered = 0
    for _ in range(repeats):
        for q in questions:
            t0 = time.perf_counter()
            floor_fn([q])
            t1 = time.perf_counter()
            answer = assistant.ask(q)
            t2 = time.perf_counter()
            floors.append(t1 - t0)
            totals.append(t2 - t1)
            answered += answer.answered
            t = answer.timings
            for s in ("encode", "dense", "bm25", "fusion", "quote"):
                stages[s].append(t[s])
            stages["other"].append(max(0.0, (t2 - t1) - sum(t[s] for s in ("encode", "dense", "bm25", "fusion",
                                                                                "quote"))))
    total, floor = summarize(totals), summarize(floors)
    return {
        "questions": len(questions), "repeats": repeats, "answered_share": round(answered / len(totals), 4),
        "floor": floor, "total": total, "stages": {s: summarize(v) for s, v in stages.items()},
        "ask_p50_over_floor_p50": ratio(total["p50_ms"], floor["p50_ms"]),
        "ask_p95_over_floor_p95": ratio(total["p95_ms"], floor["p95_ms"]),
        "goal_ask_over_floor": GOALS["ask_over_floor"],
    }


def bench_build(embedder, documents: list, repeats: int, work_dir: Path) -> dict:
    """Index build throughput against bare encoding, with peak memory, on fresh folders."""
    import tracemalloc

    from .build import build_index

    bare = bare_encoder(embedder)
    raw = [d.text for d in documents]
    bare(raw[:8])  # warm-up
    rss_before = memory_mb()
    builds, same, raw_times, overhead = [], [], [], []
    report = None
    texts: list[str] = []
    for r in range(repeats):
        t0 = time.perf_counter()
        bare(raw)
        raw_times.append(time.perf_counter() - t0)
        rec = RecordingEmbedder(embedder)
        folder = work_dir / f"build-{r}"
        t0 = time.perf_counter()
        report = build_index(folder, rec, documents=documents)
        builds.append(time.perf_counter() - t0)
        overhead.append(builds[-1] - rec.seconds)
        texts = rec.texts
        t0 = time.perf_counter()
        bare(texts)
        same.append(time.perf_counter() - t0)
        _remove_index(folder)
    rss_after = memory_mb()
    tracemalloc.start()  # one extra, untimed build for the Python/numpy allocation peak
    build_index(work_dir / "build-traced", embedder, documents=documents)
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    _remove_index(work_dir / "build-traced")
    n = len(documents)
    build_rate, same_rate, raw_rate = n / median(builds), n / median(same), n / median(raw_times)
    return {
        "passages": n, "repeats": repeats, "chunks": report.chunks, "sentences": report.sentences,
        "texts_embedded": len(texts),
        "build_seconds": round(median(builds), 3), "build_passages_per_s": round(build_rate, 2),
        "bare_same_texts_seconds": round(median(same), 3), "bare_same_texts_passages_per_s": round(same_rate, 2),
        "build_over_bare_same_texts": ratio(build_rate, same_rate),
        "bare_raw_seconds": round(median(raw_times), 3), "bare_raw_passages_per_s": round(raw_rate, 2),
        "build_over_bare_raw": ratio(build_rate, raw_rate),
        "non_embedding_seconds": round(median(overhead), 3),
        "peak_rss_mb": rss_after, "rss_before_build_mb": rss_before,
        "traced_python_peak_mb": round(traced_peak, 1),
        "goal_build_over_bare": GOALS["build_over_bare"],
    }


def _remove_index(folder: Path) -> None:
    shutil.rmtree(Path(f"{folder}.builds"), ignore_errors=True)
    if folder.is_symlink() or folder.exists():
        folder.unlink() if folder.is_symlink() else shutil.rmtree(folder)


def bench_rebuild(embedder, documents: list, work_dir: Path, changed: int = 0) -> dict:
    """Build, change one document, rebuild: only the changed document is embedded."""
    from .build import build_index
    from .ingest import document_from_text

    folder = work_dir / "rebuild"
    first = RecordingEmbedder(embedder)
    t0 = time.perf_counter()
    r1 = build_index(folder, first, documents=documents)
    t1 = time.perf_counter()
    docs = list(documents)
    old = docs[changed]
    docs[changed] = document_from_text(old.doc, old.text + "\n\nThis sentence was added for the rebuild benchmark.",
                                       title=old.title)
    alone = RecordingEmbedder(embedder)
    build_index(work_dir / "rebuild-alone", alone, documents=[docs[changed]])  # what that document alone costs
    second = RecordingEmbedder(embedder)
    t2 = time.perf_counter()
    r2 = build_index(folder, second, documents=docs)
    t3 = time.perf_counter()
    _remove_index(folder)
    _remove_index(work_dir / "rebuild-alone")
    return {
        "documents": len(docs), "first_build_texts_embedded": len(first.texts),
        "first_build_seconds": round(t1 - t0, 3),
        "rebuild_embedded_documents": r2.embedded_documents, "rebuild_reused_documents": r2.reused_documents,
        "rebuild_texts_embedded": len(second.texts), "changed_document_texts": len(alone.texts),
        "rebuild_seconds": round(t3 - t2, 3), "rebuild_over_first_build": ratio(t3 - t2, t1 - t0),
        "only_changed_embedded": r2.embedded_documents == 1 and len(second.texts) == len(alone.texts),
        "first_build_embedded_documents": r1.embedded_documents,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _verbatim_cmd() -> list[str]:
    """The `verbatim` script beside this Python (the venv's), else the one on PATH."""
    script = Path(sys.executable).parent / "verbatim"
    found = str(script) if script.exists() else shutil.which("verbatim")
    if found is None:
        raise click.ClickException("the `verbatim` command is not installed; run `make install`")
    return [found]


def bench_start(index_dir: Path, question: str, repeats: int, timeout: float = 180.0) -> dict:
    """Seconds from launching `verbatim serve` to the first answered question over HTTP; without
    app/web.py, from launching `verbatim ask` to its answer."""
    import importlib.util

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    cold_import = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import app.cli"], env=env, check=True, cwd=PROJECT_ROOT)
        cold_import.append(time.perf_counter() - t0)
    out: dict = {"import_app_cli_seconds": round(median(cold_import), 3)}
    if importlib.util.find_spec("app.web") is None:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([*_verbatim_cmd(), "ask", question, "--index", str(index_dir), "--json"], env=env,
                           check=True, capture_output=True, cwd=PROJECT_ROOT)
            times.append(time.perf_counter() - t0)
        out.update({"measured": "verbatim ask (app/web.py does not exist)", "seconds": round(median(times), 3),
                    "runs": [round(t, 3) for t in times]})
        return out
    from gradio_client import Client

    times, ready = [], []
    for _ in range(repeats):
        port = _free_port()
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [*_verbatim_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(index_dir),
                   "--feedback", str(Path(tmp) / "feedback.jsonl")]
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                client = None
                while client is None:
                    if proc.poll() is not None:
                        raise click.ClickException(f"verbatim serve exited: {proc.stderr.read().decode()[-500:]}")
                    if time.perf_counter() - t0 > timeout:
                        raise click.ClickException(f"verbatim serve did not answer within {timeout:.0f} s")
                    try:
                        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                    except Exception:  # not listening yet
                        time.sleep(0.1)
                ready.append(time.perf_counter() - t0)
                result = client.predict(question, api_name="/ask")
                times.append(time.perf_counter() - t0)
                if not isinstance(result, dict) or "quotes" not in result:
                    raise click.ClickException(f"unexpected answer from /ask: {str(result)[:200]}")
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    out.update({"measured": "verbatim serve -> first answer via gradio_client /ask",
                "seconds": round(median(times), 3), "runs": [round(t, 3) for t in times],
                "server_ready_seconds": round(median(ready), 3), "goal_seconds": GOALS["start_seconds"]})
    return out


def bench_onnx(assistant, questions: Sequence[str], repeats: int, scifact_dir: Path | None,
               beir_limit: int | None, sample_passages: list[str]) -> dict:
    """Query encoding on onnxruntime (fp32, int8) vs torch: latency, cosine, hit@3, nDCG@10."""
    import numpy as np

    from .embed_onnx import OnnxEmbedder

    torch_emb = assistant.embedder
    runtimes = {"torch": bare_encoder(torch_emb)}
    onnx = {"onnx-fp32": OnnxEmbedder(quantize=False), "onnx-int8": OnnxEmbedder(quantize=True)}
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
    from .answer import Assistant
    from .evaluation.report import load_dialogues, load_questions, run_report

    out: dict = {}
    probe = Assistant(assistant.index, query_encoder, assistant.settings)
    report = run_report(probe, load_questions(), load_dialogues(), methods=("hybrid",))
    out["report_hit@3"] = round(report["methods"]["hybrid"]["hit@3"], 6)
    out["report_hit@3_count"] = sum(bool(r.get("hit@3", False)) for r in report["questions"]["hybrid"])
    folder = _scifact_cache(assistant, scifact_dir)
    if folder is not None:
        from .evaluation.beir import run_beir

        beir = run_beir(scifact_dir, split="train", embedder=query_encoder, cache_dir=folder, limit=beir_limit)
        out["scifact_ndcg@10_hybrid_full"] = round(beir["methods"]["hybrid"]["ndcg@10"], 6)
        out["scifact_queries_full"] = beir["queries"]
    return out


def _scifact_cache(assistant, scifact_dir: Path | None) -> Path | None:
    """The eval suite's cached SciFact index for this model, if it has been built (never built here)."""
    if scifact_dir is None:
        return None
    from .evaluation.beir import BEIR_BUILD_SETTINGS, beir_documents, cache_folder
    from .store import read_manifest

    folder = cache_folder(scifact_dir.name, scifact_dir, assistant.embedder, BEIR_BUILD_SETTINGS)
    try:
        manifest = read_manifest(folder)
    except Exception:  # noqa: BLE001 - missing or unreadable: not usable
        return None
    wanted = {d.doc: d.sha256 for d in beir_documents(scifact_dir)}
    return folder if manifest.get("documents") == wanted and manifest["model"]["name"] == assistant.embedder.name \
        else None


def scifact_dense_ndcg(scifact_dir: Path, doc_encoder, query_encoders: dict, queries: int = 300,
                       documents: int = 1500) -> dict:
    """SciFact train nDCG@10 of dense search over whole abstracts, for each query encoder.

    The passages are every abstract judged relevant to the first `queries` judged train queries,
    plus the first other abstracts of the corpus up to `documents`, all encoded once by
    `doc_encoder`; only the query vectors differ between encoders, so any change in nDCG is theirs.
    """
    import numpy as np

    from .evaluation.beir import _read_jsonl, beir_documents, queries_file, read_qrels
    from .evaluation.ir_metrics import ndcg_at_k

    qrels = read_qrels(scifact_dir / "qrels" / "train.tsv")
    qs = [(str(r["_id"]), str(r["text"])) for r in _read_jsonl(queries_file(scifact_dir, "train"))
          if str(r["_id"]) in qrels][:queries]
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


# ---------------------------------------------------------------- the run


def scifact_documents(scifact_dir: Path, limit: int | None) -> list:
    from .evaluation.beir import beir_documents

    docs = beir_documents(scifact_dir)
    return docs[:limit] if limit else docs


def run_bench(*, index_dir: Path = DEFAULT_INDEX_DIR, embedder=None, questions: Sequence[str] | None = None,
              scifact_dir: Path | None = SCIFACT_DIR, sections: Sequence[str] = SECTIONS, repeats: int = 3,
              build_passages: int | None = 500, rebuild_documents: int = 20, start_repeats: int = 3,
              beir_limit: int | None = None, work_dir: Path | None = None, engine_passages: int = 2000) -> dict:
    """Every requested section; one dict of figures (the JSON `verbatim bench` writes)."""
    from .answer import Assistant

    for s in sections:
        if s not in SECTIONS + OPTIONAL_SECTIONS:
            raise click.BadParameter(f"section {s!r} is not one of {', '.join(SECTIONS + OPTIONAL_SECTIONS)}")
    t_start = time.perf_counter()
    result: dict = {"bench": "verbatim", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
                    "settings": {"repeats": repeats, "sections": list(sections), "build_passages": build_passages,
                                 "index": str(index_dir)}}
    questions = list(questions) if questions is not None else question_variants(read_questions())
    assistant = Assistant.load(Path(index_dir), embedder=embedder)
    embedder = assistant.embedder
    result["model"] = embedder.name
    own_tmp = work_dir is None
    work_dir = Path(tempfile.mkdtemp(prefix="verbatim-bench-")) if own_tmp else Path(work_dir)
    try:
        docs = scifact_documents(scifact_dir, max(build_passages or 0, rebuild_documents) or None) \
            if scifact_dir and {"build", "rebuild", "onnx"} & set(sections) else []
        if "build" in sections:
            log.info("build: %d SciFact passages x %d", len(docs[:build_passages]), repeats)
            result["build"] = bench_build(embedder, docs[:build_passages] if build_passages else docs, repeats,
                                          work_dir)
        if "ask" in sections:
            log.info("ask: %d questions x %d", len(questions), repeats)
            result["ask"] = bench_ask(assistant, questions, repeats)
        if "rebuild" in sections:
            result["rebuild"] = bench_rebuild(embedder, docs[:rebuild_documents], work_dir)
        if "onnx" in sections:
            log.info("onnx: latency, cosine, hit@3, nDCG@10")
            result["onnx"] = bench_onnx(assistant, questions, repeats, scifact_dir, beir_limit,
                                        [d.text for d in docs[:200]])
        if "start" in sections:
            result["start"] = bench_start(Path(index_dir), questions[0], start_repeats)
        if "engines" in sections and scifact_dir:
            from .bench_engines import bench_engines

            result["engines"] = bench_engines(scifact_documents(scifact_dir, engine_passages), embedder.name, work_dir,
                                              repeats=repeats)
    finally:
        if own_tmp:
            shutil.rmtree(work_dir, ignore_errors=True)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["peak_rss_mb"] = memory_mb()
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    return result


# ---------------------------------------------------------------- output


def _ms(s: dict) -> str:
    return f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f}"


def format_table(result: dict) -> str:
    """The figures as an aligned text table: figure, value, baseline, ratio, goal."""
    rows: list[tuple[str, str, str, str, str]] = []
    if "ask" in result:
        a = result["ask"]
        rows.append(("ask, warm, p50 / p95 ms", _ms(a["total"]), f"encode floor {_ms(a['floor'])}",
                     f"{a['ask_p50_over_floor_p50']}x", f"<= {a['goal_ask_over_floor']}x"))
        for s in ASK_STAGES:
            rows.append((f"  stage {s}", _ms(a["stages"][s]), "", "", ""))
    if "build" in result:
        b = result["build"]
        rows.append(("build passages/s", f"{b['build_passages_per_s']}",
                     f"bare encode of same texts {b['bare_same_texts_passages_per_s']}",
                     f"{b['build_over_bare_same_texts']}x", f">= {b['goal_build_over_bare']}x"))
        rows.append(("  vs bare encode of raw passages", f"{b['build_passages_per_s']}",
                     f"{b['bare_raw_passages_per_s']}", f"{b['build_over_bare_raw']}x", ""))
        rows.append(("  peak RSS / traced peak MB", f"{b['peak_rss_mb']} / {b['traced_python_peak_mb']}",
                     f"before build {b['rss_before_build_mb']}", "", ""))
    if "rebuild" in result:
        r = result["rebuild"]
        rows.append(("rebuild after 1 changed doc", f"{r['rebuild_embedded_documents']} doc, "
                     f"{r['rebuild_texts_embedded']} texts", f"first build {r['first_build_texts_embedded']} texts",
                     f"{r['rebuild_over_first_build']}x time", "only that doc"))
    if "start" in result:
        s = result["start"]
        rows.append((f"start: {s['measured'].split(' ->')[0].split(' (')[0]} to 1st answer s", f"{s['seconds']}",
                     f"import app.cli {s['import_app_cli_seconds']} s", "", f"<= {GOALS['start_seconds']} s"))
    if "onnx" in result:
        o = result["onnx"]
        for name, row in o["runtimes"].items():
            rows.append((f"query encode {name} p50 / p95 ms", _ms(o["latency"][name]),
                         f"hit@3 {row.get('report_hit@3')}, nDCG@10 {row.get('scifact_ndcg@10')}",
                         f"{row['speedup_p50']}x faster", ">= 1.5x, same quality"))
        rows.append(("  verdict", o["verdict"]["adopt"], "", "", ""))
    if "engines" in result:
        from .bench_engines import engine_rows

        rows.extend(engine_rows(result["engines"]))
    if "scale" in result:
        for r in result["scale"]["faiss"]:
            rows.append((f"FAISS {r['index_type']} {r['passages']:,} p50 / p95 ms",
                         f"{r['search_p50_ms']:.2f} / {r['search_p95_ms']:.2f}",
                         f"exact {r['exact_p50_ms']:.2f} ms, recall@10 {r['recall@10']:.3f}",
                         f"{r['speedup_over_exact']}x", "1M: <= 5 ms, >= 0.95"))
        for r in result["scale"]["bm25"]:
            rows.append((f"BM25 {r['passages']:,} query p50 / p95 ms", f"{r['query_p50_ms']:.2f} / "
                         f"{r['query_p95_ms']:.2f}", f"index {r['index_seconds']} s", "", ""))
    header = ("figure", "value", "baseline", "ratio", "goal")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m = result.get("machine", {})
    lines.append(f"\n{m.get('cpus')} CPUs, load average at start {m.get('load_average_1_5_15')}, "
                 f"at end {m.get('load_average_at_end')}; figures are medians over repeats, latencies p50 / p95.")
    return "\n".join(lines)


def write_json(result: dict, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@click.command("bench")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), default=Path("bench.json"),
              show_default=True, help="Where the JSON figures go.")
@click.option("--quick", is_flag=True, help="Fewer repeats and passages: a smoke run of a few minutes.")
@click.option("--repeats", type=click.IntRange(1, 50), default=None, help="Runs per figure [default: 3, quick 1].")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=DEFAULT_INDEX_DIR, show_default=True,
              envvar="VERBATIM_INDEX", help="Index of the bundled report.")
@click.option("--scifact", "scifact_dir", type=click.Path(path_type=Path, file_okay=False), default=SCIFACT_DIR,
              show_default=True, help="BEIR SciFact folder (corpus.jsonl, queries, qrels/).")
@click.option("--sections", default=",".join(SECTIONS), show_default=True, help="Comma-separated sections to run.")
@click.option("--build-passages", type=click.IntRange(10, 10_000), default=None,
              help="SciFact passages the build section indexes [default: 500, quick 100].")
@click.option("--engine-passages", type=click.IntRange(10, 1_000_000), default=2000, show_default=True,
              help="SciFact passages the engines section builds (in-process vs Ray).")
@click.option("--scale", "scale_sizes", default=None,
              help="Also run the scale benchmark at these sizes, e.g. 100000,1000000 (synthetic vectors).")
def bench(out_path: Path, quick: bool, repeats: int | None, index_dir: Path, scifact_dir: Path, sections: str,
          build_passages: int | None, engine_passages: int, scale_sizes: str | None) -> None:
    """Measure ask latency, build throughput, rebuild, start-up and ONNX against their floors."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not (index_dir / "manifest.json").exists():
        raise click.ClickException(f"no index at {index_dir}; run `verbatim index build --index {index_dir}` first")
    chosen = [s.strip() for s in sections.split(",") if s.strip()]
    result = run_bench(index_dir=index_dir, scifact_dir=scifact_dir if scifact_dir.is_dir() else None,
                       sections=chosen, repeats=repeats or (1 if quick else 3),
                       build_passages=build_passages or (100 if quick else 500),
                       rebuild_documents=20, start_repeats=1 if quick else 3, beir_limit=100 if quick else None,
                       engine_passages=engine_passages)
    if scale_sizes:
        from .scale_bench import run_scale

        result["scale"] = run_scale([int(s) for s in scale_sizes.split(",")], quick=quick)
    write_json(result, out_path)
    click.echo(format_table(result))
    click.echo(f"\nwrote {out_path}")
