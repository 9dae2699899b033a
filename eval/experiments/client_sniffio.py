"""What the load bench's clients spend per request with and without `sniffio` importable.

httpcore's `current_async_library()` runs `import sniffio` on every lock, event and semaphore setup
(several per request); anyio >= 4.11 no longer installs sniffio, and a failed import is not cached,
so each try searches sys.path (encode/httpcore#1103). Here one `verbatim serve` (1 worker) answers
REST levels of 20 clients (app/bench/clients.py) from this process, alternately with sniffio
importable and with it hidden (a finder that does the search a missing module costs, then fails),
and this process's CPU per answer is charged each level.

    nice -n 10 python eval/experiments/client_sniffio.py --index index/default --rounds 3
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import logging
import sys
import tempfile
from pathlib import Path

from app.bench.budget import own_cpu, per_answer
from app.bench.clients import rest_level
from app.bench.common import median, question_variants, read_questions
from app.bench.load import start_server, stop_server


class Hidden(importlib.abc.MetaPathFinder):
    """Makes `import sniffio` fail as it does when sniffio is not installed, after the same sys.path search."""

    on = False

    def find_spec(self, name, path=None, target=None):
        if self.on and name == "sniffio":
            importlib.machinery.PathFinder.find_spec("sniffio_not_installed")
            raise ModuleNotFoundError("No module named 'sniffio'", name=name)
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=600)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    hidden = Hidden()
    sys.meta_path.insert(0, hidden)
    questions = question_variants(read_questions())
    costs: dict[str, list[float]] = {"sniffio installed": [], "sniffio missing": []}
    with tempfile.TemporaryDirectory(prefix="client-sniffio-") as tmp:
        proc, url = start_server(args.index, 1, Path(tmp))
        try:
            rest_level(url, questions, 20, 100, 10.0)  # warm
            for _ in range(args.rounds):
                for name in costs:
                    hidden.on = name == "sniffio missing"
                    sys.modules.pop("sniffio", None)
                    c0 = own_cpu()
                    level = rest_level(url, questions, 20, args.requests, 30.0)
                    costs[name].append(per_answer(own_cpu() - c0, level["answered"]))
                    print(f"{name}: {costs[name][-1]} ms CPU per answer, {level['throughput_per_s']}/s", flush=True)
        finally:
            stop_server(proc)
    for name, values in costs.items():
        print(f"{name}: median {median(values):.3f} ms of client CPU per answer over {values}")


if __name__ == "__main__":
    main()
