"""The CPU budget of one answered request, measured: what the server and the load generator spend.

During a REST level (app/bench/clients.py) the server's process tree (the parent and its workers,
from /proc) and this process (the asyncio clients) are charged their CPU seconds, before and after,
divided by the answers. CPU time is what other jobs on a shared machine disturb least (wall figures
are not). With both on the same cores, no server can answer more than

    cores / (server CPU + client CPU per answer)

per second, so efficiency (answers per second / capacity, app/bench/load.py) can be no higher than
that divided by the capacity: `efficiency_bound`.

The batching queues' sizes come from each worker's `/api/v1/health` (`batches`: how many batches of
each size it ran since it started); the difference over a level is what that load formed. The
encoder's and the question parse's CPU per question at those sizes (`per_question`) is measured in
this process on the same model, a batch of each size formed.
"""

from __future__ import annotations

import os
import resource
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process has used; 0.0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3, utime 14, stime 15
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu() -> float:
    """CPU seconds this process (every thread) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def per_answer(cpu_seconds: float, answers: int) -> float | None:
    """CPU milliseconds per answer, None without answers.

    >>> per_answer(1.5, 600)
    2.5
    """
    return round(cpu_seconds / answers * 1000, 3) if answers else None


def efficiency_bound(cores: int, server_ms: float, client_ms: float, capacity_per_s: float) -> float | None:
    """The highest efficiency the machine allows when server and clients share its cores: answers per
    second at full use of every core, cores / (server + client CPU per answer), over the capacity.

    >>> efficiency_bound(2, 8.0, 2.0, 100.0)  # 2 cores / 10 ms = 200 answers/s at most; 200 / 100
    2.0
    """
    per = (server_ms + client_ms) / 1000
    return round(cores / per / capacity_per_s, 4) if per > 0 and capacity_per_s else None


def merged(counts: Sequence[Mapping[str, Mapping[str, int]]]) -> dict[str, Counter]:
    """Batch counts of several workers (health's `batches`), summed per queue, sizes as integers.

    >>> merged([{"parse": {"1": 3, "2": 1}}, {"parse": {"2": 2}, "encode": {"4": 1}}])
    {'parse': Counter({1: 3, 2: 3}), 'encode': Counter({4: 1})}
    """
    out: dict[str, Counter] = {}
    for one in counts:
        for queue, sizes in one.items():
            out.setdefault(queue, Counter()).update({int(s): n for s, n in sizes.items()})
    return out


def formed(before: Mapping[str, Counter], after: Mapping[str, Counter]) -> dict[str, dict[int, int]]:
    """The batches run between two readings of the counts, per queue and size (zeros left out).

    >>> formed({"parse": Counter({1: 3})}, {"parse": Counter({1: 5, 4: 2})})
    {'parse': {1: 2, 4: 2}}
    """
    return {q: {s: n for s, n in sorted((after[q] - before.get(q, Counter())).items())} for q in after}


def mean_batch(sizes: Mapping[int, int]) -> float | None:
    """Questions per batch over a count of batches by size.

    >>> mean_batch({1: 2, 4: 2})  # 2 batches of 1 and 2 of 4: 10 questions in 4 batches
    2.5
    """
    batches = sum(sizes.values())
    return round(sum(s * n for s, n in sizes.items()) / batches, 3) if batches else None


def per_question(sizes: Mapping[int, int], batch_cost: Mapping[int, float]) -> float | None:
    """Cost per question when the batches ran in these sizes: the cost of each batch (`batch_cost[size]`,
    one batch of that size) summed, over the questions.

    >>> per_question({1: 2, 4: 2}, {1: 3.0, 4: 6.0})  # (2 x 3 + 2 x 6) / (2 + 8) questions
    1.8
    """
    questions = sum(s * n for s, n in sizes.items())
    return round(sum(batch_cost[s] * n for s, n in sizes.items()) / questions, 4) if questions else None


def batch_cpu(run: Callable[[list[str]], object], texts: Sequence[str], sizes: Sequence[int],
              rounds: int = 3) -> dict[int, float]:
    """CPU milliseconds of `run` over one batch of each size (batches cut from `texts` in turn, sizes
    interleaved in each round; the median over the batches)."""
    from app.bench.common import median

    costs: dict[int, list[float]] = {s: [] for s in sizes}
    for r in range(rounds):
        for size in sizes:
            for i in range(0, max(len(texts) - size + 1, 1), max(size, 8)):
                batch = [texts[(i + j + r) % len(texts)] for j in range(size)]
                c0 = time.process_time()
                run(batch)
                costs[size].append((time.process_time() - c0) * 1000)
    return {s: round(median(c), 4) for s, c in costs.items()}


def health_counts(url: str, workers: int, tries: int = 60) -> list[dict]:
    """Each worker's `batches` from /api/v1/health (new connections until every worker has answered;
    the kernel spreads them)."""
    import httpx

    seen: dict[int, dict] = {}
    for _ in range(tries):
        body = httpx.get(f"{url}/api/v1/health", timeout=10).json()
        seen[body["worker_pid"]] = body.get("batches", {})
        if len(seen) >= workers:
            break
    return list(seen.values())
