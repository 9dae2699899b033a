"""Follow-ups resolved, not concatenated (app/answer/resolve.py), and through `Assistant.ask`."""

from __future__ import annotations

import pytest

from app.answer.loading import assistant_over_texts
from app.answer.resolve import Resolved, resolve
from app.errors import QuestionError
from app.runtime import Runtime
from tests.conftest import REPORT, assert_quotes_verbatim

RUNTIME = Runtime()
LEAD = ("RFE/RL correspondent Farangis Najibullah speaks to Amnesty International's David Diaz-Jogeix, the deputy "
        "director of the Europe and Central Asia Program at Amnesty International, about the contents of \"Old "
        "Habits: The Routine Use of Torture and Other Ill-Treatment in Kazakhstan.\"")


@pytest.mark.parametrize("question, previous, quotes, expected", [
    # "them": the plural noun asked about, with its passive verb phrase
    ("What happened to them?", "How many people were arrested on charges of organizing the violence?", [],
     Resolved("What happened to the people arrested on charges of organizing the violence?", True)),
    # "(subjected) to what?": the verb whose object was the question word is left out
    ("What else was done to them?", "What were detainees held in subzero temperatures subjected to?", [],
     Resolved("What else was done to the detainees held in subzero temperatures?", True)),
    # "he" after a question asking who: the person the answer names, not the one in the question
    ("Where does he work?", "Who did Farangis Najibullah speak to?", [LEAD],
     Resolved("Where does David Diaz-Jogeix work?", True)),
    # without the answer, the question's own person
    ("Where does he work?", "Who did Farangis Najibullah speak to?", [],
     Resolved("Where does Farangis Najibullah work?", True)),
    # a speaker's label ("Diaz-Jogeix:") is who speaks, not whom the answer is about
    ("Is she still being ill-treated?", "Which activist's detention is Amnesty following?",
     ["Diaz-Jogeix: There are a couple of persons whose detentions we are following. That includes [activist] "
      "Roza Tuletaeva."], Resolved("Is Roza Tuletaeva still being ill-treated?", True)),
    ("How severe are they?", "What restrictions on prisoners' rights does Amnesty mention?", [],
     Resolved("How severe are the restrictions on prisoners' rights?", True)),
    # nothing to put in: shown with the question it follows, retrieved with it folded in
    ("Why not?", "Does Amnesty think the investigation was thorough?", [],
     Resolved('Why not? (after: "Does Amnesty think the investigation was thorough?")', True, True)),
    # leans back but names its own subject: unchanged, folded in
    ("What about solitary confinement?", "What cases does the report cover?", [],
     Resolved("What about solitary confinement?", False, True)),
    # no previous question, or a question that stands alone: as asked
    ("What happened to them?", "", [], Resolved("What happened to them?")),
    ("Who is Aron Atabek?", "How many people were arrested?", [], Resolved("Who is Aron Atabek?")),
])
def test_a_follow_up_is_resolved_to_the_previous_question_and_answer(question, previous, quotes, expected):
    assert resolve(RUNTIME, question, previous, quotes) == expected


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return assistant_over_texts(tmp_path_factory.mktemp("report"), {REPORT.name: REPORT.read_text(encoding="utf-8")})


