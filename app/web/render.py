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
from urllib.parse import quote as quote_url

from app.answer.answer import QUOTED_ABOVE
from app.answer.briefing import BRIEFING_NOTE
from app.index.ingest import Document

CLOSEST_LABEL = "closest passage \u2014 not an answer"
CONTEXT_CHARS = 220  # paragraph text shown on each side of a quote before eliding
COLLAPSE_CHARS = 320  # a source with more context than this folds it away (expand on click)
SUPPORT_RATIO = 0.8  # a later quote scoring under this share of the first is shown as supporting
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


def vote_html(liked: bool, question: str, max_chars: int = 80) -> str:
    """The acknowledgement under the chat once a vote is recorded."""
    shown = question if len(question) <= max_chars else question[:max_chars].rstrip() + "\u2026"
    what = "helpful" if liked else "not helpful"
    return (f'<p class="vb-vote-ack" role="status">Thank you \u2014 your vote ({what}) on \u201c{esc(shown)}\u201d '
            "was recorded.</p>")


def pending_html(text: str = "Searching the report\u2026") -> str:
    return f'<div class="vb-pending" role="status"><span class="vb-dot"></span>{esc(text)}</div>'


def cite_href(quote: Mapping) -> str:
    """Where a citation points: the document viewer at quote [n] (read by app/web/static/web.js).

    >>> cite_href({"n": 2, "doc": "a b/r.txt", "start": 5, "end": 9})
    '#vb-source?doc=a%20b%2Fr.txt&n=2&start=5&end=9'
    """
    return (f"#vb-source?doc={quote_url(str(quote['doc']), safe='')}&n={int(quote['n'])}"
            f"&start={int(quote['start'])}&end={int(quote['end'])}")


def cite_html(quote: Mapping) -> str:
    """A quote's [n] as a link that opens the document viewer at the quote.

    The chat's sanitiser drops aria-* attributes, so the accessible name is in `title`, and
    app/web/static/web.js copies it into aria-label."""
    n = int(quote["n"])
    return (f'<a class="vb-cite" href="{esc(cite_href(quote))}" title="Open source {n} in the document">'
            f'<span class="vb-n">[{n}]</span></a>')


def answer_span(quote: Mapping) -> tuple[int, int] | None:
    """The answer inside a quote as offsets into the quote's text, if the quote carries a valid one.

    `quote["answer"]` is `{"text", "start", "end"}` with document offsets inside the quote and
    `text == document_text[start:end]`; anything else is ignored (the quote is shown plain).

    >>> answer_span({"text": "about 16 people", "start": 10, "end": 25,
    ...              "answer": {"text": "16", "start": 16, "end": 18}})
    (6, 8)
    """
    span = quote.get("answer")
    if not isinstance(span, Mapping):
        return None
    try:
        lo, hi = int(span["start"]) - int(quote["start"]), int(span["end"]) - int(quote["start"])
    except (KeyError, TypeError, ValueError):
        return None
    text = str(quote["text"])
    return (lo, hi) if 0 <= lo < hi <= len(text) and text[lo:hi] == span.get("text") else None


def quote_text_html(quote: Mapping) -> str:
    """The quote's text, escaped, with its answer span (if any) in bold."""
    text, span = str(quote["text"]), answer_span(quote)
    if span is None:
        return esc(text)
    lo, hi = span
    return f'{esc(text[:lo])}<strong class="vb-answer-span">{esc(text[lo:hi])}</strong>{esc(text[hi:])}'


def is_supporting(quote: Mapping, top: float | None) -> bool:
    """A quote after the first that scores well below it: shown as secondary."""
    return (top is not None and top > 0 and int(quote["n"]) > 1
            and float(quote.get("score", top)) < SUPPORT_RATIO * top)


def quote_html(quote: Mapping, supporting: bool = False) -> str:
    """One quote as a block quote carrying its [n] citation (secondary when only `supporting`)."""
    kind = "vb-quote vb-support" if supporting else "vb-quote"
    return (f'<blockquote class="{kind}">{cite_html(quote)} '
            f'<span class="vb-text">\u201c{quote_text_html(quote)}\u201d</span></blockquote>')


@dataclass(frozen=True)
class SourceGroup:
    """Quotes of one answer that lie in one paragraph of one document: one source block."""

    doc: str
    paragraph: int
    quotes: tuple[Mapping, ...]


