"""Bench section `soak`: 20 REST clients for 10 minutes against `verbatim serve --workers 2`.

Does the server stay the same over time? Every answer's latency is recorded with its time, and
every server process's RSS is read every few seconds. The figures compare the last window
(a minute, or a fifth of a shorter run) with the first: RSS growth (goal <= 5%, measured from the
end of the first window, once the first answers' allocations are done) and p95 (goal <= 1.2x the
first window's). `verbatim bench --sections soak --soak-minutes 2` is a quick check.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from app.bench.common import Row, ratio, summarize
from app.bench.load import memory_of, process_tree, start_server, stop_server, worker_restarts

log = logging.getLogger(__name__)

CLIENTS = 20
WORKERS = 2
SAMPLE_SECONDS = 5.0
GOALS = {"rss_growth": 0.05, "p95_last_over_first": 1.2}


async def _soak(url: str, questions: Sequence[str], pid: int, seconds: float) -> tuple[list, list, list]:
    import httpx

    done: list[tuple[float, float]] = []  # (seconds since start, latency)
    errors: list[tuple[float, str]] = []
    rss: list[tuple[float, dict[int, float]]] = []
    t_start = time.perf_counter()
    stop_at = t_start + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def client(i: int, http) -> None:
        n = 0
        while time.perf_counter() < stop_at:
            q = questions[(i * 7 + n) % len(questions)]
            n += 1
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/v1/ask", json={"question": q})
                ok = r.status_code == 200
                why = f"{r.status_code}"
            except httpx.HTTPError as exc:
                ok, why = False, repr(exc)[:100]
            (done.append((t0 - t_start, time.perf_counter() - t0)) if ok else errors.append((t0 - t_start, why)))

    async def sampler() -> None:
        while time.perf_counter() < stop_at:
            rss.append((time.perf_counter() - t_start,
                        {p: memory_of(p)["rss_mb"] for p in process_tree(pid)}))
            await asyncio.sleep(SAMPLE_SECONDS)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        await asyncio.gather(sampler(), *(client(i, http) for i in range(CLIENTS)))
    return done, errors, rss


def _total_rss(sample: dict[int, float]) -> float:
    return sum(v or 0.0 for v in sample.values())


def bench_soak(index_dir: Path, questions: Sequence[str], *, minutes: float = 10.0, workers: int = WORKERS) -> dict:
    """Per-window p50 / p95 / throughput, RSS over time, and the drift of both from the first window."""
    seconds = minutes * 60
    with tempfile.TemporaryDirectory(prefix="verbatim-soak-") as tmp:
        proc, url = start_server(Path(index_dir), workers, Path(tmp))
        try:
            log.info("soak: %d clients for %.1f minutes, %d workers", CLIENTS, minutes, workers)
            done, errors, rss = asyncio.run(_soak(url, list(questions), proc.pid, seconds))
        finally:
            stop_server(proc)
        restarts = worker_restarts(Path(tmp))  # a worker that died during the soak
    return {"clients": CLIENTS, "workers": workers, "minutes": minutes,
            **soak_figures(done, errors, rss, seconds), "worker_restarts": restarts, "goals": GOALS}


def soak_figures(done: list[tuple[float, float]], errors: list[tuple[float, str]],
                 rss: list[tuple[float, dict[int, float]]], seconds: float) -> dict:
    """The soak's figures from its records: answers (time, latency), errors (time, message) and RSS samples
    (time, {pid: MB}), all timed from the start. Windows of a minute (a fifth of a shorter run); RSS growth
    is from the first sample after the first window to the last."""
    window = min(60.0, seconds / 5)
    windows = []
    for w in range(int(seconds // window)):
        lat = [d for t, d in done if w * window <= t < (w + 1) * window]
        if lat:
            s = summarize(lat)
            windows.append({"from_s": round(w * window), "answered": len(lat), "per_s": round(len(lat) / window, 1),
                            "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"],
                            "errors": sum(1 for t, _ in errors if w * window <= t < (w + 1) * window)})
    warm = next((r for t, r in rss if t >= window), rss[0][1] if rss else {})
    last = rss[-1][1] if rss else {}
    out = {"window_s": window, "windows": windows,
           "answered": len(done), "errors": len(errors), "first_errors": sorted({e for _, e in errors})[:3],
           "rss_mb_after_first_window": round(_total_rss(warm), 1), "rss_mb_at_end": round(_total_rss(last), 1),
           "rss_per_process_at_end": list(last.values())}
    out["rss_growth"] = ratio(out["rss_mb_at_end"] - out["rss_mb_after_first_window"], out["rss_mb_after_first_window"])
    if len(windows) >= 2:
        out["p95_last_over_first"] = ratio(windows[-1]["p95_ms"], windows[0]["p95_ms"])
    return out


def soak_rows(result: dict) -> list[Row]:
    rows: list[Row] = []
    for w in result["windows"]:
        rows.append((f"soak {result['clients']} clients, from {w['from_s']} s, p50 / p95 ms",
                     f"{w['p50_ms']:.0f} / {w['p95_ms']:.0f}", f"{w['per_s']}/s, {w['errors']} errors", "", ""))
    rows.append(("soak errors, worker restarts", f"{result['errors']} of {result['answered'] + result['errors']}",
                 f"{result['worker_restarts']} restarts", "", ""))
    rows.append(("soak RSS (all processes) MB", f"{result['rss_mb_at_end']}",
                 f"after first window {result['rss_mb_after_first_window']}", f"growth {result['rss_growth']}",
                 f"<= {GOALS['rss_growth']}"))
    if "p95_last_over_first" in result:
        rows.append(("soak p95 last window / first", f"{result['p95_last_over_first']}x", "", "",
                     f"<= {GOALS['p95_last_over_first']}x"))
    return rows
