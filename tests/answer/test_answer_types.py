"""The expected answer type of a question, from a spaCy parse of the question alone."""

from __future__ import annotations

import pytest

from app.answer.answer_types import LABELS_FOR, TYPED, asked
from app.runtime import Runtime

parse = Runtime().parse  # one pipeline for the module


@pytest.mark.parametrize("question, kind, head", [
    ("Who founded the company?", "person", ""),
    ("Who is the president of the court?", "person", ""),
    ("Who is Aron Atabek?", "none", ""),
    ("Which scientist discovered radium?", "person", "scientist"),
    ("Which company built the bridge?", "organisation", "company"),
    ("Where was the treaty signed?", "place", ""),
    ("In what city was he born?", "place", "city"),
    ("What is the name of the river that flows through Paris?", "place", "river"),
    ("When did the war end?", "date", ""),
    ("What year did the war end?", "date", "year"),
    ("How long did the siege last?", "duration", ""),
    ("How long was he held in solitary confinement?", "duration", ""),
    ("How long is the river?", "quantity", ""),
    ("How long can the tusk of a narwhal grow?", "quantity", ""),
    ("How many years did she serve?", "duration", "year"),
    ("How many people were detained?", "count", "people"),
    ("How much did the bridge cost?", "money", ""),
    ("What percentage of voters agreed?", "percent", "percentage"),
    ("How tall is the tower?", "quantity", ""),
    ("What did Tesla invent?", "thing", ""),
    ("Why did the talks fail?", "none", ""),
    ("How did the war end?", "none", ""),
    ("Describe the conditions in the prison.", "none", ""),
])
def test_kind_and_head_of_each_question(question, kind, head):
    got = asked(parse([question])[0])
    assert (got.kind, got.head) == (kind, head)


def test_typed_kinds_name_the_labels_that_answer_them():
    assert TYPED == {"person", "organisation", "place", "date", "duration", "count", "money", "percent", "quantity"}
    assert LABELS_FOR["person"] == {"PERSON"} and LABELS_FOR["money"] == {"MONEY"}
    assert LABELS_FOR["thing"] == set() and LABELS_FOR["none"] == set()
