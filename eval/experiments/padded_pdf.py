"""A report-sized PDF for the upload bench: a real text PDF with photograph-like pages between its pages.

    python eval/experiments/padded_pdf.py /usr/share/R/doc/manual/R-intro.pdf /tmp/report-10mb.pdf --mb 10

Reports of 10 MB are mostly pictures: their text is a few hundred pages at most. This writes the
source PDF's pages unchanged (their text is what gets indexed) with one full-page image after every
`--every` pages, until the file reaches `--mb` megabytes. The images are seeded noise saved as JPEG,
which compresses about as badly as a photograph, so the bytes are real bytes the server must take in
and the PDF reader must walk past. The source used for docs/performance.md is R-intro.pdf from
Debian's `r-doc-pdf` package (GPL-2+; `apt-get download r-doc-pdf`, then `dpkg-deb -x`).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pypdf
from PIL import Image


def image_page(rng: np.random.Generator, pixels: int = 900) -> pypdf.PageObject:
    """One PDF page holding a `pixels`-square JPEG of noise (about 0.6 MB)."""
    noise = rng.integers(0, 256, size=(pixels, pixels, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PDF", quality=85, resolution=150)
    return pypdf.PdfReader(io.BytesIO(buffer.getvalue())).pages[0]


def padded_pdf(source: Path, out: Path, megabytes: float, every: int = 2, seed: int = 0) -> dict:
    """Write `source` with image pages interleaved until `out` holds at least `megabytes` MB."""
    rng = np.random.default_rng(seed)
    reader = pypdf.PdfReader(source)
    target = int(megabytes * 1_000_000)
    source_bytes = source.stat().st_size
    per_image = len(_bytes_of(image_page(np.random.default_rng(seed))))
    images = max(0, -(-(target - source_bytes) // per_image))  # ceiling division
    writer = pypdf.PdfWriter()
    placed = 0
    for i, page in enumerate(reader.pages):
        writer.add_page(page)
        if placed < images and (i + 1) % every == 0:
            writer.add_page(image_page(rng))
            placed += 1
    while placed < images:
        writer.add_page(image_page(rng))
        placed += 1
    with out.open("wb") as f:
        writer.write(f)
    return {"source": str(source), "text_pages": len(reader.pages), "image_pages": placed,
            "bytes": out.stat().st_size}


def _bytes_of(page: pypdf.PageObject) -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--every", type=int, default=2, help="an image page after every N text pages")
    args = parser.parse_args()
    print(padded_pdf(args.source, args.out, args.mb, args.every))


if __name__ == "__main__":
    main()
