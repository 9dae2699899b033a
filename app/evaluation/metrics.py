"""Answer-level metrics for the report suite: small functions with exact, tested outputs.

A quote is a dict as in the JSON contract (`text`, `doc`, `start`, `end`, ...). Gold evidence is
given as strings; `locate_evidence` turns each into every span where it occurs in the documents,
so a hit is judged by character offsets, never by fuzzy text matching.

>>> docs = {"a.txt": "The cat sat. The dog ran."}
>>> gold = locate_evidence(["dog ran"], docs)
>>> gold
[[('a.txt', 17, 24)]]
>>> evidence_hit_at([{"text": "The dog ran.", "doc": "a.txt", "start": 13, "end": 25}], gold, 1)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from app.evaluation.ir_metrics import ndcg_at_k, recall_at_k, reciprocal_rank

DocSpan = tuple[str, int, int]  # (document, start, end), end exclusive
RETRIEVAL_KS = (1, 3, 5, 10)

__all__ = [
    "DocSpan", "RETRIEVAL_KS", "locate_evidence", "overlaps", "quote_problems", "faithfulness",
    "evidence_hit_at", "fact_recall_at", "abstention_scores", "percentile", "latency_summary",
    "mean_words_per_quote", "ranked_evidence_ids", "retrieval_scores", "mean", "choose_threshold",
]


def locate_evidence(evidence: Sequence[str], documents: Mapping[str, str]) -> list[list[DocSpan]]:
    """For each evidence string, every (doc, start, end) where it occurs (`str.find`, overlaps allowed).

    >>> locate_evidence(["ab", "zz"], {"d": "abcab"})
    [[('d', 0, 2), ('d', 3, 5)], []]
    """
    out: list[list[DocSpan]] = []
    for ev in evidence:
        spans: list[DocSpan] = []
        if ev:
            for doc, text in documents.items():
                at = text.find(ev)
                while at != -1:
                    spans.append((doc, at, at + len(ev)))
                    at = text.find(ev, at + 1)
        out.append(spans)
    return out


def overlaps(a: DocSpan, b: DocSpan) -> bool:
    """Two spans of the same document share at least one character.

    >>> overlaps(("d", 0, 5), ("d", 4, 9)), overlaps(("d", 0, 5), ("d", 5, 9)), overlaps(("d", 0, 5), ("e", 0, 5))
    (True, False, False)
    """
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def quote_problems(quote: Mapping, documents: Mapping[str, str]) -> list[str]:
    """What is wrong with one citation: unknown document, offsets out of bounds, text not at offsets.

    >>> quote_problems({"text": "cat", "doc": "d", "start": 4, "end": 7}, {"d": "The cat"})
    []
    >>> quote_problems({"text": "dog", "doc": "d", "start": 4, "end": 7}, {"d": "The cat"})
    ["text differs from d[4:7] ('cat')"]
    """
    doc, start, end, text = quote.get("doc"), quote.get("start"), quote.get("end"), quote.get("text")
    if doc not in documents:
        return [f"document {doc!r} does not exist"]
    body = documents[doc]
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(body)):
        return [f"offsets [{start}:{end}] are out of bounds for {doc} ({len(body)} characters)"]
    if body[start:end] != text:
        shown = body[start:end] if end - start <= 60 else body[start:start + 57] + "..."
        return [f"text differs from {doc}[{start}:{end}] ({shown!r})"]
    return []


def faithfulness(quotes: Sequence[Mapping], documents: Mapping[str, str]) -> float:
    """Share of quotes whose citation is exact (1.0 when there are no quotes: nothing was misquoted).

    >>> faithfulness([{"text": "ab", "doc": "d", "start": 0, "end": 2},
    ...               {"text": "ab", "doc": "d", "start": 1, "end": 3}], {"d": "abc"})
    0.5
    """
    if not quotes:
        return 1.0
    return sum(not quote_problems(q, documents) for q in quotes) / len(quotes)


def _quote_span(quote: Mapping) -> DocSpan:
    return (quote["doc"], int(quote["start"]), int(quote["end"]))


def evidence_hit_at(quotes: Sequence[Mapping], gold: Sequence[Sequence[DocSpan]], k: int) -> bool:
    """Whether one of the first k quotes overlaps any occurrence of any gold evidence string."""
    if k < 1:
        raise ValueError(f"k {k} must be at least 1")
    spans = [s for occurrences in gold for s in occurrences]
    return any(overlaps(_quote_span(q), s) for q in quotes[:k] for s in spans)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def fact_recall_at(quotes: Sequence[Mapping], facts: Sequence[str], k: int) -> float:
    """Share of the key facts found (case- and whitespace-insensitive) in the first k quotes together.

    >>> fact_recall_at([{"text": "About 16 people"}, {"text": "over  130"}], ["16", "130", "700"], 2)
    0.6666666666666666
    """
    if k < 1:
        raise ValueError(f"k {k} must be at least 1")
    if not facts:
        return 1.0
    joined = "\n".join(_norm(q["text"]) for q in quotes[:k])
    return sum(_norm(f) in joined for f in facts) / len(facts)


def abstention_scores(refused: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of "not answered" (the positive class) against the unanswerable
    questions, and the false-refusal rate: the share of answerable questions that were refused.

    Undefined ratios (nothing refused, nothing unanswerable) are 0.0.

    >>> abstention_scores([True, True, False, True], [True, False, False, True])
    {'precision': 0.6666666666666666, 'recall': 1.0, 'f1': 0.8, 'false_refusal_rate': 0.5}
    """
    if len(refused) != len(unanswerable):
        raise ValueError(f"{len(refused)} predictions for {len(unanswerable)} labels")
    tp = sum(r and u for r, u in zip(refused, unanswerable, strict=True))
    fp = sum(r and not u for r, u in zip(refused, unanswerable, strict=True))
    fn = sum(u and not r for r, u in zip(refused, unanswerable, strict=True))
    answerable = sum(not u for u in unanswerable)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "false_refusal_rate": fp / answerable if answerable else 0.0}


