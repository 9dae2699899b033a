"""Render: answers, questions and the documents panel as HTML, with every outside string escaped.

Pure functions over plain data (an `Answer.to_dict()` and the index's `Document`s), so the web
chat's look can be tested without Gradio. Text from the corpus or the user only ever reaches the
page through `esc`, which escapes `&`, `<`, `>` and quotes: a corpus containing `<script>` shows
that text literally. Each fragment is one HTML block without blank lines, so the chat's Markdown
renderer passes it through untouched (a `*` or `_` in a quote stays a character, not emphasis).

>>> esc('<img src=x onerror="alert(1)">')
'&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
>>> location({"doc": "r.pdf", "paragraph": 4, "page": 2})
'paragraph 4 (page 2)'
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .ingest import Document

CLOSEST_LABEL = "closest passage \u2014 not an answer"
CONTEXT_CHARS = 220  # paragraph text shown on each side of a quote before eliding
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def esc(text: object) -> str:
    """Escape any text for HTML; newlines become spaces (HTML shows them as spaces anyway)."""
    return _NEWLINES.sub(" ", html.escape(str(text), quote=True))


def location(quote: Mapping) -> str:
    """'paragraph 5' or 'paragraph 5 (page 2)'."""
    where = f"paragraph {quote['paragraph']}"
    return f"{where} (page {quote['page']})" if quote.get("page") else where


def format_size(size_bytes: int) -> str:
    """Human size: '812 B', '5.4 KB', '2.0 MB'.

    >>> format_size(5527)
    '5.4 KB'
    """
    if size_bytes < 1024:
        return f"{size_bytes} B"
    for unit in ("KB", "MB", "GB"):
        size_bytes /= 1024
        if size_bytes < 1024 or unit == "GB":
            return f"{size_bytes:.1f} {unit}"
    raise AssertionError("unreachable")


def format_time(iso: str) -> str:
    """An ISO timestamp as '2026-11-28 01:09 UTC' (unparseable text is returned as given)."""
    try:
        when = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    zone = "UTC" if when.utcoffset() is not None and when.utcoffset().total_seconds() == 0 else when.strftime("%z")
    return f"{when:%Y-%m-%d %H:%M} {zone}".strip()


# ---------------------------------------------------------------- context around a quote


@dataclass(frozen=True)
class Context:
    """A quote inside its paragraph: text before, the quote, text after, and whether either side was cut."""

    before: str
    quote: str
    after: str
    cut_before: bool
    cut_after: bool


def paragraph_context(document: Document, start: int, end: int, max_chars: int = CONTEXT_CHARS) -> Context:
    """The paragraph around `document.text[start:end]`, trimmed to about `max_chars` a side at word breaks."""
    text = document.text
    p_start, p_end = start, end
    if document.paragraphs:
        p_start, p_end = document.paragraphs[document.paragraph_at(start) - 1]
    p_start, p_end = min(p_start, start), max(p_end, end)
    lo, hi = max(p_start, start - max_chars), min(p_end, end + max_chars)
    if lo > p_start and not text[lo - 1].isspace():  # cut at a word break, not mid-word
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < p_end and not text[hi].isspace():
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return Context(text[lo:start], text[start:end], text[end:hi], lo > p_start, hi < p_end)


# ---------------------------------------------------------------- chat messages


def user_html(question: str, max_chars: int = 280) -> str:
    """A question as the chat shows it (very long ones are shortened for display only)."""
    shown = question if len(question) <= max_chars else question[:max_chars].rstrip() + "\u2026"
    return f'<div class="vb-user">{esc(shown)}</div>'


def notice_html(message: str) -> str:
    """A polite notice in place of an answer (empty or over-long question, nothing selected...)."""
    return f'<div class="vb-notice" role="status">{esc(message)}</div>'


def pending_html(text: str = "Searching the report\u2026") -> str:
    return f'<div class="vb-pending" role="status"><span class="vb-dot"></span>{esc(text)}</div>'


def quote_html(quote: Mapping) -> str:
    """One quote as a block quote carrying its [n] marker."""
    marker = f'<span class="vb-n">[{int(quote["n"])}]</span> '
    return (f'<blockquote class="vb-quote">{marker}'
            f'<span class="vb-text">\u201c{esc(quote["text"])}\u201d</span></blockquote>')


def source_html(quote: Mapping, document: Document | None, label: str | None = None) -> str:
    """Where quote [n] comes from: document, paragraph (page), and the quote highlighted in its paragraph."""
    n = int(quote["n"])
    head = (f'<div class="vb-source-head"><span class="vb-n">[{n}]</span> '
            f'<span class="vb-doc">{esc(quote["doc"])}</span> <span class="vb-sep">\u00b7</span> '
            f'<span class="vb-where">{esc(location(quote))}</span>'
            + (f' <span class="vb-label">{esc(label)}</span>' if label else "") + "</div>")
    if document is None:
        body = f'<mark>{esc(quote["text"])}</mark>'
    else:
        ctx = paragraph_context(document, int(quote["start"]), int(quote["end"]))
        body = ("\u2026" if ctx.cut_before else "") + esc(ctx.before) + f"<mark>{esc(ctx.quote)}</mark>" \
            + esc(ctx.after) + ("\u2026" if ctx.cut_after else "")
    return f'<div class="vb-source">{head}<p class="vb-context">{body}</p></div>'


def answer_html(answer: Mapping, documents: Mapping[str, Document], shown: int | None = None,
                sources: bool = True) -> str:
    """An answer (the `Answer.to_dict()` contract) as one HTML block.

    Answered: each quote as a block quote with its [n], then a Sources part. Uncertain: one plain
    line ("The report mentions this, but may not answer it exactly:"), then the quotes as for an
    answer. Not found: the plain message, then the closest passage (if any) labelled "closest
    passage — not an answer".
    `shown` limits the quotes drawn so far and `sources=False` leaves the Sources part out: the
    chat streams an answer in those steps.
    """
    quotes = list(answer["quotes"])[: shown if shown is not None else None]
    parts: list[str] = []
    label = None
    verdict = answer.get("verdict") or ("answered" if answer["answered"] else "not_found")
    if verdict == "answered":
        parts.append('<div class="vb-answer">')
        parts.extend(quote_html(q) for q in quotes)
    elif verdict == "uncertain":
        parts.append('<div class="vb-answer vb-uncertain">')
        parts.append(f'<p class="vb-message">{esc(answer["message"].splitlines()[0])}</p>')
        parts.extend(quote_html(q) for q in quotes)
    else:
        label = CLOSEST_LABEL
        parts.append('<div class="vb-answer vb-unanswered">')
        parts.append(f'<p class="vb-message">{esc(answer["message"])}</p>')
        for q in quotes:
            parts.append(f'<div class="vb-closest"><div class="vb-closest-label">{esc(CLOSEST_LABEL)}</div>'
                         f'{quote_html(q)}</div>')
    if sources and quotes:
        parts.append('<div class="vb-sources"><div class="vb-sources-title">Sources</div>')
        parts.extend(source_html(q, documents.get(q["doc"]), label) for q in quotes)
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------- page furniture


def guess_title(document: Document) -> str:
    """A document's title: its own (HTML), else its first heading-like line, else its file name.

    >>> from .ingest import document_from_text
    >>> guess_title(document_from_text("a.txt", "Menu\\n\\nWatchdog Raises Concerns Over Prisons\\n\\nBody text."))
    'Watchdog Raises Concerns Over Prisons'
    """
    if document.title.strip():
        return " ".join(document.title.split())
    for line in document.text[:4000].splitlines():
        words = line.split()
        if 3 <= len(words) <= 20 and not re.search(r"[.:;,?!]$", line.strip()):
            return " ".join(words)
    stem = document.doc.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or document.doc


def header_html(title: str, report: str, description: str) -> str:
    """The page header: product title, the report's title, one line on what it can and cannot do."""
    return (f'<header class="vb-header"><h1>{esc(title)}</h1>'
            f'<p class="vb-report">{esc(report)}</p>'
            f'<p class="vb-description">{esc(description)}</p></header>')


@dataclass(frozen=True)
class DocumentRow:
    """One line of the documents panel."""

    doc: str
    title: str
    size_bytes: int
    chunks: int
    indexed: str


def documents_html(rows: Sequence[DocumentRow]) -> str:
    """The documents panel: each document's title and file name, size, chunks, and when it was indexed."""
    items = "".join(
        f'<li class="vb-docitem"><span class="vb-doctitle">{esc(r.title)}</span>'
        f'<span class="vb-docfile">{esc(r.doc)}</span>'
        f'<span class="vb-docmeta">{esc(format_size(r.size_bytes))} \u00b7 '
        f'{r.chunks:,} chunk{"s" if r.chunks != 1 else ""}'
        f' \u00b7 indexed <span class="vb-nowrap">{esc(format_time(r.indexed))}</span></span></li>'
        for r in rows)
    return f'<ul class="vb-docs">{items}</ul>'
