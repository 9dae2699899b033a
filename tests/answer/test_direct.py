"""Direct answers at ask time (app/answer/direct.py): sentences parsed once per process."""

from __future__ import annotations

import pytest

from app.answer import direct
from app.answer.spans import sentence_from_doc
from app.index.ner import parse


@pytest.fixture()
def counted(monkeypatch):
    """`direct.parse` with a record of every batch it is given, and an empty store of parses."""
    batches: list[list[str]] = []

    def parse_and_count(texts, ner=True):
        batches.append(list(texts))
        return parse(texts, ner=ner)

    monkeypatch.setattr(direct, "parse", parse_and_count)
    monkeypatch.setattr(direct, "_PARSED", {})
    return batches


def test_a_sentence_is_parsed_once_and_only_the_new_ones_go_to_spacy(counted):
    first = "Police said as many as 700 people were detained in Almaty."
    second = "The siege lasted eleven months before the city fell."
    one = direct.parsed_sentences([first, second])
    two = direct.parsed_sentences([second, "The bridge cost $2 million.", first])
    assert counted == [[first, second], ["The bridge cost $2 million."]]
    assert two[0] is one[1] and two[2] is one[0]
    # what is kept is what a fresh parse gives
    assert one[0] == sentence_from_doc(parse([first], ner=False)[0], 0)


def test_the_store_keeps_at_most_its_size_oldest_out_first(counted, monkeypatch):
    monkeypatch.setattr(direct, "PARSED_MAX", 2)
    direct.parsed_sentences(["One cat sat.", "Two dogs ran.", "Three birds sang."])
    assert list(direct._PARSED) == ["Two dogs ran.", "Three birds sang."]
    direct.parsed_sentences(["One cat sat."])
    assert counted[-1] == ["One cat sat."] and list(direct._PARSED) == ["Three birds sang.", "One cat sat."]


def _quote(n: int, doc: str, start: int, end: int):
    from app.answer.quote import Quote

    return Quote(n, "x" * (end - start), doc, start, end, 1, None, 0.5)


def _direct(spans: dict, threshold: float = 0.3):
    from app.answer.answer_types import Asked
    from app.answer.spans import QuestionView

    return direct.Direct([], spans, QuestionView(Asked("count"), frozenset(), "How many?"), False, threshold)


def test_only_the_first_quote_carries_an_answer():
    # both quotes hold a confident span; the second answers a neighbouring question
    quotes = [_quote(1, "a.txt", 0, 50), _quote(2, "a.txt", 60, 120)]
    found = _direct({0: ("a.txt", direct.Span(10, 20, "CARDINAL", 0.4)),
                     1: ("a.txt", direct.Span(70, 78, "CARDINAL", 0.9))})
    assert [q.answer for q in direct.mark_answers(quotes, found)] == [(10, 20), None]


def test_a_later_quote_never_answers_for_a_first_without_a_confident_span():
    quotes = [_quote(1, "a.txt", 0, 50), _quote(2, "a.txt", 60, 120)]
    found = _direct({0: ("a.txt", direct.Span(10, 20, "CARDINAL", 0.2)),
                     1: ("a.txt", direct.Span(70, 78, "CARDINAL", 0.9))})
    assert [q.answer for q in direct.mark_answers(quotes, found)] == [None, None]


def test_per_document_answers_carry_one_answer_per_document():
    quotes = [_quote(1, "a.txt", 0, 50), _quote(2, "b.txt", 0, 40), _quote(3, "b.txt", 60, 90)]
    found = _direct({0: ("a.txt", direct.Span(5, 9, "DATE", 0.5)), 1: ("b.txt", direct.Span(30, 35, "DATE", 0.6)),
                     2: ("b.txt", direct.Span(61, 70, "DATE", 0.8))})
    assert [q.answer for q in direct.mark_answers(quotes, found, per_document=True)] == [(5, 9), (30, 35), None]
