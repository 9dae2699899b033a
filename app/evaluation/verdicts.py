"""Verdict figures: how the three verdicts fall on answerable and unanswerable questions, the ROC
AUC of the confidence, and the calibration that chooses the two thresholds.

The calibration objective (also in docs/evaluation.md): a wrong refusal costs the user the answer, an
uncertain answer costs a glance at a quote. So
1. the floor ("not_found" below it) is the highest score that refuses at most `max_false_refusal`
   of the answerable questions;
2. the threshold ("answered" at or above it) maximises answerable-answered minus
   unanswerable-answered (Youden's J), among thresholds that give "answered" to at most
   `max_unanswerable_answered` of the unanswerable questions; ties go to the lower threshold.

>>> roc_auc([0.9, 0.8, 0.3], [False, False, True])
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

from app.evaluation import uncertainty

VERDICTS = ("answered", "uncertain", "not_found")


def verdict_table(verdicts: Sequence[str], unanswerable: Sequence[bool]) -> dict[str, dict[str, int]]:
    """Counts of each verdict for answerable and for unanswerable questions.

    >>> verdict_table(["answered", "uncertain", "not_found", "answered"], [False, False, True, True])
    {'answerable': {'answered': 1, 'uncertain': 1, 'not_found': 0}, \
'unanswerable': {'answered': 1, 'uncertain': 0, 'not_found': 1}}
    """
    if len(verdicts) != len(unanswerable):
        raise ValueError(f"{len(verdicts)} verdicts for {len(unanswerable)} labels")
    table = {"answerable": dict.fromkeys(VERDICTS, 0), "unanswerable": dict.fromkeys(VERDICTS, 0)}
    for v, u in zip(verdicts, unanswerable, strict=True):
        table["unanswerable" if u else "answerable"][v] += 1
    return table


def roc_auc(confidence: Sequence[float], unanswerable: Sequence[bool]) -> float | None:
    """P(an answerable question gets a higher confidence than an unanswerable one), ties counting
    half; None when either class is empty (`uncertainty.roc_auc` with answerable as the positives).

    >>> roc_auc([0.5, 0.5, 0.2, 0.7], [False, True, True, False])
    0.875
    """
    return uncertainty.roc_auc(confidence, [not u for u in unanswerable])


def _candidates(scores: Sequence[float]) -> list[float]:
    distinct = sorted(set(float(s) for s in scores))
    return [distinct[0], *[(a + b) / 2 for a, b in zip(distinct, distinct[1:], strict=False)], distinct[-1] + 1e-6]


def choose_verdict_thresholds(scores: Sequence[float], unanswerable: Sequence[bool], max_false_refusal: float = 0.02,
                              max_unanswerable_answered: float = 0.25) -> dict[str, float]:
    """The floor and threshold under the objective above, with the figures they give.

    >>> r = choose_verdict_thresholds([0.9, 0.6, 0.5, 0.4, 0.3, 0.1], [False, False, True, False, True, True])
    >>> r["floor"], r["threshold"], r["hard_false_refusal_rate"], r["unanswerable_answered_rate"]
    (0.35, 0.55, 0.0, 0.0)
    """
    if not scores or len(scores) != len(unanswerable):
        raise ValueError(f"{len(scores)} scores for {len(unanswerable)} labels")
    pos = [float(s) for s, u in zip(scores, unanswerable, strict=True) if not u]
    neg = [float(s) for s, u in zip(scores, unanswerable, strict=True) if u]
    if not pos or not neg:
        raise ValueError("calibration needs answerable and unanswerable questions")
    cands = _candidates(scores)
    floor = max(t for t in cands if sum(s < t for s in pos) <= max_false_refusal * len(pos))
    best: tuple[float, float] | None = None
    for t in (c for c in cands if c >= floor):
        answered_neg = sum(s >= t for s in neg) / len(neg)
        if answered_neg > max_unanswerable_answered:
            continue
        j = sum(s >= t for s in pos) / len(pos) - answered_neg
        if best is None or j > best[0]:
            best = (j, t)
    threshold = best[1] if best is not None else cands[-1]
    return {"floor": floor, "threshold": threshold,
            "hard_false_refusal_rate": sum(s < floor for s in pos) / len(pos),
            "answerable_answered_rate": sum(s >= threshold for s in pos) / len(pos),
            "unanswerable_answered_rate": sum(s >= threshold for s in neg) / len(neg),
            "unanswerable_not_found_rate": sum(s < floor for s in neg) / len(neg),
            "max_false_refusal": max_false_refusal, "max_unanswerable_answered": max_unanswerable_answered}


def verdict_summary(records: Sequence[dict], hit_key: str = "hit@3_any") -> dict:
    """Verdict figures of one run from per-question records holding "answerable", "verdict",
    "confidence" and, for answerable ones, `hit_key` (the gold evidence in the quotes shown by an
    "answered" or "uncertain" verdict). Rates carry 95% Wilson intervals."""
    unanswerable = [not r["answerable"] for r in records]
    table = verdict_table([r["verdict"] for r in records], unanswerable)
    n_pos, n_neg = sum(table["answerable"].values()), sum(table["unanswerable"].values())
    hits = sum(bool(r.get(hit_key)) for r in records if r["answerable"])
    figures = {
        "hard_false_refusal_rate": (table["answerable"]["not_found"], n_pos),
        "answerable_not_refused_rate": (n_pos - table["answerable"]["not_found"], n_pos),  # a >= gate for CI
        "unanswerable_answered_rate": (table["unanswerable"]["answered"], n_neg),
        "hit@3_answered_or_uncertain": (hits, n_pos),
    }
    paired = [r for r in records if r["answerable"] and "original_hit@3_any" in r]
    if paired:  # paraphrases beside their original wording (issue 29's goal: the ratio >= 0.9)
        figures["original_hit@3_answered_or_uncertain"] = (sum(bool(r["original_hit@3_any"]) for r in paired),
                                                           len(paired))
    out: dict = {"verdicts": table, "confidence_auc": roc_auc([r["confidence"] for r in records], unanswerable)}
    for key, (k, n) in figures.items():
        out[key] = k / n if n else None
        out[f"{key}_interval"] = list(uncertainty.rate_interval(k, n)) if n else None
        out[f"{key}_count"] = [k, n]
    if paired:
        original = out["original_hit@3_answered_or_uncertain"]
        mine = sum(bool(r.get(hit_key)) for r in paired) / len(paired)
        out["paraphrase_ratio"] = mine / original if original else None
    return out
