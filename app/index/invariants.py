"""Invariants: what every chunk and sentence of a build satisfies before it can be cited.

A citation is only as good as its offsets, so every build checks, before it is swapped in, and
`verbatim index verify` checks again on disk:

- 0 <= start < end <= len(document), and a chunk's text is exactly document[start:end];
- the span is not blank and starts and ends on a word boundary (never inside a word);
- a sentence lies inside the paragraph (and page) it names; a chunk starts in its paragraph;
- sentences of a document are in order and do not overlap; chunks of a document are in order
  (starts and ends strictly increasing) and begin and end where sentences do.

Each check returns problems as one-line strings naming the document and offsets; an empty list
means the rows can be trusted.

>>> from app.index.ingest import document_from_text
>>> doc = document_from_text("a.txt", "Hello world.")
>>> span_problem(doc.text, 0, 12), span_problem(doc.text, 1, 12)
(None, 'starts inside a word')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.index.chunk import Chunk, Sentence
from app.index.ingest import Document


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def span_problem(text: str, start: int, end: int) -> str | None:
    """Why text[start:end] cannot be cited (out of bounds, blank, cut inside a word), or None."""
    if not 0 <= start < end <= len(text):
        return f"lies outside its document of {len(text)} characters"
    if not text[start:end].strip():
        return "is blank"
    if start > 0 and _is_word(text[start - 1]) and _is_word(text[start]):
        return "starts inside a word"
    if end < len(text) and _is_word(text[end - 1]) and _is_word(text[end]):
        return "ends inside a word"
    return None


def _inside(spans: Sequence[Sequence[int]] | None, number: int | None, start: int, end: int) -> bool:
    if not spans or number is None or not 1 <= number <= len(spans):
        return False
    lo, hi = spans[number - 1]
    return lo <= start and end <= hi


def document_problems(document: Document, chunks: Iterable[Chunk], sentences: Iterable[Sentence]) -> list[str]:
    """Every broken invariant among one document's chunks and sentences."""
    text, name = document.text, document.doc
    problems: list[str] = []
    starts: set[int] = set()
    ends: set[int] = set()
    prev_end = -1
    for s in sentences:
        where = f"{name} sentence {s.start}:{s.end}"
        why = span_problem(text, s.start, s.end)
        if why:
            problems.append(f"{where} {why}")
            continue
        if not _inside(document.paragraphs, s.paragraph, s.start, s.end):
            problems.append(f"{where} is not inside its paragraph {s.paragraph}")
        if document.pages and not _inside(document.pages, s.page, s.start, s.end):
            problems.append(f"{where} is not inside its page {s.page}")
        if s.start < prev_end:
            problems.append(f"{where} overlaps or precedes the sentence before it (ending at {prev_end})")
        prev_end = s.end
        starts.add(s.start)
        ends.add(s.end)
    prev: Chunk | None = None
    for c in chunks:
        where = f"{name} chunk {c.start}:{c.end}"
        if c.doc != name:
            problems.append(f"{where} names document {c.doc}")
            continue
        why = span_problem(text, c.start, c.end)
        if why:
            problems.append(f"{where} {why}")
            continue
        if text[c.start:c.end] != c.text:
            problems.append(f"{where} does not equal its document text")
        if not _inside(document.paragraphs, c.paragraph, c.start, c.start + 1):
            problems.append(f"{where} does not start in its paragraph {c.paragraph}")
        if c.start not in starts or c.end not in ends:
            problems.append(f"{where} does not begin and end on sentence boundaries")
        if prev is not None and not (prev.start < c.start and prev.end < c.end):
            problems.append(f"{where} is out of order after chunk {prev.start}:{prev.end}")
        prev = c
    return problems


def build_problems(documents: Sequence[Document], chunks: Sequence[Chunk],
                   sentences: Sequence[Sentence]) -> list[str]:
    """Every broken invariant of a whole build (chunks and sentences grouped by document)."""
    by_doc_chunks: dict[str, list[Chunk]] = {d.doc: [] for d in documents}
    by_doc_sents: dict[str, list[Sentence]] = {d.doc: [] for d in documents}
    problems: list[str] = []
    for c in chunks:
        if c.doc not in by_doc_chunks:
            problems.append(f"chunk {c.start}:{c.end} names unknown document {c.doc}")
        else:
            by_doc_chunks[c.doc].append(c)
    for s in sentences:
        if s.doc not in by_doc_sents:
            problems.append(f"sentence {s.start}:{s.end} names unknown document {s.doc}")
        else:
            by_doc_sents[s.doc].append(s)
    for d in documents:
        problems.extend(document_problems(d, by_doc_chunks[d.doc], by_doc_sents[d.doc]))
    return problems
