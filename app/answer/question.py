"""The question, validated once where it enters (the CLI, the chat, the API) and handed to `Assistant.ask`.

>>> Question.of("  Who is Aron Atabek? ", k=2).text
'Who is Aron Atabek?'
>>> try:
...     Question.of("   ")
... except QuestionError as exc:
...     print(exc)
the question is empty; type a question about the report
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.errors import QuestionError
from app.settings import MAX_HISTORY, MAX_QUESTION_CHARS, bad_k, bad_mode


def validate_question(question: object, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """The question, stripped; raises `QuestionError` with a one-line reason when unusable."""
    if not isinstance(question, str):
        raise QuestionError(f"a question must be text, not {type(question).__name__}")
    bad = sorted({f"U+{ord(ch):04X}" for ch in question if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"})
    if bad:
        raise QuestionError(f"the question contains control characters ({', '.join(bad[:5])}); "
                            "remove them and ask again")
    text = question.strip()
    if not text:
        raise QuestionError("the question is empty; type a question about the report")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(question):,} characters; the limit is {max_chars:,}. "
                            "Shorten it and ask again")
    return text


@dataclass(frozen=True)
class Question:
    """A validated question and how to answer it.

    `history`: the earlier questions, oldest first; `previous`: the quotes of the answer to the last of
    them (the chat passes them; without them they are found again); `per_document`: the best quote of
    each document (None: when the question asks what each report says)."""

    text: str
    k: int | None = None
    docs: list[str] | None = None
    history: list[str] | None = None
    mode: str | None = None
    previous: Sequence[Mapping] | None = None
    per_document: bool | None = None
    language: str = ""  # ISO 639-1, "en" for English; "" until the assistant reads it (app/index/language.py)

    @classmethod
    def of(cls, text: object, max_chars: int = MAX_QUESTION_CHARS, k: int | None = None,
           docs: Sequence[str] | None = None, history: Sequence[str] | None = None, mode: str | None = None,
           previous: Sequence[Mapping] | None = None, per_document: bool | None = None) -> Question:
        """Check every part (the text, `k`, the mode, the history's length) and raise `QuestionError` naming the
        first fault."""
        problem = (bad_k(k) if k is not None else None) or (bad_mode(mode) if mode is not None else None)
        if problem:
            raise QuestionError(problem)
        if history is not None and len(history) > MAX_HISTORY:
            raise QuestionError(f"the history holds {len(history)} questions; the limit is {MAX_HISTORY}")
        for n, earlier in enumerate(history or [], 1):
            if not isinstance(earlier, str) or len(earlier) > max_chars:
                size = f"{len(earlier):,} characters" if isinstance(earlier, str) else type(earlier).__name__
                raise QuestionError(f"history entry {n} is {size}; each must be text of at most {max_chars:,} "
                                    "characters")
        return cls(validate_question(text, max_chars), k, list(docs) if docs else None,
                   list(history) if history is not None else None, mode, previous, per_document)
