"""Do answer-focus signals separate answerable from unanswerable questions better than the score alone?

    HF_HUB_OFFLINE=1 .venv/bin/python eval/experiments/answer_focus.py [--index index/default] [--heldout]

For each variant of sentence scoring, every question of eval/ (the calibration set) is asked with
hybrid retrieval, and the verdict thresholds are chosen on it under the product's objective
(`choose_verdict_thresholds`). Only with `--heldout` (once, at the end of a change) are the
questions of eval/heldout (never tuned on) asked too, with those thresholds unchanged. Prints, per
variant and set: ROC AUC of the top score, the verdict table, hard false refusals, unanswerable
answered, and hit@3 over answered+uncertain; writes JSON beside it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from app.answer import quote
from app.answer.assistant import Assistant, verdict_for
from app.evaluation.metrics import evidence_hit_at, locate_evidence
from app.evaluation.suite import HELDOUT_DIR, QUESTIONS_FILE, load_questions
from app.evaluation.verdicts import choose_verdict_thresholds, roc_auc, verdict_table
from app.settings import DEFAULT_INDEX_DIR, PROJECT_ROOT

HELDOUT = HELDOUT_DIR / QUESTIONS_FILE.name


@contextmanager
def patched(changes: dict[str, object]):
    old = {k: getattr(quote, k) for k in changes}
    for k, v in changes.items():
        setattr(quote, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(quote, k, v)


def run(assistant: Assistant, questions, documents) -> list[dict]:
    rows = []
    for q in questions:
        a = assistant.with_settings(threshold=-1.0, floor=-1.0).ask(q.question)  # every question answered
        quotes = a.to_dict()["quotes"]
        gold = locate_evidence(q.evidence, documents) if q.answerable else []
        rows.append({"id": q.id, "answerable": q.answerable, "score": quotes[0]["score"] if quotes else 0.0,
                     "quotes": quotes, "hit": bool(q.answerable and evidence_hit_at(quotes, gold, 3))})
    return rows


def figures(rows: list[dict], floor: float, threshold: float) -> dict:
    unanswerable = [not r["answerable"] for r in rows]
    verdicts = [verdict_for(r["score"], threshold, floor) for r in rows]
    table = verdict_table(verdicts, unanswerable)
    pos = [r for r in rows if r["answerable"]]
    offered_hits = sum(r["hit"] for r, v in zip(rows, verdicts, strict=True) if r["answerable"] and v != "not_found")
    return {"auc": roc_auc([r["score"] for r in rows], unanswerable), "verdicts": table,
            "hard_false_refusals": table["answerable"]["not_found"],
            "unanswerable_answered": table["unanswerable"]["answered"],
            "hit@3_offered": offered_hits / len(pos)}


def variants() -> dict[str, Callable[[], dict]]:
    return {
        "product": lambda: {},
        "no answer-type damping": lambda: {"TYPE_MISMATCH_FACTOR": 1.0},
        "stronger answer-type damping (0.5)": lambda: {"TYPE_MISMATCH_FACTOR": 0.5},
        "count relation missing x0.7": lambda: {"RELATION_MISS_FACTOR": 0.7},
        "count relation missing x0.5": lambda: {"RELATION_MISS_FACTOR": 0.5},
        "type 0.5 + relation x0.7": lambda: {"TYPE_MISMATCH_FACTOR": 0.5, "RELATION_MISS_FACTOR": 0.7},
        "type 0.5 + relation x0.5": lambda: {"TYPE_MISMATCH_FACTOR": 0.5, "RELATION_MISS_FACTOR": 0.5},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX_DIR)
    parser.add_argument("--heldout", action="store_true", help="also print the held-out figures (once, at the end)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "eval" / "results" / "answer_focus.json")
    args = parser.parse_args()
    assistant = Assistant.load(args.index)
    documents = {d.doc: d.text for d in assistant.index.documents}
    calib = load_questions(QUESTIONS_FILE)
    held = load_questions(HELDOUT) if args.heldout else []  # not even asked unless asked for
    out = {}
    for name, make in variants().items():
        with patched(make()):
            rows_c = run(assistant, calib, documents)
            rows_h = run(assistant, held, documents) if args.heldout else []
        chosen = choose_verdict_thresholds([r["score"] for r in rows_c], [not r["answerable"] for r in rows_c])
        out[name] = {"floor": chosen["floor"], "threshold": chosen["threshold"],
                     "eval": figures(rows_c, chosen["floor"], chosen["threshold"])}
        if args.heldout:
            out[name]["heldout"] = figures(rows_h, chosen["floor"], chosen["threshold"])
        for part in ("eval", "heldout") if args.heldout else ("eval",):
            f = out[name][part]
            print(f"{name:40s} {part:8s} AUC {f['auc']:.3f}  hard refusals {f['hard_false_refusals']:2d}  "
                  f"unanswerable answered {f['unanswerable_answered']:2d}  hit@3 offered {f['hit@3_offered']:.3f}  "
                  f"{json.dumps(f['verdicts'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
