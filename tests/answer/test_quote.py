"""Quoting in interviews, hearings and FAQs: the reply is quoted, never the interviewer's turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings, BuildSettings
from tests.conftest import DATA, assert_quotes_verbatim

STRUCTURE = DATA / "structure"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    folder: Path = tmp_path_factory.mktemp("structure")
    build_index(folder / "index", HashEmbedder(), BuildSettings(chunk_max_words=30), corpus_dir=STRUCTURE)
    return Assistant.load(folder / "index", settings=AnswerSettings(threshold=0.3, floor=0.2), corpus_dir=STRUCTURE)


@pytest.mark.parametrize("doc, question, reply", [
    # the framing statement ("... criticised for slow repairs ...", "residents waited a week ... last winter")
    # shares most of the question's words and was quoted before turns were known; now it is the reply's
    # passage, and of the reply's sentences the one sharing "repairs" is quoted
    ("interview.txt", "What has the board done about slow repairs?", "Repairs that once took a week now take a day."),
    ("interview.txt", "Did residents wait long for repairs last winter?",
     "Repairs that once took a week now take a day."),
    ("hearing.txt", "How long do prisoners wait to see a doctor?",
     "DR. LEE: On average, prisoners wait nine days for a first appointment."),
    ("faq.md", "How often can I visit?", "Each prisoner may receive two visits a month, of one hour each."),
])
def test_the_reply_is_quoted_not_the_turn(assistant: Assistant, doc: str, question: str, reply: str):
    out = assistant.ask(question, docs=[doc]).to_dict()
    text = (STRUCTURE / doc).read_text(encoding="utf-8")
    first = out["quotes"][0]
    assert (first["text"], first["start"], first["end"]) == (reply, text.index(reply), text.index(reply) + len(reply))
    document = assistant.index.document(doc)
    turns = [document.paragraphs[p - 1] for p in document.prompts]
    assert not any(q["start"] < e and s < q["end"] for q in out["quotes"] for s, e in turns)
    assert_quotes_verbatim(out, assistant)


def test_a_turn_points_to_the_sentences_of_its_reply(assistant: Assistant):
    from app.answer.quote import reply_row, reply_rows

    index = assistant.index
    d = index.doc_rows["interview.txt"]
    rows = [r for r in range(len(index.sentences)) if int(index.sentences[r, 0]) == d]
    starts = {index.documents[d].text[int(index.sentences[r, 1]):int(index.sentences[r, 2])]: r for r in rows}
    turn = starts["Q: How many households lost water during the outage?"]
    first = starts["A: About 4,200 households were without water for two days."]
    second = starts["Crews restored supply on the third morning."]
    assert (reply_row(index, turn), reply_rows(index, turn)) == (first, range(first, second + 1))
    assert reply_row(index, first) is None and len(reply_rows(index, first)) == 0  # a reply points nowhere
    out = assistant.ask("What caused the outage?", docs=["interview.txt"]).to_dict()
    assert out["quotes"][0]["text"] == "A: A water main burst under Station Road after a cold night."


def damping(a, question: str) -> tuple[object, dict[str, float]]:
    """The question's analysis, and each sentence's score with it over its score without (the damping)."""
    from app.answer.answer_types import analyse
    from app.answer.quote import score_sentences
    from app.index.lexical import tokenize

    vector, tokens = a.embedder.encode([question])[0], tokenize(question)
    hits = a.retrieve(vector, tokens, 10, None, None)
    analysis = analyse(a.runtime, question, "en")
    plain = {x.row: x.score for x in score_sentences(a.index, hits, vector, tokens)}
    typed = {x.row: x.score for x in score_sentences(a.index, hits, vector, tokens, analysis)}
    text = a.index.documents[0].text
    return analysis, {text[int(a.index.sentences[r, 1]):int(a.index.sentences[r, 2])]: typed[r] / plain[r]
                      for r in plain}


def test_a_typed_question_damps_each_sentence_without_its_kind_or_its_relation(tmp_path: Path):
    """The scoring stage reads the question's analysis (app/answer/answer_types.py): a sentence without a number
    among its entities and numbers, or without the relation counted ("detained"), scores half."""
    from app.answer.loading import assistant_over_texts
    from app.answer.quote import RELATION_MISS_FACTOR, TYPE_MISMATCH_FACTOR

    sentences = ["Many people were detained after the strike in Almaty.",
                 "Police said 700 people were detained after the strike in Almaty.",
                 "Police said 12 people were killed after the strike in Almaty."]
    a = assistant_over_texts(tmp_path, {"r.txt": "Detentions\n\n" + "\n\n".join(sentences)})
    analysis, got = damping(a, "How many people were detained?")
    assert (analysis.asked.kind, analysis.relation) == ("count", "detained")
    assert got == pytest.approx({sentences[0]: TYPE_MISMATCH_FACTOR, sentences[1]: 1.0,
                                 sentences[2]: RELATION_MISS_FACTOR})
    assert (TYPE_MISMATCH_FACTOR, RELATION_MISS_FACTOR) == (0.5, 0.5)
    # a relation the corpus never words ("locked up" for "detained") tells no sentence from another: not read
    locked, got = damping(a, "How many people were locked up?")
    assert (locked.asked.kind, locked.relation) == ("count", "locked")
    assert got == pytest.approx({sentences[0]: TYPE_MISMATCH_FACTOR, sentences[1]: 1.0, sentences[2]: 1.0})
