"""Bench section `load`: many clients at once against `verbatim serve` on 127.0.0.1.

For 1 and 2 workers, `verbatim serve` runs as a subprocess on a free loopback port; then 1, 20
and 100 concurrent clients ask the report's questions three ways: the JSON API (`rest`: `POST
/api/v1/ask`, asyncio + httpx, keep-alive); `gradio_client` (`chat`: `/ask` through the chat's
queue; the library polls for its messages every 50 ms, so it adds its own wait); and the chat's
queue as the page asks (`sse`: join the queue, read the event stream, asyncio + httpx). Each level
is bounded by a request count and a time limit. Beside them, in the same run: warm in-process
`Assistant.ask` on the same index: seconds per ask, and capacity = cores / that (what the machine
answers one question at a time with no HTTP); each level's efficiency = its throughput / capacity.
Each REST level is charged its CPU (app/bench/budget.py): the server's process tree and this
process (the clients) per answer, and the batches the server's queues formed; beside them the
encoder's and the question parse's CPU per question at those batch sizes, and the highest
efficiency the two cores allow with the clients on them (`efficiency_bound`).
Then the memory of every server process (RSS, PSS, private), and what the second worker adds. A
sweep of the chat queue's concurrency limit (20 `sse` sessions beside REST's p50 on the same
server) gives the curve the default is chosen from. The clients share the machine with the
server: on 2 cores the figures include the load generator's own CPU.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.bench.budget import (
    batch_cpu,
    efficiency_bound,
    formed,
    health_counts,
    mean_batch,
    merged,
    own_cpu,
    per_answer,
    per_question,
    process_cpu,
)
from app.bench.clients import chat_level, rest_level, sse_level
from app.bench.common import Row, free_port, ms, ratio, summarize
from app.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from app.answer.assistant import Assistant

log = logging.getLogger(__name__)

CLIENTS = (1, 20, 100)
WORKERS = (1, 2)
REST_REQUESTS = {1: 200, 20: 1000, 100: 2000}  # per level, at most
CHAT_REQUESTS = {1: 40, 20: 200, 100: 300}
LEVEL_SECONDS = 30.0  # no new request after this long at one level
CONCURRENCY_SWEEP = (1, 2, 4, 8, 16)
# efficiency = answers per second over HTTP / capacity, capacity = cores / in-process seconds per ask
GOALS = {"rest_efficiency_at_20": 1.2, "chat_p50_over_rest_p50_at_20": 2.0, "rest_errors_at_100": 0,
         "second_worker_memory_share": 0.30}


# ---------------------------------------------------------------- the server


def start_server(index_dir: Path, workers: int, work_dir: Path, concurrency: int | None = None,
                 timeout: float = 180.0) -> tuple[subprocess.Popen, str]:
    """`verbatim serve --workers N` on a free loopback port; returns once /api/v1/health says ready."""
    env = {"VERBATIM_CONCURRENCY": str(concurrency)} if concurrency is not None else {}
    proc, url, _ = serve_process(["--index", str(index_dir), "--workers", str(workers),
                                  "--feedback", str(work_dir / "feedback.jsonl")], work_dir, env, timeout=timeout)
    return proc, url


CLASH = ("address already in use", "cannot find empty port")  # what serve says when its port was taken
RESTARTED = "starting it again"  # what the parent of `serve --workers N` logs when a worker died (app/web/workers.py)


def worker_restarts(work_dir: Path) -> int:
    """How many worker deaths the servers whose logs lie in `work_dir` (serve-<port>.log) reported."""
    return sum(f.read_text(errors="replace").count(RESTARTED) for f in Path(work_dir).glob("serve-*.log"))


def serve_process(args: Sequence[str], work_dir: Path, env: dict[str, str] | None = None,
                  command: Sequence[str] | None = None, timeout: float = 180.0, attempts: int = 3,
                  exact_env: bool = False) -> tuple[subprocess.Popen, str, Path]:
    """`verbatim serve ARGS` on a free loopback port, once /api/v1/health says ready: (process, url, log).

    A free port can be taken between choosing it and the server binding it; a server that exits
    saying so is started again on another port (`attempts` in all). Its output goes to
    `work_dir/serve-<port>.log`. `command` replaces `python -c "from app.cli import main; main()"`;
    with `exact_env`, `env` is the whole environment (else it is added to this one, offline)."""
    import httpx

    base = [*(command or [sys.executable, "-c", "from app.cli import main; main()"]), "serve"]
    full_env = dict(env or {}) if exact_env else {
        **os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
        **(env or {})}
    for _ in range(attempts):
        port = free_port()
        log_path = Path(work_dir) / f"serve-{port}.log"
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen([*base, "--host", "127.0.0.1", "--port", str(port), *args], cwd=PROJECT_ROOT,
                                    env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    return proc, url, log_path
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        if proc.poll() is None:
            stop_server(proc)
            raise RuntimeError(f"verbatim serve was not ready within {timeout:.0f} s; see {log_path}")
        output = log_path.read_text(encoding="utf-8", errors="replace")
        if not any(c in output.lower() for c in CLASH):
            raise RuntimeError(f"verbatim serve exited with {proc.returncode}: {output[-500:]}")
        log.info("port %d was taken before serve bound it; trying another", port)
    raise RuntimeError(f"verbatim serve found its port taken {attempts} times")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def process_tree(pid: int) -> list[int]:
    """The pid and its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return out


