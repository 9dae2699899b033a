"""The report's eval set: schema, the issue's minimum counts, and gold evidence that really is in the report."""

from __future__ import annotations

import re

import pytest

from app.evaluation.suite import DIALOGUES_FILE, QUESTIONS_FILE, EvalDataError, load_dialogues, load_questions
from tests.conftest import REPO, REPORT

TEXT = REPORT.read_text(encoding="utf-8")
QUESTIONS = load_questions(QUESTIONS_FILE)
DIALOGUES = load_dialogues(DIALOGUES_FILE)
ANSWERABLE = [q for q in QUESTIONS if q.answerable]
HELDOUT = load_questions(REPO / "eval" / "heldout" / "report_questions.jsonl")  # parses: schema, unique ids
HELDOUT_ANSWERABLE = [q for q in HELDOUT if q.answerable]
REFERS_BACK = re.compile(r"\b(he|him|his|she|her|it|its|they|them|their|that|this|there)\b", re.IGNORECASE)


def test_counts_meet_the_issue_minimums():
    assert len(QUESTIONS) >= 60
    assert len(ANSWERABLE) >= 45
    assert len(QUESTIONS) - len(ANSWERABLE) >= 12
    assert len(DIALOGUES) >= 10


def test_ids_are_unique_across_files():
    ids = [q.id for q in QUESTIONS] + [d.id for d in DIALOGUES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("item", ANSWERABLE + DIALOGUES, ids=lambda x: x.id)
def test_every_evidence_string_occurs_in_the_report(item):
    for ev in item.evidence:
        assert ev in TEXT, f"{item.id}: {ev!r} is not in {REPORT.name}"


@pytest.mark.parametrize("item", ANSWERABLE + DIALOGUES, ids=lambda x: x.id)
def test_every_fact_occurs_inside_its_evidence(item):
    assert item.facts
    for fact in item.facts:
        assert any(fact.lower() in ev.lower() for ev in item.evidence), f"{item.id}: {fact!r}"


def test_unanswerable_questions_carry_no_gold_but_say_why():
    for q in QUESTIONS:
        if not q.answerable:
            assert q.evidence == () and q.facts == () and q.why


def test_questions_are_not_copied_from_the_report():
    for text in [q.question for q in QUESTIONS] + [t for d in DIALOGUES for t in d.turns]:
        assert text.rstrip("?") not in TEXT, text


def test_second_turns_lean_on_the_first():
    for d in DIALOGUES:
        assert REFERS_BACK.search(d.turns[1]), d.turns[1]


@pytest.mark.parametrize("lines, message", [
    ('{"id": "x", "question": "Q?", "answerable": true, "evidence": ["about 16 people"], "facts": ["130"]}\n',
     "fact '130' occurs in none of its evidence strings"),
    ('{"id": "x", "question": "Q?", "answerable": false}\n{"id": "x", "question": "R?", "answerable": false}\n',
     "unique"),
    ('{"id": "y", "question": "Q?", "answerable": true, "facts": ["a"]}\n', "'evidence' must be a non-empty list"),
], ids=["a fact outside its evidence", "duplicate ids", "no evidence"])
def test_loader_rejects_a_bad_question_file(tmp_path, lines, message):
    bad = tmp_path / "q.jsonl"
    bad.write_text(lines)
    with pytest.raises(EvalDataError, match=message):
        load_questions(bad)


# ---------------------------------------------------------------- eval/heldout: questions nobody tuned on


def test_heldout_counts_are_the_ones_the_docs_give():
    assert (len(HELDOUT), len(HELDOUT_ANSWERABLE)) == (44, 30)


def test_heldout_ids_and_questions_are_its_own():
    ids = [q.id for q in HELDOUT]
    assert len(ids) == len(set(ids))
    assert not set(ids) & ({q.id for q in QUESTIONS} | {d.id for d in DIALOGUES})
    tuned_on = {q.question.lower() for q in QUESTIONS} | {t.lower() for d in DIALOGUES for t in d.turns}
    assert [q.question for q in HELDOUT if q.question.lower() in tuned_on] == []


@pytest.mark.parametrize("item", HELDOUT_ANSWERABLE, ids=lambda x: x.id)
def test_every_heldout_evidence_string_occurs_in_the_report(item):
    assert item.evidence and item.facts
    for ev in item.evidence:
        assert ev in TEXT, f"{item.id}: {ev!r} is not in {REPORT.name}"


def test_heldout_unanswerable_questions_say_why_and_none_is_copied_from_the_report():
    for q in HELDOUT:
        assert q.question.rstrip("?") not in TEXT, q.question
        if not q.answerable:
            assert q.evidence == () and q.facts == () and q.why


# ------------------------------------------- later sets: held-out round 3, the document's own questions (dev)
LATER = {"heldout_3": (REPO / "eval" / "heldout" / "report_questions_3.jsonl", 24, 14),
         "heldout_polar": (REPO / "eval" / "heldout" / "polar_questions.jsonl", 24, 12),
         "document": (REPO / "eval" / "document_questions.jsonl", 10, 5),
         "polar": (REPO / "eval" / "polar_questions.jsonl", 20, 10)}


@pytest.mark.parametrize("name", sorted(LATER))
def test_later_sets_have_their_counts_real_evidence_and_reasons(name: str):
    path, total, answerable = LATER[name]
    questions = load_questions(path)
    assert (len(questions), sum(q.answerable for q in questions)) == (total, answerable)
    for q in questions:
        if q.answerable:
            assert q.evidence and all(ev in TEXT for ev in q.evidence), q.id
            assert all(any(f in ev for ev in q.evidence) for f in q.facts), q.id
        else:
            assert q.evidence == () and q.why, q.id
    earlier = {x.question.lower() for x in QUESTIONS + HELDOUT}
    assert [q.id for q in questions if q.question.lower() in earlier] == []