def choose_threshold(scores: Sequence[float], unanswerable: Sequence[bool]) -> dict[str, float]:
    """The abstention threshold (refuse when score < threshold) with the best abstention F1.

    Candidates are the lowest score (refuse nothing), the midpoints between neighbouring distinct
    scores, and just above the highest (refuse everything). Ties go to the fewer false refusals,
    then to the lower threshold. Returns the threshold and the abstention figures at it.

    >>> choose_threshold([0.9, 0.5, 0.3, 0.2], [False, False, True, True])
    {'threshold': 0.4, 'precision': 1.0, 'recall': 1.0, 'f1': 1.0, 'false_refusal_rate': 0.0}
    """
    if not scores or len(scores) != len(unanswerable):
        raise ValueError(f"{len(scores)} scores for {len(unanswerable)} labels")
    distinct = sorted(set(float(s) for s in scores))
    midpoints = [(a + b) / 2 for a, b in zip(distinct[:-1], distinct[1:], strict=True)]
    candidates = [distinct[0], *midpoints, distinct[-1] + 1e-6]
    best: dict[str, float] | None = None
    for t in candidates:
        figures = abstention_scores([s < t for s in scores], unanswerable)
        if best is None or (figures["f1"], -figures["false_refusal_rate"]) > (best["f1"], -best["false_refusal_rate"]):
            best = {"threshold": t, **figures}
    assert best is not None
    return best


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics (numpy's default).

    >>> percentile([40, 10, 30, 20], 50), percentile([40, 10, 30, 20], 95)
    (25.0, 38.5)
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q {q} is not in 0..100")
    return float(np.percentile(np.asarray(values, dtype=float), q))


def latency_summary(seconds: Sequence[float], counted: bool = False) -> dict[str, float]:
    """p50 and p95 of durations given in seconds, in milliseconds; `counted` adds their count and mean.

    >>> latency_summary([0.010, 0.020, 0.030, 0.040])
    {'p50_ms': 25.0, 'p95_ms': 38.5}
    >>> latency_summary([0.010, 0.020, 0.030, 0.040], counted=True)
    {'n': 4, 'p50_ms': 25.0, 'p95_ms': 38.5, 'mean_ms': 25.0}
    """
    ms = [s * 1000 for s in seconds]
    figures = {"p50_ms": round(percentile(ms, 50), 6), "p95_ms": round(percentile(ms, 95), 6)}
    return {"n": len(ms), **figures, "mean_ms": round(sum(ms) / len(ms), 6)} if counted else figures


def mean_words_per_quote(quotes: Sequence[Mapping]) -> float:
    """Mean whitespace-separated words per quote (0.0 with no quotes).

    >>> mean_words_per_quote([{"text": "one two"}, {"text": "a b c d"}])
    3.0
    """
    if not quotes:
        return 0.0
    return sum(len(q["text"].split()) for q in quotes) / len(quotes)


def ranked_evidence_ids(passages: Sequence[DocSpan], gold: Sequence[Sequence[DocSpan]]) -> list[str]:
    """Map ranked passages to ids for the IR metrics, judging relevance per gold evidence string.

    A passage takes the id `ev<i>` of the first gold evidence string it overlaps that no earlier
    passage took; any other passage gets a unique id `p<rank>`. With `relevant = {ev<i>}`,
    recall@k is then the share of gold evidence that the first k passages reach, and two
    overlapping chunks holding the same sentence do not count twice.

    >>> gold = [[("d", 10, 20)], [("d", 50, 60)]]
    >>> ranked_evidence_ids([("d", 0, 5), ("d", 0, 15), ("d", 12, 30), ("d", 40, 70)], gold)
    ['p1', 'ev0', 'p3', 'ev1']
    """
    taken: set[int] = set()
    ids = []
    for rank, passage in enumerate(passages, 1):
        hit = next((i for i, occurrences in enumerate(gold)
                    if i not in taken and any(overlaps(passage, s) for s in occurrences)), None)
        if hit is None:
            ids.append(f"p{rank}")
        else:
            taken.add(hit)
            ids.append(f"ev{hit}")
    return ids


def retrieval_scores(passages: Sequence[DocSpan], gold: Sequence[Sequence[DocSpan]],
                     ks: Sequence[int] = RETRIEVAL_KS) -> dict[str, float]:
    """recall@k for each k, MRR and nDCG@10 of ranked passages against the gold evidence.

    >>> retrieval_scores([("d", 0, 5), ("d", 8, 12)], [[("d", 10, 11)]], ks=(1, 2))
    {'recall@1': 0.0, 'recall@2': 1.0, 'mrr': 0.5, 'ndcg@10': 0.6309297535714575}
    """
    ranked = ranked_evidence_ids(passages, gold)
    relevant = {f"ev{i}" for i, occurrences in enumerate(gold) if occurrences}
    out = {f"recall@{k}": recall_at_k(ranked, relevant, k) for k in ks}
    out["mrr"] = reciprocal_rank(ranked, relevant)
    out["ndcg@10"] = ndcg_at_k(ranked, relevant, 10)
    return out


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; 0.0 for no values.

    >>> mean([True, False, True, True])
    0.75
    """
    return sum(float(v) for v in values) / len(values) if values else 0.0
