"""Questions answered without a search: the briefing, the help text, another language."""

from __future__ import annotations

import pytest

from app.answer.assistant import Assistant
from app.answer.briefing import BRIEFING_NOTE, briefing
from app.answer.examples import default_examples
from app.answer.intents import is_help, is_summary
from app.answer.messages import line
from tests.conftest import assert_quotes_verbatim

SUMMARY = ["Summarize the report", "Summarise the report.", "What is this report about?", "What's the report about?",
           "key points", "Key points?", "main findings", "What are the main findings?", "Give me a summary",
           "Can you summarize this document, please?", "tl;dr", "What are the key takeaways of the report?",
           "Overview", "Briefing", "What does the report say?", "List the main points", "summary of the report"]
SEARCHES = ["What are the main findings about torture?", "What does the report say about Aron Atabek?",
            "Summarize what happened to the prisoners", "Who wrote the report?", "What is solitary confinement?",
            "How many key witnesses were there?", "help the prisoners"]
HELP = ["hi", "Hello!", "hey", "help", "Help?", "What can you do?", "what can I ask?", "Who are you?",
        "How does this work?", "thanks", "Good morning"]


@pytest.mark.parametrize("question", SUMMARY)
def test_summary_questions_are_recognised(question: str):
    assert is_summary(question) and not is_help(question)


@pytest.mark.parametrize("question", SEARCHES)
def test_questions_about_something_are_searches(question: str):
    assert not is_summary(question) and not is_help(question)


@pytest.mark.parametrize("question", HELP)
def test_greetings_and_questions_about_the_assistant_get_help(question: str):
    assert is_help(question) and not is_summary(question)


@pytest.mark.parametrize("question", ["Summarize the report", "What is this report about?", "key points",
                                      "main findings"])
def test_summary_questions_are_answered_with_the_briefing(tiny_assistant: Assistant, question: str):
    answer = tiny_assistant.ask(question).to_dict()
    expected = [q.to_dict() for q in briefing(tiny_assistant.index).points]
    assert len(expected) >= 3
    assert (answer["verdict"], answer["answered"], answer["confidence"]) == ("answered", True, 1.0)
    assert answer["quotes"] == expected
    assert answer["message"].splitlines() == [BRIEFING_NOTE] + [f"[{q['n']}] \u201c{q['text']}\u201d"
                                                                 for q in expected]
    assert "language" not in answer
    assert_quotes_verbatim(answer, tiny_assistant)


def test_a_summary_of_chosen_documents_briefs_only_those(tiny_assistant: Assistant):
    answer = tiny_assistant.ask("Summarize the report", docs=["sub/budget.md"]).to_dict()
    assert {q["doc"] for q in answer["quotes"]} == {"sub/budget.md"}
    assert answer["quotes"] == [q.to_dict() for q in briefing(tiny_assistant.index, "sub/budget.md").points]


def test_the_help_answer_lists_example_questions_and_quotes_nothing(tiny_assistant: Assistant):
    answer = tiny_assistant.ask("What can you do?").to_dict()
    assert (answer["verdict"], answer["quotes"], answer["confidence"]) == ("not_found", [], 0.0)
    lines = answer["message"].splitlines()
    assert lines[0].startswith("I answer questions about the report by quoting it word for word")
    assert lines[2:] == [f"- {q}" for q in default_examples(tiny_assistant.index, 4)] + [
        "- Summarize the report (its key passages)"]
    assert "language" not in answer


@pytest.mark.parametrize(("question", "code"), [
    ("Сколько заключённых было в камерах?", "ru"), ("Қанша тұтқын болды?", "kk"),
    ("¿Cuántos presos había en las celdas?", "es")])
def test_a_question_in_another_language_is_searched_and_framed_in_its_language(tiny_assistant: Assistant,
                                                                             question: str, code: str):
    """Never turned away: the report's English quotes, framed by lines in the asker's language."""
    answer = tiny_assistant.ask(question).to_dict()
    assert list(answer) == ["question", "answered", "verdict", "confidence", "message", "quotes", "language"]
    assert answer["language"] == code and answer["quotes"]
    first, rest = answer["message"].split("\n", 1)
    assert first == line(code, "quoted_in").format(language="English")
    verdict_line = {"answered": "", "uncertain": line(code, "uncertain"),
                    "not_found": f"{line(code, 'not_answered')} {line(code, 'closest')}"}[answer["verdict"]]
    assert rest.startswith(verdict_line)


@pytest.mark.parametrize(("greeting", "code"), [("Привет!", "ru"), ("Hilfe", "de"), ("你好", "zh"), ("Сәлем", "kk")])
def test_a_greeting_gets_the_help_in_its_language(tiny_assistant: Assistant, greeting: str, code: str):
    answer = tiny_assistant.ask(greeting).to_dict()
    assert (answer["verdict"], answer["quotes"], answer["language"]) == ("not_found", [], code)
    assert answer["message"].splitlines()[:2] == [line(code, "help"), line(code, "try")]


def test_an_english_question_with_names_is_searched(tiny_assistant: Assistant):
    answer = tiny_assistant.ask("How much did the ministry spend on prison food?").to_dict()
    assert answer["verdict"] == "answered" and "language" not in answer
    assert answer["quotes"][0]["text"] == "The ministry spent 3.2 million dollars on prison food in 2023."
