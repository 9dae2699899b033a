"""What parsing only the question first saves at ask time (app/answer/direct.py).

Compares, in one process and alternating, `with_spans` as of a given commit (question and sentences
parsed in one batch) with today's (the question first; the sentences only when it asks for a span),
over the report suite's questions: median ask time of each, and their ratio; then asks with and
without answer spans (`spans=False`): each question's p50 over the suite, the median of the rounds.

    python eval/experiments/span_parse_cost.py --index /tmp/ho/index --before b2fff68
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.answer import assistant as assistant_module
from app.answer import direct
from app.answer.assistant import Assistant
from app.evaluation.suite import load_questions


def load_old(commit: str):
    source = subprocess.run(["git", "show", f"{commit}:app/answer/direct.py"], capture_output=True, text=True,
                            check=True).stdout
    path = Path(tempfile.mkdtemp()) / "direct_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("direct_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["direct_before"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--before", required=True, help="the commit whose with_spans is the baseline")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    old = load_old(args.before)
    assistant = Assistant.load(args.index)
    questions = [q.question for q in load_questions(Path("eval/report_questions.jsonl"))]
    for q in questions[:5]:
        assistant.ask(q)  # warm up: model, spaCy
    times = {"before": [], "after": []}
    same = 0
    for _ in range(args.rounds):
        for name, fn in (("before", old.with_spans), ("after", direct.with_spans)):
            assistant_module.with_spans = fn
            t0 = time.perf_counter()
            answers = [assistant.ask(q).to_dict() for q in questions]
            times[name].append((time.perf_counter() - t0) / len(questions))
            if name == "before":
                reference = answers
            else:
                same += answers == reference
    assistant_module.with_spans = direct.with_spans
    without = assistant.with_settings(spans=False)
    p50 = {"spans": [], "no spans": []}
    for _ in range(args.rounds):
        for name, who in (("no spans", without), ("spans", assistant)):
            per = []
            for q in questions:
                t0 = time.perf_counter()
                who.ask(q)
                per.append(time.perf_counter() - t0)
            p50[name].append(statistics.median(per))
    with_p50, without_p50 = statistics.median(p50["spans"]), statistics.median(p50["no spans"])
    print(f"ask p50 {with_p50 * 1000:.1f} ms with spans, {without_p50 * 1000:.1f} ms without, "
          f"ratio {with_p50 / without_p50:.2f}")
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"{len(questions)} questions x {args.rounds} rounds: ask median {before * 1000:.1f} ms before, "
          f"{after * 1000:.1f} ms after, ratio {after / before:.3f}; "
          f"identical answers in {same} of {args.rounds} rounds")


if __name__ == "__main__":
    sys.exit(main())
