"""Answers per document: the best quote of each document that answers, each citing its document."""

from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.answer.per_document import asks_each_document
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.settings import AnswerSettings, BuildSettings
from tests.conftest import assert_quotes_verbatim

A = "Solitary confinement lasted nine months in the northern prison. The canteen sells bread and tea on Fridays."
B = "Inspectors found solitary confinement used to punish complaints. Visits by families happen every week."
C = "The food budget rose sharply in 2023 across the region. Staff were trained in first aid."


@pytest.fixture
def shelf(tmp_path: Path) -> Assistant:
    docs = [document_from_text(name, text) for name, text in (("a.txt", A), ("b.txt", B), ("c.txt", C))]
    build_index(tmp_path / "index", HashEmbedder(), BuildSettings(chunk_max_words=30), documents=docs)
    return Assistant.load(tmp_path / "index", embedder=HashEmbedder(),
                          settings=AnswerSettings(threshold=0.15, floor=0.15))


def test_the_wording_that_asks_for_each_document():
    assert asks_each_document("What does each report say about solitary confinement?")
    assert asks_each_document("What do all the documents say about visits?")
    assert asks_each_document("Compare both reports on food")
    assert asks_each_document("Solitary confinement, per document?")
    assert not asks_each_document("What does the report say about solitary confinement?")
    assert not asks_each_document("Did each prisoner get a visit?")


def test_each_document_that_answers_gives_its_best_quote_with_its_citation(shelf: Assistant):
    answer = shelf.ask("What does each report say about solitary confinement?").to_dict()
    assert answer["per_document"] is True
    got = {(q["doc"], q["text"]) for q in answer["quotes"]}
    # each best sentence is under SHORT_SENTENCE_WORDS (15) words, so it takes the next one along: A and B whole
    assert got == {("a.txt", A), ("b.txt", B)}
    assert [q["n"] for q in answer["quotes"]] == [1, 2]
    assert all(f"\u201c{q['text']}\u201d ({q['doc']})" in answer["message"] for q in answer["quotes"])
    assert_quotes_verbatim(answer, shelf)


def test_a_plain_question_and_an_explicit_no_keep_the_plain_answer(shelf: Assistant):
    plain = shelf.ask("What does the report say about solitary confinement?").to_dict()
    assert "per_document" not in plain
    declined = shelf.ask("What does each report say about solitary confinement?", per_document=False).to_dict()
    assert "per_document" not in declined
    assert declined["message"].count("(a.txt)") == 0


def test_one_document_in_scope_is_a_plain_answer(shelf: Assistant):
    answer = shelf.ask("What does each report say about solitary confinement?", docs=["a.txt"]).to_dict()
    assert "per_document" not in answer
    assert {q["doc"] for q in answer["quotes"]} == {"a.txt"}


def test_k_caps_the_documents(shelf: Assistant):
    answer = shelf.ask("solitary confinement", per_document=True, k=1).to_dict()
    # one quote can only come from one document: that is a plain answer, not one per document
    assert "per_document" not in answer and len(answer["quotes"]) == 1