def test_a_follow_up_needing_the_previous_answer_is_asked_resolved(report):
    """"he" is David Diaz-Jogeix, named only in the first answer; the best quote is that answer's sentence,
    which holds "the deputy director of the Europe and Central Asia Program": not shown again. The text right
    after it follows: it names a place ("Kazakhstan"), so the question's analysis (a place) leaves it undamped
    (app/answer/answer_types.py), and its evidence reaches the floor."""
    first = report.ask("Who did Farangis Najibullah speak to?").to_dict()
    assert [q["text"] for q in first["quotes"]] == [LEAD]
    out = report.ask("Where does he work?", history=["Who did Farangis Najibullah speak to?"]).to_dict()
    assert out["resolved_question"] == "Where does David Diaz-Jogeix work?"
    after = ("David Diaz-Jogeix: According to the information provided by [Kazakhstan's] General-Prosecutor's "
             "office, there were about 16 people who were arrested on charges of organizing the violence, while over "
             "130 had been detained for participating in violent mass disorders.")
    assert [q["text"] for q in out["quotes"]] == [LEAD, after]  # the JSON keeps the quote, the message does not
    assert out["message"] == ("Understood as: Where does David Diaz-Jogeix work?\n"
                              "The report mentions this, but may not answer it exactly:\n[1] (quoted above)\n"
                              f"[2] \u201c{after}\u201d")
    assert_quotes_verbatim(out, report)
    she = report.ask("Is she still being ill-treated?", history=["Which activist's detention is Amnesty following?"])
    assert she.to_dict()["resolved_question"] == "Is Roza Tuletaeva still being ill-treated?"
    assert "Roza Tuletaeva" in she.quotes[0].text  # the sentence naming her (the hash embedder: no meaning)


def test_without_history_a_vague_question_is_asked_as_worded(report):
    out = report.ask("What happened to them?").to_dict()
    assert "resolved_question" not in out and not out["message"].startswith("Understood as")
    whole = report.ask("Who is Aron Atabek?", history=["How many people were arrested?"]).to_dict()
    assert "resolved_question" not in whole


def test_a_bad_history_is_refused_naming_the_fault(report):
    with pytest.raises(QuestionError, match="the history holds 11 questions; the limit is 10"):
        report.ask("Why?", history=["Who is Aron Atabek?"] * 11)
    limit = report.settings.max_question_chars
    with pytest.raises(QuestionError, match=f"history entry 2 is {limit + 1:,} characters; each must be text of at "
                                            f"most {limit:,} characters"):
        report.ask("Why?", history=["Who is Aron Atabek?", "x" * (limit + 1)])



def test_a_follow_up_moves_on_to_the_text_after_the_previous_answer(report):
    """The sentence after the previous answer's best quote is read, ranked up and, as its evidence reaches the
    verdict's floor, quoted even below the usual share of the best score (the sentence shown again): before,
    the answer stopped at the first two below."""
    first = "Which activist's detention is Amnesty following?"
    shown = [q["text"] for q in report.ask(first).to_dict()["quotes"]]
    assert shown[0] == ("Diaz-Jogeix: There are a couple of persons whose detentions we are following. "
                        "That includes [activist] Roza Tuletaeva.")
    out = report.ask("Is she still being ill-treated?", history=[first]).to_dict()
    assert [q["text"] for q in out["quotes"]] == [
        shown[0],
        "Diaz-Jogeix: The Amnesty International report does not only focus on Zhanaozen. We have brought additional "
        "cases where we have concerns.",
        "We don't have information of ongoing ill-treatment. However, we have raised concerns with regards to "
        "their access to a doctor."]
    assert_quotes_verbatim(out, report)


def test_a_follow_up_asked_with_questions_alone_equals_the_chats(report):
    """The chat hands each follow-up its previous answer's quotes; REST and `verbatim ask --history` hand only the
    questions, and the previous answers are worked out again, each with its own history: the same quotes, byte
    for byte, three turns deep (before, the second answer was worked out without its own previous answer)."""
    turns = ["Which activist's detention is Amnesty following?", "Is she still being ill-treated?",
             "What has Amnesty raised about her?"]
    shown, chat = None, []
    for n, question in enumerate(turns):  # as app/web/events.py asks: the questions so far, the last answer's quotes
        answer = report.ask(question, history=turns[:n], previous=shown).to_dict()
        chat.append(answer)
        shown = answer["quotes"]
    assert report.ask(turns[2], history=turns[:2]).to_dict() == chat[2]
    assert report.ask(turns[1], history=turns[:1]).to_dict() == chat[1]
