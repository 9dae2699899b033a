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
- upload   (asked for by name, with --upload-file) a document uploaded to `verbatim serve
           --allow-uploads` to its first answer, against `verbatim index build` of the same file.
- load     (asked for by name) 1, 20 and 100 concurrent clients of `verbatim serve` with 1 and 2
           workers, JSON API and gradio_client, beside in-process ask; memory per worker.
- batching (asked for by name) the batching queue's window and batch size, in one process.
- soak     (asked for by name) 20 REST clients for 10 minutes (`--soak-minutes`): RSS and p95 drift.
- models   (asked for by name) multilingual-e5-small against all-MiniLM-L6-v2: build, ask, serving memory.
- scale    (`--scale`) FAISS and BM25 at 100k and 1M synthetic passages: see `app/bench/scale.py`.

Latencies are medians (p50) and 95th percentiles over every question x repeat; throughputs are
medians over repeats. Nothing heavy is imported until a section runs.

Shared helpers live in app/bench/common.py; the build, onnx and load sections in app/bench/build.py,
app/bench/onnx.py and app/bench/load.py; the scale benchmark in app/bench/scale.py.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import click

from app.bench.build import bare_encoder, bench_build, bench_rebuild, scifact_documents
from app.bench.common import (
    GOALS,
    Row,
    free_port,
    machine,
    median,
    memory_mb,
    ms,
    question_variants,
    ratio,
    read_questions,
    render_table,
    summarize,
    verbatim_cmd,
    write_json,
)
from app.settings import DEFAULT_INDEX_DIR, PROJECT_ROOT

log = logging.getLogger(__name__)

SCIFACT_DIR = Path(os.environ.get("VERBATIM_SCIFACT", PROJECT_ROOT.parent / "shared" / "benchmarks" / "scifact"))
SECTIONS = ("ask", "brief", "build", "rebuild", "start", "onnx")
OPTIONAL_SECTIONS = ("engines", "load", "batching", "soak", "upload", "models")  # only when named: in-process vs
# Ray builds (app/bench/engines.py), many clients of `verbatim serve` (app/bench/load.py), the batching queue's
# settings (app/bench/batching.py), a long run at 20 clients (app/bench/soak.py), an upload to its first answer
# (app/bench/upload.py), and multilingual-e5-small against all-MiniLM-L6-v2 (app/bench/models.py)
ASK_STAGES = ("encode", "dense", "bm25", "fusion", "quote", "spans", "other")
# Sections whose table rows live in their own module: (result key, module, rows function).
_SECTION_ROWS = (("onnx", "app.bench.onnx", "onnx_rows"), ("engines", "app.bench.engines", "engine_rows"),
                 ("batching", "app.bench.batching", "batching_rows"), ("soak", "app.bench.soak", "soak_rows"),
                 ("load", "app.bench.load", "load_rows"), ("upload", "app.bench.upload", "upload_rows"),
                 ("scale", "app.bench.scale", "scale_rows"), ("models", "app.bench.models", "model_rows"))
_TIMED = ASK_STAGES[:-1]


# ---------------------------------------------------------------- sections


def bench_ask(assistant, questions: Sequence[str], repeats: int) -> dict:
    """Warm ask latency, total and per stage, against the bare encode of the same question and against
    the same ask without answer spans (`AnswerSettings.spans=False`: no sentence parses, no span scores; the
    question is parsed either way, for its analysis)."""
    floor_fn = bare_encoder(assistant.embedder)
    plain = assistant.with_settings(spans=False)
    for q in questions[:5]:  # warm-up: lazy loads, caches, first-call allocations
        assistant.ask(q)
        plain.ask(q)
        floor_fn([q])
    floors, totals, no_spans = [], [], []
    stages: dict[str, list[float]] = {s: [] for s in ASK_STAGES}
    answered = 0
    for _ in range(repeats):
        for q in questions:
            t0 = time.perf_counter()
            floor_fn([q])
            t1 = time.perf_counter()
            answer = assistant.ask(q)
            t2 = time.perf_counter()
            plain.ask(q)
            no_spans.append(time.perf_counter() - t2)
            floors.append(t1 - t0)
            totals.append(t2 - t1)
            answered += answer.answered
            t = answer.timings
            for s in _TIMED:
                stages[s].append(t[s])
            stages["other"].append(max(0.0, (t2 - t1) - sum(t[s] for s in _TIMED)))
    total, floor, plain_total = summarize(totals), summarize(floors), summarize(no_spans)
    return {
        "questions": len(questions), "repeats": repeats, "answered_share": round(answered / len(totals), 4),
        "floor": floor, "total": total, "stages": {s: summarize(v) for s, v in stages.items()},
        "ask_p50_over_floor_p50": ratio(total["p50_ms"], floor["p50_ms"]),
        "ask_p95_over_floor_p95": ratio(total["p95_ms"], floor["p95_ms"]),
        "goal_ask_over_floor": GOALS["ask_over_floor"],
        "without_spans": plain_total, "ask_p50_over_without_spans_p50": ratio(total["p50_ms"], plain_total["p50_ms"]),
        "goal_ask_over_without_spans": GOALS["ask_over_no_spans"],
    }


