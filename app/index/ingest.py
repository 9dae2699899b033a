"""Ingest: read a corpus folder into `Document`s whose text is what quotes are cut from.

For .txt and .md the document text is the file's decoded text, unchanged. HTML goes through a
real parser (BeautifulSoup) and PDF through PDFium (pypdfium2), page by page; for those the document text is
the extracted text, and that text is stored in the index so quotes can always be checked.

>>> doc = document_from_text("notes.txt", "One.\\n\\nTwo.")
>>> [doc.text[s:e] for s, e in doc.paragraphs]
['One.', 'Two.']
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from app.errors import CorpusError, DocumentRefused
from app.index import pdf_layout
from app.index.furniture import furniture_spans, html_main_content
from app.index.structure import front_matter, pdf_title, prompt_paragraphs, title_span
from app.settings import MAX_CORPUS_FILE_BYTES, SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

Span = tuple[int, int]

# A single newline ends a paragraph when the line before it ends like a sentence or a heading,
# or the next line opens a Markdown heading or list item; hard-wrapped prose stays together.
_LINE_END = re.compile(r"""[.!?:;"'\u201d\u2019)\]]\s*$""")
_BLOCK_START = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s?|\|)")


@dataclass(frozen=True)
class Document:
    """One source document: its corpus-relative path, its text, and where its parts lie."""

    doc: str  # path relative to the corpus folder, with forward slashes
    text: str
    sha256: str  # of the source bytes: what staleness checks compare
    paragraphs: tuple[Span, ...]
    pages: tuple[Span, ...] | None = None  # PDFs only
    size_bytes: int = 0
    title: str = ""
    furniture: tuple[Span, ...] = ()  # paragraphs that are page furniture: in the text, never quoted
    meta: tuple[tuple[str, str], ...] = ()  # ("author" | "date", value) the file declares outside its text
    language: str = ""  # ISO 639-1, read from the text when the document is indexed (app/index/build.py)

    @property
    def metadata(self) -> dict[str, str]:
        """What the file declares outside its text: a PDF's Author and CreationDate, an HTML page's
        author and publication-date meta tags (a date as "13 March 2013")."""
        return dict(self.meta)

    def paragraph_at(self, offset: int) -> int:
        """1-based number of the paragraph holding `offset` (the nearest one before a gap)."""
        return _span_number(self.paragraphs, offset)

    def page_at(self, offset: int) -> int | None:
        return _span_number(self.pages, offset) if self.pages else None

    # Structure found in the text when first asked for (app/index/structure.py): not stored in the index.
    @cached_property
    def prompts(self) -> dict[int, int | None]:
        """Interviewer turns and FAQ questions (1-based paragraph numbers) -> the reply paragraph after each."""
        return prompt_paragraphs(self.text, self.paragraphs, self.furniture)

    @cached_property
    def title_span(self) -> Span | None:
        """Where the title lies in the text: the declared `title` if printed, else the first heading."""
        return title_span(self.text, self.paragraphs, self.furniture, self.title)

    @cached_property
    def front_matter(self) -> dict[str, Span]:
        """The byline ("author") and stated date ("date") just below the title, where there are any."""
        return front_matter(self.text, self.paragraphs, self.furniture, self.title_span)


def _span_number(spans: tuple[Span, ...], offset: int) -> int:
    lo, hi = 0, len(spans)
    while lo < hi:  # last span whose start <= offset
        mid = (lo + hi) // 2
        if spans[mid][0] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return max(lo, 1)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_paragraphs(text: str, base: int = 0, breaks: frozenset[int] = frozenset()) -> list[Span]:
    """Character spans of the paragraphs of `text` (offsets shifted by `base`); a line starting at an
    offset in `breaks` (shifted too) always starts a paragraph."""
    spans: list[Span] = []
    start: int | None = None
    prev_line = ""
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if not stripped:
            if start is not None:
                spans.append((start, _rstrip_end(text, pos)))
                start = None
        else:
            if start is not None and (_LINE_END.search(prev_line) or _BLOCK_START.match(body)
                                      or pos + len(body) - len(body.lstrip()) + base in breaks):
                spans.append((start, _rstrip_end(text, pos)))
                start = None
            if start is None:
                start = pos + (len(body) - len(body.lstrip()))
            prev_line = body
        pos += len(line)
    if start is not None:
        spans.append((start, _rstrip_end(text, pos)))
    return [(s + base, e + base) for s, e in spans if e > s]


