"""Bench section `load`: many clients at once against `verbatim serve` on 127.0.0.1.

For 1 and 2 workers, `verbatim serve` runs as a subprocess on a free loopback port; then 1, 20
and 100 concurrent clients ask the report's questions through the JSON API (`POST /api/v1/ask`,
asyncio + httpx, keep-alive) and through `gradio_client` (`/ask`, the chat's queue), each level
bounded by a request count and a time limit. Beside them, in the same run: warm in-process
`Assistant.ask` on the same index (the floor). Then the resident memory of every server process
(RSS, PSS, private), and how much the second worker adds. A sweep of the chat queue's concurrency
limit at 20 users gives the curve the default is chosen from. The clients share the machine with
the server: on 2 cores the figures include the load generator's own CPU.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from app.bench.common import Row, free_port, ms, ratio, summarize
from app.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

CLIENTS = (1, 20, 100)
WORKERS = (1, 2)
REST_REQUESTS = {1: 200, 20: 1000, 100: 2000}  # per level, at most
CHAT_REQUESTS = {1: 40, 20: 200, 100: 300}
LEVEL_SECONDS = 30.0  # no new request after this long at one level
CONCURRENCY_SWEEP = (1, 2, 4, 8)
GOALS = {"rest_p50_ms_at_20": 25.0, "rest_errors_at_100": 0, "chat_p50_ms_at_20": 300.0,
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


# ---------------------------------------------------------------- clients


def rest_level(url: str, questions: Sequence[str], clients: int, total: int, seconds: float) -> dict:
    """`clients` concurrent keep-alive clients posting questions until `total` are asked or time is up."""
    import httpx

    async def run() -> tuple[list[float], list[str], float]:
        latencies: list[float] = []
        errors: list[str] = []
        counter = iter(range(total))
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
            async def client(i: int) -> None:
                for n in counter:
                    if time.perf_counter() > deadline:
                        return
                    q = questions[(i * 7 + n) % len(questions)]
                    t0 = time.perf_counter()
                    try:
                        r = await http.post("/api/v1/ask", json={"question": q})
                        if r.status_code != 200 or "quotes" not in r.json():
                            errors.append(f"{r.status_code}: {r.text[:100]}")
                            continue
                    except httpx.HTTPError as exc:
                        errors.append(repr(exc)[:100])
                        continue
                    latencies.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(clients)))
            return latencies, errors, time.perf_counter() - t0

    latencies, errors, wall = asyncio.run(run())
    return _level(clients, latencies, errors, wall)


def chat_level(url: str, questions: Sequence[str], clients: int, total: int, seconds: float) -> dict:
    """`clients` concurrent `gradio_client` users calling `/ask` (through the chat's queue)."""
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    ready = threading.Barrier(clients + 1, timeout=300)
    go = threading.Event()
    deadline: list[float] = []

    def user(i: int) -> None:
        try:
            client = Client(url + "/", verbose=False)
        except Exception as exc:  # noqa: BLE001 - counted as an error
            with lock:
                errors.append(f"connect: {exc!r}"[:100])
            ready.wait()
            return
        ready.wait()
        go.wait()
        for n in counter:
            if time.perf_counter() > deadline[0]:
                break
            t0 = time.perf_counter()
            try:
                result = client.predict(questions[(i * 7 + n) % len(questions)], api_name="/ask")
                ok = isinstance(result, dict) and "quotes" in result
            except Exception as exc:  # noqa: BLE001 - "Queue is full" and the like are the errors counted
                ok, result = False, exc
            with lock:
                (latencies.append(time.perf_counter() - t0) if ok else errors.append(repr(result)[:100]))
        client.close()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    deadline.append(t0 + seconds)
    go.set()
    for t in threads:
        t.join(seconds + 120)
    return _level(clients, latencies, errors, time.perf_counter() - t0)


def _level(clients: int, latencies: list[float], errors: list[str], wall: float) -> dict:
    out = {"clients": clients, "answered": len(latencies), "errors": len(errors),
           "throughput_per_s": round(len(latencies) / wall, 1) if wall else None, "seconds": round(wall, 2)}
    if latencies:
        s = summarize(latencies)
        out.update({"p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"]})
    if errors:
        out["first_errors"] = sorted(set(errors))[:3]
    return out


def in_process(index_dir: Path, questions: Sequence[str], repeats: int = 2) -> dict:
    """Warm `Assistant.ask` in this process, on the index the server loads, with the same query encoder."""
    from app.answer.assistant import Assistant

    assistant = Assistant.load(index_dir, mmap=True)  # the query encoder the index's model names
    for q in questions[:5]:
        assistant.ask(q)
    times = []
    for _ in range(repeats):
        for q in questions:
            t0 = time.perf_counter()
            assistant.ask(q)
            times.append(time.perf_counter() - t0)
    s = summarize(times)
    return {"asked": len(times), "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"],
            "throughput_per_s_one_thread": round(len(times) / sum(times), 1)}


