"""Who gave an interview, and who asked: read off its named speaker turns, quoted with the name in bold."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.about import about_kind
from app.answer.assistant import Assistant
from tests.answer.test_about import _assistant as about_assistant
from tests.conftest import REPORT, assert_quotes_verbatim

LEAD = ("RFE/RL correspondent Farangis Najibullah speaks to Amnesty International's David Diaz-Jogeix, the deputy "
        "director of the Europe and Central Asia Program at Amnesty International, about the contents of \"Old "
        "Habits: The Routine Use of Torture and Other Ill-Treatment in Kazakhstan.\"")


def _assistant(folder: Path, files: dict[str, bytes]) -> Assistant:
    """An index of `files` whose sentences stay whole (no 30-word windows)."""
    return about_assistant(folder, files, chunk_max_words=120)


@pytest.mark.parametrize("question, kind", [
    ("Who was interviewed?", "interviewee"),
    ("Who gave the interview?", "interviewee"),
    ("Who is being interviewed in this article?", "interviewee"),
    ("Who answers the questions?", "interviewee"),
    ("Who is the interviewee?", "interviewee"),
    ("Who conducted the interview?", "interviewer"),
    ("Who asked the questions?", "interviewer"),
    ("Who is the interviewer?", "interviewer"),
    ("Who was interviewed for the report?", None),  # the report's research, not this interview
    ("Who interviewed the detainees?", None),
    ("Who was questioned by the police?", None),
])
def test_questions_about_an_interviews_speakers(question: str, kind: str | None):
    assert about_kind(question) == kind


def test_the_bundled_interview_names_who_answered_and_who_asked(tmp_path: Path):
    assistant = _assistant(tmp_path, {REPORT.name: REPORT.read_bytes()})
    text = REPORT.read_text(encoding="utf-8")
    first_turn = text.index("David Diaz-Jogeix: According")
    turn_sentence_end = text.index("mass disorders.", first_turn) + len("mass disorders.")
    for question, name, quotes in [
        ("Who gave the interview?", "David Diaz-Jogeix",
         [(text.index(LEAD), text.index(LEAD) + len(LEAD)), (first_turn, turn_sentence_end)]),
        # the interviewer's own turns are questions, never quoted as answers: the lead sentence alone
        ("Who conducted the interview?", "RFE/RL", [(text.index(LEAD), text.index(LEAD) + len(LEAD))]),
    ]:
        out = assistant.ask(question).to_dict()
        assert (out["verdict"], out["confidence"]) == ("answered", 1.0), question
        assert [(q["start"], q["end"]) for q in out["quotes"]] == quotes, question
        at = text.index(name, quotes[0][0])
        assert out["quotes"][0]["answer"] == {"text": name, "start": at, "end": at + len(name)}
        assert all(q["answer"]["text"] == name for q in out["quotes"])
        assert_quotes_verbatim(out, assistant)


def test_role_labels_and_prose_leave_the_question_to_the_ordinary_path(tmp_path: Path):
    """ "Q:"/"A:" turns name no one, and a report that is no interview has no turns: neither answers from
    structure, so the question is searched like any other (no bold label, no full confidence)."""
    faq = ("Prison FAQ\n\nQ: Who runs the prisons?\n\nA: The ministry does.\n\n"
           "Q: Are visits allowed?\n\nA: Once a month.")
    prose = "Prison Review\n\nThe inspectors interviewed forty detainees in March.\n\nGuards beat two of them."
    unlabelled = ("Prison FAQ\n\nWho runs the prisons?\n\nThe ministry does, through its wardens.\n\n"
                  "Are visits allowed?\n\nOnce a month, for an hour.")
    for name, body in (("faq.txt", faq), ("review.txt", prose), ("plain.txt", unlabelled)):
        assistant = _assistant(tmp_path / name, {name: body.encode()})
        out = assistant.ask("Who was interviewed?").to_dict()
        assert out["confidence"] < 1.0 and all("answer" not in q or q["answer"]["text"] not in ("A", "Q")
                                               for q in out["quotes"]), name