def _rstrip_end(text: str, end: int) -> int:
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def document_from_text(doc: str, text: str, source: bytes | None = None, title: str = "",
                       main_content: str | None = None, meta: tuple[tuple[str, str], ...] = ()) -> Document:
    """A document whose text is given (also used for benchmark corpora held in memory).

    `main_content` is an HTML page's main text: paragraphs outside it are furniture."""
    raw = source if source is not None else text.encode("utf-8")
    paragraphs = tuple(find_paragraphs(text))
    return Document(
        doc=doc,
        text=text,
        sha256=sha256_bytes(raw),
        paragraphs=paragraphs,
        size_bytes=len(raw),
        title=title,
        furniture=tuple(furniture_spans(text, paragraphs, main_content)),
        meta=meta,
    )


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not valid UTF-8 (byte {exc.start}); re-save it as UTF-8 or remove it from the corpus"
        ) from None


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_HTML_META = {"author": ("author", "article:author", "dc.creator"),
              "date": ("article:published_time", "date", "dc.date", "pubdate", "publish-date", "datepublished")}


def declared_date(value: str) -> str:
    """A metadata date ("D:20130313120000+00'00'", "2013-03-13T09:00Z") as "13 March 2013" ("" if unreadable).

    >>> declared_date("D:20130313120000+00'00'"), declared_date("2013-03-13T09:00:00Z"), declared_date("soon")
    ('13 March 2013', '13 March 2013', '')
    """
    m = re.match(r"^(?:D:)?(\d{4})-?(\d{2})-?(\d{2})", value.strip())
    if not m or not (1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31):
        return ""
    return f"{int(m.group(3))} {_MONTHS[int(m.group(2)) - 1]} {m.group(1)}"


def _html_meta(soup) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or tag.get("property") or tag.get("itemprop") or "").lower()
        value = " ".join(str(tag.get("content") or "").split())
        for key, names in _HTML_META.items():
            if name in names and value and key not in found:
                found[key] = declared_date(value) if key == "date" else value
    return tuple((k, v) for k, v in found.items() if v)


