"""Follow-up questions: lean on the previous question and its answer, and move on from that answer.

The rule is simple enough to explain in one line: if the new question refers back (a pronoun or
"that/there/then" style word) or is too short to stand alone, the question retrieved with is the previous
question followed by the new one. Otherwise the new question stands alone.

Such a follow-up also leans on the previous answer's quotes: a sentence that answer already
quoted gives way to one it did not when their scores are within `REPEAT_MARGIN` (so "What happened
to them?" after the arrest figures moves on to what happened, instead of quoting the figures
again), and when the quotes still come out exactly the previous answer's, the answer says so
("Same passage as above.") rather than repeating them silently. The text goes on where the previous
answer's best quote stops: its next `FOLLOWING` sentences are read too, rank `FOLLOWING_BONUS` higher
and, where their evidence reaches the verdict's floor, may be quoted below the usual share of the
best score ("Is she still being ill-treated?" after the sentence naming her finds "We don't have
information of ongoing ill-treatment."). The verdict is decided before any of this, on the scores
as they are. Asked with the questions alone (REST, `verbatim ask --history`), each earlier answer is
worked out again as the chat gave it (app/answer/pipeline.py `previous_quotes`).

>>> contextual_query("How long was he in solitary confinement?", ["Who is Aron Atabek?"])
'Who is Aron Atabek? How long was he in solitary confinement?'
>>> contextual_query("What is the Zhanaozen report about?", ["Who is Aron Atabek?"])
'What is the Zhanaozen report about?'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

_REFERS_BACK = re.compile(
    r"\b(he|him|his|she|her|hers|it|its|they|them|their|theirs|this|that|these|those|there|then|"
    r"the same|which one)\b"
    r"|^\W*(and|also|what about|how about|but|so)\b",  # these lean back only when they open the question
    re.IGNORECASE,
)
SHORT_QUESTION_WORDS = 4  # "Why?", "Built for how many?"
# A short question that is whole on its own: a question word, a verb, and a subject of its own.
_WHOLE_QUESTION = re.compile(r"^\W*(who|what|when|where|why|how|which)\s+(is|are|was|were|do|does|did|has|have|had|"
                             r"can|could|will|would|should)\s+\w+", re.IGNORECASE)
REPEAT_MARGIN = 0.05  # a sentence the previous answer quoted gives way to a new one within this score

FOLLOWING = 2  # sentences after the previous answer's best quote: where its text goes on (dev dialogues 24 -> 25/28)
FOLLOWING_BONUS = REPEAT_MARGIN  # ... rank as if they scored this much more (as a repeat ranks that much less)
SAME_PASSAGE = "Same passage as above."

Span = tuple[str, int, int]  # document, start, end


def leans_on_previous(question: str) -> bool:
    """Whether the question refers back, or is too short to stand alone ("Built for how many?"; but
    "How were detainees mistreated?" is short and whole)."""
    words = re.findall(r"\w+", question)
    if _REFERS_BACK.search(question):
        return True
    return len(words) <= SHORT_QUESTION_WORDS and not (len(words) >= 4 and _WHOLE_QUESTION.match(question))


def previous_question(history: Sequence[str] | None) -> str:
    return next((h.strip() for h in reversed(history or []) if h and h.strip()), "")


def contextual_query(question: str, history: Sequence[str] | None) -> str:
    """The text to retrieve with: the question, with the previous one folded in if it leans on it."""
    previous = previous_question(history)
    if previous and leans_on_previous(question):
        return f"{previous} {question}"
    return question


def quoted_spans(quotes: Iterable[Mapping]) -> frozenset[Span]:
    """The (document, start, end) of an answer's quotes (`Answer.to_dict()["quotes"]` or `Quote.to_dict()`s)."""
    return frozenset((str(q["doc"]), int(q["start"]), int(q["end"])) for q in quotes)


def overlaps(span: Span, quoted: frozenset[Span]) -> bool:
    doc, start, end = span
    return any(d == doc and start < e and s < end for d, s, e in quoted)


