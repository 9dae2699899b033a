"""What every bench section shares: statistics, machine facts, questions, the table and the JSON file.

>>> summarize([0.010, 0.020, 0.030, 0.040])
{'n': 4, 'p50_ms': 25.0, 'p95_ms': 38.5, 'mean_ms': 25.0}
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.evaluation.metrics import latency_summary, percentile
from app.files import write_atomic
from app.settings import PROJECT_ROOT

QUESTIONS_FILE = PROJECT_ROOT / "eval" / "report_questions.jsonl"
MIN_QUESTIONS = 200
GOALS = {"ask_over_floor": 1.5, "build_over_bare": 0.9, "start_seconds": 15.0, "onnx_speedup": 1.5,
         "onnx_ndcg_delta": 0.005, "brief_read_ms": 5.0}

Row = tuple[str, str, str, str, str]  # figure, value, baseline, ratio, goal


# ---------------------------------------------------------------- statistics


def summarize(seconds: Sequence[float]) -> dict:
    """Count, p50, p95 and mean of durations given in seconds, reported in milliseconds."""
    return latency_summary(seconds, counted=True)


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count).

    >>> median([3, 1, 2]), median([4, 1, 3, 2])
    (2.0, 2.5)
    """
    return percentile(values, 50)


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, rounded; None when the baseline is zero."""
    return round(value / baseline, 4) if baseline else None


def memory_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss), in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def machine() -> dict:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_1_5_15": [round(x, 2) for x in load]}


# ---------------------------------------------------------------- questions


def read_questions(path: Path = QUESTIONS_FILE) -> list[str]:
    """The "question" of every JSON line (plain lines are questions too)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line)["question"] if line.startswith("{") else line)
    return out


def question_variants(questions: Sequence[str], minimum: int = MIN_QUESTIONS) -> list[str]:
    """The questions, then rewordings of them (lower case, a polite lead-in, a clause moved first,
    "according to the report"), until there are at least `minimum` distinct ones.

    >>> question_variants(["Who wrote it?"], 3)
    ['Who wrote it?', 'who wrote it?', 'Please tell me: who wrote it?']
    """
    def lower_first(q: str) -> str:
        return q[:1].lower() + q[1:]

    def reorder(q: str) -> str:  # "A, B?" -> "B, A?"
        body, end = (q[:-1], q[-1]) if q[-1:] in "?." else (q, "")
        if ", " not in body:
            return f"In the report, {lower_first(q)}"
        head, tail = body.split(", ", 1)
        return f"{tail[:1].upper()}{tail[1:]}, {lower_first(head)}{end}"

    rewrites: list[Callable[[str], str]] = [
        lambda q: q, lambda q: q.lower(), lambda q: f"Please tell me: {lower_first(q)}", reorder,
        lambda q: f"According to the report, {lower_first(q)}", lambda q: f"{q.rstrip('?.')} - what does it say?",
    ]
    out: list[str] = []
    seen: set[str] = set()
    for rewrite in rewrites:
        for q in questions:
            v = rewrite(q.strip())
            if v not in seen:
                seen.add(v)
                out.append(v)
            if len(out) >= minimum and rewrite is not rewrites[0]:
                return out
    return out


# ---------------------------------------------------------------- processes and output


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verbatim_cmd() -> list[str]:
    """The `verbatim` script beside this Python (the venv's), else the one on PATH."""
    import click

    script = Path(sys.executable).parent / "verbatim"
    found = str(script) if script.exists() else shutil.which("verbatim")
    if found is None:
        raise click.ClickException("the `verbatim` command is not installed; run `make install`")
    return [found]


def ms(s: dict) -> str:
    """'p50 / p95' of a `summarize` result."""
    return f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f}"


def render_table(rows: list[Row], machine_facts: dict) -> str:
    """Rows as an aligned text table (figure, value, baseline, ratio, goal) with the machine's load below."""
    header = ("figure", "value", "baseline", "ratio", "goal")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m = machine_facts or {}
    lines.append(f"\n{m.get('cpus')} CPUs, load average at start {m.get('load_average_1_5_15')}, "
                 f"at end {m.get('load_average_at_end')}; figures are medians over repeats, latencies p50 / p95.")
    return "\n".join(lines)


def write_json(result: dict, path: Path) -> None:
    write_atomic(Path(path), json.dumps(result, indent=2, ensure_ascii=False) + "\n")
