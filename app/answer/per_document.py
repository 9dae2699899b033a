"""Answers per document: the best quote from each document that answers, each with its citation.

Asked "What does each report say about solitary confinement?" over a shelf of reports, one quote
per report is more use than three quotes from the report that mentions it most. A question asks
for this when it names each / every / all / both of the reports (documents, papers, manuals, ...);
the CLI's `--per-document`, the API's `"per_document": true` ask for it whatever the wording.

>>> asks_each_document("What does each report say about solitary confinement?")
True
>>> asks_each_document("What does the report say about solitary confinement?")
False
"""

from __future__ import annotations

import re

from app.answer.quote import Quote, ScoredSentence, select_quotes
from app.index.store import Index

MAX_DOCUMENTS = 5  # documents quoted when the caller gives no k

_KINDS = r"(reports?|documents?|papers?|files?|manuals?|sources?|articles?|studies|study)"
_EACH = re.compile(rf"\b(each|every)( one)?( of the)? {_KINDS}\b|\b(all|both)( of)?( the)? {_KINDS}\b"
                   rf"|\bper {_KINDS}\b|\b{_KINDS} each\b", re.I)


_SAY = re.compile(r"^\W*(what|how)\s+(do|does|did)\s+(say|says|write|state|report|conclude|find)\s*"
                  r"(about|on|regarding|of)?\s+", re.I)


def asks_each_document(question: str) -> bool:
    """Whether the wording asks what each document says."""
    return bool(_EACH.search(question))


def topic(question: str) -> str:
    """What a question that asks for each document is about: the words a quote should match.

    >>> topic("What does each report say about solitary confinement?")
    'solitary confinement?'
    >>> topic("Solitary confinement in all the reports")
    'Solitary confinement in'
    """
    rest = " ".join(_EACH.sub(" ", question).split())
    return _SAY.sub("", rest).strip() or question


def best_per_document(index: Index, scored: list[ScoredSentence], k: int, floor: float,
                      max_words: int = 60) -> list[Quote]:
    """The best quote of each document whose best evidence (what a verdict reads) is at least `floor`,
    best document first, at most k documents; quotes are numbered 1..n in that order."""
    firsts: list[ScoredSentence] = []
    seen: set[int] = set()
    evidence: dict[int, float] = {}
    for cand in scored:
        d = int(index.sentences[cand.row, 0])
        evidence[d] = max(evidence.get(d, cand.evidence), cand.evidence)
    for cand in scored:  # scored is best first: the first sentence met of a document is its best
        d = int(index.sentences[cand.row, 0])
        if d in seen or evidence[d] < floor:
            continue
        seen.add(d)
        firsts.append(cand)
        if len(firsts) == k:
            break
    return select_quotes(index, firsts, k, max_words, min_relative_score=0.0)