# ---------------------------------------------------------------- the section


def bench_load(index_dir: Path, questions: Sequence[str], *, workers: Sequence[int] = WORKERS,
               clients: Sequence[int] = CLIENTS, seconds: float = LEVEL_SECONDS, sweep: Sequence[int] = (),
               work_dir: Path | None = None) -> dict:
    """REST and gradio_client levels for each worker count, memory per worker, and the queue sweep."""
    questions = list(questions)
    out: dict = {"in_process": in_process(Path(index_dir), questions), "runs": {}, "goals": GOALS,
                 "note": "clients run on the same machine as the server (loopback); other engineers' jobs "
                         "share the CPU: see machine.load_average"}
    with tempfile.TemporaryDirectory(prefix="verbatim-load-") as tmp:
        work = Path(work_dir or tmp)
        for w in workers:
            proc, url = start_server(Path(index_dir), w, work)
            try:
                run: dict = {"rest": [], "chat": []}
                for c in clients:
                    log.info("load: %d worker(s), %d REST clients", w, c)
                    run["rest"].append(rest_level(url, questions, c, REST_REQUESTS.get(c, 10 * c), seconds))
                for c in clients:
                    log.info("load: %d worker(s), %d gradio_client users", w, c)
                    run["chat"].append(chat_level(url, questions, c, CHAT_REQUESTS.get(c, 3 * c), seconds))
                run["memory"] = [memory_of(p) for p in process_tree(proc.pid)]
                run["total_pss_mb"] = round(sum(m["pss_mb"] or 0 for m in run["memory"]), 1)
                out["runs"][str(w)] = run
            finally:
                stop_server(proc)
        for limit in sweep:
            proc, url = start_server(Path(index_dir), 1, work, concurrency=limit)
            try:
                log.info("load: chat queue concurrency %d, 20 users", limit)
                out.setdefault("concurrency_sweep", []).append(
                    {"concurrency_limit": limit, **chat_level(url, questions, 20, CHAT_REQUESTS[20], seconds)})
            finally:
                stop_server(proc)
    one, two = out["runs"].get("1"), out["runs"].get("2")
    if one and two:
        added = two["total_pss_mb"] - one["total_pss_mb"]
        out["second_worker_adds_mb"] = round(added, 1)
        out["second_worker_share"] = ratio(added, one["total_pss_mb"])
    return out


def _at(levels: list[dict], clients: int) -> dict:
    return next((r for r in levels if r["clients"] == clients), {})


def load_rows(result: dict) -> list[Row]:
    """Table rows: in-process floor, each level's p50 / p95, throughput and errors, memory."""
    ip = result["in_process"]
    rows: list[Row] = [("in-process ask p50 / p95 ms", ms(ip), f"{ip['throughput_per_s_one_thread']}/s one thread",
                        "", "")]
    for w, run in result["runs"].items():
        for kind, goal_at in (("rest", GOALS["rest_p50_ms_at_20"]), ("chat", GOALS["chat_p50_ms_at_20"])):
            for r in run[kind]:
                goal = f"p50 <= {goal_at:g} ms" if r["clients"] == 20 else (
                    "0 errors" if kind == "rest" and r["clients"] == 100 else "")
                value = ms(r) if "p50_ms" in r else "n/a"
                rows.append((f"{kind} {w}w {r['clients']} clients p50 / p95 ms", value,
                             f"{r['throughput_per_s']}/s, {r['errors']} errors",
                             f"{ratio(r['p50_ms'], ip['p50_ms'])}x in-process" if "p50_ms" in r else "", goal))
        pss = ", ".join(f"{m['pss_mb']}" for m in run["memory"])
        rows.append((f"memory {w}w PSS per process MB", pss, f"total {run['total_pss_mb']}", "", ""))
    if "second_worker_share" in result:
        rows.append(("second worker adds (PSS)", f"{result['second_worker_adds_mb']} MB", "first worker's total",
                     f"{result['second_worker_share']}x", f"<= {GOALS['second_worker_memory_share']}x"))
    for r in result.get("concurrency_sweep", []):
        rows.append((f"chat 20 users, concurrency {r['concurrency_limit']}", ms(r) if "p50_ms" in r else "n/a",
                     f"{r['throughput_per_s']}/s, {r['errors']} errors", "", ""))
    return rows
