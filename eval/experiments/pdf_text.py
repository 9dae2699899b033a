"""PDF text by pypdf (before) and PDFium (pypdfium2, now): words glued together, and seconds.

    python eval/experiments/pdf_text.py [PDF ...]   # default: the Debian manuals below, where installed

A typeset PDF may position its words without storing the space between them; an extractor must
infer the space from the gap. "Glued" counts words of 20 or more letters per thousand words (a
rough sign of lost spaces: English prose has almost none). Seconds are medians of 3 runs, both
extractors in this process. Writes nothing; prints one line per file.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.index.ingest import pdf_page_text  # noqa: E402

DEFAULT = ("/usr/share/doc/maint-guide/maint-guide.en.pdf", "/usr/share/developers-reference/developers-reference.pdf",
           "/usr/share/doc/bash/bashref.pdf", "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
           "/usr/share/doc/libidn2-doc/libidn2.pdf")


def with_pypdf(path: Path) -> str:
    from pypdf import PdfReader

    return "\n\n".join((p.extract_text() or "").strip() for p in PdfReader(path).pages)


def with_pdfium(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return "\n\n".join(pdf_page_text(pdf[i]) for i in range(len(pdf)))
    finally:
        pdf.close()


def glued_per_thousand(text: str) -> float:
    words = re.findall(r"[A-Za-z]+", text)
    return 1000 * sum(len(w) >= 20 for w in words) / max(len(words), 1)


def main() -> None:
    files = [Path(f) for f in (sys.argv[1:] or DEFAULT) if Path(f).is_file()]
    for path in files:
        row = [path.name]
        for name, extract in (("pypdf", with_pypdf), ("pdfium", with_pdfium)):
            seconds = []
            for _ in range(3):
                t0 = time.perf_counter()
                text = extract(path)
                seconds.append(time.perf_counter() - t0)
            row.append(f"{name}: glued {glued_per_thousand(text):.2f}/1000, {statistics.median(seconds):.2f} s")
        print(" | ".join(row))


if __name__ == "__main__":
    main()
