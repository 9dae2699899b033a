"""REST levels of 1, 20 and 100 closed-loop clients against `verbatim serve --workers 2`, three rounds,
each level charged its server and client CPU per answer (as `verbatim bench --sections load` does),
with the server's log kept in --work for restarts and errors.

    python eval/experiments/load_levels.py [--index index/default] [--work /tmp/load-levels] [--rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

from app.bench.clients import rest_level
from app.bench.common import question_variants, read_questions
from app.bench.load import REST_REQUESTS, charged, start_server, stop_server

FIGURES = ("answered", "errors", "throughput_per_s", "p50_ms", "p95_ms", "server_cpu_ms_per_answer",
           "client_cpu_ms_per_answer", "server_processes_changed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=Path("index/default"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/load-levels"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    questions = question_variants(read_questions())
    proc, url = start_server(args.index, args.workers, args.work)
    try:
        for round_no in range(args.rounds):
            for clients in (1, 20, 100):
                t0 = time.time()
                level = functools.partial(rest_level, url, questions, clients, REST_REQUESTS.get(clients, 10 * clients),
                                          30.0)
                out = charged(proc, url, args.workers, level)
                print(json.dumps({"round": round_no, "clients": clients, **{k: out.get(k) for k in FIGURES},
                                  "seconds": round(time.time() - t0, 1)}), flush=True)
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