def memory_of(pid: int) -> dict:
    """RSS, PSS (shared pages split between the processes sharing them) and private memory, in MB."""
    fields: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":", 1)
            fields[name] = int(value.split()[0]) / 1024
    except (OSError, ValueError):
        return {"pid": pid, "rss_mb": None, "pss_mb": None, "private_mb": None}
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"pid": pid, "rss_mb": round(fields.get("Rss", 0), 1), "pss_mb": round(fields.get("Pss", 0), 1),
            "private_mb": round(private, 1)}


def in_process(assistant: Assistant, questions: Sequence[str], repeats: int = 2) -> dict:
    """Warm `Assistant.ask` in this process, on the index the server loads, with the same query encoder."""
    for q in questions[:5]:
        assistant.ask(q)
    times = []
    cpu0 = time.process_time()
    for _ in range(repeats):
        for q in questions:
            t0 = time.perf_counter()
            assistant.ask(q)
            times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / len(times)
    s = summarize(times)
    per_ask = sum(times) / len(times)
    cores = os.cpu_count() or 1
    return {"asked": len(times), "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"],
            "throughput_per_s_one_thread": round(len(times) / sum(times), 1),
            "seconds_per_ask": round(per_ask, 6), "cpu_seconds_per_ask": round(cpu, 6), "cores": cores,
            "capacity_per_s": round(cores / per_ask, 1)}


def charged(proc: subprocess.Popen, url: str, workers: int, level: Callable[[], dict]) -> dict:
    """`level()` (a REST level), with the CPU seconds the server's process tree and this process (the
    clients) used during it, per answer, and the batches each of the server's queues formed."""
    before = merged(health_counts(url, workers))
    pids = process_tree(proc.pid)
    server0, client0 = sum(process_cpu(p) for p in pids), own_cpu()
    out = level()
    client1, after_pids = own_cpu(), process_tree(proc.pid)
    server1 = sum(process_cpu(p) for p in after_pids)
    out["server_cpu_ms_per_answer"] = per_answer(server1 - server0, out["answered"])
    out["client_cpu_ms_per_answer"] = per_answer(client1 - client0, out["answered"])
    if sorted(pids) != sorted(after_pids):  # a worker restarted: its CPU before the restart is lost
        out["server_processes_changed"] = True
    out["batches"] = {q: {str(k): n for k, n in sizes.items()}
                      for q, sizes in formed(before, merged(health_counts(url, workers))).items()}
    return out


def batch_costs(assistant: Assistant, questions: Sequence[str], result: dict) -> dict:
    """The encoder's and the question parse's CPU ms for one batch of each size the server formed (and 1)."""
    from app.answer.direct import parse_questions

    seen = {1}
    for run in result["runs"].values():
        for level in run["rest"]:
            for sizes in level.get("batches", {}).values():
                seen |= {int(k) for k in sizes}
    inner = getattr(assistant.embedder, "inner", assistant.embedder)
    encode = {"encode": lambda batch: inner.encode(batch, batch_size=len(batch)), "parse": parse_questions}
    return {q: {str(k): v for k, v in batch_cpu(run, questions, sorted(seen)).items()} for q, run in encode.items()}


# ---------------------------------------------------------------- the section


