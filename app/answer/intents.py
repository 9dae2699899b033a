"""Intents: questions that are not a search of the report, answered before retrieval.

- "Summarize the report", "What is this report about?", "key points", "main findings" and close
  variants: the briefing (app/answer/briefing.py), verdict "answered".
- Greetings and questions about the assistant ("hi", "help", "what can you do?", "привет", "hilfe"...):
  a short help text in the asker's language (app/answer/messages.py) with example questions, verdict
  "not_found" and no quote (nothing of the report answers them).

A question in another language is not routed: it is searched like any other (the encoder is
multilingual), and its answer's lines are in its language.

A pattern must match the whole question (less punctuation and "please"), so "What are the main
findings about torture?" is a search, not a request for the briefing.

>>> is_summary("Can you summarize the report, please?"), is_summary("What does the report say about Atabek?")
(True, False)
>>> is_help("Hi!"), is_help("What can you do?"), is_help("Who is Aron Atabek?")
(True, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.answer.briefing import BRIEFING_NOTE, DEFAULT_WORDS, briefing
from app.answer.examples import default_examples
from app.answer.messages import greetings, line
from app.answer.quote import Quote
from app.index.store import Index

_DOC = r"(the|this|that|your|our)?\s*(report|document|interview|article|text|paper|file|corpus|documents|reports)"
_SUMMARY = re.compile(
    rf"((can|could|would|will) you\s+)?(please\s+)?"
    rf"((summari[sz]e|sum up|outline|brief me on|give me the gist of|tl\s*;?\s*dr)(\s+{_DOC}|\s+it)?"
    rf"|(give me\s+|show me\s+|list\s+|what are\s+)?(a|an|the)?\s*(summary|briefing|overview|gist|tl\s*;?\s*dr|"
    rf"(key|main|most important|important|major|central)\s+(points?|findings?|passages?|takeaways?|messages?|"
    rf"conclusions?|facts?|issues?|themes?|ideas?))(\s+(of|in|from)\s+{_DOC})?"
    rf"|what(\s+is|'s|\s+was)\s+({_DOC}|it)\s+(all\s+)?about|what\s+(is|are)\s+({_DOC})\s+about"
    rf"|what\s+does\s+{_DOC}\s+say|what\s+did\s+{_DOC}\s+find|what\s+(is|was)\s+found"
    rf"|(summary|briefing|overview|gist|tl\s*;?\s*dr)\s+(of|for)\s+{_DOC}|{_DOC}\s+summary)")
_HELP = re.compile(
    r"(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening)|yo|help|help me|\?+|start|"
    r"what can (you|i) (do|ask)( you| here)?|what do you do|who are you|what are you|how (does|do) (this|you|it) work|"
    r"how (do|can|should) i use (this|you|it)|what is this( tool| app| site| page)?|what can i ask( about)?|"
    r"(thanks|thank you|thx|ok thanks|cheers))")
_TRIM = re.compile(r"^[\s\W]+|[\s.!?,;:]+$")
_PLEASE = re.compile(r"(^please\s+|,?\s+please$)")


@dataclass(frozen=True)
class Routed:
    """An answer given without a search: its verdict, message, quotes, and the question's language if not English."""

    verdict: str
    message: str
    quotes: list[Quote]
    language: str | None = None


def _normalise(question: str) -> str:
    text = " ".join(question.lower().replace("\u2019", "'").split())
    text = _PLEASE.sub("", _TRIM.sub("", text))
    return _TRIM.sub("", text) or ("?" if "?" in question else "")


def is_summary(question: str) -> bool:
    """Whether the question asks what the report says as a whole."""
    return bool(_SUMMARY.fullmatch(_normalise(question)))


def help_language(question: str) -> str | None:
    """The language of a question that greets or asks about the assistant itself ("en" for English);
    None for any other question. A greeting names its language better than an identifier can."""
    text = _normalise(question)
    if _HELP.fullmatch(text):
        return "en"
    return next((lang for lang, words in greetings().items() if re.fullmatch(words, text)), None)


def is_help(question: str) -> bool:
    """Whether the question greets or asks about the assistant itself, in any language of the messages."""
    return help_language(question) is not None


def help_text(index: Index, language: str | None = None) -> str:
    """What the assistant does, and example questions for this index, in `language` (None: English)."""
    examples = "\n".join(f"- {q}" for q in default_examples(index, 4))
    return f"{line(language, 'help')}\n{line(language, 'try')}\n{examples}\n- {line(language, 'summarize')}"


def route(index: Index, question: str, docs: Sequence[str] | None = None) -> Routed | None:
    """The answer to a question that is not a search of the report, or None (search it)."""
    greeted = help_language(question)
    if greeted is not None:
        return Routed("not_found", help_text(index, greeted), [], greeted)
    if is_summary(question):
        points = briefing(index, words=DEFAULT_WORDS, docs=docs).points
        if points:
            readable = "\n".join(f"[{q.n}] \u201c{q.text}\u201d" for q in points)
            return Routed("answered", f"{BRIEFING_NOTE}\n{readable}", points)
    return None
