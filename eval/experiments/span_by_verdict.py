"""How good are the bold answer spans under each verdict? SQuAD F1 of the shown span against the facts.

For every answerable question with gold facts, the first quote's answer span (when one is shown) is
scored against them (app/evaluation/span_metrics.py); figures are grouped by verdict. Issue 29 item 4:
a span is shown under "uncertain" only if its F1 there is within `MARGIN` of its F1 under "answered".

    python eval/experiments/span_by_verdict.py --index /tmp/x/index             # the report questions
    python eval/experiments/span_by_verdict.py --index /tmp/x/index --squad ../shared/benchmarks/xquad/xquad.en.dev.json
    ... --write   # the figures into app/answer/span_precision.json (development data only, never eval/heldout)

The rule reads that file (app/answer/direct.py `spans_under_uncertain`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.answer.assistant import Assistant  # noqa: E402
from app.answer.direct import PRECISION_FILE  # noqa: E402
from app.evaluation.span_metrics import f1_score, first_span  # noqa: E402
from app.settings import AnswerSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# spans shown under every verdict but not_found while measuring (what the rule then decides on)
SHOW_ALL = {"all": {"answered": {"spans": 1, "f1": 0.0}, "uncertain": {"spans": 1, "f1": 0.0}}}


def show_all(folder: Path) -> AnswerSettings:
    (folder / "show_all.json").write_text(json.dumps(SHOW_ALL))
    return AnswerSettings(span_precision=str(folder / "show_all.json"))


def report_rows(index: Path, settings: AnswerSettings) -> list[tuple[str, float]]:
    """(verdict, span F1) of each report question whose answer shows a span."""
    assistant = Assistant.load(index, settings=settings)
    rows = []
    for line in (REPO / "eval" / "report_questions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if not item.get("answerable") or not item.get("facts"):
            continue
        answer = assistant.ask(item["question"])
        span = first_span(answer.quotes) if answer.verdict != "not_found" else None
        if span is not None:
            rows.append((answer.verdict, f1_score(span, item["facts"])))
    return rows


def squad_rows(data: Path, limit: int | None, settings: AnswerSettings) -> list[tuple[str, float]]:
    from app.evaluation.squad import run_squad

    with tempfile.TemporaryDirectory() as out:
        run_squad(data, modes=("hybrid",), out_dir=Path(out), limit=limit, cache_dir=Path(out) / "cache",
                  answer_settings=settings)
        files = sorted(Path(out).glob("*.jsonl"))
        items = [json.loads(x) for f in files for x in f.read_text(encoding="utf-8").splitlines()]
    return [(it["hybrid"]["verdict"], f1_score(it["hybrid"]["span"], it["answers"])) for it in items
            if "hybrid" in it and it["hybrid"]["span"] is not None and it["hybrid"]["verdict"] != "not_found"]


def summary(rows: list[tuple[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for verdict in ("answered", "uncertain"):
        f1s = [f for v, f in rows if v == verdict]
        out[verdict] = {"spans": len(f1s), "f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--squad", type=Path, help="a SQuAD-format file (development data) to measure too")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--write", action="store_true", help=f"write the figures to {PRECISION_FILE.name}")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = show_all(Path(tmp))
        figures = {"report": summary(report_rows(args.index, settings))}
        if args.squad:
            figures["squad"] = summary(squad_rows(args.squad, args.limit, settings))
    print(json.dumps(figures, indent=1))
    if args.write:
        PRECISION_FILE.write_text(json.dumps({**figures, "measured_with": " ".join(sys.argv[1:])}, indent=1) + "\n")


if __name__ == "__main__":
    main()
