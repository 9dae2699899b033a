"""Structure: who speaks in a document, and what the document is called.

Interviews, hearings and FAQs are made of turns. An interviewer's turn, a question or a framing
statement, is never the answer: it points to the reply that follows. Two shapes are recognised,
from the document's paragraphs alone:

- Speaker turns: paragraphs that open with a label and a colon ("RFE/RL: ...", "Q: ...",
  "MR. SMITH: ..."). A label is an interviewer's when most of its turns ask something (hold a "?"),
  or when it is "Q"/"Question"/"Interviewer"; it needs at least two turns and another speaker.
- Question-then-answer paragraphs, when no speaker is labelled: a short paragraph or heading that
  ends with "?" followed by one that does not (an FAQ), at least twice in the document.

The title is the document's name as it lies in its text: a paragraph that matches the title the
file declares (HTML `<title>`, PDF metadata) or the first heading (a Markdown `#` line, else the
first short line without closing punctuation). When the declared title is nowhere in the text (a
PDF whose metadata names it), the first heading stands in: a quote must be document text.

>>> text = "Q: Who runs the prison?\\n\\nA: The ministry.\\n\\nQ: Since when?\\n\\nA: Since 2004."
>>> from app.index.ingest import find_paragraphs
>>> prompt_paragraphs(text, find_paragraphs(text))
{1: 2, 3: 4}
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

Span = tuple[int, int]

# A speaker label opening a paragraph: up to five capitalised words (or "Q", "MR.", "RFE/RL"), a colon,
# then text; Markdown emphasis around the label is allowed ("**Q:** ...").
_WORD = r"(?:[A-Z][\w.'\u2019&/-]*|of|de|la|le|van|von|da|bin|al)"
_LABEL = re.compile(rf"^[*_]{{0,2}}(?P<label>[A-Z][\w.'\u2019&/-]*(?:\s+{_WORD}){{0,4}})"
                    r"[*_]{0,2}\s*:[*_]{0,2}\s+\S")
LABEL_MAX_CHARS = 40
_ASKER_NAMES = {"q", "question", "interviewer", "int"}
_ANSWERER_NAMES = {"a", "answer"}
ASKER_QUESTION_SHARE = 0.5  # an interviewer's turns mostly ask something
FAQ_QUESTION_MAX_WORDS = 50  # an FAQ question is a heading or a short paragraph, not prose ending in a question
MIN_PAIRS = 2  # one question paragraph followed by prose is a rhetorical question, two are a shape
_MARKUP_EDGE = re.compile(r"^[\s#>*_]+|[\s*_]+$")

TITLE_SEARCH_PARAGRAPHS = 12  # a title lies near the top
TITLE_MAX_WORDS = 20
_MD_HEADING = re.compile(r"^(#{1,6})\s+")
_CLOSING = re.compile(r"[.:;,?!]$")


def speaker_label(paragraph: str) -> str | None:
    """The normalised speaker label opening a paragraph, if any.

    >>> speaker_label("MR. SMITH: Thank you."), speaker_label("RFE/RL: How many?"), speaker_label("Note that x: y")
    ('mr smith', 'rfe/rl', None)
    """
    span = label_span(paragraph, (0, len(paragraph)))
    return None if span is None else _normalised(paragraph[span[0]:span[1]])


def label_span(text: str, span: Span) -> Span | None:
    """Where the speaker label opening the paragraph at `span` lies: its name, without colon or emphasis.

    >>> text = "Intro.\\n\\n**David Roe:** Yes."
    >>> a, b = label_span(text, (8, 27)); text[a:b]
    'David Roe'
    """
    s, e = span
    m = _LABEL.match(text[s:e])
    if not m or len(m.group("label")) > LABEL_MAX_CHARS:
        return None
    return s + m.start("label"), s + m.end("label")


def is_role_label(label: str) -> bool:
    """Whether a speaker label, as printed or normalised, names a role ("Q", "A.", "Interviewer"), not a
    speaker."""
    return _normalised(label) in _ASKER_NAMES | _ANSWERER_NAMES


def _normalised(label: str) -> str:
    return " ".join(label.replace(".", " ").lower().split())


def _bare(paragraph: str) -> str:
    return _MARKUP_EDGE.sub("", paragraph)


def _asker_labels(labels: list[str | None], texts: list[str]) -> set[str]:
    """The labels of the interviewers: their turns mostly ask, and someone else speaks too."""
    turns: Counter[str] = Counter()
    asking: Counter[str] = Counter()
    for label, text in zip(labels, texts, strict=True):
        if label:
            turns[label] += 1
            asking[label] += "?" in text
    if len(turns) < 2:
        return set()
    askers = {lab for lab in turns if lab in _ASKER_NAMES}
    askers |= {lab for lab, n in turns.items() if n >= 2 and lab not in _ANSWERER_NAMES
               and asking[lab] / n > ASKER_QUESTION_SHARE}
    return askers if askers != set(turns) else set()


def _is_question_paragraph(text: str) -> bool:
    bare = _bare(text)
    return bare.endswith("?") and len(bare.split()) <= FAQ_QUESTION_MAX_WORDS


def prompt_paragraphs(text: str, paragraphs: Sequence[Span], furniture: Sequence[Span] = ()) -> dict[int, int | None]:
    """Interviewer turns and FAQ questions, as 1-based paragraph numbers, each mapped to the paragraph
    of the reply that follows it (None when nothing follows)."""
    skip = set(map(tuple, furniture))
    body = [i for i, span in enumerate(paragraphs) if tuple(span) not in skip]
    texts = [text[paragraphs[i][0]:paragraphs[i][1]] for i in body]
    labels = [speaker_label(t) for t in texts]
    askers = _asker_labels(labels, texts)
    if askers:
        is_prompt = [lab in askers for lab in labels]
    else:
        asks = [_is_question_paragraph(t) for t in texts]
        is_prompt = [asks[j] and j + 1 < len(texts) and not asks[j + 1] for j in range(len(texts))]
        if sum(is_prompt) < MIN_PAIRS:
            return {}
    out: dict[int, int | None] = {}
    for j, prompt in enumerate(is_prompt):
        if prompt:
            nxt = next((k for k in range(j + 1, len(texts)) if not is_prompt[k]), None)
            # the reply is the paragraph right after the turn; a later one belongs to another question
            out[body[j] + 1] = body[nxt] + 1 if nxt == j + 1 else None
    return out


def _heading_span(text: str, span: Span) -> Span | None:
    """The span of a heading paragraph without its Markdown marks, or None if it is not heading-like."""
    s, e = span
    para = text[s:e]
    if "\n" in para.strip():
        return None
    m = _MD_HEADING.match(para)
    if m:
        s += m.end()
    else:
        words = para.split()
        if not 2 <= len(words) <= TITLE_MAX_WORDS or _CLOSING.search(para.strip()):
            return None
    while s < e and text[s] in "*_ \t":
        s += 1
    while e > s and text[e - 1] in "*_ \t#":
        e -= 1
    return (s, e) if e > s else None


def title_span(text: str, paragraphs: Sequence[Span], furniture: Sequence[Span] = (), title: str = "") -> Span | None:
    """Where the document's title lies in its text (None when it has no heading near the top).

    >>> text = "Menu\\n\\n# Old Habits\\n\\nThe report found abuse."
    >>> s, e = title_span(text, [(0, 4), (6, 18), (20, 43)], furniture=[(0, 4)])
    >>> text[s:e]
    'Old Habits'
    """
    skip = set(map(tuple, furniture))
    top = [tuple(p) for p in paragraphs if tuple(p) not in skip][:TITLE_SEARCH_PARAGRAPHS]
    if title.split():
        pattern = re.compile(r"\s+".join(map(re.escape, title.split())), re.I)
        for s, e in top:
            m = pattern.search(text, s, e)
            if m:
                return m.start(), m.end()
        wanted = " ".join(title.lower().split())
        for span in top:  # "Headline | Site name" declared, "Headline" printed
            head = _heading_span(text, span)
            if head and len(text[head[0]:head[1]].split()) >= 2 and " ".join(
                    text[head[0]:head[1]].lower().split()) in wanted:
                return head
    for span in top:  # a Markdown heading of the first level is the title wherever it lies near the top
        if text[span[0]:span[1]].startswith("# "):
            return _heading_span(text, span)
    heading = next((h for h in (_heading_span(text, span) for span in top) if h), None)
    if heading is None and top:  # a PDF's lines run together: the first line of the first paragraph
        s, e = top[0]
        first_line = (s, s + len(text[s:e].split("\n")[0].rstrip()))
        heading = _heading_span(text, first_line) if first_line[1] < e else None
    return heading


_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DATE = re.compile(rf"\b(?:\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|{_MONTH}\s+\d{{4}}"
                   r"|\d{4}-\d{2}-\d{2})\b", re.I)
_BYLINE = re.compile(r"^[*_]*(?:by|written by|authors?:|reported by)\s+\S", re.I)
_BY = re.compile(r"^[*_]*(?:by|written by|authors?:|reported by)\s+", re.I)  # a byline's words before the name
_DATELINE = re.compile(r"^[*_]*(?:published|posted|updated|dated?|released|issued)\b", re.I)
FRONT_PARAGRAPHS = 3  # the byline and dateline sit just below the title
FRONT_MAX_WORDS = 20
DATELINE_MAX_WORDS = 8  # a short line holding a date; a longer one is a caption that mentions a date


def front_matter(text: str, paragraphs: Sequence[Span], furniture: Sequence[Span], title: Span | None
                 ) -> dict[str, Span]:
    """The byline ("By ...") and the date stated just below the title: {"author": span, "date": span}.

    >>> text = "Old Habits\\n\\nBy Jane Roe\\n\\nPublished 13 March 2013\\n\\nBody."
    >>> spans = front_matter(text, [(0, 10), (12, 23), (25, 48), (50, 55)], (), (0, 10))
    >>> {k: text[s:e] for k, (s, e) in spans.items()}
    {'author': 'By Jane Roe', 'date': '13 March 2013'}
    """
    if title is None:
        return {}
    skip = set(map(tuple, furniture))
    after = [tuple(p) for p in paragraphs if p[0] >= title[1] and tuple(p) not in skip][:FRONT_PARAGRAPHS]
    found: dict[str, Span] = {}
    for s, e in after:
        para = text[s:e]
        if len(para.split()) > FRONT_MAX_WORDS:
            continue
        if "author" not in found and _BYLINE.match(para):
            found["author"] = (s, e)
        m = _DATE.search(para)
        if "date" not in found and m and (len(para.split()) <= DATELINE_MAX_WORDS or _DATELINE.match(para)):
            found["date"] = (s + m.start(), s + m.end())
    return found



def pdf_title(declared: str, author: str, text: str, paragraphs: Sequence[Span], furniture: Sequence[Span] = ()
              ) -> str:
    """A PDF's title: its metadata's, unless that names the author (or is a byline); else its first heading
    that is not the author's name nor a byline; "" when it has neither (the file name stands in).

    >>> text = "Fabio Fiorina\\n\\nThe Debian Packaging Manual\\n\\nThis manual describes packaging."
    >>> pdf_title("Fabio Fiorina", "Fabio Fiorina", text, [(0, 13), (15, 42), (44, 76)])
    'The Debian Packaging Manual'
    >>> pdf_title("", "", "By J. Roe\\n\\nOld Habits", [(0, 9), (11, 21)])
    'Old Habits'
    """
    def said(line: str) -> str:
        return " ".join(line.lower().split())

    people = {said(author), said(_BY.sub("", declared)) if _BYLINE.match(declared) else ""} - {""}

    def names_a_person(line: str) -> bool:
        return bool(_BYLINE.match(line)) or said(line) in people

    if declared.split() and not names_a_person(declared):
        return " ".join(declared.split())
    skip = [tuple(f) for f in furniture]
    for _ in range(TITLE_SEARCH_PARAGRAPHS):
        span = title_span(text, paragraphs, skip)
        if span is None:
            return ""
        if not names_a_person(text[span[0]:span[1]]):
            return " ".join(text[span[0]:span[1]].split())
        skip += [tuple(p) for p in paragraphs if p[0] <= span[0] < p[1]]  # the author's line: look below it
    return ""


def named_works(text: str, start: int, end: int) -> list[Span]:
    """Quoted names of works inside text[start:end]: a quotation of two or more capitalised words.

    >>> t = 'It discussed "Old Habits: The Routine Use of Torture" with "some" people.'
    >>> [t[s:e] for s, e in named_works(t, 0, len(t))]
    ['Old Habits: The Routine Use of Torture']
    """
    out = []
    for m in re.finditer(r"[\"\u201c](?P<work>[A-Z][^\"\u201c\u201d]{2,200}?)[.,]?[\"\u201d]", text[start:end]):
        caps = re.findall(r"\b[A-Z]\w+", m.group("work"))
        if len(caps) >= 2:
            out.append((start + m.start("work"), start + m.end("work")))
    return out

