"""Chunk: split documents into sentences and overlapping, model-sized chunks with exact offsets.

A `Chunk` is the one unit that flows from here through the index, retrieval, quoting, the UI and
the evaluation. Its text is always `document.text[start:end]`.

Sentences come from pysbd (rule-based sentence boundary detection) inside each paragraph, so a
sentence never crosses a paragraph; its rules are those of the document's language where pysbd has
them ("г." ends no Russian sentence), else English's. Chunks pack whole sentences up to
`chunk_max_words` words and repeat the last `chunk_overlap_sentences` sentences of one chunk at the
start of the next.
A sentence whose text already appeared earlier in the same document (a repeated photo caption,
page furniture) is boilerplate: it is left out of every chunk, so duplicates never crowd answers.

>>> from app.index.ingest import document_from_text
>>> chunks, sentences = chunk_document(document_from_text("a.txt", "Hi there. Bye now."))
>>> [(c.start, c.end, c.text) for c in chunks]
[(0, 18, 'Hi there. Bye now.')]
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from app.index.ingest import Document
from app.settings import BuildSettings

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Sentence:
    """A sentence's place in its document."""

    doc: str
    start: int
    end: int
    paragraph: int
    page: int | None


@dataclass(frozen=True)
class Chunk:
    """A passage of a document with its exact source offsets: text == document.text[start:end]."""

    id: str
    doc: str
    text: str
    start: int
    end: int
    paragraph: int
    page: int | None

    def to_dict(self) -> dict:
        return {"id": self.id, "doc": self.doc, "start": self.start, "end": self.end,
                "paragraph": self.paragraph, "page": self.page, "text": self.text}


def chunk_id(doc: str, start: int, end: int, text: str) -> str:
    return hashlib.sha256(f"{doc}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()[:16]


def sentence_language(language: str) -> str:
    """The pysbd rules a document in `language` (ISO 639-1) is split by: its own where pysbd has them, else English.

    >>> sentence_language("ru"), sentence_language("uk")
    ('ru', 'en')
    """
    from pysbd.languages import LANGUAGE_CODES

    return language if language in LANGUAGE_CODES else "en"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _unwrap(part: str) -> str:
    """The paragraph with each line break read as a space (same length, so offsets hold): a sentence
    wrapped across lines is one sentence to pysbd, which otherwise cuts at every line break.

    >>> _unwrap("licensed under the\\nterms of the GNU LGPL.")
    'licensed under the terms of the GNU LGPL.'
    """
    return part.replace("\r", " ").replace("\n", " ")


def sentence_spans(text: str, start: int, end: int, language: str = "en") -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], by the rules of `language` (`sentence_language`); falls back to
    the whole span if pysbd stumbles. A segmenter is made per call (under a microsecond, beside the ~0.3 ms
    `segment` takes on a short paragraph): `segment` keeps the text it splits on the segmenter, so one shared
    by two threads would match one's sentences against the other's text."""
    import pysbd

    part = _unwrap(text[start:end])
    spans: list[tuple[int, int]] = []
    try:
        pos = 0
        for piece in pysbd.Segmenter(language=sentence_language(language), clean=False, char_span=True).segment(part):
            s, e = piece.start, piece.end
            if s < pos or e > len(part) or part[s:e] != piece.sent:
                raise ValueError("pysbd span does not match its text")
            spans.append((s, e))
            pos = e
    except Exception:  # pysbd is a heuristic library; never let it lose text
        spans = [(0, len(part))]
    trimmed = [_trim(text, start + s, start + e) for s, e in spans]
    return [(s, e) for s, e in trimmed if e > s]


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Cut a span of more than max_words words into windows of whole words."""
    # finditer(text, pos, endpos) reports positions in `text` itself: no offset to add
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    if len(words) <= max_words:
        return [(start, end)]
    return [(words[i][0], words[min(i + max_words, len(words)) - 1][1]) for i in range(0, len(words), max_words)]


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


MIN_SENTENCE_WORDS = 6


def _merge_short(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join a sentence of under MIN_SENTENCE_WORDS words to its neighbour in the paragraph.

    "Not really." or "That includes [activist] Roza Tuletaeva." only make sense with the sentence
    beside them, so they are quoted (and embedded) together with it.
    """
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and len(text[s:e].split()) < MIN_SENTENCE_WORDS:
            out[-1] = (out[-1][0], e)  # a short sentence joins the one before it
        elif out and len(text[out[-1][0]:out[-1][1]].split()) < MIN_SENTENCE_WORDS:
            out[-1] = (out[-1][0], e)  # a short opening sentence joins the one after it
        else:
            out.append((s, e))
    return out


def split_sentences(document: Document, max_words: int) -> list[Sentence]:
    """The document's quotable sentences in order: short ones joined to a neighbour, boilerplate
    repeats removed, none over max_words."""
    seen: set[str] = set()
    out: list[Sentence] = []
    text = document.text
    furniture = set(document.furniture)
    for p_index, (p_start, p_end) in enumerate(document.paragraphs, start=1):
        if (p_start, p_end) in furniture:
            continue  # navigation, notices, printed-twice captions: in the text, never quoted
        for s, e in _merge_short(text, sentence_spans(text, p_start, p_end, document.language)):
            key = _normalise(text[s:e])
            if key in seen:
                continue
            seen.add(key)
            for ws, we in _split_long(text, s, e, max_words):
                out.append(Sentence(document.doc, ws, we, p_index, document.page_at(ws)))
    return out


def _word_count(text: str) -> int:
    return len(text.split())


def _contiguous_runs(text: str, sentences: list[Sentence]) -> list[list[Sentence]]:
    """Group sentences into runs with no removed boilerplate sentence between them."""
    runs: list[list[Sentence]] = []
    for sent in sentences:
        if runs and not _has_text(text, runs[-1][-1].end, sent.start):
            runs[-1].append(sent)
        else:
            runs.append([sent])
    return runs


def _has_text(text: str, start: int, end: int) -> bool:
    return bool(text[start:end].strip())


def chunk_document(document: Document, settings: BuildSettings | None = None) -> tuple[list[Chunk], list[Sentence]]:
    """Chunks and sentences of one document."""
    settings = settings or BuildSettings()
    sentences = split_sentences(document, settings.chunk_max_words)
    chunks: list[Chunk] = []
    for run in _contiguous_runs(document.text, sentences):
        i = covered = 0  # run[:covered] already lies in a chunk
        while i < len(run):
            j, words = i, 0
            while j < len(run):
                n = _word_count(document.text[run[j].start:run[j].end])
                if j > i and words + n > settings.chunk_max_words:
                    break
                words += n
                j += 1
            if j <= covered:  # the overlap could take nothing new: it would repeat the chunk before
                i = covered
                continue
            covered = j
            first, last = run[i], run[j - 1]
            text = document.text[first.start:last.end]
            chunks.append(Chunk(chunk_id(document.doc, first.start, last.end, text), document.doc, text,
                                first.start, last.end, first.paragraph, first.page))
            if j >= len(run):
                break
            i = max(j - settings.chunk_overlap_sentences, i + 1)
    return chunks, sentences
