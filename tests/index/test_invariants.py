"""Offsets stay exact: each drift case found on real documents, the build-time invariant gate, and
property tests over random texts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import IndexBuildError
from app.index import build
from app.index.build import build_index
from app.index.chunk import Chunk, Sentence, chunk_document
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.index.invariants import build_problems, document_problems, span_problem
from app.index.store import read_manifest
from app.index.verify import verify_index
from app.settings import BuildSettings


def _problems(text: str, build: BuildSettings | None = None) -> list[str]:
    doc = document_from_text("d.txt", text)
    chunks, sentences = chunk_document(doc, build or BuildSettings())
    return document_problems(doc, chunks, sentences)


def test_a_long_sentence_after_the_first_keeps_its_offsets():
    """SQuAD's Computational_complexity_theory: a sentence over the word budget that does not open
    the document was cut at twice its offset (a chunk at 36200:19104 with empty text)."""
    opening = "This opening paragraph is short and ends here."
    long_sentence = " ".join(f"word{i}" for i in range(25)) + "."
    doc = document_from_text("d.txt", f"{opening}\n\n{long_sentence}")
    chunks, sentences = chunk_document(doc, BuildSettings(chunk_max_words=10, chunk_overlap_sentences=0))
    assert [doc.text[s.start:s.end] for s in sentences] == [
        opening,
        " ".join(f"word{i}" for i in range(10)),
        " ".join(f"word{i}" for i in range(10, 20)),
        " ".join(f"word{i}" for i in range(20, 25)) + "."]
    assert [(c.start, c.end) for c in chunks] == [(0, 46), (48, 107), (108, 177), (178, 213)]
    assert all(c.text == doc.text[c.start:c.end] for c in chunks)
    assert document_problems(doc, chunks, sentences) == []


def test_a_window_of_a_long_sentence_never_starts_mid_word():
    """University_of_Chicago: a chunk began "ew children's hospital…" (the doubled offset landed inside a word)."""
    text = "Short start.\n\n" + "A new children's hospital " + " ".join(["opened"] * 120) + "."
    assert _problems(text) == []


def test_an_overlap_that_takes_nothing_new_is_not_a_chunk_of_its_own():
    """1973_oil_crisis: when the sentence after the overlap did not fit, the overlap alone became a
    chunk inside the one before it (2823:3311, then 3229:3311)."""
    first = "One two three four five six seven eight."
    second = "Nine ten eleven twelve thirteen fourteen fifteen sixteen."
    third = " ".join(f"w{i}" for i in range(9)) + "."
    doc = document_from_text("d.txt", f"{first} {second} {third}")
    chunks, sentences = chunk_document(doc, BuildSettings(chunk_max_words=16, chunk_overlap_sentences=1))
    assert [c.text for c in chunks] == [f"{first} {second}", third]
    assert document_problems(doc, chunks, sentences) == []


def test_span_problem_names_each_broken_invariant():
    text = "Hello world. Bye."
    assert span_problem(text, 0, 12) is None
    assert span_problem(text, 5, 3) == "lies outside its document of 17 characters"
    assert span_problem(text, 10, 40) == "lies outside its document of 17 characters"
    assert span_problem(text, 12, 13) == "is blank"
    assert span_problem(text, 1, 12) == "starts inside a word"
    assert span_problem(text, 0, 4) == "ends inside a word"


def test_document_problems_reports_wrong_text_paragraph_and_order():
    doc = document_from_text("d.txt", "Alpha beta gamma.\n\nDelta epsilon zeta.")
    good = [Sentence("d.txt", 0, 17, 1, None), Sentence("d.txt", 19, 38, 2, None)]
    assert document_problems(doc, [Chunk("x", "d.txt", doc.text, 0, 38, 1, None)], good) == []
    wrong_text = Chunk("x", "d.txt", "Alpha beta gamma!", 0, 17, 1, None)
    assert document_problems(doc, [wrong_text], good) == ["d.txt chunk 0:17 does not equal its document text"]
    wrong_paragraph = [Sentence("d.txt", 0, 17, 2, None), good[1]]
    assert document_problems(doc, [], wrong_paragraph) == ["d.txt sentence 0:17 is not inside its paragraph 2"]
    c1 = Chunk("a", "d.txt", doc.text[19:38], 19, 38, 2, None)
    c2 = Chunk("b", "d.txt", doc.text[0:17], 0, 17, 1, None)
    assert document_problems(doc, [c1, c2], good) == ["d.txt chunk 0:17 is out of order after chunk 19:38"]
    off_boundary = Chunk("c", "d.txt", doc.text[0:10], 0, 10, 1, None)
    assert document_problems(doc, [off_boundary], good) == [
        "d.txt chunk 0:10 does not begin and end on sentence boundaries"]
    assert build_problems([doc], [Chunk("z", "other.txt", "x", 0, 1, 1, None)], good) == [
        "chunk 0:1 names unknown document other.txt"]


def test_a_build_that_breaks_an_invariant_fails_and_keeps_the_old_index(tmp_path: Path, tiny_corpus: Path,
                                                                        monkeypatch):
    index_dir = tmp_path / "index"
    build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    before = read_manifest(index_dir).created_at, index_dir.resolve()
    real = build.chunk_document

    def drifting(document, settings=None):
        chunks, sentences = real(document, settings)
        c = chunks[0]
        return [Chunk(c.id, c.doc, c.text, c.start + 1, c.end + 1, c.paragraph, c.page), *chunks[1:]], sentences

    monkeypatch.setattr(build, "chunk_document", drifting)
    (tiny_corpus / "prisons.txt").write_text("Changed text so the document is chunked again. It has two sentences.")
    with pytest.raises(IndexBuildError, match=r"^\d+ chunk/sentence offset problem\(s\), first: prisons.txt chunk 1:"):
        build_index(index_dir, HashEmbedder(), corpus_dir=tiny_corpus)
    assert (read_manifest(index_dir).created_at, index_dir.resolve()) == before
    assert verify_index(index_dir) == []


# ---------------------------------------------------------------- properties over random texts

_WORDS = st.sampled_from(["the", "prison", "Dr.", "U.S.", "e.g.", "3.5", "No.", "(see", "below)", "\u201cquoted\u201d",
                          "Zhanaozen", "\u00e9t\u00e9", "\u0416\u0430\u043d\u0430", "1,000", "p.m.", "'single'",
                          "[bracket]", "Mr.", "St.", "x", "a", "long-winded"])
_ENDS = st.sampled_from([".", "?", "!", "", "...", ".\u201d"])


@st.composite
def _texts(draw) -> str:
    sentences = draw(st.lists(st.builds(lambda ws, e: " ".join(ws) + e, st.lists(_WORDS, min_size=1, max_size=140),
                                        _ENDS), min_size=1, max_size=12))
    repeated = sentences + draw(st.lists(st.sampled_from(sentences), max_size=4))  # repeated sentences
    paragraphs = [" ".join(draw(st.permutations(repeated))[:draw(st.integers(1, 4))])
                  for _ in range(draw(st.integers(1, 5)))]
    paragraphs += draw(st.lists(st.sampled_from(paragraphs), max_size=2))  # repeated paragraphs
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = (newline * 2).join(paragraphs)
    return text + draw(st.sampled_from(["", newline, "  "]))  # with or without a final newline


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_texts(), max_words=st.sampled_from([10, 30, 100]), overlap=st.integers(0, 2))
def test_every_invariant_holds_on_random_texts(text: str, max_words: int, overlap: int):
    doc = document_from_text("r.txt", text)
    chunks, sentences = chunk_document(doc, BuildSettings(chunk_max_words=max_words,
                                                          chunk_overlap_sentences=overlap))
    assert document_problems(doc, chunks, sentences) == []
    assert chunks
    assert all(len(c.text.split()) <= max_words for c in chunks)
