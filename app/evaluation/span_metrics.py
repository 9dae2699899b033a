"""Span metrics as the official SQuAD evaluation script defines them, and the span summary the suites print.

Normalisation: lower case, punctuation removed, the articles a/an/the removed, whitespace collapsed.
EM is 1 when a normalised prediction equals a normalised gold answer; F1 is the token-overlap F1,
both maximised over the gold answers. No span given counts 0 in "overall" figures.

>>> exact_match("The Eiffel Tower!", ["eiffel tower"]), round(f1_score("in 1889", ["1889"]), 4)
(1.0, 0.6667)
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from app.evaluation.uncertainty import mean_interval, rate_interval

_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The SQuAD normalisation.

    >>> normalize_answer("  The  Battle of Hastings, 1066.")
    'battle of hastings 1066'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g:
        return float(p == g)
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """Token F1 against the best gold answer.

    >>> f1_score("seven years in prison", ["seven years"])
    0.6666666666666666
    """
    return max((_f1(prediction, g) for g in golds), default=0.0)


def span_summary(predictions: Sequence[str | None], golds: Sequence[Sequence[str]]) -> dict:
    """EM and F1 over answerable questions (no span: 0), coverage (share given a span) and EM/F1 when given,
    each with a 95% interval.

    >>> s = span_summary(["1889", None, "in Paris"], [["1889"], ["Eiffel"], ["Paris"]])
    >>> s["em"], round(s["f1"], 4), round(s["coverage"], 4), s["f1_when_given"], s["n"], s["given"]
    (0.3333333333333333, 0.5556, 0.6667, 0.8333333333333333, 3, 2)
    """
    ems = [exact_match(p, g) if p is not None else 0.0 for p, g in zip(predictions, golds, strict=True)]
    f1s = [f1_score(p, g) if p is not None else 0.0 for p, g in zip(predictions, golds, strict=True)]
    given = [i for i, p in enumerate(predictions) if p is not None]
    n = len(predictions)
    out = {"n": n, "given": len(given),
           "em": sum(ems) / n if n else 0.0, "em_interval": _listed(mean_interval(ems)) if n else None,
           "f1": sum(f1s) / n if n else 0.0, "f1_interval": _listed(mean_interval(f1s)) if n else None,
           "coverage": len(given) / n if n else 0.0,
           "coverage_interval": _listed(rate_interval(len(given), n)) if n else None}
    g_em, g_f1 = [ems[i] for i in given], [f1s[i] for i in given]
    out["em_when_given"] = sum(g_em) / len(given) if given else None
    out["f1_when_given"] = sum(g_f1) / len(given) if given else None
    out["f1_when_given_interval"] = _listed(mean_interval(g_f1)) if len(given) > 1 else None
    return out


def _listed(interval) -> list[float]:
    return [float(x) for x in interval]


def span_matches_fact(span: str, facts: Sequence[str]) -> bool:
    """Whether a span and one of the facts hold each other, after normalisation (either inside the other).

    >>> span_matches_fact("as many as 700", ["700"]), span_matches_fact("2011", ["December 16, 2011"])
    (True, True)
    >>> span_matches_fact("Almaty", ["700"]), span_matches_fact("7", ["700"])
    (False, False)
    """
    s = f" {normalize_answer(span)} "
    for fact in facts:
        f = f" {normalize_answer(fact)} "
        if f.strip() and s.strip() and (f in s or s in f):
            return True
    return False


def report_span_summary(records: Sequence[dict]) -> dict:
    """The report suite's span figures: over answerable questions, the share given a span, the share of
    given spans that match a fact, and F1 against the facts (no span: 0); over unanswerable ones, the
    share given a span.

    >>> recs = [{"answerable": True, "span": "700", "facts": ["as many as 700"]},
    ...         {"answerable": True, "span": None, "facts": ["2011"]},
    ...         {"answerable": False, "span": "Almaty"}, {"answerable": False, "span": None}]
    >>> s = report_span_summary(recs)
    >>> # F1 of "700" against "as many as 700": precision 1, recall 1/4, F1 0.4; with no span (0): mean 0.2
    >>> s["span_coverage"], s["span_fact_when_given"], round(s["span_f1"], 4), s["unanswerable_given_span"]
    (0.5, 1.0, 0.2, 0.5)
    """
    ans = [r for r in records if r["answerable"]]
    una = [r for r in records if not r["answerable"]]
    given = [r for r in ans if r["span"] is not None]
    f1s = [f1_score(r["span"], r["facts"]) if r["span"] is not None else 0.0 for r in ans]
    return {"span_coverage": len(given) / len(ans) if ans else None,
            "span_fact_when_given": (sum(span_matches_fact(r["span"], r["facts"]) for r in given) / len(given)
                                     if given else None),
            "span_f1": sum(f1s) / len(f1s) if f1s else None,
            "unanswerable_given_span": sum(r["span"] is not None for r in una) / len(una) if una else None}


def first_span(quotes) -> str | None:
    """The answer span's text of the first quote that has one (None: no span given).

    >>> from app.answer.quote import Quote
    >>> first_span([Quote(1, "No span.", "d", 0, 8, 1, None, 0.5), Quote(2, "In 1889.", "d", 9, 17, 1, None, 0.4,
    ...                                                                    (12, 16))])
    '1889'
    """
    for q in quotes:
        if q.answer is not None:
            return q.text[q.answer[0] - q.start:q.answer[1] - q.start]
    return None
