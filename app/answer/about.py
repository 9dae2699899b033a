"""About: questions about the report itself, answered from its title, byline and date.

"What is the report called?", "Who wrote the report?", "When was it published?" ask about the
document, not about what it says. They are answered from the document's structure
(`Document.title_span`, `Document.front_matter`, app/index/structure.py):

- title: a work the document's opening names in quotation marks, in a paragraph that uses the
  question's own word for it ("A new report ... about the contents of "Old Habits: ..."": an
  interview about a report), then the document's own title. Both are quoted from the text, with
  the name itself as the quote's answer span.
- author: a byline under the title ("By Jane Roe"); date: a date line under the title.
- interviewee, interviewer: in an interview whose turns are labelled with names, the sentences under
  the title that name the speaker, then the first turn, the name in bold; with role labels ("Q:") or
  no turns, the question is an ordinary one.

Where the document states none of these, app/answer/facts.py says so (or gives what the file's
metadata declares); it also answers what kind of document it is, how long, and in what language.
A quote found here is structural, not topical: its score is at least `STRUCTURAL_SCORE`, the top of
the confidence scale, fixed rather than the "answered" threshold so that calibrating the threshold
never sees its own value come back.

>>> about_kind("What is the title of the report?"), about_kind("Who wrote the report?")
('title', 'author')
>>> about_kind("When was Amnesty's report published?"), about_kind("Who is named in the report?")
('date', None)
"""

from __future__ import annotations

import re

import numpy as np

from app.answer.quote import Quote, ScoredSentence, is_quotable
from app.index.ingest import Document
from app.index.search import Hit
from app.index.store import Index
from app.index.structure import is_role_label, label_span, named_works

_NOUN = r"(?:report|document|article|paper|study|interview|book|publication|piece|story|briefing|review)"
_DOC = rf"(?:the|this|that|its|their|[\w-]+['\u2019]s?)\s+(?:[\w-]+\s+){{0,2}}?{_NOUN}"
_AUTHORED = r"(?:wrote|authored|published|issued|produced|released|compiled)"
_MADE_BY = r"(?:written|authored|published|issued|produced|released|compiled)"
_TITLED = r"(?:title|name|headline|heading)"
_TITLE = (rf"\b{_TITLED}\s+of\s+{_DOC}\b|\b{_DOC}\s+(?:is\s+|was\s+)?(?:called|titled|entitled|headlined)\b"
          rf"|\b{_DOC}(?:['\u2019]s)?\s+{_TITLED}\b")
_AUTHOR = (rf"^\W*(?:who|which\s+[\w-]+|what\s+[\w-]+)\s+{_AUTHORED}\s+{_DOC}\b"
           rf"|\b(?:author|authors|publisher|writer)\s+of\s+{_DOC}\b"
           rf"|\bwho\s+(?:is|was)\s+{_DOC}\s+(?:written|published|authored|issued)\s+by\b")
_DATE = (rf"\bwhen\s+(?:was|is|did)\s+{_DOC}\s+(?:published|written|released|issued|dated|come out)\b"
         rf"|\b(?:what|which)\s+(?:date|year|month|day)\s+(?:was|is|did)\s+{_DOC}\s+"
         rf"(?:published|written|released|issued|come out)\b"
         rf"|\b(?:date|year)\s+of\s+{_DOC}\b|\b{_DOC}(?:['\u2019]s)?\s+(?:publication\s+)?date\b")
_ANY_DOC = rf"(?:{_DOC}|it|this|the\s+text|the\s+file)"
_HERE = rf"(?:\s+(?:here|in\s+(?:{_DOC}|it|this|the\s+interview)))?\W*$"  # "for the report" asks about its research
_INTERVIEWEE = (rf"\bwho\s+(?:is|was|is\s+being)\s+(?:interviewed|questioned){_HERE}"
                rf"|\bwho\s+(?:gives|gave|is\s+giving)\s+(?:the|this)\s+interview{_HERE}"
                rf"|\bwho\s+(?:answers|answered|is\s+answering)\s+the\s+questions{_HERE}|\binterviewee\b")