def group_sources(quotes: Sequence[Mapping]) -> list[SourceGroup]:
    """Quotes grouped by (document, paragraph), groups in the order of their first quote, quotes by offset."""
    groups: dict[tuple[str, int], list[Mapping]] = {}
    for q in quotes:
        groups.setdefault((str(q["doc"]), int(q["paragraph"])), []).append(q)
    return [SourceGroup(doc, para, tuple(sorted(qs, key=lambda q: int(q["start"]))))
            for (doc, para), qs in groups.items()]


def _elide(text: str, keep: int) -> str:
    """Text between two quotes, its middle elided past `keep` characters a side."""
    if len(text) <= 2 * keep + 1:
        return esc(text)
    head, tail = text[:keep], text[-keep:]
    head = head[:head.rfind(" ") + 1] if " " in head else head
    tail = tail[tail.find(" "):] if " " in tail else tail
    return esc(head) + "\u2026" + esc(tail)


def source_html(group: SourceGroup, document: Document | None, label: str | None = None) -> str:
    """One source block: its quotes' [n] links, document, paragraph (page), and the paragraph around them.

    Each quote is highlighted and numbered in the paragraph; context over `COLLAPSE_CHARS` is
    folded in a <details> the reader opens on click."""
    quotes = group.quotes
    first = quotes[0]
    head = ('<div class="vb-source-head">' + " ".join(cite_html(q) for q in sorted(quotes, key=lambda q: int(q["n"])))
            + f' <span class="vb-doc">{esc(group.doc)}</span> <span class="vb-sep">\u00b7</span> '
            f'<span class="vb-where">{esc(location(first))}</span>'
            + (f' <span class="vb-label">{esc(label)}</span>' if label else "") + "</div>")
    numbered = len(quotes) > 1
    if document is None:
        body = " ".join(_mark(q, esc(q["text"]), numbered) for q in quotes)
        context_chars = 0
    else:
        text = document.text
        ctx = paragraph_context(document, int(first["start"]), max(int(q["end"]) for q in quotes))
        parts = ["\u2026" if ctx.cut_before else "", esc(ctx.before)]
        context_chars = len(ctx.before) + len(ctx.after)
        for i, q in enumerate(quotes):
            start, end = int(q["start"]), int(q["end"])
            if i:
                gap = text[int(quotes[i - 1]["end"]):start]
                context_chars += len(gap)
                parts.append(_elide(gap, CONTEXT_CHARS))
            parts.append(_mark(q, esc(text[start:end]), numbered))
        parts += [esc(ctx.after), "\u2026" if ctx.cut_after else ""]
        body = "".join(parts)
    context = f'<p class="vb-context">{body}</p>'
    if context_chars > COLLAPSE_CHARS:
        what = "quotes" if numbered else "quote"
        context = (f'<details class="vb-more"><summary>The {what} in {esc(location(first))}</summary>'
                   f"{context}</details>")
    return f'<div class="vb-source">{head}{context}</div>'


def _mark(quote: Mapping, body: str, numbered: bool) -> str:
    number = f'<span class="vb-mark-n">[{int(quote["n"])}]</span>' if numbered else ""
    return f"{number}<mark>{body}</mark>"


def message_lines(answer: Mapping) -> list[str]:
    """The plain lines an answer's message opens with, before its quotes ("[1] ...")."""
    lines = []
    for line in str(answer.get("message", "")).splitlines():
        if line.startswith("[1] "):
            break
        lines.append(line)
    return [line for line in lines if line.strip()]


def quoted_above(answer: Mapping) -> set[int]:
    """The numbers of the quotes a follow-up's message does not show again ("[2] (quoted above)").

    >>> sorted(quoted_above({"message": "Understood as: Why?\\n[1] (quoted above)\\n[2] \u201cB.\u201d"}))
    [1]
    """
    lines = str(answer.get("message", "")).splitlines()
    return {int(m.group(1)) for line in lines if (m := re.match(rf"^\[(\d+)\] {re.escape(QUOTED_ABOVE)}$", line))}


