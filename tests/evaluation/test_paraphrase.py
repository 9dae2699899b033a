"""Paraphrase sets (issue 29): each question beside its wording in the report's own words, and the ratio of
their hit@3 (answered or uncertain) that the suite reports."""

from __future__ import annotations

import pytest

from app.evaluation.suite import EvalDataError, load_questions
from app.evaluation.verdicts import verdict_summary
from tests.conftest import REPO, REPORT

TEXT = REPORT.read_text(encoding="utf-8")
PAIRED = {"dev": REPO / "eval" / "paraphrase" / "report_questions.jsonl",
          "heldout": REPO / "eval" / "heldout" / "paraphrase_questions.jsonl",
          "heldout_2": REPO / "eval" / "heldout" / "paraphrase_questions_2.jsonl",
          "heldout_3": REPO / "eval" / "heldout" / "paraphrase_questions_3.jsonl"}


@pytest.mark.parametrize("name", sorted(set(PAIRED) - {"heldout"}))  # round 1 predates `original`
def test_each_paraphrase_carries_its_original_wording_and_real_evidence(name: str):
    questions = load_questions(PAIRED[name])
    assert len(questions) == 16
    for q in questions:
        assert q.answerable and q.original and q.original != q.question
        assert all(ev in TEXT for ev in q.evidence), q.id
        assert all(any(f.lower() in ev.lower() for ev in q.evidence) for f in q.facts), q.id


def test_no_paraphrase_repeats_a_question_of_another_set():
    seen: dict[str, str] = {}
    for name in sorted(PAIRED):
        for q in load_questions(PAIRED[name]):
            assert seen.setdefault(q.question.lower(), name) == name, (q.id, q.question)


def test_an_original_wording_belongs_to_an_answerable_question(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "x", "question": "Q?", "original": "R?", "answerable": false}\n')
    with pytest.raises(EvalDataError, match="'original' is the wording of an answerable question"):
        load_questions(bad)


def test_the_ratio_is_the_paraphrases_hits_over_the_originals():
    records = [{"answerable": True, "verdict": "answered", "confidence": 0.9, "hit@3_any": True,
                "original_hit@3_any": True},
               {"answerable": True, "verdict": "not_found", "confidence": 0.1, "hit@3_any": False,
                "original_hit@3_any": True},
               {"answerable": True, "verdict": "uncertain", "confidence": 0.5, "hit@3_any": True,
                "original_hit@3_any": True},
               {"answerable": True, "verdict": "uncertain", "confidence": 0.5, "hit@3_any": False,
                "original_hit@3_any": False}]
    out = verdict_summary(records)
    assert out["original_hit@3_answered_or_uncertain_count"] == [3, 4]
    assert out["paraphrase_ratio"] == pytest.approx((2 / 4) / (3 / 4))
    assert "paraphrase_ratio" not in verdict_summary([{k: v for k, v in r.items() if k != "original_hit@3_any"}
                                                     for r in records])