def _html_text(path: Path, raw: bytes) -> tuple[str, str, str | None, tuple[tuple[str, str], ...]]:
    from bs4 import BeautifulSoup

    html = _decode(path, raw)
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    meta = _html_meta(soup)
    for tag in soup(["script", "style", "noscript", "template", "head", "svg"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    blocks = ["p", "div", "section", "article", "header", "footer", "li", "tr", "td", "th", "pre",
              "blockquote", "figcaption", "caption", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6"]
    for tag in soup.find_all(blocks):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, title, html_main_content(html), meta


# PDFium is a C library with one state per process and is not thread-safe: one call at a time in a process
# (uploads are read whole in request threads). The lock guards that library, not state of ours, so there is
# one per process like the library (one per Runtime would let two runtimes call it at once); it is the one
# module-level lock tests/test_architecture.py allows.
_PDFIUM = threading.Lock()
# PDFium marks a word it found hyphenated across a line end with U+FFFE and joins the lines; the
# printed hyphen and line break are put back, so the text reads as printed and search joins the word
_SOFT_HYPHEN = "\ufffe"


def _pdf_text(path: Path, raw: bytes) -> tuple[str, tuple[Span, ...], str, tuple[tuple[str, str], ...]]:
    """The PDF's text page by page, the pages' spans, the title its metadata declares ("" if none), and
    its declared author and creation date (`Document.meta`).

    PDFium (pypdfium2) places the spaces a typeset PDF never stores as characters, where pypdf
    returned "ThisdocumentmaybeusedunderthetermsoftheGNU..." for some manuals, and reads 10-15x
    faster (pdf_text.py, docs/experiments/README.md: Debian's maint-guide, 92 words of 20+ letters per
    thousand with pypdf, 0.04 with PDFium; 1.78 s against 0.13 s)."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = None
        try:
            pdf = pdfium.PdfDocument(raw)
            page_texts = [pdf_page_text(pdf[i]) for i in range(len(pdf))]
            info = pdf.get_metadata_dict()
            title = " ".join(str(info.get("Title") or "").split())
            author = " ".join(str(info.get("Author") or "").split())
            meta = tuple((k, v) for k, v in (("author", author),
                                             ("date", declared_date(str(info.get("CreationDate") or "")))) if v)
        except pdfium.PdfiumError as exc:
            raise CorpusError(f"{path}: cannot read this PDF ({exc}); repair or remove it") from None
        finally:
            if pdf is not None:
                pdf.close()
    parts: list[str] = []
    pages: list[Span] = []
    pos = 0
    for page_text in page_texts:
        if parts:
            parts.append("\n\n")
            pos += 2
        pages.append((pos, pos + len(page_text)))
        parts.append(page_text)
        pos += len(page_text)
    return "".join(parts), tuple(pages), title, meta


def pdf_page_text(page) -> str:
    """One page's text: lines end with "\n", a hyphen PDFium joined across lines is printed again.
    The page is closed once read (the caller holds `_PDFIUM`)."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
    finally:
        textpage.close()
        page.close()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(_SOFT_HYPHEN, "-\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def pdf_document(doc: str, text: str, pages: tuple[Span, ...], raw: bytes, title: str = "",
                 meta: tuple[tuple[str, str], ...] = ()) -> Document:
    """A PDF's document: paragraphs cut where its layout ends them; running headers, footers, page
    numbers and tables of contents are furniture (app.index.pdf_layout). Its title is the metadata's or
    the first heading, never the author's name (`structure.pdf_title`)."""
    layout = pdf_layout.analyse(text, pages)
    paragraphs = [p for s, e in pages for p in find_paragraphs(text[s:e], base=s, breaks=layout.breaks)]
    runs = set(layout.furniture)
    furniture = sorted(set(furniture_spans(text, paragraphs)) | {p for p in paragraphs if p in runs})
    title = pdf_title(title, dict(meta).get("author", ""), text, paragraphs, furniture)
    return Document(doc, text, sha256_bytes(raw), tuple(paragraphs), pages, len(raw), title,
                    furniture=tuple(furniture), meta=meta)


def read_document(path: Path, root: Path, max_bytes: int = MAX_CORPUS_FILE_BYTES) -> Document:
    """Read one corpus file. Raises `CorpusError` naming the file when it cannot be read."""
    rel = path.relative_to(root).as_posix()
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusError(f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit per corpus file")
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentRefused(rel, f"{path}: cannot read ({exc.strerror})") from None
    return document_from_bytes(rel, raw, path)


def document_from_bytes(rel: str, raw: bytes, path: Path | None = None) -> Document:
    """A document from a file's bytes, read by the suffix of `rel` (errors name `path`, or `rel`)."""
    path = path or Path(rel)
    suffix = Path(rel).suffix.lower()
    if suffix in (".html", ".htm"):
        text, title, main, meta = _html_text(path, raw)
        return document_from_text(rel, text, source=raw, title=title, main_content=main, meta=meta)
    if suffix == ".pdf":
        text, pages, title, meta = _pdf_text(path, raw)
        return pdf_document(rel, text, pages, raw, title, meta)
    return document_from_text(rel, _decode(path, raw), source=raw)


def corpus_files(root: Path) -> list[Path]:
    """The supported files below `root`, sorted; hidden files and folders are skipped."""
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist; pass --corpus DIR with your reports")
    files = [
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    if not files:
        raise CorpusError(f"corpus folder {root} has no {', '.join(SUPPORTED_SUFFIXES)} files")
    real_root = root.resolve()
    for p in files:
        if not p.resolve().is_relative_to(real_root):
            raise CorpusError(f"{p} links to {p.resolve()}, outside the corpus folder; copy the file in instead")
    return sorted(files)


def load_corpus(root: Path, max_bytes: int = MAX_CORPUS_FILE_BYTES) -> list[Document]:
    """Every document below `root`, in path order."""
    return [read_document(p, root, max_bytes) for p in corpus_files(root)]


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of each corpus file's bytes, by relative path: cheap staleness checks."""
    return {p.relative_to(root).as_posix(): sha256_bytes(p.read_bytes()) for p in corpus_files(root)}
