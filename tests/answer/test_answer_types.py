"""The expected answer type of a question, from a spaCy parse of the question alone; the analysis every stage
reads; and whether a sentence holds an answer of the kind asked."""

from __future__ import annotations

import pytest

from app.answer.answer_types import (
    LABELS_FOR,
    TYPED,
    Analysis,
    Asked,
    analyse,
    analysis_of,
    answer_spans,
    asked,
    holds,
    numbers,
    predicate,
    speaks_to,
)
from app.index.lexical import tokenize
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
    ("How long is the river?", "length", ""),  # a length or a span of time: no verb tells which
    ("How long was the list of names?", "length", ""),
    ("How long is his sentence?", "length", ""),
    ("How long were the officials sentenced to?", "duration", ""),
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
    assert TYPED == {"person", "organisation", "place", "date", "duration", "count", "money", "percent", "quantity",
                     "length"}
    assert LABELS_FOR["person"] == {"PERSON"} and LABELS_FOR["money"] == {"MONEY"}
    assert LABELS_FOR["thing"] == set() and LABELS_FOR["none"] == set()


# ---------------------------------------------------------------- the one analysis of a question


@pytest.mark.parametrize("question, kind, relation, damped", [
    # the questions the regex answer types of app/answer/quote.py were documented with (before issue 28):
    # duration, date, name, name, none there; "Which officials?" now asks for a person
    ("How many years did she get?", "duration", "", True),
    ("When was it published?", "date", "", True),
    ("Which prison is he held in?", "place", "", True),
    ("Where is he held?", "place", "", True),
    ("Which officials?", "person", "", True),
    # its count relations: "killed", and none without a past participle
    ("How many protesters were killed in Zhanaozen?", "count", "killed", True),
    ("How many died?", "count", "", True),
    ("How many have been released?", "count", "released", True),
    ("How many people were arrested for organising the violence?", "count", "arrested", True),
    ("How long were the convicted officials sentenced to?", "duration", "", True),  # a duration names none
    # "who" is typed (the verdict checks it) but not damped: a description answers it as often as a name
    ("Who described confessions and statements made against defendants?", "person", "", False),
    ("What did Tesla invent?", "thing", "", False),
    ("Why did the talks fail?", "none", "", False),
])
def test_the_analysis_of_each_question(question, kind, relation, damped):
    got = analysis_of(parse([question], ner=False)[0])
    assert (got.text, got.language, got.asked.kind, got.relation, got.damped) == (question, "en", kind, relation,
                                                                                 damped)


def test_the_analysis_holds_the_questions_names_and_content_words():
    got = analysis_of(parse(["What did President Nazarbayev say about Zhanaozen?"], ner=False)[0])
    assert got.names == ("President", "Nazarbayev", "Zhanaozen")
    assert got.words == {"presid", "nazarbayev", "say", "zhanaozen"}


def test_an_english_question_is_analysed_from_its_parse_and_another_language_is_not_parsed():
    runtime = Runtime()
    assert analyse(runtime, "How many people were detained?", "en") == analysis_of(
        parse(["How many people were detained?"], ner=False)[0])
    assert dict(runtime.question_parses.stats.sizes) == {1: 1}

    def no_parse():
        raise AssertionError("a question in another language was parsed")

    unparsed = Runtime(nlp=no_parse)
    got = analyse(unparsed, "Сколько человек было арестовано в Жанаозене?", "ru")
    assert got == Analysis("Сколько человек было арестовано в Жанаозене?", "ru", Asked("none"))
    assert (got.typed, got.damped) == (False, False) and not unparsed.nlp_loaded
    assert analyse(unparsed, "Wie viele Menschen wurden in Zhanaozen verhaftet?", "de").names == ("Menschen",
                                                                                              "Zhanaozen")


def test_a_sentence_holds_an_answer_of_the_kind_its_own_labels_or_loosely():
    count, money = Asked("count", wh="how many"), Asked("money", wh="how much")
    text = "They held 700 people for one-third of the year."
    spans = [(10, 13, "CARDINAL"), (25, 34, "CARDINAL"), (38, 46, "DATE"), *numbers(text)]
    assert holds(count, text, spans, "How many people?")
    assert not holds(count, text, spans, "Were 700 people held for one-third of the year?")  # all in the question
    assert not holds(money, text, spans, "How much did they pay?")  # no MONEY: the verdict's check
    assert holds(money, text, spans, "How much did they pay?", loose=True)  # any number: the damping's
    assert not holds(Asked("date", wh="when"), text, [s for s in spans if s[2] != "DATE"], "When?", loose=True)


