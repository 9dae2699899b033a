"""Follow-up questions: fold the previous question into retrieval when the new one leans on it.

The rule is simple enough to explain in one line: if the new question refers back (a pronoun or
"that/there/then" style word) or is very short, the question retrieved with is the previous
question followed by the new one. Otherwise the new question stands alone.

>>> contextual_query("How long was he in solitary confinement?", ["Who is Aron Atabek?"])
'Who is Aron Atabek? How long was he in solitary confinement?'
>>> contextual_query("What is the Zhanaozen report about?", ["Who is Aron Atabek?"])
'What is the Zhanaozen report about?'
"""

from __future__ import annotations

import re

_REFERS_BACK = re.compile(
    r"\b(he|him|his|she|her|hers|it|its|they|them|their|theirs|this|that|these|those|there|then|"
    r"the same|which one)\b"
    r"|^\W*(and|also|what about|how about|but|so)\b",  # these lean back only when they open the question
    re.IGNORECASE,
)
SHORT_QUESTION_WORDS = 4


def leans_on_previous(question: str) -> bool:
    words = re.findall(r"\w+", question)
    return bool(_REFERS_BACK.search(question)) or len(words) <= SHORT_QUESTION_WORDS


def contextual_query(question: str, history: list[str] | None) -> str:
    """The text to retrieve with: the question, with the previous one folded in if it leans on it."""
    previous = next((h.strip() for h in reversed(history or []) if h and h.strip()), "")
    if previous and leans_on_previous(question):
        return f"{previous} {question}"
    return question
