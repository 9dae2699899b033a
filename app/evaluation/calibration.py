"""Calibration: choose the verdict thresholds on a report-suite run, for the index it ran on.

`calibrate` applies the objective of `verdicts.choose_verdict_thresholds` to one run's questions
and adds a leave-one-out estimate; `calibration_record` is what `verbatim eval --calibrate` stores
beside the index (`Calibration`, app/index/store.py).

>>> run = {"threshold": 0.5, "questions": {"hybrid": [{"score": s, "answerable": a} for s, a in
...        [(0.9, True), (0.6, True), (0.5, False), (0.4, True), (0.3, False), (0.1, False)]]}}
>>> choice = calibrate(run)
>>> choice["floor"], choice["threshold"]
(0.35, 0.55)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from app.evaluation.metrics import abstention_scores
from app.evaluation.verdicts import choose_verdict_thresholds


def calibrate(result: Mapping, method: str = "hybrid") -> dict:
    """The verdict thresholds (floor and threshold, see `verdicts`) chosen on this run's questions, the
    abstention F1 of the threshold, the figures at the threshold in use, and a leave-one-out estimate
    of how well the choice carries over (each question judged by thresholds chosen on the others)."""
    records = result["questions"][method]
    scores = [r["score"] for r in records]
    unanswerable = [not r["answerable"] for r in records]
    verdicts = choose_verdict_thresholds(scores, unanswerable)
    chosen = {**abstention_scores([s < verdicts["threshold"] for s in scores], unanswerable), **verdicts}
    current = abstention_scores([x < result["threshold"] for x in scores], unanswerable)
    loo_refused, loo_not_found = [], []
    for i in range(len(scores)):
        others = unanswerable[:i] + unanswerable[i + 1:]
        rest = (choose_verdict_thresholds(scores[:i] + scores[i + 1:], others)
                if any(others) and not all(others) else verdicts)  # a class left empty: keep the full choice
        loo_refused.append(scores[i] < rest["threshold"])
        loo_not_found.append(scores[i] < rest["floor"])
    held_out = abstention_scores(loo_refused, unanswerable)
    n_pos = sum(not u for u in unanswerable)
    return {**chosen, "method": method, "previous_threshold": result["threshold"],
            "previous_f1": current["f1"], "previous_false_refusal_rate": current["false_refusal_rate"],
            "leave_one_out_f1": held_out["f1"], "leave_one_out_false_refusal_rate": held_out["false_refusal_rate"],
            "leave_one_out_hard_false_refusal_rate":
                sum(nf and not u for nf, u in zip(loo_not_found, unanswerable, strict=True)) / n_pos}


def calibration_record(choice: Mapping, chosen_on: str) -> dict:
    """The index's calibration as stored (`Calibration`, app/index/store.py): the thresholds, how chosen."""
    record = {"threshold": choice["threshold"], "floor": choice["floor"],
              "objective": f"floor: at most {choice['max_false_refusal']:.0%} of answerable questions not_found; "
                           "threshold: most answerable minus unanswerable answered, with at most "
                           f"{choice['max_unanswerable_answered']:.0%} of unanswerable answered",
              "hard_false_refusal_rate": round(choice["hard_false_refusal_rate"], 6),
              "unanswerable_answered_rate": round(choice["unanswerable_answered_rate"], 6),
              "answerable_answered_rate": round(choice["answerable_answered_rate"], 6),
              "chosen_on": chosen_on, "f1": round(choice["f1"], 6),
              "false_refusal_rate": round(choice["false_refusal_rate"], 6),
              "leave_one_out_f1": round(choice["leave_one_out_f1"], 6),
              "date": dt.date.today().isoformat()}
    return record
