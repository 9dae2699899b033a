"""An answer: its verdict, message and quotes, and the JSON contract they print as.

>>> Answer("Who?", "[1] \u201cx\u201d", [], verdict="uncertain", confidence=0.5).to_dict()["answered"]
False
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.answer.quote import Quote
from app.index.search import Hit

VERDICTS = ("answered", "uncertain", "not_found")
TIMINGS = ("prepare", "encode", "retrieve", "quote", "spans", "dense", "bm25", "fusion")  # the stages an answer times


def verdict_for(score: float | None, threshold: float, floor: float) -> str:
    """"answered" at or above `threshold`, "not_found" below `floor` (or with nothing to quote),
    "uncertain" between.

    >>> [verdict_for(x, 0.3, 0.2) for x in (0.35, 0.25, 0.1, None)]
    ['answered', 'uncertain', 'not_found', 'not_found']
    """
    if score is None or score < floor:
        return "not_found"
    return "answered" if score >= threshold else "uncertain"


def confidence_for(score: float | None, threshold: float, floor: float) -> float:
    """The top score on a 0..1 scale whose thirds are the verdicts: piecewise linear through
    (0, 0), (floor, 1/3), (threshold, 2/3) and (1, 1). Monotone in the score, so it ranks questions
    exactly as the score does.

    >>> [round(confidence_for(x, 0.3, 0.2), 4) for x in (0.0, 0.1, 0.2, 0.25, 0.3, 0.65, 1.0, 2.0)]
    [0.0, 0.1667, 0.3333, 0.5, 0.6667, 0.8333, 1.0, 1.0]
    """
    if score is None or score <= 0:
        return 0.0
    if score >= threshold:  # the verdict's own band, so equal thresholds still give "answered" 2/3
        top = max(1.0, threshold)
        return 1.0 if score >= top else 2 / 3 + (score - threshold) / (top - threshold) / 3
    if score >= floor:
        return 1 / 3 + (score - floor) / (threshold - floor) / 3
    return score / floor / 3


@dataclass(frozen=True)
class Answer:
    question: str
    message: str
    quotes: list[Quote]
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    verdict: str = "not_found"  # one of VERDICTS
    confidence: float | None = None  # None: 1.0 when answered, else 0.0
    per_document: bool = False  # the quotes are the best of each document (app/answer/per_document.py)
    language: str | None = None  # ISO 639-1 code of a question not in English (app/index/language.py)
    resolved: str | None = None  # a follow-up as understood, when that differs from its wording (app/answer/resolve.py)
    score: float | None = field(default=None, compare=False)  # what the verdict read (calibration); not in the JSON

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")
        if self.confidence is None:
            object.__setattr__(self, "confidence", 1.0 if self.answered else 0.0)

    @property
    def answered(self) -> bool:
        """The JSON's `answered`: the verdict is "answered"."""
        return self.verdict == "answered"

    def to_dict(self) -> dict:
        """The JSON contract: question, answered, verdict, confidence, message,
        quotes[n, text, doc, start, end, paragraph, page, score]; "language" only for a question
        detected as not English; "per_document": true only when set; "resolved_question" only for a
        follow-up understood otherwise than worded."""
        out = {"question": self.question, "answered": self.answered, "verdict": self.verdict,
               "confidence": round(float(self.confidence), 6), "message": self.message,
               "quotes": [q.to_dict() for q in self.quotes]}
        if self.language is not None:
            out["language"] = self.language
        if self.per_document:
            out["per_document"] = True
        if self.resolved is not None:
            out["resolved_question"] = self.resolved
        return out


@dataclass(frozen=True)
class SearchResult:
    question: str
    hits: list[Hit]

    def to_dict(self) -> dict:
        return {"question": self.question, "hits": [h.to_dict() for h in self.hits]}


QUOTED_ABOVE = "(quoted above)"


def readable(quotes: list[Quote], cite: bool = False, again: frozenset[int] = frozenset()) -> str:
    """The numbered quotes; with `cite`, each followed by the document it comes from; a quote whose number is
    in `again` (a follow-up's quote the previous answer showed) is not shown again: "(quoted above)".

    >>> print(readable([Quote(1, "A.", "d", 0, 2, 1, None, 0.5), Quote(2, "B.", "d", 3, 5, 1, None, 0.4)], again={1}))
    [1] (quoted above)
    [2] “B.”
    """
    return "\n".join(f"[{q.n}] " + (QUOTED_ABOVE if q.n in again else f"\u201c{q.text}\u201d")
                     + (f" ({q.doc})" if cite else "") for q in quotes)