def prefer_unquoted(scored: Sequence, spans: Sequence[Span], quoted: frozenset[Span],
                    margin: float = REPEAT_MARGIN, following: frozenset[int] = frozenset(),
                    bonus: float = FOLLOWING_BONUS) -> list:
    """`scored` (best first, each with `.row` and `.score`) re-ordered so that an item whose span (`spans[i]`)
    overlaps a quote of the previous answer ranks as if it scored `margin` less, and one whose row is in
    `following` (the text right after those quotes) as if it scored `bonus` more. Scores are unchanged.

    >>> from collections import namedtuple
    >>> S = namedtuple("S", "row score")
    >>> ranked = prefer_unquoted([S(0, 0.50), S(1, 0.47), S(2, 0.30)], [("r", 0, 9), ("r", 10, 19), ("r", 20, 29)],
    ...                          frozenset({("r", 0, 9)}))
    >>> [s.row for s in ranked]
    [1, 0, 2]
    >>> [s.row for s in prefer_unquoted([S(0, 0.50), S(1, 0.47), S(2, 0.46)], [("r", 0, 9), ("r", 10, 19),
    ...  ("r", 20, 29)], frozenset({("r", 0, 9)}), following=frozenset({2}))]
    [2, 1, 0]
    """
    if not quoted:
        return list(scored)
    keyed = [(s.score - (margin if overlaps(span, quoted) else 0.0) + (bonus if s.row in following else 0.0), i)
             for i, (s, span) in enumerate(zip(scored, spans, strict=True))]
    return [scored[i] for _, i in sorted(keyed, key=lambda k: (-k[0], k[1]))]


def following_rows(sentences: np.ndarray, quoted: frozenset[Span], doc_rows: Mapping[str, int], window: int = FOLLOWING
                   ) -> frozenset[int]:
    """The rows of the `window` sentences after each quoted span, in its document (`sentences`: the index's
    (row: doc row, start, end, ...) array, in document order): where the text goes on from the previous answer.

    >>> rows = np.array([[0, 0, 9, 1, 0], [0, 10, 19, 1, 0], [0, 20, 29, 2, 0], [1, 0, 9, 1, 0]])
    >>> sorted(following_rows(rows, frozenset({("a", 0, 19)}), {"a": 0, "b": 1}, window=2))
    [2]
    """
    out: set[int] = set()
    for doc, start, end in quoted:
        d = doc_rows.get(doc)
        inside = np.flatnonzero((sentences[:, 0] == d) & (sentences[:, 1] >= start) & (sentences[:, 2] <= end))
        if d is None or not len(inside):
            continue
        last = int(inside[-1])
        out.update(r for r in range(last + 1, min(last + 1 + window, len(sentences))) if sentences[r, 0] == d)
    return frozenset(out)


def repeat_note(quotes: Sequence[Mapping], quoted: frozenset[Span]) -> str | None:
    """A line saying which quotes repeat the previous answer: "Same passage as above." when all of
    them are exactly its quotes, "Quote [1] is the same passage as above." for some; None for none.

    >>> q = [{"n": 1, "doc": "r", "start": 0, "end": 9}, {"n": 2, "doc": "r", "start": 10, "end": 19}]
    >>> repeat_note(q, frozenset({("r", 0, 9), ("r", 10, 19)})), repeat_note(q, frozenset({("r", 0, 9)}))
    ('Same passage as above.', 'Quote [1] is the same passage as above.')
    """
    if quotes and quoted_spans(quotes) == quoted:
        return SAME_PASSAGE
    again = [int(q["n"]) for q in quotes if (str(q["doc"]), int(q["start"]), int(q["end"])) in quoted]
    if not again:
        return None
    names = " and ".join(f"[{n}]" for n in again)
    many = len(again) > 1
    return f"Quote{'s' if many else ''} {names} {'are' if many else 'is'} the same passage as above."
