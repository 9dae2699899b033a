"""The default encoder (multilingual-e5-small) on the real report (marked `model`: about a minute to build)."""

import pytest

from app.answer.assistant import Assistant
from app.errors import VerbatimError
from app.index.encoders import DEFAULT_MODEL, MODELS, encoder
from app.index.verify import verify_index
from tests.conftest import assert_quotes_verbatim, build_report_index

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def report_assistant(tmp_path_factory) -> Assistant:
    index_dir, corpus = build_report_index(tmp_path_factory)
    assert verify_index(index_dir) == []
    return Assistant.load(index_dir, corpus_dir=corpus)


def test_arrest_count_is_quoted(report_assistant: Assistant):
    answer = report_assistant.ask("How many people were arrested on charges of organizing the violence?").to_dict()
    assert answer["answered"] is True
    assert "about 16 people" in answer["quotes"][0]["text"]
    assert_quotes_verbatim(answer, report_assistant)


def test_atabek_question(report_assistant: Assistant):
    answer = report_assistant.ask("Who is Aron Atabek?").to_dict()
    # offered, not asserted: the verdict reads the sentence's dense evidence, and a name shared with the
    # report no longer lifts it (app/answer/quote.py, ScoredSentence)
    assert answer["verdict"] == "uncertain"
    assert "Aron Atabek, who has spent one-third of his time in prison" in answer["quotes"][0]["text"]
    assert_quotes_verbatim(answer, report_assistant)


def test_follow_up_finds_the_atabek_passage(report_assistant: Assistant):
    answer = report_assistant.ask("How long was he in solitary confinement?", history=["Who is Aron Atabek?"]).to_dict()
    assert "one-third of his time in prison so far in solitary confinement" in answer["quotes"][0]["text"]


def test_the_sentence_vouching_for_the_verdict_is_shown(report_assistant: Assistant):
    """A paraphrase shares few words with its answer: "family visits" ranks fifth on shared words, but its
    evidence is the best, so it is shown, third (before, it was not among the three quotes)."""
    answer = report_assistant.ask("Are relatives allowed to see the prisoners?").to_dict()
    assert answer["verdict"] != "not_found"
    assert answer["quotes"][2]["text"] == ("Some of them have their access to family visits restricted in a fairly "
                                           "severe manner.")


def test_methods_of_ill_treatment(report_assistant: Assistant):
    answer = report_assistant.ask("How were detainees mistreated?").to_dict()
    assert any("stripped naked" in q["text"] or "beatings" in q["text"] for q in answer["quotes"])
    assert_quotes_verbatim(answer, report_assistant)


@pytest.mark.parametrize("question", [
    "What did President Nazarbayev say about the protests?",
    "What is the population of Kazakhstan?",
    "Which football team won the league in 2012?",
])
def test_questions_the_report_does_not_answer(report_assistant: Assistant, question: str):
    """Never "answered"; near the report's subject the verdict may be "uncertain" (passages offered,
    not asserted), off it "not_found" with at most the closest passage."""
    answer = report_assistant.ask(question).to_dict()
    assert answer["answered"] is False and answer["verdict"] in ("uncertain", "not_found")
    assert len(answer["quotes"]) <= (1 if answer["verdict"] == "not_found" else 3)
    assert_quotes_verbatim(answer, report_assistant)


def test_an_off_subject_question_is_not_found(report_assistant: Assistant):
    answer = report_assistant.ask("Which football team won the league in 2012?").to_dict()
    assert (answer["verdict"], len(answer["quotes"])) == ("not_found", 1)


def test_every_mode_stays_verbatim(report_assistant: Assistant):
    for mode in ("hybrid", "dense", "bm25"):
        assistant = report_assistant.with_settings(mode=mode)
        answer = assistant.ask("What did police officers testify in court?").to_dict()
        assert answer["quotes"], mode
        assert_quotes_verbatim(answer, report_assistant)


def test_a_fresh_index_answers_with_its_models_calibration(report_assistant: Assistant):
    card = MODELS[DEFAULT_MODEL]
    c, s = report_assistant.calibration, report_assistant.settings
    assert (c.source, c.threshold, c.floor) == ("model default", card.threshold, card.floor)
    assert (s.threshold, s.floor) == (card.threshold, card.floor) and card.floor < card.threshold


def test_questions_are_encoded_on_onnxruntime_with_the_torch_vectors(monkeypatch):
    from app.index.embed import HashEmbedder, SentenceTransformerEmbedder
    from app.index.embed_onnx import OnnxEmbedder
    from app.settings import MODEL_NAME

    onnx = encoder(MODEL_NAME, "query")
    assert isinstance(onnx, OnnxEmbedder) and onnx.name == MODEL_NAME
    questions = ["How many people were arrested?", "Who is Aron Atabek and why is he in prison?"]
    torch = encoder(MODEL_NAME, "query", backend="torch")  # a bench names the backend
    assert isinstance(torch, SentenceTransformerEmbedder)
    cosines = (onnx.encode(questions) * torch.encode(questions)).sum(axis=1)
    assert cosines.min() > 0.9999
    assert encoder(MODEL_NAME, "query", backend="onnx-int8").name == f"{MODEL_NAME}+onnx-int8"
    with pytest.raises(VerbatimError, match="backend 'gpu'"):
        encoder(MODEL_NAME, "query", backend="gpu")
    monkeypatch.setenv("VERBATIM_QUERY_ENCODER", "torch")
    assert isinstance(encoder(MODEL_NAME, "query"), SentenceTransformerEmbedder)
    assert isinstance(encoder("test/hash-embedder-16", "query"), HashEmbedder)


def test_the_reports_120_word_briefing(report_assistant: Assistant):
    """Issue 22: at least 3 points, none from page furniture, a caption, a heading or an interviewer's turn."""
    from app.answer.briefing import briefing

    index = report_assistant.index
    doc = index.documents[0]
    points = briefing(index, doc.doc, 120).points
    assert len(points) >= 3 and sum(len(p.text.split()) for p in points) <= 120
    turns = [(s, e) for s, e in doc.paragraphs if doc.text[s:e].startswith("RFE/RL:")]  # the interviewer's paragraphs
    assert len(turns) == 5
    for p in points:
        assert p.text == doc.text[p.start:p.end]
        assert not any(s <= p.start < e for s, e in turns)
        assert not any(s <= p.start < e or doc.text[s:e] == p.text for s, e in doc.furniture)
        assert "A police officer stands guard" not in p.text and "A still from an amateur video" not in p.text
    answer = report_assistant.ask("Summarize the report").to_dict()
    assert answer["verdict"] == "answered" and answer["quotes"] == [p.to_dict() for p in points]