def bench_load(index_dir: Path, questions: Sequence[str], *, workers: Sequence[int] = WORKERS,
               clients: Sequence[int] = CLIENTS, seconds: float = LEVEL_SECONDS, sweep: Sequence[int] = (),
               work_dir: Path | None = None) -> dict:
    """REST and gradio_client levels for each worker count, memory per worker, and the queue sweep."""
    from app.answer.assistant import Assistant

    questions = list(questions)
    assistant = Assistant.load(Path(index_dir), mmap=True)  # the query encoder the index's model names
    out: dict = {"in_process": in_process(assistant, questions), "runs": {}, "goals": GOALS,
                 "note": "clients run on the same machine as the server (loopback); other engineers' jobs "
                         "share the CPU: see machine.load_average"}
    with tempfile.TemporaryDirectory(prefix="verbatim-load-") as tmp:
        work = Path(work_dir or tmp)
        for w in workers:
            restarted = worker_restarts(work)
            proc, url = start_server(Path(index_dir), w, work)
            try:
                run: dict = {"rest": [], "chat": [], "sse": []}
                for c in clients:
                    log.info("load: %d worker(s), %d REST clients", w, c)
                    run["rest"].append(charged(proc, url, w, functools.partial(
                        rest_level, url, questions, c, REST_REQUESTS.get(c, 10 * c), seconds)))
                for c in clients:
                    log.info("load: %d worker(s), %d gradio_client users", w, c)
                    run["chat"].append(chat_level(url, questions, c, CHAT_REQUESTS.get(c, 3 * c), seconds))
                for c in clients:
                    log.info("load: %d worker(s), %d chat sessions as the page asks", w, c)
                    run["sse"].append(sse_level(url, questions, c, REST_REQUESTS.get(c, 10 * c), seconds))
                run["memory"] = [memory_of(p) for p in process_tree(proc.pid)]
                run["rss_per_worker_mb"] = [m["rss_mb"] for m in run["memory"][1 if w > 1 else 0:]]
                run["total_pss_mb"] = round(sum(m["pss_mb"] or 0 for m in run["memory"]), 1)
                out["runs"][str(w)] = run
            finally:
                stop_server(proc)
            if str(w) in out["runs"]:  # a worker that died under load: its levels' figures carry the restart
                out["runs"][str(w)]["worker_restarts"] = worker_restarts(work) - restarted
        for limit in sweep:
            proc, url = start_server(Path(index_dir), 1, work, concurrency=limit)
            try:
                log.info("load: chat queue concurrency %d, 20 sessions as the page asks, and 20 REST clients", limit)
                rest = rest_level(url, questions, 20, REST_REQUESTS[20], seconds / 2)
                chat = sse_level(url, questions, 20, REST_REQUESTS[20], seconds / 2)
                out.setdefault("concurrency_sweep", []).append(
                    {"concurrency_limit": limit, **chat, "rest_p50_ms": rest.get("p50_ms"),
                     "chat_p50_over_rest_p50": ratio(chat["p50_ms"], rest["p50_ms"])
                     if "p50_ms" in chat and "p50_ms" in rest else None})
            finally:
                stop_server(proc)
    out["batch_cpu_ms"] = batch_costs(assistant, questions, out)
    return derive(out)


def derive(out: dict) -> dict:
    """Add the figures computed from the measured ones: each level's efficiency (throughput over the
    in-process capacity), chat p50 over REST p50 at 20 clients, and what the second worker adds."""
    capacity = out["in_process"]["capacity_per_s"]
    for run in out["runs"].values():
        for level in run["rest"] + run["chat"] + run.get("sse", []):
            level["efficiency"] = ratio(level["throughput_per_s"] or 0.0, capacity)
        for level in run["rest"]:
            if "server_cpu_ms_per_answer" in level:  # charged (app/bench/budget.py)
                budget(level, out["in_process"]["cores"], capacity, out.get("batch_cpu_ms", {}))
        rest20 = _at(run["rest"], 20)
        for kind in ("chat", "sse"):
            chat20 = _at(run.get(kind, []), 20)
            if "p50_ms" in rest20 and "p50_ms" in chat20:
                run[f"{kind}_p50_over_rest_p50_at_20"] = ratio(chat20["p50_ms"], rest20["p50_ms"])
    one, two = out["runs"].get("1"), out["runs"].get("2")
    if one and two:
        added = two["total_pss_mb"] - one["total_pss_mb"]
        out["second_worker_adds_mb"] = round(added, 1)
        out["second_worker_share"] = ratio(added, one["total_pss_mb"])
    return out


def budget(level: dict, cores: int, capacity: float, batch_cpu_ms: dict) -> None:
    """A charged REST level's highest possible efficiency, and the encoder's and the parse's CPU per
    question at the batch sizes it formed (from one batch of each size, `batch_cpu_ms`)."""
    server, client = level.get("server_cpu_ms_per_answer"), level.get("client_cpu_ms_per_answer")
    if server is not None and client is not None:
        level["efficiency_bound"] = efficiency_bound(cores, server, client, capacity)
        level["efficiency_bound_without_clients"] = efficiency_bound(cores, server, 0.0, capacity)  # clients elsewhere
    for queue, sizes in level.get("batches", {}).items():
        counts = {int(k): n for k, n in sizes.items()}
        costs = {int(k): v for k, v in batch_cpu_ms.get(queue, {}).items()}
        level[f"{queue}_mean_batch"] = mean_batch(counts)
        if counts and set(counts) <= set(costs):
            level[f"{queue}_cpu_ms_per_question"] = per_question(counts, costs)
            level[f"{queue}_cpu_ms_alone"] = costs.get(1)


