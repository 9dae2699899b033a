"""Ranking across documents (`DocumentScorer`, app/index/search.py) as the assistant uses it: a passage's score mixed
with its whole document's BM25 in hybrid mode, over more than one document only."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.index.lexical import tokenize
from app.index.search import DocumentScorer
from app.settings import AnswerSettings

# the Apache text's second chunk holds its definition of a contributor; "apache" is in its text only
INTRO = " ".join(["The Apache License is the licence of the Apache Software Foundation."] * 4
                 + [f"Clause {i} of the Apache License covers copies." for i in range(8)])  # 108 words: a chunk
APACHE = f"{INTRO}\n\nContributor shall mean the licensor."
OTHER = "Who is a contributor? A contributor under the license is anyone who sends a change."
QUESTION = "Who is a contributor under the Apache license?"


@pytest.fixture(scope="module")
def shelf(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ranking")
    build_index(folder / "index", HashEmbedder(), documents=[document_from_text("apache.txt", APACHE),
                                                             document_from_text("other.txt", OTHER)])
    return folder / "index"


def _hits(index: Path, doc_weight: float) -> list:
    settings = AnswerSettings(doc_weight=doc_weight, title_weight=0.0)
    assistant = Assistant.load(index, embedder=HashEmbedder(), settings=settings)
    return assistant.search(QUESTION, k=10).hits


def test_the_document_that_matches_the_question_lifts_its_passage(shelf: Path):
    alone = _hits(shelf, 0.0)
    # best passage alone: the other text's sentences share more of the question's words
    assert [h.chunk.doc for h in alone] == ["other.txt", "apache.txt", "apache.txt"]
    assert alone[1].chunk.text.endswith("Contributor shall mean the licensor.")
    fused = _hits(shelf, 0.5)
    assert [h.chunk.doc for h in fused] == ["apache.txt", "apache.txt", "other.txt"]
    assert fused[0].chunk == alone[1].chunk  # the Apache text's definition comes first
    # each score is half its passage's and half its document's BM25 divided by the best document's
    bm25 = DocumentScorer([document_from_text("apache.txt", APACHE), document_from_text("other.txt", OTHER)])
    raw = bm25.scores(tokenize(QUESTION))
    doc = dict(zip(("apache.txt", "other.txt"), raw / raw.max(), strict=True))
    passage = {h.chunk: h.score for h in alone}
    assert [round(h.score, 9) for h in fused] == [round(0.5 * passage[h.chunk] + 0.5 * float(doc[h.chunk.doc]), 9)
                                                  for h in fused]


def test_one_document_in_scope_is_ranked_as_before(shelf: Path):
    plain = Assistant.load(shelf, embedder=HashEmbedder(), settings=AnswerSettings(doc_weight=0.0, title_weight=0.0))
    fused = Assistant.load(shelf, embedder=HashEmbedder(), settings=AnswerSettings(doc_weight=0.5, title_weight=0.1))
    for docs in (["apache.txt"], ["other.txt"]):
        assert fused.search(QUESTION, k=5, docs=docs).hits == plain.search(QUESTION, k=5, docs=docs).hits


def test_only_hybrid_mixes_in_the_document(shelf: Path):
    plain = Assistant.load(shelf, embedder=HashEmbedder(), settings=AnswerSettings(doc_weight=0.0, title_weight=0.0))
    fused = Assistant.load(shelf, embedder=HashEmbedder(), settings=AnswerSettings(doc_weight=0.5, title_weight=0.1))
    for mode in ("bm25", "dense"):
        assert fused.search(QUESTION, k=5, mode=mode).hits == plain.search(QUESTION, k=5, mode=mode).hits


@pytest.mark.parametrize("weights", [(-0.1, 0.0), (0.0, -0.1), (0.6, 0.4), (1.0, 0.0)])
def test_weights_that_leave_no_share_to_the_passage_are_refused(weights):
    with pytest.raises(ValueError, match="must be >= 0 and leave the passage a share"):
        AnswerSettings(doc_weight=weights[0], title_weight=weights[1])