def bench_start(index_dir: Path, question: str, repeats: int, timeout: float = 180.0) -> dict:
    """Seconds from launching `verbatim serve` to the first answered question over HTTP; without
    app/web/chat.py, from launching `verbatim ask` to its answer."""
    import importlib.util

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    cold_import = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import app.cli"], env=env, check=True, cwd=PROJECT_ROOT)
        cold_import.append(time.perf_counter() - t0)
    out: dict = {"import_app_cli_seconds": round(median(cold_import), 3)}
    if importlib.util.find_spec("app.web.chat") is None:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([*verbatim_cmd(), "ask", question, "--index", str(index_dir), "--json"], env=env,
                           check=True, capture_output=True, cwd=PROJECT_ROOT)
            times.append(time.perf_counter() - t0)
        out.update({"measured": "verbatim ask (app/web/chat.py does not exist)", "seconds": round(median(times), 3),
                    "runs": [round(t, 3) for t in times]})
        return out
    from gradio_client import Client

    times, ready = [], []
    for _ in range(repeats):
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [*verbatim_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(index_dir),
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


# ---------------------------------------------------------------- the run


def run_bench(*, index_dir: Path = DEFAULT_INDEX_DIR, embedder=None, questions: Sequence[str] | None = None,
              scifact_dir: Path | None = SCIFACT_DIR, sections: Sequence[str] = SECTIONS, repeats: int = 3,
              build_passages: int | None = 500, rebuild_documents: int = 20, start_repeats: int = 3,
              beir_limit: int | None = None, work_dir: Path | None = None, engine_passages: int = 2000,
              load_seconds: float | None = None, soak_minutes: float = 10.0,
              upload: tuple[Path, str] | None = None) -> dict:
    """Every requested section; one dict of figures (the JSON `verbatim bench` writes)."""
    from app.answer.assistant import Assistant

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
        if "brief" in sections:
            from app.bench.brief import bench_brief

            result["brief"] = bench_brief(assistant.index, repeats)
        if "rebuild" in sections:
            result["rebuild"] = bench_rebuild(embedder, docs[:rebuild_documents], work_dir)
        if "onnx" in sections:
            from app.bench.onnx import bench_onnx

            log.info("onnx: latency, cosine, hit@3, nDCG@10")
            result["onnx"] = bench_onnx(assistant, questions, repeats, scifact_dir, beir_limit,
                                        [d.text for d in docs[:200]])
        if "start" in sections:
            result["start"] = bench_start(Path(index_dir), questions[0], start_repeats)
        run_serving_sections(result, sections, Path(index_dir), questions, repeats, scifact_dir, embedder.name,
                             work_dir, engine_passages=engine_passages, soak_minutes=soak_minutes, upload=upload,
                             load_seconds=load_seconds)
    finally:
        if own_tmp:
            shutil.rmtree(work_dir, ignore_errors=True)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["peak_rss_mb"] = memory_mb()
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    return result


# ---------------------------------------------------------------- output


def run_serving_sections(result: dict, sections: Sequence[str], index_dir: Path, questions: list[str], repeats: int,
                         scifact_dir: Path | None, model: str, work_dir: Path, *, engine_passages: int,
                         soak_minutes: float, upload: tuple[Path, str] | None, load_seconds: float | None) -> None:
    """The sections that build engines or start servers (engines, batching, soak, upload, models, load), into
    `result`."""
    if "engines" in sections and scifact_dir:
        from app.bench.engines import bench_engines

        result["engines"] = bench_engines(scifact_documents(scifact_dir, engine_passages), model, work_dir,
                                          repeats=repeats)
    if "batching" in sections:
        from app.bench.batching import bench_batching

        result["batching"] = bench_batching(index_dir, questions, passes=2 * repeats)
    if "soak" in sections:
        from app.bench.soak import bench_soak

        result["soak"] = bench_soak(index_dir, questions, minutes=soak_minutes)
    if "upload" in sections and upload is not None:
        from app.bench.upload import bench_upload

        result["upload"] = bench_upload(upload[0], upload[1], repeats)
    if "models" in sections:
        from app.bench.models import bench_models

        result["models"] = bench_models(work_dir, repeats)
    if "load" in sections:
        from app.bench.load import CONCURRENCY_SWEEP, LEVEL_SECONDS, bench_load

        result["load"] = bench_load(index_dir, questions, seconds=load_seconds or LEVEL_SECONDS,
                                    sweep=CONCURRENCY_SWEEP if repeats > 1 else ())


def format_table(result: dict) -> str:
    """The figures as an aligned text table: figure, value, baseline, ratio, goal."""
    rows: list[Row] = []
    if "ask" in result:
        a = result["ask"]
        rows.append(("ask, warm, p50 / p95 ms", ms(a["total"]), f"encode floor {ms(a['floor'])}",
                     f"{a['ask_p50_over_floor_p50']}x", f"<= {a['goal_ask_over_floor']}x"))
        if "without_spans" in a:
            rows.append(("  vs ask without answer spans", ms(a["total"]), ms(a["without_spans"]),
                         f"{a['ask_p50_over_without_spans_p50']}x", f"<= {a['goal_ask_over_without_spans']}x"))
        for s in ASK_STAGES:
            if s in a["stages"]:
                rows.append((f"  stage {s}", ms(a["stages"][s]), "", "", ""))
    if "brief" in result:
        from app.bench.brief import brief_rows

        rows += brief_rows(result["brief"])
    if "build" in result:
        b = result["build"]
        rows.append(("build passages/s", f"{b['build_passages_per_s']}",
                     f"bare encode of same texts {b['bare_same_texts_passages_per_s']}",
                     f"{b['build_over_bare_same_texts']}x", f">= {b['goal_build_over_bare']}x"))
        if "without_ner_passages_per_s" in b:
            rows.append(("  vs build without NER", f"{b['build_passages_per_s']}", f"{b['without_ner_passages_per_s']}",
                         f"{b['build_over_without_ner']}x", f">= {b['goal_build_over_without_ner']}x"))
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
    for section, module, rows_of in _SECTION_ROWS:
        if section in result:
            rows += getattr(importlib.import_module(module), rows_of)(result[section])
    return render_table(rows, result.get("machine", {}))


@click.command("bench")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), default=Path("bench.json"),
              show_default=True, help="Where the JSON figures go.")
