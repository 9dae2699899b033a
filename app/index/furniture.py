"""Furniture: the parts of a page that are not the report, so they are never quoted.

A report saved from the web carries navigation ("Accessibility links", "Breaking News"), link
prompts ("To find out more, click here."), legal, cookie and subscription notices, and photo
captions the page prints twice. Such paragraphs stay in the document text (offsets stay exact and
the document viewer shows them) but are marked as furniture: the chunker leaves them out of every
chunk and sentence, so they are never retrieved, quoted or offered as the closest passage.

- HTML: trafilatura finds the page's main content; a paragraph that is not part of it is furniture.
- Every document: a short paragraph that is a navigation label or a link prompt; the second copy of
  a paragraph that repeats word for word (a caption printed under the photo and again as its alt
  text: the first copy stays quotable, it may carry a date or a place); and, at the
  head and tail of the page only, the run of notices around them (a legal, cookie or subscription
  notice, or a paragraph that speaks to the site's reader: "you ... our content"), and the short
  one-sentence statement that opens such a reader's notice ("<The site> has been declared ... by
  the government." before "If you are in ..., you could face fines for sharing our content."):
  a notice block is known by its shape and place, not by its words.

jusText's stop-word density was measured and left out: it marks 37% of SciFact's paragraphs (titles,
dense scientific prose) as boilerplate, which would drop real report text.

>>> text = "Accessibility links\\n\\nThe report found abuse in prisons.\\n\\nTo find out more, click here."
>>> from app.index.ingest import find_paragraphs
>>> [text[s:e] for s, e in furniture_spans(text, find_paragraphs(text))]
['Accessibility links', 'To find out more, click here.']
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

log = logging.getLogger(__name__)

Span = tuple[int, int]

# A whole paragraph that is only a navigation label (at most a few words).
_NAV_LABEL = re.compile(
    r"^\W*(accessibility links|skip to (main )?(content|navigation)|breaking news|main menu|menu|search|home|"
    r"share( this( article| page)?)?|print|email|advertisement|related( (stories|articles|content))?|"
    r"most (popular|read)|back to top|comments?|see also|more from \w+|follow us|newsletter)\W*$", re.I)
# A short paragraph that only points elsewhere.
_LINK_PROMPT = re.compile(r"\b(click|tap) here\b|\bread more\b|\b(find|learn) out more\b|\blearn more\b"
                          r"|\bcontinue reading\b|\bsign up\b|\bsubscribe\b", re.I)
LINK_PROMPT_MAX_WORDS = 12
# Notices a site prints on every page; trusted only at the head or tail of a page.
_NOTICE = re.compile(r"\bcookies?\b|\ball rights reserved\b|\bterms of (use|service)\b|\bprivacy (policy|notice)\b"
                     r"|\bsubscri(be|ption)\b|\bnewsletter\b|\u00a9|\(c\) \d{4}",
                     re.I)
_READER = re.compile(r"\byou(r)?\b", re.I)
_SITE = re.compile(r"\b(our|us)\b", re.I)
NOTICE_MAX_WORDS = 80  # a notice is a short paragraph; a long one that mentions cookies or (c) is prose
LEAD_MAX_WORDS = 20  # the one-sentence statement that opens a reader's notice
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*(\s|$)")
REPEAT_MIN_WORDS = 5  # a repeat this long is a printed-twice caption, not a refrain like "Yes."


def _words(text: str) -> int:
    return len(text.split())


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def is_navigation(text: str) -> bool:
    """A navigation label or a short link prompt ("To find out more, click here.")."""
    return bool(_NAV_LABEL.match(text)) or (_words(text) <= LINK_PROMPT_MAX_WORDS and bool(_LINK_PROMPT.search(text)))


def is_site_notice(text: str) -> bool:
    """A short legal, cookie, copyright or subscription notice."""
    return _words(text) <= NOTICE_MAX_WORDS and bool(_NOTICE.search(text))


def is_notice(text: str) -> bool:
    """A site notice, or a short paragraph that addresses the site's reader ("you ... our content")."""
    return is_site_notice(text) or is_reader_notice(text)


def is_reader_notice(text: str) -> bool:
    """A short paragraph that speaks to the site's reader about the site ("you ... our content")."""
    return _words(text) <= NOTICE_MAX_WORDS and bool(_READER.search(text)) and bool(_SITE.search(text))


def is_lead_sentence(text: str) -> bool:
    """One short sentence: the shape of the statement that opens a reader's notice."""
    return _words(text) <= LEAD_MAX_WORDS and len(_SENTENCE_END.findall(text.strip())) == 1


def _edge_runs(texts: Sequence[str], marked: set[int]) -> set[int]:
    """Paragraphs at the head or tail of the page that are furniture or notices, up to the first that is neither.

    A run starts with furniture or a site notice; a paragraph that only addresses the reader ("you ...
    our content") joins a run but never starts one, so an interview's last answer is not taken for one.
    A one-sentence statement beside a reader's notice joins the run too (it opens the notice), but only
    with more of the page beyond it: a page's only paragraph is never its notice."""
    out: set[int] = set()
    for order in (range(len(texts)), range(len(texts) - 1, -1, -1)):
        seq = list(order)
        for n, i in enumerate(seq):
            strong = i in marked or is_site_notice(texts[i])
            if strong or (n > 0 and is_notice(texts[i])):  # a reader-addressing line only continues a run
                out.add(i)
            elif n > 0 and n + 1 < len(seq) and is_lead_sentence(texts[i]) and (
                    (seq[n - 1] in out and is_reader_notice(texts[seq[n - 1]])) or is_reader_notice(texts[seq[n + 1]])):
                out.add(i)  # the statement a reader's notice opens with; body text lies beyond it
            else:
                break
    return out


def furniture_spans(text: str, paragraphs: Sequence[Span], main_content: str | None = None) -> list[Span]:
    """The paragraph spans of `text` that are page furniture, in document order.

    `main_content` is the page's main text as an extractor found it (HTML); paragraphs outside it
    are furniture."""
    texts = [text[s:e] for s, e in paragraphs]
    marked = {i for i, t in enumerate(texts) if is_navigation(t)}
    seen: set[str] = set()
    for i, t in enumerate(texts):  # a caption printed twice: the second copy is furniture, the first is quotable
        if _words(t) >= REPEAT_MIN_WORDS:
            if _key(t) in seen:
                marked.add(i)
            seen.add(_key(t))
    if main_content is not None:
        main = _key(main_content)
        marked |= {i for i, t in enumerate(texts) if _key(t) not in main}
    marked |= _edge_runs(texts, marked)
    if len(marked) == len(texts) and texts:
        log.warning("every paragraph looked like page furniture; keeping them all")
        return []
    return [paragraphs[i] for i in sorted(marked)]


def html_main_content(html: str) -> str | None:
    """The main text of an HTML page per trafilatura (None when it finds none)."""
    import trafilatura

    # with_metadata: the page title heads the output, so the article's own heading is not furniture
    return trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True, with_metadata=True)
