"""Every report-suite metric on a tiny case worked out by hand."""

from __future__ import annotations

import math

import pytest

from app.evaluation import metrics

#            0         1         2         3         4
#            0123456789012345678901234567890123456789012345
TEXT = "Police held 16 people. Then 130 more. 16 again."
DOCS = {"r.txt": TEXT, "other.txt": "Nothing here."}


def q(start: int, end: int, doc: str = "r.txt", text: str | None = None) -> dict:
    return {"text": DOCS[doc][start:end] if text is None else text, "doc": doc, "start": start, "end": end}


def test_locate_evidence_finds_every_occurrence_in_every_document():
    assert metrics.locate_evidence(["16", "130 more", "absent"], DOCS) == [
        [("r.txt", 12, 14), ("r.txt", 38, 40)],
        [("r.txt", 28, 36)],
        [],
    ]


def test_overlap_is_strict_at_the_boundaries():
    assert metrics.overlaps(("r.txt", 0, 10), ("r.txt", 9, 12))
    assert not metrics.overlaps(("r.txt", 0, 10), ("r.txt", 10, 12))
    assert not metrics.overlaps(("r.txt", 0, 10), ("other.txt", 0, 10))


def test_quote_problems_name_what_is_wrong():
    assert metrics.quote_problems(q(0, 22), DOCS) == []
    assert metrics.quote_problems(q(0, 22, text="Police held 17 people."), DOCS) == [
        "text differs from r.txt[0:22] ('Police held 16 people.')"]
    assert metrics.quote_problems({"text": "x", "doc": "nope.txt", "start": 0, "end": 1}, DOCS) == [
        "document 'nope.txt' does not exist"]
    assert metrics.quote_problems({"text": "x", "doc": "r.txt", "start": 40, "end": 99}, DOCS) == [
        "offsets [40:99] are out of bounds for r.txt (47 characters)"]
    assert metrics.quote_problems({"text": "", "doc": "r.txt", "start": 3, "end": 3}, DOCS) != []


def test_faithfulness_is_the_share_of_exact_quotes():
    quotes = [q(0, 22), q(23, 37), q(0, 22, text="Police held 17 people."), q(0, 5, doc="other.txt")]
    # 3 of 4 exact
    assert metrics.faithfulness(quotes, DOCS) == 0.75
    assert metrics.faithfulness([], DOCS) == 1.0


def test_evidence_hit_at_k_counts_only_the_first_k_quotes():
    gold = metrics.locate_evidence(["130 more"], DOCS)  # [28, 36)
    quotes = [q(0, 22), q(23, 37)]
    assert metrics.evidence_hit_at(quotes, gold, 1) is False
    assert metrics.evidence_hit_at(quotes, gold, 3) is True
    # any occurrence of any evidence string counts: "16" also sits at [38, 40)
    assert metrics.evidence_hit_at([q(38, 47)], metrics.locate_evidence(["absent", "16"], DOCS), 1) is True
    assert metrics.evidence_hit_at([], gold, 3) is False
    with pytest.raises(ValueError):
        metrics.evidence_hit_at(quotes, gold, 0)


def test_fact_recall_at_k():
    quotes = [q(0, 22), q(23, 37), q(38, 47)]
    assert metrics.fact_recall_at(quotes, ["16", "130", "700"], 1) == 1 / 3
    assert metrics.fact_recall_at(quotes, ["16", "130", "700"], 3) == 2 / 3
    assert metrics.fact_recall_at(quotes, ["POLICE  HELD"], 1) == 1.0  # case and spacing do not matter
    assert metrics.fact_recall_at([], ["16"], 3) == 0.0
    assert metrics.fact_recall_at(quotes, [], 3) == 1.0


def test_abstention_scores_by_hand():
    # 6 questions: 3 unanswerable (U), 3 answerable (A)
    refused = [True, True, False, True, False, False]
    unanswerable = [True, True, True, False, False, False]
    # TP = 2 (U refused), FN = 1 (U answered), FP = 1 (A refused)
    # precision 2/3, recall 2/3, F1 2/3, false refusals 1/3
    assert metrics.abstention_scores(refused, unanswerable) == {
        "precision": 2 / 3, "recall": 2 / 3, "f1": 2 * (2 / 3) * (2 / 3) / (4 / 3), "false_refusal_rate": 1 / 3}
    assert metrics.abstention_scores([False, False], [True, False]) == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "false_refusal_rate": 0.0}
    with pytest.raises(ValueError):
        metrics.abstention_scores([True], [True, False])


