"""PDF layout: where a page's text lines end paragraphs, and which lines are page furniture.

PDFium gives a page as lines with no blank line between paragraphs. A typeset manual also repeats a
running header or footer on every page ("Chapter 4: Function reference 9"), prints page numbers
alone on a line, and opens with a table of contents of dot leaders. Those lines are furniture: they
stay in the document text (offsets stay exact) but become paragraphs of their own that are never
quoted. Inside the prose, a line much shorter than the document's full lines ends its paragraph
(the last line of a paragraph, or a heading), so "1 Introduction" does not run into the sentence
below it.

>>> pages = ["Guide 1\\nIntro\\nThis line is long enough to be a full line of prose here.\\nShort end.",
...          "Guide 2\\nMore prose that fills a whole line of the page as lines do.\\nIts end.",
...          "Guide 3\\nThe third page.\\n3"]
>>> text = "\\n\\n".join(pages)
>>> starts = [sum(len(p) + 2 for p in pages[:i]) for i in range(3)]
>>> layout = analyse(text, [(s, s + len(p)) for s, p in zip(starts, pages)])
>>> [text[s:e] for s, e in layout.furniture]
['Guide 1', 'Guide 2', 'Guide 3', '3']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

Span = tuple[int, int]

_PAGE_NUMBER = re.compile(r"^\s*(\d{1,4}|[ivxlcdm]{1,7}|[IVXLCDM]{1,7}|-\s*\d{1,4}\s*-|page \d+( of \d+)?)\s*$", re.I)
_EDGE_NUMBER = re.compile(r"^\s*(\d{1,4})\b|\b(\d{1,4})\s*$")
_TOC_ENTRY = re.compile(r"(\.\s*){4,}\s*(\d{1,4}|[ivxlc]{1,6})\s*$", re.I)  # "2.1 Syntax . . . . . 2"
_TOC_TITLE = re.compile(r"^\s*(table of )?contents\s*$", re.I)
HEADER_MAX_WORDS = 10  # a running header or footer is short; a longer repeated line is prose
EDGE_LINES = 2  # a running header or footer is at most this many lines at a page's top or bottom
MIN_REPEATS = 3  # pages a masked edge line (or a page-number offset) must recur on to be running furniture
SHORT_LINE = 0.6  # a line under this share of the document's full line length ends its paragraph


@dataclass(frozen=True)
class Layout:
    """Line-level facts about a PDF's text: offsets where a paragraph must start, and furniture spans."""

    breaks: frozenset[int]  # absolute offsets of lines that start a paragraph
    furniture: tuple[Span, ...]  # runs of furniture lines, each its own paragraph


def _lines(text: str, start: int, end: int) -> list[Span]:
    """Non-blank line spans (stripped) of text[start:end]."""
    out: list[Span] = []
    pos = start
    for line in text[start:end].split("\n"):
        s, e = pos, pos + len(line)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
        pos += len(line) + 1
    return out


def _mask(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _edge_number(line: str) -> int | None:
    m = _EDGE_NUMBER.search(line)
    return int(m.group(1) or m.group(2)) if m else None


def _edges(page_lines: list[list[Span]]) -> list[list[Span]]:
    """Per page side (top, then bottom): its EDGE_LINES lines, from the edge inwards."""
    out = []
    for lines in page_lines:
        out.append(lines[:EDGE_LINES])
        out.append(list(reversed(lines[EDGE_LINES:][-EDGE_LINES:])))
    return out


def running_lines(text: str, page_lines: list[list[Span]]) -> set[Span]:
    """Header and footer lines at a page's edge: a page number alone, a line whose digit-masked form
    recurs at the edge of MIN_REPEATS pages, or (outermost line only) a short line whose leading or
    trailing number keeps the page index's most common offset on MIN_REPEATS pages. An inner line
    counts only when the line outside it does."""
    sides = _edges(page_lines)
    masks = Counter(_mask(text[s:e]) for side in sides for s, e in side)
    offsets = Counter(n - i // 2 for i, side in enumerate(sides) if side
                      and (n := _edge_number(text[side[0][0]:side[0][1]])) is not None)
    offset, count = offsets.most_common(1)[0] if offsets else (None, 0)
    found: set[Span] = set()
    for i, side in enumerate(sides):
        for k, (s, e) in enumerate(side):
            line = text[s:e]
            n = _edge_number(line)
            short = len(line.split()) <= HEADER_MAX_WORDS
            numbered = k == 0 and count >= MIN_REPEATS and n is not None and n - i // 2 == offset
            if not (_PAGE_NUMBER.match(line) or (short and (masks[_mask(line)] >= MIN_REPEATS or numbered))):
                break
            found.add((s, e))
    return found


def toc_lines(text: str, lines: list[Span]) -> set[Span]:
    """Table-of-contents entries (dot leaders then a page number) and the "Contents" title above them."""
    found = {ln for ln in lines if _TOC_ENTRY.search(text[ln[0]:ln[1]])}
    for i, ln in enumerate(lines[:-1]):
        if _TOC_TITLE.match(text[ln[0]:ln[1]]) and lines[i + 1] in found:
            found.add(ln)
    return found


def _full_width(text: str, lines: Sequence[Span]) -> float:
    """The length of a full line of prose: the 90th percentile of line lengths."""
    lengths = sorted(e - s for s, e in lines)
    return float(lengths[int(0.9 * (len(lengths) - 1))]) if lengths else 0.0


def analyse(text: str, pages: Sequence[Span]) -> Layout:
    """Paragraph breaks and furniture runs of a PDF's text, given its page spans."""
    page_lines = [_lines(text, s, e) for s, e in pages]
    all_lines = [ln for lines in page_lines for ln in lines]
    furniture_lines = running_lines(text, page_lines) | toc_lines(text, all_lines)
    full = _full_width(text, [ln for ln in all_lines if ln not in furniture_lines])
    breaks: set[int] = set()
    runs: list[Span] = []
    for lines in page_lines:
        prev: Span | None = None
        for ln in lines:
            is_furniture = ln in furniture_lines
            prev_furniture = prev is not None and prev in furniture_lines
            if prev is not None and is_furniture != prev_furniture:
                breaks.add(ln[0])  # a furniture run is a paragraph of its own
            elif prev is not None and not is_furniture and _ends_short(text, prev, full):
                breaks.add(ln[0])
            if is_furniture:
                if prev_furniture:
                    runs[-1] = (runs[-1][0], ln[1])
                else:
                    runs.append(ln)
            prev = ln
    return Layout(frozenset(breaks), tuple(runs))


def _ends_short(text: str, line: Span, full: float) -> bool:
    """A line well short of a full line ends its paragraph, unless it ends in a hyphen (a word goes on)."""
    s, e = line
    return (e - s) < SHORT_LINE * full and not text[e - 1] == "-"
