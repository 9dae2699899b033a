"""Questions in any language, with the default encoder (multilingual-e5-small; marked `model`, a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.answer.messages import line
from app.index.build import build_index
from app.index.encoders import DEFAULT_MODEL, encoder
from app.index.ingest import document_from_text
from tests.conftest import assert_quotes_verbatim

pytestmark = pytest.mark.model

ENGLISH = ("harbour.txt", "The harbour inspection counted 47 fishing boats with broken radios. "
           "The inspectors recommended new radios for every boat before the winter season.")
# Spanish-looking words (la, de, del, con) in an English text about something else: what BM25 would match
DECOY = ("menu.txt", "The restaurant La Casa del Mar serves paella de marisco con limón every Friday. "
         "Its chef trained in Valencia.")
RUSSIAN = ("tyurma.txt", "В колонии под Карагандой содержатся 312 заключённых. "
           "Инспекторы нашли камеры холодными и сырыми.")


def assistant_over(tmp_path: Path, *docs: tuple[str, str]) -> Assistant:
    build_index(tmp_path / "index", encoder(DEFAULT_MODEL, "build"),
                documents=[document_from_text(name, text) for name, text in docs])
    return Assistant.load(tmp_path / "index")


def test_a_question_in_another_language_finds_what_bm25_alone_would_miss(tmp_path: Path):
    assistant = assistant_over(tmp_path, ENGLISH, DECOY)
    question = "¿Cuántos barcos de pesca con la radio rota contó la inspección del puerto?"
    # the decoy reads English (a Spanish name in English prose); the words it shares with the question (la, de,
    # con, del) are Spanish stop words, and the rest, Spanish stems, meet no English stem: BM25 alone finds nothing
    assert assistant.languages() == {"harbour.txt": "en", "menu.txt": "en"}
    assert assistant.search(question, k=1, mode="bm25").hits == []
    answer = assistant.ask(question).to_dict()
    assert answer["language"] == "es" and answer["quotes"][0]["doc"] == "harbour.txt"
    assert "47 fishing boats" in answer["quotes"][0]["text"]
    assert answer["message"].splitlines()[0] == line("es", "quoted_in").format(language="English")
    assert_quotes_verbatim(answer, assistant)


def test_a_russian_document_answers_a_russian_and_an_english_question(tmp_path: Path):
    assistant = assistant_over(tmp_path, RUSSIAN, ENGLISH)
    assert assistant.languages() == {"tyurma.txt": "ru", "harbour.txt": "en"}
    for question in ("Сколько заключённых содержится в колонии под Карагандой?",
                     "How many prisoners are held in the colony near Karaganda?"):
        answer = assistant.ask(question).to_dict()
        assert answer["quotes"][0]["doc"] == "tyurma.txt", question
        assert "312 заключённых" in answer["quotes"][0]["text"] and answer["verdict"] != "not_found"
        assert_quotes_verbatim(answer, assistant)
    assert "language" not in assistant.ask("How many prisoners are held near Karaganda?").to_dict()


@pytest.mark.parametrize("question", [
    "How many рыбацких лодок did the inspection count?",  # two languages in one question
    "ᚺᚩᚹ ᛗᚨᚾᛁ ᛒᚩᚨᛏᛋ",  # runes: a script the encoder has never seen
    "🚢📻❓",  # emoji only
])
def test_odd_questions_get_the_contract_and_quote_verbatim(tmp_path: Path, question: str):
    assistant = assistant_over(tmp_path, ENGLISH)
    answer = assistant.ask(question).to_dict()
    assert answer["verdict"] in ("answered", "uncertain", "not_found") and answer["message"]
    assert len(answer["quotes"]) <= (1 if answer["verdict"] == "not_found" else 3)
    assert_quotes_verbatim(answer, assistant)
