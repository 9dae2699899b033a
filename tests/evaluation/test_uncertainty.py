"""Intervals around figures from a few dozen questions, checked against hand computations."""

import math

import pytest

from app.evaluation.suite import intervals
from app.evaluation.uncertainty import f1_interval, mean_interval, paired_difference, rate_interval


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval written out: centre and half-width, both shrunk by 1 + z^2/n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(centre - half, 3), round(centre + half, 3)


@pytest.mark.parametrize("k,n", [(44, 53), (7, 16), (3, 3), (0, 12), (602, 612)])
def test_rate_interval_is_the_wilson_interval(k, n):
    assert rate_interval(k, n) == wilson(k, n)


def test_rate_interval_by_hand():
    # 44 of 53: centre (0.8302 + 0.03624) / 1.07248 = 0.8079, half 1.96 * 0.05481 / 1.07248 = 0.1002
    assert rate_interval(44, 53) == (0.708, 0.908)
    assert rate_interval(0, 0) == (0.0, 1.0)  # nothing counted: nothing known
    with pytest.raises(ValueError, match="5 successes out of 3"):
        rate_interval(5, 3)


def test_mean_interval_holds_the_mean_and_narrows_with_more_questions():
    few = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    low, high = mean_interval(few)
    assert low < sum(few) / len(few) < high
    low_many, high_many = mean_interval(few * 20)
    assert high_many - low_many < high - low
    assert mean_interval([0.25, 0.25]) == (0.25, 0.25)
    assert mean_interval([]) == (0.0, 0.0)
    assert mean_interval(few) == mean_interval(few)  # fixed seed: a re-run prints the same interval


def test_f1_interval_keeps_both_classes_in_every_resample():
    perfect_refused = [True, True, True, False, False, False, False]
    assert f1_interval(perfect_refused, perfect_refused) == (1.0, 1.0)
    assert f1_interval([False] * 7, perfect_refused) == (0.0, 0.0)  # refusing nothing scores F1 0
    half = [True, False, True, False, False, False, False]  # catches 2 of 3, no false refusal: F1 0.8
    low, high = f1_interval(half, perfect_refused)
    assert low < 0.8 <= high <= 1.0
    with pytest.raises(ValueError, match="2 predictions for 3 labels"):
        f1_interval([True, False], [True, False, False])


def test_paired_difference():
    assert paired_difference([1, 0, 1], [1, 0, 1]) == {"difference": 0.0, "low": 0.0, "high": 0.0}
    assert paired_difference([1, 1, 1, 1], [0, 0, 0, 0]) == {"difference": 1.0, "low": 1.0, "high": 1.0}
    better = paired_difference([1] * 30 + [0] * 10, [1] * 20 + [0] * 20)  # a wins 10, never loses
    assert better["difference"] == 0.25 and 0 < better["low"] < 0.25 < better["high"]
    mixed = paired_difference([1, 0] * 20, [0, 1] * 20)  # as many wins as losses
    assert mixed["difference"] == 0.0 and mixed["low"] < 0 < mixed["high"]
    with pytest.raises(ValueError, match="3 scores against 2"):
        paired_difference([1, 0, 1], [1, 0])


def test_report_intervals_count_the_right_questions():
    def q(answerable: bool, answered: bool, hit: bool = False) -> dict:
        rec = {"answerable": answerable, "answered": answered}
        if answerable:
            rec.update({"hit@1": hit, "hit@3": hit, "fact_recall@3": float(hit),
                        "retrieval": {"mrr": 1.0, "ndcg@10": 1.0}})
        return rec

    questions = [q(True, True, True), q(True, True, True), q(True, False), q(False, False), q(False, True)]
    out = intervals(questions, [{"hit@3": True}])
    assert out["hit@3"] == list(rate_interval(2, 3))
    assert out["false_refusal_rate"] == list(rate_interval(1, 3))  # 1 of 3 answerable refused
    assert out["abstention_precision"] == list(rate_interval(1, 2))  # 1 of 2 refusals was right
    assert out["abstention_recall"] == list(rate_interval(1, 2))  # 1 of 2 unanswerable refused
    assert out["mrr"] == [1.0, 1.0] and out["followup_hit@3"] == list(rate_interval(1, 1))
    assert "followup_hit@3" not in intervals(questions, [])  # no dialogues: no interval to give
