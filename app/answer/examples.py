"""Example questions for an index: curated ones for a known report (app/answer/examples.json), else
short questions found in the corpus itself, else generic ones. The chat shows them as buttons and
the help answer (app/answer/intents.py) lists them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.index.store import Index

CURATED = Path(__file__).resolve().parent / "examples.json"
GENERIC_EXAMPLES = ["What is this report about?", "Who wrote the report?", "What are the main findings?",
                    "What does the report recommend?", "When did the events take place?"]


def questions_in(index: Index, limit: int) -> list[str]:
    """Short questions that appear in the corpus itself (an interview's), speaker labels removed."""
    found: list[str] = []
    for row in range(len(index.sentences)):
        s = index.sentence(row)
        text = index.document(s.doc).text[s.start:s.end]
        text = re.sub(r"^[\w/ .'-]{1,40}:\s+", "", " ".join(text.split()))
        if text.endswith("?") and 4 <= len(text.split()) <= 14 and text not in found:
            found.append(text)
        if len(found) == limit:
            break
    return found


def default_examples(index: Index, count: int = 5) -> list[str]:
    """Up to `count` example questions for the documents of `index`."""
    try:
        curated = json.loads(CURATED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        curated = {}
    examples: list[str] = []
    for doc in index.documents:
        examples += [q for q in curated.get(doc.doc, []) if q not in examples]
    if len(examples) < count:
        examples += [q for q in questions_in(index, count) if q not in examples]
    if len(examples) < count:
        examples += [q for q in GENERIC_EXAMPLES if q not in examples]
    return examples[:count]