@click.option("--figures", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the table as the bench's section of a generated page (docs/figures.md).")
@click.option("--quick", is_flag=True, help="Fewer repeats and passages: a smoke run of a few minutes.")
@click.option("--repeats", type=click.IntRange(1, 50), default=None, help="Runs per figure [default: 3, quick 1].")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=DEFAULT_INDEX_DIR, show_default=True,
              envvar="VERBATIM_INDEX", help="Index of the bundled report.")
@click.option("--scifact", "scifact_dir", type=click.Path(path_type=Path, file_okay=False), default=SCIFACT_DIR,
              show_default=True, help="BEIR SciFact folder (corpus.jsonl, queries, qrels/).")
@click.option("--sections", default=",".join(SECTIONS), show_default=True,
              help=f"Comma-separated sections to run, of {', '.join(SECTIONS + OPTIONAL_SECTIONS)}.")
@click.option("--build-passages", type=click.IntRange(10, 10_000), default=None,
              help="SciFact passages the build section indexes [default: 500, quick 100].")
@click.option("--engine-passages", type=click.IntRange(10, 1_000_000), default=2000, show_default=True,
              help="SciFact passages the engines section builds (in-process vs Ray).")
@click.option("--soak-minutes", type=click.FloatRange(0.5, 240), default=10.0, show_default=True,
              help="How long the soak section runs (a shorter run is a quick check).")
@click.option("--scale", "scale_sizes", default=None,
              help="Also run the scale benchmark at these sizes, e.g. 100000,1000000 (synthetic vectors).")
@click.option("--upload-file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="upload section: the document to upload (e.g. a 10 MB PDF).")
@click.option("--upload-question", default="What is this document about?", show_default=True,
              help="upload section: the first question asked of the uploaded document.")
def bench(out_path: Path, quick: bool, repeats: int | None, index_dir: Path, scifact_dir: Path, sections: str,
          build_passages: int | None, engine_passages: int, soak_minutes: float, scale_sizes: str | None,
          upload_file: Path | None = None, upload_question: str = "What is this document about?",
          figures: Path | None = None) -> None:
    """Measure ask latency, build throughput, rebuild, start-up, ONNX and load against their floors."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not (index_dir / "manifest.json").exists():
        raise click.ClickException(f"no index at {index_dir}; run `verbatim index build --index {index_dir}` first")
    chosen = [s.strip() for s in sections.split(",") if s.strip()]
    if "upload" in chosen and upload_file is None:
        raise click.UsageError("the upload section needs --upload-file FILE")
    result = run_bench(index_dir=index_dir, scifact_dir=scifact_dir if scifact_dir.is_dir() else None,
                       sections=chosen, repeats=repeats or (1 if quick else 3),
                       build_passages=build_passages or (100 if quick else 500),
                       rebuild_documents=20, start_repeats=1 if quick else 3, beir_limit=100 if quick else None,
                       engine_passages=engine_passages, load_seconds=10.0 if quick else None,
                       soak_minutes=soak_minutes,
                       upload=(upload_file, upload_question) if upload_file else None)
    if scale_sizes:
        from app.bench.scale import run_scale

        result["scale"] = run_scale([int(s) for s in scale_sizes.split(",")], quick=quick)
    write_json(result, out_path)
    table = format_table(result)
    click.echo(table)
    click.echo(f"\nwrote {out_path}")
    if figures is not None:
        publish_bench(figures, chosen, table)


def publish_bench(page: Path, sections: list[str], table: str) -> None:
    """The bench's table as its section of the generated page, under the command, the date and the code."""
    from app.evaluation.suite_output import provenance
    from app.files import publish_section

    publish_section(page, f"bench {','.join(sections)}",
                    f"## Bench: {', '.join(sections)}\n\n{provenance()}\n\n```\n{table}\n```")
