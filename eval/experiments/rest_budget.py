"""The CPU budget of a REST answer at 20 clients, this tree against earlier revisions, interleaved.

For each run, each worker count and each revision (the named ones in order, then this tree): `verbatim
serve` from that revision's code on the same index, one REST level of `--clients` closed-loop
clients (app/bench/clients.py), charged its CPU (app/bench/budget.py: the server's process tree and
this process, the clients, per answer) and the batches the server formed. Then medians per
revision and worker count, and the bound on efficiency each budget sets. Capacity is the warm
in-process ask of *this* tree (app/bench/load.py), measured once at the start.

    mkdir /tmp/main && git archive main | tar -x -C /tmp/main     # a revision to compare against
    nice -n 10 python eval/experiments/rest_budget.py --index index/default --revision main=/tmp/main \\
        --runs 3 --out rest-budget.json
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from app.bench.clients import rest_level
from app.bench.common import median, question_variants, read_questions
from app.bench.load import batch_costs, budget, charged, in_process, stop_server
from app.bench.load import serve_process as serve

log = logging.getLogger("rest_budget")


def serve_from(root: Path | None, index: Path, workers: int, work: Path):
    """`verbatim serve` with the code of `root` (None: this tree)."""
    command = None
    if root is not None:  # python -c puts the working directory first on sys.path: put the baseline before it
        command = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(root)!r}); "
                                         "from app.cli import main; main()"]
    proc, url, _ = serve(["--index", str(index), "--workers", str(workers), "--feedback", str(work / "f.jsonl")],
                         work, command=command)
    return proc, url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--revision", action="append", default=[], metavar="NAME=PATH",
                    help="a checkout of a revision to compare against (repeatable; run in the order given)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--out", type=Path, default=Path("rest-budget.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would be charged to the clients
    from app.answer.assistant import Assistant

    questions = question_variants(read_questions())
    assistant = Assistant.load(args.index, mmap=True)
    result: dict = {"load_average_at_start": os.getloadavg(), "in_process": in_process(assistant, questions),
                    "runs": {}}
    revisions: dict[str, Path | None] = {n: Path(p) for n, p in (r.split("=", 1) for r in args.revision)}
    revisions["this"] = None
    levels: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="rest-budget-") as tmp:
        for r in range(args.runs):
            for w in (int(x) for x in args.workers.split(",")):
                for name, root in revisions.items():
                    proc, url = serve_from(root, args.index, w, Path(tmp))
                    try:
                        rest_level(url, questions, args.clients, 100, 10.0)  # warm every worker
                        level = charged(proc, url, w, functools.partial(
                            rest_level, url, questions, args.clients, args.requests, args.seconds))
                    finally:
                        stop_server(proc)
                    level.update({"run": r, "workers": w, "revision": name, "load_average": os.getloadavg()[0]})
                    log.info("%s %dw: %s/s, server %s + clients %s ms CPU per answer, batches %s", name, w,
                             level["throughput_per_s"], level["server_cpu_ms_per_answer"],
                             level["client_cpu_ms_per_answer"], level["batches"])
                    levels.setdefault(f"{name} {w}w", []).append(level)
    costs = batch_costs(assistant, questions, {"runs": {"all": {"rest": [x for v in levels.values() for x in v]}}})
    ip = result["in_process"]
    for key, runs in levels.items():
        for level in runs:
            budget(level, ip["cores"], ip["capacity_per_s"], costs)
        med = {f: median([x[f] for x in runs if x.get(f) is not None] or [0.0]) for f in (
            "throughput_per_s", "server_cpu_ms_per_answer", "client_cpu_ms_per_answer", "efficiency_bound",
            "efficiency_bound_without_clients", "p50_ms", "encode_mean_batch", "parse_mean_batch",
            "encode_cpu_ms_per_question", "parse_cpu_ms_per_question")}
        med["efficiency"] = round(med["throughput_per_s"] / ip["capacity_per_s"], 4)
        result["runs"][key] = {"median": med, "levels": runs}
        print(f"{key}: " + ", ".join(f"{k} {v:.3f}" for k, v in med.items()))
    result.update({"batch_cpu_ms": costs, "load_average_at_end": os.getloadavg(), "finished": time.ctime()})
    print(f"in-process: {ip['seconds_per_ask'] * 1000:.2f} ms wall, {ip['cpu_seconds_per_ask'] * 1000:.2f} ms CPU "
          f"per ask; capacity {ip['capacity_per_s']}/s; batch CPU ms {costs}")
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
