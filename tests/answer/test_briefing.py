"""The briefing cut at ask time: exact points on a small fixture, the word budget, what is never chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.briefing import MAX_WORDS, briefing, check_words
from app.errors import QuestionError
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.index.store import Index, load_index

HEADING = "Prison Review 2024"
TURN = "Interviewer: The ministry says all is well. Is that true?"
S3A = "Inspectors counted 212 prisoners in Karaganda in March 2024."  # 9 words, 4 of them facts, leads
S3B = "Most of the cells there were built for far fewer people than that."  # 13 words
S4A = "Guards beat several men in the yard, the inspectors wrote in their notes that week."  # 15, leads
S4B = "Nothing else was recorded about the guards or the yard that year."  # 12
FURNITURE = "To find out more, click here."
TEXT = f"{HEADING}\n\n{TURN}\n\n{S3A} {S3B}\n\n{S4A} {S4B}\n\n{FURNITURE}"


@pytest.fixture
def index(tmp_path: Path) -> Index:
    document = document_from_text("review.txt", TEXT)
    assert [TEXT[s:e] for s, e in document.furniture] == [FURNITURE]
    build_index(tmp_path / "i", HashEmbedder(), documents=[document])
    return load_index(tmp_path / "i")


def texts(index: Index, words: int) -> list[str]:
    return [q.text for q in briefing(index, "review.txt", words).points]


def test_exact_points_at_small_budgets(index: Index):
    # relevance = centrality (0..1) + 0.25 / (1 + i / 30) + 2 x fact density + 0.5 if it opens its paragraph,
    # over sqrt(words / 20): S3A >= (0.25 + 0.889 + 0.5) / 0.671 = 2.44, the best of the rest at most
    # S4A's (1 + 0.234 + 0.5) / 0.866 = 2.00, so S3A is ranked first whatever the centralities are
    assert texts(index, 10) == [S3A]
    assert texts(index, 20) == [S3A]  # 11 words left: every other candidate has 12 or more
    assert texts(index, 21) == [S3A, S4B]  # 12 words left: only S4B (12) fits, whatever the order after S3A
    assert texts(index, 120) == [S3A, S3B, S4A, S4B]  # all 49 words, in document order


def test_points_are_quote_objects_with_exact_offsets(index: Index):
    result = briefing(index, "review.txt", 21).to_dict()
    assert list(result) == ["doc", "words", "points"] and (result["doc"], result["words"]) == ("review.txt", 21)
    assert [list(p) for p in result["points"]] == [["n", "text", "doc", "start", "end", "paragraph", "page",
                                                    "score"]] * 2
    first, second = result["points"]
    assert (first["n"], first["start"], first["end"], first["paragraph"], first["page"]) == (
        1, TEXT.index(S3A), TEXT.index(S3A) + len(S3A), 3, None)
    assert (second["n"], second["start"], second["paragraph"]) == (2, TEXT.index(S4B), 4)
    assert all(TEXT[p["start"]:p["end"]] == p["text"] for p in result["points"])


@pytest.mark.parametrize("words", [10, 15, 21, 30, 37, 48, 49, 50, 2000])
def test_the_budget_is_never_exceeded(index: Index, words: int):
    points = briefing(index, words=words).points
    assert sum(len(p.text.split()) for p in points) <= words
    assert [p.start for p in points] == sorted(p.start for p in points)


def test_headings_question_turns_and_furniture_are_never_chosen(index: Index):
    chosen = " ".join(texts(index, MAX_WORDS))
    for never in (HEADING, "The ministry says all is well.", "Is that true?", FURNITURE):
        assert never not in chosen


def test_corpus_briefing_has_one_section_per_document(tmp_path: Path):
    docs = [document_from_text("a.txt", S3A), document_from_text("b.txt", S4B)]
    build_index(tmp_path / "i", HashEmbedder(), documents=docs)
    result = briefing(load_index(tmp_path / "i"), words=10).to_dict()
    assert result["doc"] is None
    assert [(p["n"], p["doc"], p["text"]) for p in result["points"]] == [(1, "a.txt", S3A)]  # S4B is 12 words
    result = briefing(load_index(tmp_path / "i"), words=12).to_dict()
    assert [(p["n"], p["doc"]) for p in result["points"]] == [(1, "a.txt"), (2, "b.txt")]


@pytest.mark.parametrize(("words", "message"), [
    (9, "words 9 is out of range; give one from 10 to 2000"),
    (2001, "words 2001 is out of range; give one from 10 to 2000"),
    ("100", "words must be a whole number, not '100'; give one from 10 to 2000"),
    (True, "words must be a whole number, not True; give one from 10 to 2000"),
])
def test_bad_budgets_are_refused_by_name(words, message: str):
    with pytest.raises(QuestionError) as caught:
        check_words(words)
    assert str(caught.value) == message


def test_an_unknown_document_is_refused_by_name(index: Index):
    with pytest.raises(QuestionError, match=r"no document 'nope.txt' in the index; known: review.txt"):
        briefing(index, "nope.txt")
