"""How many words does a document need before py3langid's reading of its language can be trusted?

Run: python eval/experiments/document_language_length.py
Cuts XQuAD's dev paragraphs (../shared/benchmarks/xquad/, English and four other languages) into
windows of n words (every n-th word starts one; 600 per language, evenly spaced) and reads each with
`app.index.language.text_language` without its word minimum: English windows read as another language
(a misread English document loses its BM25 and its sentence rules), and other languages' windows told.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import app.index.language as language  # noqa: E402

WINDOWS = 600
LANGS = ("en", "de", "es", "ru", "tr")


def windows(lang: str, n: int) -> list[str]:
    data = json.loads((ROOT.parent / f"shared/benchmarks/xquad/xquad.{lang}.dev.json").read_text())["data"]
    out = []
    for article in data:
        for p in article["paragraphs"]:
            words = p["context"].split()
            out += [" ".join(words[i:i + n]) for i in range(0, len(words) - n + 1, n)]
    return out[::max(1, len(out) // WINDOWS)][:WINDOWS]


def main() -> None:
    language.MIN_DOCUMENT_WORDS = 0  # the identifier and its two bounds alone
    print("| words | English read as another language | " + " | ".join(f"{x} told" for x in LANGS[1:]) + " |")
    print("|---" * len(LANGS) + "|---|")
    for n in (3, 4, 5, 6, 8, 10):
        english = windows("en", n)
        misread = sum(language.text_language(t) != "en" for t in english)
        told = []
        for lang in LANGS[1:]:
            ws = windows(lang, n)
            told.append(f"{sum(language.text_language(t) == lang for t in ws)}/{len(ws)}")
        print(f"| {n} | {misread}/{len(english)} | " + " | ".join(told) + " |", flush=True)


if __name__ == "__main__":
    main()
