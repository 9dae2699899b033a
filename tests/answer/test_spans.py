"""Answer spans: exact spans on hand-written sentences for every answer type, offsets verbatim inside the quote."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.answer.answer_types import analysis_of, holds
from app.answer.assistant import Assistant
from app.answer.spans import (
    FEATURES,
    Sentence,
    best_span,
    candidates,
    load_model,
    sentence_from_doc,
)
from app.errors import VerbatimError
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.runtime import Runtime
from app.settings import AnswerSettings

parse = Runtime().parse  # one pipeline for the module

# (question, sentence, the answer a reader would mark): one per answer type
CASES = [
    ("Who founded the company?", "The company was founded in 1998 by Marie Dubois, a chemist from Lyon.",
     "Marie Dubois"),
    ("Which company built the bridge?", "The bridge was built by Siemens over four years.", "Siemens"),
    ("Where was the treaty signed?", "The treaty was signed in Lisbon by all the member states.", "Lisbon"),
    ("When was the treaty signed?", "The treaty was signed in December 2007 by the member states.", "December 2007"),
    ("How long did the siege last?", "The siege lasted eleven months before the city fell.", "eleven months"),
    ("How many people were detained?", "Police said that 700 people were detained in Almaty.", "700"),
    ("How much did the bridge cost?", "The new bridge cost $2 million to build.", "$2 million"),
    ("What percentage of voters agreed?", "In the survey, 40 percent of voters agreed with the plan.", "40 percent"),
    ("How tall is the tower?", "The tower is 330 metres tall and stands in Paris.", "330 metres"),
    ("What did Tesla invent?", "Tesla invented the induction motor in 1887.", "induction motor"),
]


def _sentence(text: str, offset: int = 0) -> Sentence:
    return sentence_from_doc(parse([text])[0], offset)


@pytest.mark.parametrize("question, sentence, expected", CASES)
def test_best_span_is_the_answer_for_each_type(question, sentence, expected):
    span = best_span(analysis_of(parse([question])[0]), _sentence(sentence, 1000), load_model())
    assert sentence[span.start - 1000:span.end - 1000] == expected


def test_why_and_how_questions_get_no_span():
    sent = _sentence("The talks failed because neither side would give up the port.")
    for q in ("Why did the talks fail?", "How did the talks fail?"):
        assert best_span(analysis_of(parse([q])[0]), sent, load_model()) is None


def test_candidates_are_entities_numbers_and_noun_phrases_each_once():
    sent = _sentence("The bridge cost $2 million in 1998.")
    got = {(sent.text[a:b], label) for a, b, label in candidates(sent)}
    # "the bridge" loses its article; "$2 million" is an entity and also the number regex's match (kept once)
    assert got == {("bridge", "NP"), ("$2 million", "MONEY"), ("1998", "DATE")}


def test_typed_question_needs_a_candidate_of_its_type_outside_the_question():
    q = analysis_of(parse(["How many people were detained in 2011?"])[0])
    many, some = _sentence("Many people were detained in 2011 after the strike."), _sentence(
        "About 700 people were detained in 2011.")
    assert not holds(q.asked, many.text, candidates(many), q.text)
    assert holds(q.asked, some.text, candidates(some), q.text)


def test_weights_file_for_other_features_is_a_one_line_error(tmp_path: Path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"features": ["x"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0,
                                "threshold": 0.5}))
    with pytest.raises(VerbatimError, match=r"w.json is missing or unusable \(its features differ"):
        load_model(path)


def test_probabilities_are_the_logistic_of_the_standardised_features():
    model = load_model()
    rows = np.ones((1, len(FEATURES)), np.float32)
    z = float((((rows - model.mean) / model.scale) @ model.coef)[0] + model.intercept)
    assert model.probabilities(rows)[0] == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-6)


def test_assistant_fills_the_answer_span_verbatim_inside_the_quote(tmp_path: Path):
    text = "Strike in Zhanaozen\n\nPolice said that 700 people were detained in Almaty after the strike."
    build_index(tmp_path / "i", HashEmbedder(), documents=[document_from_text("r.txt", text)])
    assistant = Assistant.load(tmp_path / "i", HashEmbedder(), AnswerSettings(threshold=0.1, floor=0.05))
    quote = assistant.ask("How many people were detained?").to_dict()["quotes"][0]
    at = text.index("700")
    assert quote["answer"] == {"text": "700", "start": at, "end": at + 3}
    assert text[quote["answer"]["start"]:quote["answer"]["end"]] == quote["answer"]["text"]
    assert quote["start"] <= quote["answer"]["start"] < quote["answer"]["end"] <= quote["end"]
    plain = assistant.with_settings(spans=False).ask("How many people were detained?").to_dict()["quotes"][0]
    assert "answer" not in plain and plain["text"] == quote["text"]