def test_the_damping_reads_a_span_of_time_as_a_duration_and_a_year_as_none():
    how_long, question = Asked("duration", wh="how long"), "How long was he held?"
    for text, entities in (("He was jailed for life.", []), ("He spent one-third of his time in solitary.", []),
                           ("He was jailed for seven years.", [(20, 29, "DATE")])):
        assert holds(how_long, text, answer_spans(text, entities), question, loose=True), text
    text = "He was jailed in 2011 after the strike."
    spans = answer_spans(text, [(17, 21, "DATE")])
    assert not holds(how_long, text, spans, question, loose=True)
    assert holds(how_long, text, spans, question)  # the verdict's check: DATE answers a duration
    assert not holds(how_long, "He was jailed.", answer_spans("He was jailed.", []), question, loose=True)
    text = "He was jailed for life."
    assert not holds(Asked("count", wh="how many"), text, answer_spans(text, []), "How many?", loose=True)


def test_a_length_is_answered_by_a_number_or_a_span_of_time_but_not_a_year():
    length, question = Asked("length", wh="how long"), "How long was the list?"
    for text, entities in (("It held the names of as many as 700 individuals.", [(33, 48, "CARDINAL")]),
                           ("He was jailed for seven years.", [(20, 29, "DATE")]),
                           ("The river is 1,230 km long.", [(13, 21, "QUANTITY")])):
        assert holds(length, text, answer_spans(text, entities), question, loose=True), text
        assert holds(length, text, answer_spans(text, entities), question), text
    text = "It was drawn up in December."
    spans = answer_spans(text, [(19, 27, "DATE")])
    assert not holds(length, text, spans, question, loose=True)  # no number, no span of time


@pytest.mark.parametrize("question, expected", [
    ("Is torture legal in Kazakhstan?", ["legal"]),
    ("Can prisoners in Kazakhstan complain to an ombudsman?", ["complain", "ombudsman"]),
    ("Does Zhasulan Suleimanov use a wheelchair?", ["use", "wheelchair"]),
    ("Did the police let researchers inspect the prisons?", ["inspect", "prison", "research"]),  # "let": light
    ("How many people were detained?", []),  # not a yes/no question
    ("Who is Aron Atabek?", []),
])
def test_a_yes_no_question_names_the_predicate_it_asks_outside_its_subject(question: str, expected: list[str]):
    got = predicate(parse([question], ner=False)[0])
    assert sorted(got) == sorted(set(expected))


def test_a_quote_speaks_to_a_yes_no_question_by_its_predicate_or_a_word_the_stem_begins():
    legal = analysis_of(parse(["Is torture legal in Kazakhstan?"], ner=False)[0])
    assert not speaks_to(legal, tokenize("Torture in Kazakhstan is routine, the report says."))
    assert speaks_to(legal, tokenize("Torture is not legal anywhere."))
    assert speaks_to(legal, tokenize("Its legality is disputed."))  # "legal" begins "legality"
    treated = analysis_of(parse(["Are the suspects still ill-treated?"], ner=False)[0])
    assert speaks_to(treated, tokenize("We have no information of ongoing ill-treatment."))
    assert speaks_to(analysis_of(parse(["Who was convicted?"], ner=False)[0]), [])  # not a yes/no question


def test_a_yes_no_answer_whose_quotes_never_speak_to_the_predicate_is_at_most_uncertain(tmp_path):
    from app.answer.loading import assistant_over_texts

    text = "Prison Review\n\nTorture in Kazakhstan is routine, the inspectors found.\n\nGuards beat detainees."
    assistant = assistant_over_texts(tmp_path, {"r.txt": text}).with_settings(threshold=0.05, floor=0.01)
    asked = assistant.ask("Is torture routine in Kazakhstan?").to_dict()
    unasked = assistant.ask("Is torture legal in Kazakhstan?").to_dict()
    assert (asked["verdict"], unasked["verdict"]) == ("answered", "uncertain")
    assert unasked["quotes"][0]["text"] == "Torture in Kazakhstan is routine, the inspectors found."
    assert unasked["confidence"] < asked["confidence"]