def _at(levels: list[dict], clients: int) -> dict:
    return next((r for r in levels if r["clients"] == clients), {})


def load_rows(result: dict) -> list[Row]:
    """Table rows: in-process cost and capacity, each level's p50 / p95, throughput, efficiency, memory."""
    ip = result["in_process"]
    rows: list[Row] = [("in-process ask p50 / p95 ms", ms(ip), f"{ip['throughput_per_s_one_thread']}/s one thread",
                        "", ""),
                       ("in-process seconds per ask (CPU)", f"{ip['seconds_per_ask'] * 1000:.2f} ms",
                        f"CPU {ip['cpu_seconds_per_ask'] * 1000:.2f} ms", "",
                        f"capacity {ip['capacity_per_s']}/s on {ip['cores']} cores")]
    for w, run in result["runs"].items():
        for kind in ("rest", "chat", "sse"):
            for r in run.get(kind, []):
                goal = ""
                if kind == "rest" and r["clients"] == 20:
                    goal = f"efficiency >= {GOALS['rest_efficiency_at_20']:g}"
                elif kind in ("chat", "sse") and r["clients"] == 20:
                    goal = f"p50 <= {GOALS['chat_p50_over_rest_p50_at_20']:g}x REST's"
                elif kind == "rest" and r["clients"] == 100:
                    goal = "0 errors"
                value = ms(r) if "p50_ms" in r else "n/a"
                rows.append((f"{kind} {w}w {r['clients']} clients p50 / p95 ms", value,
                             f"{r['throughput_per_s']}/s, {r['errors']} errors",
                             f"efficiency {r.get('efficiency')}", goal))
                if kind == "rest" and r.get("server_cpu_ms_per_answer") is not None:
                    rows += budget_rows(w, r, ip)
        for kind in ("chat", "sse"):
            if f"{kind}_p50_over_rest_p50_at_20" in run:
                rows.append((f"{kind} / REST p50 at 20, {w}w", f"{run[f'{kind}_p50_over_rest_p50_at_20']}x", "", "",
                             f"<= {GOALS['chat_p50_over_rest_p50_at_20']:g}x"))
        rss = ", ".join(f"{m}" for m in run.get("rss_per_worker_mb", []))
        pss = ", ".join(f"{m['pss_mb']}" for m in run["memory"])
        rows.append((f"memory {w}w RSS per worker MB", rss, f"PSS per process {pss}",
                     f"total PSS {run['total_pss_mb']}", ""))
        if "worker_restarts" in run:
            rows.append((f"worker restarts {w}w", f"{run['worker_restarts']}", "", "", ""))
    if "second_worker_share" in result:
        rows.append(("second worker adds (PSS)", f"{result['second_worker_adds_mb']} MB", "first worker's total",
                     f"{result['second_worker_share']}x", f"<= {GOALS['second_worker_memory_share']}x"))
    for r in result.get("concurrency_sweep", []):
        rows.append((f"sse 20 sessions, concurrency {r['concurrency_limit']}", ms(r) if "p50_ms" in r else "n/a",
                     f"{r['throughput_per_s']}/s, {r['errors']} errors",
                     f"REST p50 {r.get('rest_p50_ms')} ms" if r.get("rest_p50_ms") else "", ""))
    return rows


def budget_rows(w: str, r: dict, ip: dict) -> list[Row]:
    """A charged REST level's CPU per answer (server, clients) against the in-process ask, the bound it
    sets on efficiency, and the batches its queues formed."""
    rows: list[Row] = [(f"rest {w}w {r['clients']} clients CPU ms per answer",
                        f"server {r['server_cpu_ms_per_answer']} + clients {r['client_cpu_ms_per_answer']}",
                        f"in-process ask {ip['cpu_seconds_per_ask'] * 1000:.2f}",
                        f"efficiency <= {r.get('efficiency_bound')}",
                        f"<= {r.get('efficiency_bound_without_clients')} with the clients elsewhere")]
    for queue in ("encode", "parse"):
        if r.get(f"{queue}_mean_batch") is not None:
            rows.append((f"rest {w}w {r['clients']} clients {queue} batches", f"{r[f'{queue}_mean_batch']} per batch",
                         f"CPU ms per question alone {r.get(f'{queue}_cpu_ms_alone')}",
                         f"batched {r.get(f'{queue}_cpu_ms_per_question')}", ""))
    return rows