def test_percentiles_and_latency():
    assert metrics.percentile([5.0], 95) == 5.0
    assert metrics.percentile([1, 2, 3, 4, 5], 50) == 3.0
    # 20 values 1..20: p95 position 0.95 * 19 = 18.05 -> 19 + 0.05 * (20 - 19)
    assert metrics.percentile(list(range(1, 21)), 95) == pytest.approx(19.05, abs=1e-12)
    assert metrics.latency_summary([0.010, 0.020, 0.030, 0.040]) == {"p50_ms": 25.0, "p95_ms": 38.5}
    with pytest.raises(ValueError):
        metrics.percentile([], 50)


def test_mean_words_per_quote():
    assert metrics.mean_words_per_quote([q(0, 22), q(23, 37)]) == (4 + 3) / 2
    assert metrics.mean_words_per_quote([]) == 0.0


def test_ranked_evidence_ids_count_each_gold_string_once():
    gold = [[("r.txt", 12, 14), ("r.txt", 38, 40)], [("r.txt", 28, 36)]]
    passages = [("r.txt", 0, 22), ("r.txt", 0, 14), ("r.txt", 23, 47), ("other.txt", 0, 5)]
    # rank 1 reaches ev0; rank 2 reaches ev0 again (already taken); rank 3 reaches ev0 and ev1 -> ev1
    assert metrics.ranked_evidence_ids(passages, gold) == ["ev0", "p2", "ev1", "p4"]


def test_retrieval_scores_by_hand():
    gold = [[("r.txt", 12, 14)], [("r.txt", 28, 36)]]
    passages = [("r.txt", 40, 47), ("r.txt", 10, 20), ("other.txt", 0, 5), ("r.txt", 30, 31)]
    # ranked ids: p1, ev0, p3, ev1 ; relevant {ev0, ev1}
    scores = metrics.retrieval_scores(passages, gold)
    assert scores["recall@1"] == 0.0
    assert scores["recall@3"] == 0.5
    assert scores["recall@5"] == 1.0
    assert scores["recall@10"] == 1.0
    assert scores["mrr"] == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert scores["ndcg@10"] == pytest.approx(dcg / idcg, abs=1e-15)
    assert round(scores["ndcg@10"], 4) == 0.6509


def test_mean():
    assert metrics.mean([1.0, 0.0, 0.5]) == 0.5
    assert metrics.mean([]) == 0.0


def test_choose_threshold_maximises_abstention_f1():
    # answerable (A) 0.9, 0.6, 0.4; unanswerable (U) 0.5, 0.3; refuse when score < t
    # t=0.35: TP 1 FP 0 FN 1 -> F1 2/3 | t=0.45: TP 1 FP 1 FN 1 -> 1/2
    # t=0.55: TP 2 FP 1 FN 0 -> P 2/3, R 1, F1 0.8, FRR 1/3 (best) | t=0.75: TP 2 FP 2 -> 2/3
    chosen = metrics.choose_threshold([0.9, 0.6, 0.4, 0.5, 0.3], [False, False, False, True, True])
    assert chosen["threshold"] == pytest.approx(0.55, abs=1e-12)
    assert chosen["precision"] == 2 / 3 and chosen["recall"] == 1.0
    assert chosen["f1"] == pytest.approx(0.8, abs=1e-12) and chosen["false_refusal_rate"] == 1 / 3


def test_choose_threshold_breaks_ties_toward_fewer_false_refusals():
    # ascending: U 0.1, A 0.2, A 0.3, U 0.4, A 0.9
    # t=0.15: TP 1 FP 0 FN 1 -> F1 2/3, FRR 0 | t=0.65: TP 2 FP 2 FN 0 -> F1 2/3, FRR 2/3
    chosen = metrics.choose_threshold([0.1, 0.2, 0.3, 0.4, 0.9], [True, False, False, True, False])
    assert chosen["threshold"] == pytest.approx(0.15, abs=1e-12)
    assert chosen["f1"] == pytest.approx(2 / 3, abs=1e-12) and chosen["false_refusal_rate"] == 0.0
    with pytest.raises(ValueError):
        metrics.choose_threshold([], [])
