"""What the chat page says about the build it answers from: title, documents, examples, notices.

Plain text and HTML from `app.web.render`; no Gradio here. `build_view` gathers it for one build,
and the page redraws it when a rebuild is swapped in (app/web/chat.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.web.render import DocumentRow, documents_html, guess_title, header_html

if TYPE_CHECKING:
    from app.answer.assistant import Assistant

STATIC = Path(__file__).resolve().parent / "static"
TITLE = "Ask the report"
DESCRIPTION = ("Every answer is quoted word for word from the report and numbered to its place; it does not "
               "summarise or use outside knowledge, and says so plainly when the report has no answer.")
PANEL_BRIEFING_DOCS = 20  # the documents panel shows each document's briefing up to this many documents
BRIEFING_QUESTION = "Summarize the report"  # what the "Briefing" button asks (app/answer/intents.py routes it)
HOW_IT_WORKS = (
    '<ul class="vb-how">'
    "<li><strong>Quotes, not summaries.</strong> An answer is the report\u2019s own sentences. Each [n] opens "
    "the whole document at the quote; the sources below the answer show each quote in its paragraph. "
    "<strong>Briefing</strong> (or \u201cSummarize the report\u201d) gives its key passages, quoted the same way."
    "</li>"
    "<li><strong>Honest gaps.</strong> When the report does not answer, it says so and shows the closest passage, "
    "marked as not an answer.</li>"
    "<li><strong>Follow-ups.</strong> A short question, or one saying \u201che\u201d, \u201cit\u201d or "
    "\u201cthat\u201d, is searched together with your previous question, and prefers passages the previous "
    "answer did not quote.</li>"
    "<li><strong>Feedback.</strong> The thumbs under an answer record whether it helped.</li>"
    "</ul>")


def report_label(assistant: Assistant) -> str:
    """The report's title, or a count of documents for a collection."""
    docs = assistant.index.documents
    if len(docs) == 1:
        return guess_title(docs[0])
    more = "; \u2026" if len(docs) > 3 else ""
    return f"{len(docs)} documents: " + "; ".join(guess_title(d) for d in docs[:3]) + more


def default_examples(assistant: Assistant, count: int = 5) -> list[str]:
    """Curated questions for a known report, else ones found in the corpus (app/answer/examples.py)."""
    from app.answer.examples import default_examples as examples_for

    return examples_for(assistant.index, count)


def document_rows(assistant: Assistant) -> list[DocumentRow]:
    """The documents panel's rows; each carries its briefing while the index holds few enough documents."""
    from app.answer.briefing import briefing

    chunks = assistant.index.chunks_per_document()
    indexed = assistant.index.manifest.created_at
    docs = assistant.index.documents
    briefed = len(docs) <= PANEL_BRIEFING_DOCS
    return [DocumentRow(d.doc, guess_title(d), d.size_bytes, chunks[d.doc], indexed,
                        tuple(q.to_dict() for q in briefing(assistant.index, d.doc).points) if briefed else ())
            for d in docs]


def chat_examples(examples: list[str]) -> list[dict]:
    """The chat's example buttons: "Briefing" (the report's key passages) first, then the example questions."""
    return [{"text": BRIEFING_QUESTION, "display_text": "Briefing"}, *({"text": q} for q in examples)]


def build_id(assistant: Assistant) -> str:
    """The build folder an assistant answers from: a rebuild swaps in a new one (see app/index/store_write.py)."""
    return os.path.realpath(assistant.index.path)


@dataclass(frozen=True)
class BuildView:
    """What the page says about the index it answers from: redrawn when a rebuild is swapped in."""

    build: str
    header: str
    documents_label: str
    documents: str
    choices: list[tuple[str, str]]  # (label, document name) for the "Search only in" selector
    examples: list[str]


def build_view(assistant: Assistant, examples: list[str] | None = None, title: str = TITLE) -> BuildView:
    """The header, documents panel, selector choices and example questions for one build.

    Given `examples` (`--examples FILE`) are kept; otherwise they come from the build's documents."""
    docs = assistant.index.documents
    return BuildView(
        build=build_id(assistant),
        header=header_html(title, report_label(assistant), DESCRIPTION),
        documents_label=f"Documents in the index ({len(docs)})",
        documents=documents_html(document_rows(assistant)),
        choices=[(f"{guess_title(d)} ({d.doc})", d.doc) for d in docs],
        examples=(examples or default_examples(assistant))[:5],
    )


def polite(exc: Exception | str) -> str:
    """An error as a sentence for the page: 'Sorry — the question is empty; ...'."""
    text = str(exc).rstrip(".")
    return f"Sorry \u2014 {text}."