_INTERVIEWER = (rf"\bwho\s+(?:conducts|conducted|did|does|led)\s+(?:the|this)\s+interview{_HERE}"
                rf"|\bwho\s+(?:asks|asked|is\s+asking)\s+the\s+questions{_HERE}|\binterviewer\b")
_KIND = (rf"\b(?:what|which)\s+(?:kind|type|sort|genre)\s+of\s+(?:{_NOUN}|document|text|file|publication)\b"
         rf"|\bwhat\s+(?:kind|type|sort)\s+(?:of\s+\w+\s+)?is\s+{_ANY_DOC}\b"
         rf"|^\W*what\s+(?:is|was)\s+(?:this|the)\s+(?:document|file|text)\W*$")
_LENGTH = (rf"\bhow\s+(?:long|big)\s+is\s+{_ANY_DOC}\W*$"
           rf"|\bhow\s+many\s+(?:words|pages|paragraphs)\s+(?:is|are|does|do|has|in)\b[^?]*\b(?:{_NOUN}|document|it)\b"
           rf"|\b(?:length|word\s+count|page\s+count)\s+of\s+{_ANY_DOC}\b|\b{_DOC}(?:['\u2019]s)?\s+length\b")
_LANGUAGE = (rf"\b(?:what|which)\s+language\s+(?:is|was)\s+{_ANY_DOC}\s+(?:written\s+)?in\b"
             rf"|\bin\s+(?:what|which)\s+language\s+(?:is|was)\s+{_ANY_DOC}\b"
             rf"|\blanguage\s+of\s+{_ANY_DOC}\b|\b{_DOC}(?:['\u2019]s)?\s+language\b")
_ASKS = {kind: re.compile(pattern, re.I) for kind, pattern in (("title", _TITLE), ("author", _AUTHOR), ("date", _DATE),
                                                               ("kind", _KIND), ("length", _LENGTH),
                                                               ("language", _LANGUAGE),
                                                               ("interviewee", _INTERVIEWEE),
                                                               ("interviewer", _INTERVIEWER))}
SPEAKERS = ("interviewee", "interviewer")  # answered from an interview's named speaker turns, else not here
STRUCTURAL_SCORE = 1.0  # a title, byline or date line the document states: answered, at full confidence
LEAD_PARAGRAPHS = 3  # where a document introduces the work it discusses: just under its title


def about_kind(question: str) -> str | None:
    """"title", "author", "date", "kind", "length", "language", "interviewee" or "interviewer" when the
    question asks about the document itself, else None (kind, length and language are answered in
    app/answer/facts.py)."""
    return next((kind for kind, pattern in _ASKS.items() if pattern.search(question)), None)


def _asked_noun(question: str, kind: str) -> str:
    m = _ASKS[kind].search(question)
    nouns = re.findall(_NOUN, m.group(0), re.I) if m else []
    return nouns[-1].lower() if nouns else ""


def _sentences_around(index: Index, d: int, span: tuple[int, int]) -> tuple[int, int] | None:
    """The start and end of the quotable sentences of document row d that hold `span` (None when
    it lies outside them): a long sentence cut into windows is quoted whole across them."""
    rows = np.flatnonzero(index.sentences[:, 0] == d)
    starts, ends = index.sentences[rows, 1], index.sentences[rows, 2]
    first = rows[(starts <= span[0]) & (span[0] < ends)]
    last = rows[(starts < span[1]) & (span[1] <= ends)]
    if not (len(first) and len(last)) or not all(is_quotable(index, int(r)) for r in (first[0], last[0])):
        return None
    return int(index.sentences[first[0], 1]), int(index.sentences[last[0], 2])


def _lead(doc: Document) -> list[tuple[int, int]]:
    """The paragraphs just under the title, where a document introduces what it discusses."""
    after = doc.title_span[1] if doc.title_span else 0
    skip = set(doc.furniture)
    return [p for p in doc.paragraphs if p[0] >= after and tuple(p) not in skip][:LEAD_PARAGRAPHS]


def _lead_works(index: Index, d: int, noun: str) -> list[tuple[int, int, tuple[int, int]]]:
    """(start, end, work) of sentences under the title that name a work, in a paragraph using `noun`."""
    doc = index.documents[d]
    out = []
    for s, e in _lead(doc):
        if not re.search(rf"\b{noun}", doc.text[s:e], re.I):
            continue
        for work in named_works(doc.text, s, e):
            bounds = _sentences_around(index, d, work)
            if bounds:
                out.append((*bounds, work))
    return out


