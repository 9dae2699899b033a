"""The document viewer: a whole document as HTML, its paragraphs numbered, an answer's quotes marked.

A citation in the chat opens the viewer at its quote: `viewer_html` renders the document with the
quote it was opened at marked strongly (`vb-focus`, scrolled into view by app/web/static/web.js), the
answer's other quotes marked faintly, and page furniture (app/index/furniture.py: in the text, never
quoted) dimmed and labelled. Text reaches the page only through `esc`, as in answers. The page asks
for it at `GET /vb/document?doc=NAME&focus=N&q=N:START:END&q=...` (`document_response`).

>>> from app.index.ingest import document_from_text
>>> doc = document_from_text("r.txt", "One <b>.\\n\\nTwo.")
>>> html = viewer_html(doc, "R", [Mark(1, 0, 9)], focus=1)
>>> html[html.index("<mark"):html.index("</mark>") + 7]
'<mark class="vb-hl vb-focus" id="vb-focus" tabindex="-1">One &lt;b&gt;.</mark>'
>>> html.count('<span class="vb-pn">')
2
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.index.ingest import Document
from app.web.render import esc, guess_title, notice_html

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from app.answer.assistant import Assistant

log = logging.getLogger(__name__)

DOCUMENT_ROUTE = "/vb/document"
MAX_VIEWER_CHARS = 400_000  # a longer document is shown as a window of paragraphs around the quote
MAX_MARKS = 50
FURNITURE_TAG = "page furniture, not part of the report"


@dataclass(frozen=True)
class Mark:
    """Quote [n] of an answer at document offsets start..end."""

    n: int
    start: int
    end: int


def _window(paras: Sequence[tuple[int, int]], around: int | None, max_chars: int) -> tuple[int, int]:
    """The paragraphs [lo, hi) to show: all of them, or a run of at most `max_chars` around paragraph index `around`."""
    if not paras or paras[-1][1] - paras[0][0] <= max_chars:
        return 0, len(paras)
    lo = hi = min(max(around or 0, 0), len(paras) - 1)
    hi += 1
    size = paras[lo][1] - paras[lo][0]
    while True:  # grow both ways in turn while it fits
        grew = False
        if hi < len(paras) and size + paras[hi][1] - paras[hi][0] <= max_chars:
            size += paras[hi][1] - paras[hi][0]
            hi, grew = hi + 1, True
        if lo > 0 and size + paras[lo - 1][1] - paras[lo - 1][0] <= max_chars:
            size += paras[lo - 1][1] - paras[lo - 1][0]
            lo, grew = lo - 1, True
        if not grew:
            return lo, hi


def _marked(text: str, start: int, end: int, marks: Sequence[Mark], focus: int | None, labelled: set[int]) -> str:
    """text[start:end] escaped, with the parts inside marks wrapped in <mark> (the focus quote strongly)."""
    inside = [m for m in marks if m.start < end and start < m.end]
    cuts = sorted({start, end} | {max(start, m.start) for m in inside} | {min(end, m.end) for m in inside})
    out: list[str] = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        covering = [m for m in inside if m.start <= lo and hi <= m.end]
        if not covering:
            out.append(esc(text[lo:hi]))
            continue
        mark = next((m for m in covering if m.n == focus), covering[0])
        attrs = ' class="vb-hl vb-other"'
        if mark.n == focus:
            attrs = ' class="vb-hl vb-focus"' + ("" if focus in labelled else ' id="vb-focus" tabindex="-1"')
        if mark.n not in labelled:
            out.append(f'<span class="vb-hl-n">[{mark.n}]</span>')
            labelled.add(mark.n)
        out.append(f"<mark{attrs}>{esc(text[lo:hi])}</mark>")
    return "".join(out)


def viewer_html(document: Document, title: str, marks: Sequence[Mark] = (), focus: int | None = None,
                max_chars: int = MAX_VIEWER_CHARS) -> str:
    """The whole document (or, past `max_chars`, the paragraphs around the focus quote), paragraphs numbered.

    PDFs get a heading per page; furniture paragraphs are dimmed and labelled; quote `focus` is
    marked `vb-focus` (its first part carries id="vb-focus"), the other marks `vb-other`."""
    text, paras = document.text, document.paragraphs or ((0, len(document.text)),)
    furniture = set(document.furniture)
    target = next((m for m in marks if m.n == focus), None)
    around = None if target is None else next((i for i, (s, e) in enumerate(paras) if s <= target.start < e), None)
    lo, hi = _window(paras, around, max_chars)
    count = f'{len(paras):,} paragraph{"s" if len(paras) != 1 else ""}'
    pages = f' \u00b7 {len(document.pages):,} page{"s" if len(document.pages) != 1 else ""}' if document.pages else ""
    parts = [f'<article class="vb-viewer-doc"><header class="vb-viewer-head"><h2 id="vb-viewer-title">{esc(title)}'
             f'</h2><p class="vb-viewer-file">{esc(document.doc)} \u00b7 {count}{pages}</p></header>']
    if lo > 0:
        parts.append(f'<p class="vb-viewer-gap">Paragraphs 1\u2013{lo} are not shown: the document is long.</p>')
    parts.append('<div class="vb-paras">')
    labelled: set[int] = set()
    page = None
    for i in range(lo, hi):
        start, end = paras[i]
        now = document.page_at(start)
        if now is not None and now != page:
            parts.append(f'<h3 class="vb-page" id="vb-page-{now}">Page {now}</h3>')
            page = now
        if (start, end) in furniture:
            parts.append(f'<p class="vb-para vb-furniture" id="vb-para-{i + 1}"><span class="vb-pn">{i + 1}</span> '
                         f'<span class="vb-ptext"><span class="vb-furniture-tag">{esc(FURNITURE_TAG)}</span> '
                         f"{esc(text[start:end])}</span></p>")
            continue
        parts.append(f'<p class="vb-para" id="vb-para-{i + 1}"><span class="vb-pn">{i + 1}</span> '
                     f'<span class="vb-ptext">{_marked(text, start, end, marks, focus, labelled)}</span></p>')
    parts.append("</div>")
    if hi < len(paras):
        parts.append(f'<p class="vb-viewer-gap">Paragraphs {hi + 1}\u2013{len(paras)} are not shown: the document '
                     "is long.</p>")
    parts.append("</article>")
    return "".join(parts)


def parse_marks(values: Sequence[str], size: int) -> list[Mark]:
    """`N:START:END` strings as marks; raises ValueError naming the first bad one.

    >>> parse_marks(["2:5:9"], 100)
    [Mark(n=2, start=5, end=9)]
    """
    marks = []
    for value in values[:MAX_MARKS]:
        try:
            n, start, end = (int(x) for x in value.split(":"))
        except ValueError:
            raise ValueError(f"quote {value[:40]!r} is not N:START:END") from None
        if not (n >= 1 and 0 <= start < end <= size):
            raise ValueError(f"quote {value[:40]!r} lies outside the document (0..{size})")
        marks.append(Mark(n, start, end))
    return marks


def document_response(get_assistant: Callable[[], Assistant]) -> Callable[[Request], Response]:
    """The `GET /vb/document` endpoint: the viewer's HTML for one document of the build answering now.

    An unknown document or a bad quote gets 404/400 with a notice in place of the document; while a
    new build loads, 503."""
    from starlette.responses import HTMLResponse

    def endpoint(request: Request) -> Response:
        headers = {"Cache-Control": "no-store"}
        try:
            assistant = get_assistant()
        except Exception as exc:  # Unavailable while a new build loads
            log.info("document viewer unavailable: %s", exc)
            return HTMLResponse(notice_html(f"Sorry \u2014 {str(exc).rstrip('.')}."), 503, headers)
        name = request.query_params.get("doc", "")
        document = next((d for d in assistant.index.documents if d.doc == name), None)
        if document is None:
            return HTMLResponse(notice_html(f"Sorry \u2014 there is no document {name[:200]!r} in the index."),
                                404, headers)
        try:
            marks = parse_marks(request.query_params.getlist("q"), len(document.text))
            focus = int(request.query_params["focus"]) if request.query_params.get("focus") else None
        except ValueError as exc:
            return HTMLResponse(notice_html(f"Sorry \u2014 {exc}."), 400, headers)
        return HTMLResponse(viewer_html(document, guess_title(document), marks, focus), 200, headers)

    return endpoint
