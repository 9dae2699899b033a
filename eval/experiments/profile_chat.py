"""Where the chat's time goes: py-spy on `verbatim serve` (1 worker) while 20 clients ask, as in
docs/performance.md ("Where the chat's time went").

    .venv/bin/python eval/experiments/profile_chat.py [OUT_DIR] [sse|gradio_client|rest]

Records the server (and, for gradio_client, this process: the clients) with `py-spy record
--format raw --threads` for 18 s while 20 sessions ask the report's questions, then prints the
functions holding the most busy (not waiting) samples, inclusive. Needs py-spy (dev extra) and the
index of the bundled report (`verbatim index build`; `VERBATIM_INDEX` names another). `rest`
records the JSON API's path (`POST /api/v1/ask`, asyncio + httpx clients) and the clients too.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.bench.clients import chat_level, rest_level, sse_level
from app.bench.common import question_variants, read_questions
from app.bench.load import start_server, stop_server
from app.settings import DEFAULT_INDEX_DIR

IDLE = ("Condition.wait", "EpollSelector.select", "SyncStream.read", "block_thread", "_wait_for_tstate_lock",
        "Popen._try_wait", "Event.wait", "time.sleep")


def busy_functions(raw: Path, top: int = 40) -> list[tuple[float, str]]:
    """(share of busy samples, function) from a py-spy raw file: stacks ending in a wait are idle."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        frames = stack.split(";")
        if any(i in frames[-1] for i in IDLE):
            continue
        total += int(n)
        for name in {f.split(" (")[0] for f in frames[1:]}:
            counts[name] += int(n)
    return [(v / total, k) for k, v in counts.most_common(top)] if total else []


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="verbatim-profile-"))
    kind = sys.argv[2] if len(sys.argv) > 2 else "sse"
    out.mkdir(parents=True, exist_ok=True)
    questions = question_variants(read_questions())
    proc, url = start_server(DEFAULT_INDEX_DIR, 1, out)
    try:
        level = {"sse": sse_level, "rest": rest_level}.get(kind, chat_level)
        level(url, questions, 1, 10, 5)  # warm: the first events of a process
        spies = [subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--duration", "18", "--rate", "200",
                                   "--format", "raw", "--threads", "-o", str(out / f"{name}.txt")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name, pid in [("server", proc.pid)] + ([("clients", os.getpid())] if kind != "sse" else [])]
        time.sleep(1)
        print(kind, level(url, questions, 20, 100_000, 15))
        for spy in spies:
            spy.wait()
    finally:
        stop_server(proc)
    for name in ("server", "clients"):
        if (out / f"{name}.txt").exists():
            print(f"\n{name}: busy samples by function (inclusive)")
            for share, fn in busy_functions(out / f"{name}.txt"):
                print(f"{share:6.1%}  {fn}")


if __name__ == "__main__":
    main()