def _lead_authors(index: Index, d: int, noun: str) -> list[tuple[int, int, tuple[int, int]]]:
    """(start, end, name) of sentences under the title that say who made the work ("a new report
    published by Amnesty International")."""
    doc = index.documents[d]
    pattern = re.compile(rf"(?i:\b{noun}\b[^.?!]*?\b{_MADE_BY}\s+by)\s+"
                         r"(?P<who>[A-Z][\w'&.-]*(?:\s+(?:of\s+|for\s+|the\s+)?[A-Z][\w'&.-]*)*)")
    out = []
    for s, e in _lead(doc):
        for m in pattern.finditer(doc.text, s, e):
            bounds = _sentences_around(index, d, m.span("who"))
            if bounds:
                out.append((*bounds, m.span("who")))
    return out


def _speaker_spans(index: Index, d: int, kind: str) -> list[tuple[int, int, tuple[int, int]]]:
    """(start, end, name) of an interview's sentences naming who answers (or asks): the sentences under the
    title that name them ("... speaks to Amnesty International's David Diaz-Jogeix, the deputy director"),
    then the first turn, its label in bold. Empty unless the turns are labelled with a name ("Q:" is a role)."""
    doc = index.documents[d]
    turns = list(doc.prompts) if kind == "interviewer" else [r for r in doc.prompts.values() if r]
    labels = [label_span(doc.text, doc.paragraphs[p - 1]) for p in turns]
    named = [x for x in labels if x is not None and not is_role_label(doc.text[x[0]:x[1]])]
    if not named:
        return []
    first = named[0]
    name = doc.text[first[0]:first[1]]
    out = []
    for s, e in _lead(doc):
        at = doc.text.find(name, s, e)
        bounds = _sentences_around(index, d, (at, at + len(name))) if at >= 0 else None
        if bounds and bounds[0] != first[0]:  # the lead is not the turn itself
            out.append((*bounds, (at, at + len(name))))
    turn = _sentences_around(index, d, first)
    return out + ([(*turn, first)] if turn else [])


def _spans(index: Index, d: int, kind: str, noun: str) -> list[tuple[int, int, tuple[int, int]]]:
    """(quote start, quote end, answer span) for one document, best first."""
    doc: Document = index.documents[d]
    if kind in SPEAKERS:
        return _speaker_spans(index, d, kind)
    if kind not in ("title", "author", "date"):
        return []
    if kind == "title":
        found = _lead_works(index, d, noun) if noun else []
        if doc.title_span:
            found.append((*doc.title_span, doc.title_span))
        return found
    span = doc.front_matter.get(kind)
    if span is None:
        return _lead_authors(index, d, noun) if kind == "author" and noun else []
    para = doc.paragraphs[doc.paragraph_at(span[0]) - 1]  # the whole byline or date line is quoted
    return [(para[0], para[1], span)]


def about_document(index: Index, question: str, hits: list[Hit], scored: list[ScoredSentence], k: int,
                   min_score: float = STRUCTURAL_SCORE) -> list[Quote]:
    """Quotes answering a question about the documents the hits come from (empty when it asks none
    or the documents do not state it). Each quote's score is its sentence's own, at least `min_score`."""
    kind = about_kind(question)
    if kind is None:
        return []
    noun = _asked_noun(question, kind)
    own = {(int(index.sentences[x.row, 0]), int(index.sentences[x.row, 1])): x.score for x in scored}
    docs = list(dict.fromkeys(index.doc_rows[h.chunk.doc] for h in hits))
    quotes: list[Quote] = []
    for d in docs:
        doc = index.documents[d]
        for start, end, answer in _spans(index, d, kind, noun):
            if any(q.doc == doc.doc and q.start < end and start < q.end for q in quotes):
                continue
            score = max(own.get((d, start), min_score), min_score)
            quotes.append(Quote(len(quotes) + 1, doc.text[start:end], doc.doc, start, end, doc.paragraph_at(start),
                                doc.page_at(start), score, answer))
            if len(quotes) == k:
                return quotes
    return quotes
