"""Uncertainty: how far a figure measured on a few dozen questions can be trusted.

Every interval is 95%. A rate (hits, refusals: k of n) gets a Wilson score interval; a mean of
per-question scores (MRR, nDCG, fact recall) a percentile bootstrap over the questions; the
abstention F1 a bootstrap stratified by answerability; the difference between two methods asked
the same questions a paired bootstrap (a bootstrap of the per-question differences); a ROC AUC
(exact Mann-Whitney, ties count one half) a bootstrap stratified by class. Bootstraps use a fixed
seed, so a re-run prints the same interval.

>>> rate_interval(44, 53)
(0.708, 0.908)
>>> paired_difference([1, 1, 1, 0], [1, 1, 1, 0])
{'difference': 0.0, 'low': 0.0, 'high': 0.0}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest, bootstrap, rankdata

from app.evaluation.metrics import abstention_scores

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0
DIGITS = 3
BLOCK = 250  # AUC bootstrap resamples counted together (memory: BLOCK x distinct scores)

Interval = tuple[float, float]

__all__ = ["CONFIDENCE", "RESAMPLES", "rate_interval", "mean_interval", "f1_interval", "paired_difference",
           "bracket", "roc_auc", "auc_interval"]


def _round(low: float, high: float) -> Interval:
    return round(float(low), DIGITS), round(float(high), DIGITS)


def rate_interval(successes: int, n: int) -> Interval:
    """Wilson score interval of a proportion k/n; (0.0, 1.0) when there is nothing to count.

    >>> rate_interval(0, 16), rate_interval(16, 16)
    ((0.0, 0.194), (0.806, 1.0))
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n}")
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return _round(ci.low, ci.high)


def mean_interval(values: Sequence[float]) -> Interval:
    """Percentile-bootstrap interval of a mean over questions.

    >>> mean_interval([0.5, 0.5, 0.5])
    (0.5, 0.5)
    >>> low, high = mean_interval([1.0, 0.5, 0.0, 1.0, 0.33]); low < 0.566 < high
    True
    """
    x = np.asarray(values, dtype=float)
    if not len(x):
        return 0.0, 0.0
    if np.all(x == x[0]):  # nothing varies: the interval is a point
        return _round(x[0], x[0])
    result = bootstrap((x,), np.mean, n_resamples=RESAMPLES, confidence_level=CONFIDENCE, method="percentile",
                       random_state=SEED)
    return _round(result.confidence_interval.low, result.confidence_interval.high)


def f1_interval(refused: Sequence[bool], unanswerable: Sequence[bool]) -> Interval:
    """Bootstrap interval of the abstention F1, stratified: answerable and unanswerable questions are
    resampled apart, so every resample keeps the same number of each (F1 needs both).

    >>> f1_interval([True, True, False, False, False], [True, True, False, False, False])
    (1.0, 1.0)
    """
    r = np.asarray(refused, dtype=bool)
    u = np.asarray(unanswerable, dtype=bool)
    if len(r) != len(u):
        raise ValueError(f"{len(r)} predictions for {len(u)} labels")
    if not len(r):
        return 0.0, 0.0
    rng = np.random.default_rng(SEED)
    groups = [np.flatnonzero(u), np.flatnonzero(~u)]
    scores = []
    for _ in range(RESAMPLES):
        rows = np.concatenate([rng.choice(g, len(g)) for g in groups if len(g)])
        scores.append(abstention_scores(r[rows].tolist(), u[rows].tolist())["f1"])
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(scores, [tail, 100 - tail])
    return _round(low, high)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Mean of a minus mean of b over the same questions, with a paired-bootstrap interval.

    An interval that holds 0 says the two methods are not told apart by these questions.

    >>> paired_difference([1, 1, 1, 1, 0, 1], [0, 1, 0, 1, 0, 0])["difference"]
    0.5
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} scores against {len(y)}: a paired difference needs the same questions")
    if not len(x):
        return {"difference": 0.0, "low": 0.0, "high": 0.0}
    diff = x - y
    low, high = mean_interval(diff)
    return {"difference": round(float(diff.mean()), DIGITS), "low": low, "high": high}


def bracket(interval: Sequence[float] | None, digits: int = 3) -> str:
    """An interval as shown beside its figure in Markdown tables; empty when there is none.

    >>> "0.830" + bracket([0.708, 0.908], 2), bracket(None)
    ('0.830 [0.71, 0.91]', '')
    """
    return f" [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]" if interval else ""


def roc_auc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """ROC AUC of `scores` for telling positives from negatives: the share of (positive, negative)
    pairs in which the positive scores higher, a tie counting one half (the Mann-Whitney U over the
    product of the class sizes). None when either class is empty.

    >>> roc_auc([0.9, 0.5, 0.5, 0.5, 0.1], [True, True, True, False, False])
    0.8333333333333334
    >>> roc_auc([0.3, 0.3], [True, False]), roc_auc([0.1, 0.9], [True, True])
    (0.5, None)
    """
    s, p = np.asarray(scores, dtype=float), np.asarray(positives, dtype=bool)
    if s.shape != p.shape or s.ndim != 1:
        raise ValueError(f"{s.size} scores for {p.size} labels")
    if not np.all(np.isfinite(s)):
        raise ValueError("a score is not a finite number")
    n_pos = int(p.sum())
    n_neg = len(p) - n_pos
    if not n_pos or not n_neg:
        return None
    ranks = rankdata(s)  # ties share their mean rank: each tied pair adds one half to U
    return float((ranks[p].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_interval(scores: Sequence[float], positives: Sequence[bool]) -> Interval | None:
    """Percentile-bootstrap interval of `roc_auc`, resampling positives and negatives apart (every
    resample keeps both class sizes); None when either class is empty.

    >>> auc_interval([0.9, 0.8, 0.2, 0.1], [True, True, False, False])
    (1.0, 1.0)
    """
    s, p = np.asarray(scores, dtype=float), np.asarray(positives, dtype=bool)
    if roc_auc(s, p) is None:
        return None
    rng = np.random.default_rng(SEED)
    values, codes = np.unique(s, return_inverse=True)  # scores as ranks 0..m-1: ties share one
    m, pos, neg = len(values), codes[p], codes[~p]
    aucs = []
    for size in [BLOCK] * (RESAMPLES // BLOCK) + [RESAMPLES % BLOCK]:
        if not size:
            continue
        rows = np.arange(size)[:, None]
        sample_pos, sample_neg = rng.choice(pos, (size, len(pos))), rng.choice(neg, (size, len(neg)))
        counts = np.bincount((sample_neg + m * rows).ravel(), minlength=size * m).reshape(size, m)
        below = np.cumsum(counts, axis=1) - counts  # per resample: negatives under each rank
        wins = below[rows, sample_pos] + 0.5 * counts[rows, sample_pos]
        aucs.append(wins.sum(axis=1) / (len(pos) * len(neg)))
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(np.concatenate(aucs), [tail, 100 - tail])
    return _round(low, high)