def answer_html(answer: Mapping, documents: Mapping[str, Document], shown: int | None = None,
                sources: bool = True) -> str:
    """An answer (the `Answer.to_dict()` contract) as one HTML block.

    Answered: each quote as a block quote with its [n] (a link to the document viewer; quotes
    scoring well below the first are secondary), then the Sources, one block per paragraph.
    Uncertain: its plain line ("The report mentions this, but may not answer it exactly:"), then
    the quotes as for an answer. Any plain line that opens the message ("Same passage as above.")
    comes first. Not found: the plain message, then the closest passage (if any) labelled
    "closest passage — not an answer".
    `shown` limits the quotes drawn so far and `sources=False` leaves the Sources part out: the
    chat streams an answer in those steps.
    """
    quotes = list(answer["quotes"])[: shown if shown is not None else None]
    # a briefing's points are all key passages, in document order: none is marked as merely supporting
    briefed = str(answer.get("message", "")).startswith(BRIEFING_NOTE)
    top = float(quotes[0].get("score", 0.0)) if quotes and not briefed else None
    parts: list[str] = []
    label = None
    verdict = answer.get("verdict") or ("answered" if answer["answered"] else "not_found")
    if verdict in ("answered", "uncertain"):
        parts.append('<div class="vb-answer">' if verdict == "answered" else '<div class="vb-answer vb-uncertain">')
        parts.extend(f'<p class="vb-message">{esc(line)}</p>' for line in message_lines(answer))
        again = quoted_above(answer)
        parts.extend(f'<p class="vb-message">[{int(q["n"])}] {esc(QUOTED_ABOVE)}</p>' if int(q["n"]) in again
                     else quote_html(q, is_supporting(q, top)) for q in quotes)
    else:
        label = CLOSEST_LABEL
        parts.append('<div class="vb-answer vb-unanswered">')
        parts.extend(f'<p class="vb-message">{esc(line)}</p>' for line in str(answer["message"]).splitlines()
                     if line.strip())
        for q in quotes:
            parts.append(f'<div class="vb-closest"><div class="vb-closest-label">{esc(CLOSEST_LABEL)}</div>'
                         f'{quote_html(q)}</div>')
    if sources and quotes:
        parts.append('<div class="vb-sources"><div class="vb-sources-title">Sources</div>')
        parts.extend(source_html(g, documents.get(g.doc), label) for g in group_sources(quotes))
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------- page furniture


def guess_title(document: Document) -> str:
    """A document's title: its declared one (HTML, PDF metadata), else its title in the text
    (`Document.title_span`: the first heading), else its file name.

    >>> from app.index.ingest import document_from_text
    >>> guess_title(document_from_text("a.txt", "Menu\\n\\nWatchdog Raises Concerns Over Prisons\\n\\nBody text."))
    'Watchdog Raises Concerns Over Prisons'
    """
    if document.title.strip():
        return " ".join(document.title.split())
    if document.title_span:
        return " ".join(document.text[document.title_span[0]:document.title_span[1]].split())
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
    briefing: tuple[Mapping, ...] = ()  # the document's briefing points (quote objects), in document order


def briefing_html(points: Sequence[Mapping]) -> str:
    """A document's briefing, folded: each point its [n] (opening the viewer, like an answer's) and its text.

    >>> briefing_html([{"n": 1, "text": "A <b>.", "doc": "r.txt", "start": 0, "end": 6}])[:60]
    '<details class="vb-brief"><summary>Briefing: 1 key passage</'
    """
    if not points:
        return ""
    items = "".join(f'<li>{cite_html(q)} <span class="vb-text">\u201c{esc(q["text"])}\u201d</span></li>'
                    for q in points)
    count = f'{len(points)} key passage{"s" if len(points) != 1 else ""}'
    return f'<details class="vb-brief"><summary>Briefing: {count}</summary><ol>{items}</ol></details>'


def documents_html(rows: Sequence[DocumentRow]) -> str:
    """The documents panel: each document's title (a link to the document viewer) and file name, size,
    chunks, when it was indexed, and its briefing."""
    items = "".join(
        f'<li class="vb-docitem"><a class="vb-doctitle vb-open-doc" href="#vb-source?doc={quote_url(r.doc, safe="")}" '
        f'title="Read the whole document">{esc(r.title)}</a>'
        f'<span class="vb-docfile">{esc(r.doc)}</span>'
        f'<span class="vb-docmeta">{esc(format_size(r.size_bytes))} \u00b7 '
        f'{r.chunks:,} chunk{"s" if r.chunks != 1 else ""}'
        f' \u00b7 indexed <span class="vb-nowrap">{esc(format_time(r.indexed))}</span></span>'
        f'{briefing_html(r.briefing)}</li>'
        for r in rows)
    return f'<ul class="vb-docs">{items}</ul>'
