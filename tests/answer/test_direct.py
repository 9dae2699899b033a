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
