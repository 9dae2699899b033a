"""Facts about a document that its body does not state: answers to questions about the document itself.

`about_kind` (app/answer/about.py) tells a question about the document (its title, author, date, kind,
length, language, or an interview's speakers) from a question about what it says. `about_answer`
answers it from the document's structure and what its file declares, never with a span from its body:

- a title, byline, date line or interview speaker the text states: quoted, with the name or date in bold
  (`about_document`); an interview's speakers nowhere named: None, the question is an ordinary one;
- an author or date only the file's metadata declares (a PDF's Author and CreationDate, an HTML
  page's meta tags, `Document.metadata`): said in a plain sentence, the title quoted under it;
- its kind, length and language: read off the document (file type, interview turns, words,
  paragraphs, pages; `Document.language`) and said in a plain sentence, the title quoted under it;
- an author or date stated nowhere: `not_found`, with a plain sentence ("The document does not give its
  publication date.") and the closest passage, without a bold span.

>>> not_stated("date")
'The document does not give its publication date.'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from app.answer.about import SPEAKERS, STRUCTURAL_SCORE, about_document, about_kind
from app.answer.quote import Quote, ScoredSentence
from app.index.ingest import Document
from app.index.language import language_name
from app.index.search import Hit
from app.index.store import Index

_NOT_STATED = {"date": "The document does not give its publication date.",
               "author": "The document does not name its author.",
               "title": "The document does not give its title."}
_DECLARED = {"date": "date", "author": "author"}
_FILE_KINDS = {".pdf": "a PDF", ".html": "a web page (HTML)", ".htm": "a web page (HTML)", ".md": "a Markdown file",
               ".txt": "a plain-text file"}


@dataclass(frozen=True)
class About:
    """The answer to a question about the document itself: its verdict, quotes, score and plain sentence."""

    kind: str
    verdict: str  # "answered" (stated, declared or read off the document) or "not_found"
    quotes: list[Quote]
    score: float | None
    note: str | None = None  # the plain sentence before the quotes (None: the quotes say it)


def not_stated(kind: str) -> str:
    """The sentence for an author, date or title the document does not give."""
    return _NOT_STATED[kind]


def title_quote(doc: Document) -> list[Quote]:
    """The document's title as a quote without an answer span (empty when it has none)."""
    if doc.title_span is None:
        return []
    s, e = doc.title_span
    return [Quote(1, doc.text[s:e], doc.doc, s, e, doc.paragraph_at(s), doc.page_at(s), STRUCTURAL_SCORE)]


def describe_kind(doc: Document) -> str:
    """What kind of document it is, from its file type and structure.

    >>> from app.index.ingest import document_from_text
    >>> describe_kind(document_from_text("r.txt", "Report\\n\\nQ: Why?\\n\\nA: Because."))
    'The document is a plain-text file.'
    """
    kind = _FILE_KINDS.get(PurePosixPath(doc.doc).suffix.lower(), "a file")
    pages = f" of {len(doc.pages)} page{'s' if len(doc.pages) != 1 else ''}" if doc.pages else ""
    turns = len(doc.prompts)
    shape = f"; it reads as an interview or FAQ ({turns} questions put and answered)" if turns >= 2 else ""
    return f"The document is {kind}{pages}{shape}."


def describe_length(doc: Document) -> str:
    """The document's length in words (of its whole text), paragraphs and pages.

    >>> from app.index.ingest import document_from_text
    >>> describe_length(document_from_text("r.txt", "One two three.\\n\\nFour five."))
    'The document is 5 words long, in 2 paragraphs.'
    """
    words, paragraphs = len(doc.text.split()), len(doc.paragraphs)
    pages = f" on {len(doc.pages)} page{'s' if len(doc.pages) != 1 else ''}" if doc.pages else ""
    return f"The document is {words:,} words long, in {paragraphs:,} paragraph{'s' if paragraphs != 1 else ''}{pages}."


def about_answer(index: Index, question: str, hits: list[Hit], scored: list[ScoredSentence], closest: list[Quote],
                 k: int, languages: Mapping[str, str]) -> About | None:
    """The answer to a question about the document itself (None: the question is not one). `closest`: the
    quotes the ordinary path chose (the first is the closest passage when nothing answers); `languages`:
    each document's ISO 639-1 code."""
    kind = about_kind(question)
    if kind is None:
        return None
    found = about_document(index, question, hits, scored, k) if kind in _NOT_STATED or kind in SPEAKERS else []
    if found:
        return About(kind, "answered", found, found[0].score)
    if kind in SPEAKERS:  # no named speaker turns: not an interview, or its speakers are roles ("Q:")
        return None
    doc = index.documents[index.doc_rows[hits[0].chunk.doc]] if hits else index.documents[0]
    declared = doc.metadata.get(_DECLARED.get(kind, ""), "")
    if kind in _NOT_STATED and not declared:
        nearest = [replace(q, n=1, answer=None) for q in closest[:1]]
        return About(kind, "not_found", nearest, nearest[0].score if nearest else None, not_stated(kind))
    if declared:
        note = f"The document's {'file' if doc.pages is None else 'PDF'} metadata gives its {kind}: {declared}."
    elif kind == "language":
        note = f"The document is in {language_name(languages.get(doc.doc, 'en'))}."
    else:
        note = describe_length(doc) if kind == "length" else describe_kind(doc)
    return About(kind, "answered", title_quote(doc), STRUCTURAL_SCORE, note)
