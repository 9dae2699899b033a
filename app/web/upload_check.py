"""Checking an upload whole, before anything is stored (app/web/uploads.py stores it and has it indexed).

Its format is told by its content (a PDF by its `%PDF-` header; anything else must be UTF-8 text with no NUL
byte: HTML when it opens like a page, Markdown or plain text by its name), it is at most
`MAX_CORPUS_FILE_BYTES`, its text must be readable by ingest (an encrypted or broken PDF, a binary file, an
archive are refused), and it gets a safe name in the corpus folder.

>>> safe_name("../../etc/Q3 report (final).PDF", ".pdf")
'Q3-report-final.pdf'
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from types import MappingProxyType

from app.errors import VerbatimError
from app.index.ingest import document_from_bytes
from app.settings import MAX_CORPUS_FILE_BYTES, SUPPORTED_SUFFIXES

MAX_NAME_CHARS = 100
_BINARY_MAGIC = MappingProxyType({
    b"PK\x03\x04": "a zip archive", b"\x1f\x8b": "a gzip archive", b"7z\xbc\xaf": "a 7-zip archive",
    b"Rar!": "a RAR archive", b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
    b"\x7fELF": "a program", b"MZ": "a program", b"\xd0\xcf\x11\xe0": "an old Office document",
    b"BZh": "a bzip2 archive"})
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


class UploadRefused(VerbatimError):
    """An upload that is not stored: the message is the one-line reason. `status` is the HTTP code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def sniff(data: bytes, name: str) -> str:
    """The corpus suffix the content is read as (".pdf", ".html", ".md" or ".txt"), told by content.

    >>> sniff(b"%PDF-1.7 ...", "notes.txt"), sniff(b"<!DOCTYPE html><p>x</p>", "a.txt"), sniff(b"# Hi", "a.md")
    ('.pdf', '.html', '.md')
    """
    if data.startswith(b"%PDF-"):
        return ".pdf"
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise UploadRefused(f"{name}: this is {what}, not a PDF, HTML, Markdown or text file", 415)
    if b"\x00" in data:
        raise UploadRefused(f"{name}: binary content (NUL bytes), not a PDF, HTML, Markdown or text file", 415)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadRefused(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8 or as a PDF", 415) from None
    if _HTML_START.match(data[:4096].lstrip(b"\xef\xbb\xbf")):
        return ".html"
    return ".md" if PurePosixPath(name).suffix.lower() in (".md", ".markdown") else ".txt"


def safe_name(name: str, suffix: str) -> str:
    """A plain file name for the corpus folder: no folders, letters, digits, dot, dash and underscore
    only, at most MAX_NAME_CHARS, ending in `suffix` (the format the content was read as)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    stem = base
    while PurePosixPath(stem).suffix.lower() in (*SUPPORTED_SUFFIXES, ".markdown"):
        stem = stem[: -len(PurePosixPath(stem).suffix)]
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[: MAX_NAME_CHARS - len(suffix)].strip("-._")
    return f"{stem or 'document'}{suffix}"


def check_upload(name: str, data: bytes, max_bytes: int = MAX_CORPUS_FILE_BYTES) -> str:
    """The safe corpus name of an acceptable upload; raises `UploadRefused` with the reason otherwise."""
    if len(data) > max_bytes:
        raise UploadRefused(f"{name}: {len(data):,} bytes is over the {max_bytes:,}-byte limit per document", 413)
    if not data:
        raise UploadRefused(f"{name}: the file is empty")
    suffix = sniff(data, name)
    safe = safe_name(name, suffix)
    if suffix == ".pdf":
        _refuse_encrypted(name, data)
    try:
        doc = document_from_bytes(safe, data)
    except VerbatimError as exc:
        raise UploadRefused(f"{name}: {str(exc).split(': ', 1)[-1]}") from None
    except Exception as exc:  # a PDF library failing in an unforeseen way is still a refusal, not a crash
        raise UploadRefused(f"{name}: cannot read this file ({type(exc).__name__})") from None
    if not doc.text.strip():
        raise UploadRefused(f"{name}: no text could be read from it (a scanned PDF needs OCR first)")
    return safe


def _refuse_encrypted(name: str, data: bytes) -> None:
    import io

    from pypdf import PdfReader

    try:
        encrypted = PdfReader(io.BytesIO(data)).is_encrypted
    except Exception:  # broken PDFs are refused by the reader in check_upload with its own reason
        return
    if encrypted:
        raise UploadRefused(f"{name}: the PDF is encrypted; save an unprotected copy and upload that")
