"""The briefing: a document's key passages, each a verbatim quote, within a word budget, in document order.

The ranking is computed at build time (`app.index.briefing`) and stored in the index; here it is
only cut: walk the ranked sentences, keep each one that still fits the budget, and put the kept
ones back in document order. A briefing of the whole corpus is one section per document, each
within the budget.

>>> import shutil, tempfile
>>> from pathlib import Path
>>> from app.index.embed import HashEmbedder
>>> from app.index.ingest import document_from_text
>>> from app.index.build import build_index
>>> from app.index.store import load_index
>>> folder = Path(tempfile.mkdtemp())
>>> text = "Inspectors visited six prisons in the north in May. They found crowded cells in every prison they saw."
>>> _ = build_index(folder / "i", HashEmbedder(), documents=[document_from_text("r.txt", text)])
>>> brief = briefing(load_index(folder / "i"), words=10)  # 9 + 9 words: one fits; the paragraph's lead wins
>>> [(q["text"], q["start"], q["end"]) for q in brief.to_dict()["points"]]
[('Inspectors visited six prisons in the north in May.', 0, 51)]
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.answer.quote import Quote
from app.errors import QuestionError
from app.index.store import Index

DEFAULT_WORDS = 120
MAX_WORDS = 2_000  # the ranking stores MAX_RANKED sentences per document; no budget reads further
MIN_WORDS = 10
BRIEFING_NOTE = "These are the report's key passages, quoted verbatim in the order they appear:"


@dataclass(frozen=True)
class Briefing:
    doc: str | None
    words: int
    points: list[Quote]

    def to_dict(self) -> dict:
        """The contract: {"doc": NAME or null, "words": N, "points": [quote objects as in ask]}."""
        return {"doc": self.doc, "words": self.words, "points": [q.to_dict() for q in self.points]}


def check_words(words: object) -> int:
    """The budget as an int in MIN_WORDS..MAX_WORDS; raises `QuestionError` naming the bad value."""
    if isinstance(words, bool) or not isinstance(words, int):
        raise QuestionError(f"words must be a whole number, not {words!r}; give one from {MIN_WORDS} to {MAX_WORDS}")
    if not MIN_WORDS <= words <= MAX_WORDS:
        raise QuestionError(f"words {words} is out of range; give one from {MIN_WORDS} to {MAX_WORDS}")
    return words


def cut(ranked: Sequence[int], lengths: Sequence[int], budget: int) -> list[int]:
    """Positions in `ranked` order kept by a word budget, returned sorted (document order when
    `ranked` holds document positions): each that still fits is kept, the rest skipped.

    >>> cut([5, 1, 9, 3], [50, 30, 40, 20], 100)  # 5 fits, 1 fits, 9 would make 120, 3 fits
    [1, 3, 5]
    """
    kept, used = [], 0
    for item, n in zip(ranked, lengths, strict=True):
        if used + n <= budget:
            kept.append(item)
            used += n
            if used == budget:
                break
    return sorted(kept)


def _doc_points(index: Index, d: int, budget: int) -> list[tuple[int, float]]:
    lo, hi = int(index.briefing_bounds[d]), int(index.briefing_bounds[d + 1])
    if lo == hi:
        return []
    rows, lengths = index.briefing[lo:hi, 0].tolist(), index.briefing[lo:hi, 1].tolist()
    score = dict(zip(rows, index.briefing_scores[lo:hi].tolist(), strict=True))
    return [(r, score[r]) for r in cut(rows, lengths, budget)]


def briefing(index: Index, doc: str | None = None, words: int = DEFAULT_WORDS,
             docs: Sequence[str] | None = None) -> Briefing:
    """The briefing of `doc`, or of every document (or of `docs`) one section each, within `words` per document."""
    words = check_words(words)
    if doc is not None and doc not in index.doc_rows:
        known = ", ".join(d.doc for d in index.documents[:5])
        raise QuestionError(f"no document {doc!r} in the index; known: {known}"
                            + (" ..." if len(index.documents) > 5 else ""))
    names = [doc] if doc is not None else list(docs) if docs else [d.doc for d in index.documents]
    points: list[Quote] = []
    for name in names:
        d = index.doc_rows.get(name)
        if d is None:
            continue
        document = index.documents[d]
        for row, score in _doc_points(index, d, words):
            s, e = (int(x) for x in index.sentences[row, 1:3])
            points.append(Quote(len(points) + 1, document.text[s:e], document.doc, s, e,
                                document.paragraph_at(s), document.page_at(s), float(score)))
    return Briefing(doc, words, points)

