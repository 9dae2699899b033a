"""Language detection of short questions: 15 languages told, tricky English never flagged."""

from __future__ import annotations

import json

import pytest

from app.index.language import content_words, detect_language, language_name
from app.runtime import Runtime
from tests.conftest import REPO, need_benchmark

# one short question per language, each written by hand (not taken from the detector's output)
FOREIGN = [
    ("ru", "Сколько человек было арестовано?"), ("kk", "Қанша адам қамауға алынды?"),
    ("kk", "Бұл баяндама не туралы?"), ("uk", "Про що ця доповідь?"),
    ("es", "¿Cuántas personas fueron arrestadas?"), ("es", "¿Qué pasó en Zhanaozen en 2011?"),
    ("fr", "De quoi parle ce rapport ?"), ("de", "Wie viele Menschen wurden verhaftet?"),
    ("de", "Was geschah in Zhanaozen?"), ("it", "Quante persone sono state arrestate?"),
    ("pt", "Quantas pessoas foram presas?"), ("tr", "Kaç kişi tutuklandı?"), ("pl", "Ile osób aresztowano?"),
    ("nl", "Hoeveel mensen werden gearresteerd?"), ("zh", "有多少人被逮捕？"), ("ja", "何人が逮捕されましたか？"),
    ("ar", "كم عدد الأشخاص الذين تم اعتقالهم؟"),
]
ENGLISH = ["Who is Aron Atabek?", "Who is Roza Tuletaeva?", "Zhanaozen?", "Diaz-Jogeix", "David Diaz-Jogeix",
           "December 16, 2011", "2011?", "16 people?", "What is the ICCPR?", "Nursultan Nazarbayev",
           "Was Vladimir Kozlov tortured?", "Is Almaty mentioned?", "How many people were detained, 130 or 700?",
           "How are ergänzungsschulen funded?", "Pavlodar and Shymkent", "hi", "tldr", "key points"]
RUNTIME = Runtime()  # one identifier for the module


def detect(question: str) -> str | None:
    return detect_language(RUNTIME, question)


@pytest.mark.parametrize(("code", "question"), FOREIGN)
def test_short_questions_in_other_languages_are_told(code: str, question: str):
    assert detect(question) == code


@pytest.mark.parametrize("question", ENGLISH)
def test_tricky_english_is_never_flagged(question: str):
    assert detect(question) is None


def test_the_measured_set_covers_ten_languages_and_all_are_flagged():
    rows = [json.loads(line) for line in (REPO / "eval" / "language_questions.jsonl").read_text().splitlines()]
    foreign = [r for r in rows if r["lang"] != "en"]
    assert len({r["lang"] for r in foreign}) >= 10
    assert [r["question"] for r in foreign if detect(r["question"]) is None] == []
    assert [r["question"] for r in rows if r["lang"] == "en" and detect(r["question"]) is not None] == []


def test_names_and_numbers_are_set_aside():
    assert content_words("Was Vladimir Kozlov held in 2012?") == ["Was", "held", "in"]


def test_language_names():
    assert (language_name("kk"), language_name("ru"), language_name("xx")) == ("Kazakh", "Russian", "xx")


def test_no_xquad_english_question_is_flagged():
    data = json.loads(need_benchmark("xquad/xquad.en.dev.json").read_text(encoding="utf-8"))["data"]
    questions = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    assert len(questions) == 612
    assert [q for q in questions if detect(q) is not None] == []
