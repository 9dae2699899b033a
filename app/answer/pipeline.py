"""The path of a question, as stages: route -> retrieve -> score -> decide -> render.

Each stage is a function with a typed input and output; `Assistant.ask` (app/answer/assistant.py) is
their list. A `Stopwatch` charges the time between laps to the stage named, so an answer's
`timings` add up to its wall time:

- route: a question that is not a search of the report (help, the briefing) is answered at once;
- retrieve: the question (a follow-up resolved) analysed once (`Analysis`, app/answer/answer_types.py: what
  it asks for, from its spaCy parse), encoded with a follow-up's context, and the best passages found;
- score: the passages' sentences scored, and each of the best by its answer span;
- decide: the verdict, and which sentences to quote (a follow-up moves past what it already showed);
- render: the message and the `Answer`.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.answer.answer import (
    TIMINGS,
    Answer,
    confidence_for,
    readable,
    verdict_for,
)
from app.answer.answer_types import Analysis, analyse, speaks_to
from app.answer.direct import Direct, mark_answers, uncertain_spans, with_spans
from app.answer.facts import about_answer
from app.answer.followup import (
    SAME_PASSAGE,
    contextual_query,
    following_rows,
    leans_on_previous,
    prefer_unquoted,
    previous_question,
    quoted_spans,
    repeat_note,
)
from app.answer.intents import Routed
from app.answer.messages import line
from app.answer.per_document import MAX_DOCUMENTS, asks_each_document, best_per_document, topic
from app.answer.question import Question
from app.answer.quote import (
    UNKNOWN_NAME_FACTOR,
    Quote,
    ScoredSentence,
    score_sentences,
    select_quotes,
    unknown_names,
)
from app.answer.resolve import Resolved, resolve
from app.errors import QuestionError
from app.index.language import language_name
from app.index.lexical import tokenize
from app.index.search import Hit, Searcher
from app.index.store import Index
from app.runtime import Runtime
from app.settings import AnswerSettings

Span = tuple[str, int, int]  # (document, start, end) of a quoted sentence
UNDERSTOOD_AS = "Understood as: {question}"  # the first line of a resolved follow-up's message


class Answerer(Protocol):
    """What the stages read of the assistant: its index, its search (app/index/search.py), settings and runtime."""

    index: Index
    searcher: Searcher
    settings: AnswerSettings
    runtime: Runtime

    def lexical(self, language: str) -> frozenset[str] | None: ...

    def languages(self) -> dict[str, str]: ...

    def ask(self, question: str | Question, **options) -> Answer: ...

    def scope(self, docs: list[str] | None) -> int: ...


class Stopwatch:
    """Charges the time since the last lap to a stage name (`TIMINGS`)."""

    def __init__(self) -> None:
        self.laps = dict.fromkeys(TIMINGS, 0.0)
        self._last = time.perf_counter()

    def lap(self, stage: str, less: Mapping[str, float] | None = None) -> None:
        """Charge the time since the last lap to `stage`, less the `less` parts it timed inside itself (each
        charged to its own stage: the encode inside the search)."""
        now = time.perf_counter()
        self.laps[stage] += now - self._last
        for part, seconds in (less or {}).items():
            self.laps[stage] -= seconds
            self.laps[part] += seconds
        self._last = now

    def add(self, parts: Mapping[str, float]) -> None:
        """Figures a stage measured inside itself (the retriever's dense, bm25 and fusion)."""
        for stage, seconds in parts.items():
            self.laps[stage] += seconds


@dataclass(frozen=True)
class Retrieved:
    """The retrieve stage's output: what was searched with, and the passages found."""

    query: str  # the text encoded and tokenized (a follow-up's carries the previous question)
    vector: np.ndarray
    tokens: list[str]
    hits: list[Hit]  # best first; the plain answer reads the first `plain`, per document every one
    plain: int
    k: int  # quotes wanted
    each: bool  # per document: the best quote of each document that answers is wanted
    k_each: int
    lexical: frozenset[str] | None  # the documents in the question's language (None: all)
    analysis: Analysis  # the question the answer is read for (a follow-up resolved), analysed once
    resolved: Resolved = Resolved("")  # a follow-up as understood (app/answer/resolve.py)
    previous: frozenset[Span] = frozenset()  # the previous answer's quotes, for a follow-up leaning on it
    following: frozenset[int] = frozenset()  # the sentence rows right after those quotes


@dataclass(frozen=True)
class Scored:
    """The score stage's output: the sentences, best first, each counted with its best answer span."""

    direct: Direct
    factor: float  # the damping for a question naming what the corpus never mentions

    @property
    def sentences(self) -> list[ScoredSentence]:
        return self.direct.scored


@dataclass(frozen=True)
class Decision:
    """The decide stage's output: the verdict, its score, the quotes, and what a follow-up repeats."""

    verdict: str
    top: float | None
    quotes: list[Quote]
    per_document: bool
    repeated: frozenset[Span]  # the previous answer's quotes, for a follow-up leaning on it
    note: str | None = None  # a plain sentence before the quotes (a question about the document itself)
    resolved: str | None = None  # a follow-up as understood, when that differs from its wording
    floor: float | None = None  # the floor the verdict was read against (across languages: its own)


def routed_answer(question: Question, routed: Routed, watch: Stopwatch) -> Answer:
    """A question answered without a search (help, the briefing)."""
    watch.lap("prepare")
    language = None if routed.language in (None, "en") else routed.language
    return Answer(question.text, routed.message, routed.quotes, watch.laps, routed.verdict, language=language)


def retrieve(a: Answerer, q: Question, watch: Stopwatch) -> Retrieved:
    """Encode the question (a follow-up with its context) and find the passages its quotes may come from."""
    s = a.settings
    wanted = asks_each_document(q.text) if q.per_document is None else q.per_document
    each = wanted and a.scope(q.docs) > 1
    k_each, k = q.k or MAX_DOCUMENTS, q.k or s.k
    shown = previous_quotes(a, q, k)
    resolved = resolve(a.runtime, q.text, previous_question(q.history), [str(x["text"]) for x in shown]) \
        if shown is not None and q.language == "en" else Resolved(q.text)  # the parse is English
    standalone = resolved.changed and not resolved.elided
    analysis = analyse(a.runtime, resolved.text if standalone else q.text, q.language)  # the one analysis
    # resolved: its own question, retrieved with the previous one as context (dev dialogues: 14/16 with it,
    # 13/16 without; eval/experiments/followups.py); elided: folded in as before
    query = f"{previous_question(q.history)} {resolved.text}" if standalone else \
        contextual_query(topic(q.text) if each else q.text, q.history)
    inner, lexical = {}, a.lexical(q.language)
    plain = max(s.passages * (1 if lexical is None else 2), k)  # across languages, passage vectors rank worse
    pool = max(s.candidates, k_each, plain) if each else plain  # per document: every candidate passage is read
    watch.lap("prepare")
    found = a.searcher.search(query, q.language, pool, s, q.mode, q.docs, lexical=lexical, timings=inner)
    vector, tokens, hits = found.vector, found.tokens, found.hits
    previous = quoted_spans(shown or [])
    # the text goes on from the previous answer's best quote (its others may lie anywhere)
    following = following_rows(a.index.sentences, quoted_spans(shown[:1]), a.index.doc_rows) if shown else frozenset()
    if following:  # the passages that go on from the previous answer are read too
        more = continuing(a.index, hits[:plain], following, vector)
        hits, plain = hits[:plain] + more + hits[plain:], plain + len(more)
    watch.lap("retrieve", less={"encode": inner.pop("encode")})
    watch.add(inner)
    return Retrieved(query, vector, tokens, hits, plain, k, each, k_each, lexical, analysis, resolved, previous,
                     following)


def score(a: Answerer, q: Question, r: Retrieved, watch: Stopwatch) -> Scored:
    """Score the sentences of the best passages, then each of the best again with its answer span."""
    question = r.analysis
    # a name the corpus never mentions lowers every score; read only when every document is in the question's
    # language (`r.lexical` None): German capitalises every noun, and a name is spelled in each language's way
    unknown = r.lexical is None and unknown_names(question.names, a.index.bm25.vocabulary, q.language)
    factor = UNKNOWN_NAME_FACTOR if unknown else 1.0
    sentences = score_sentences(a.index, r.hits[:r.plain], r.vector, r.tokens, question, factor, r.lexical)
    watch.lap("quote")
    english = q.language == "en" and r.lexical is None  # the span scorer reads English parses only
    direct = with_spans(a.runtime, a.index, sentences, question, a.settings.spans and english,
                        a.settings.span_weights)
    watch.lap("spans")
    return Scored(direct, factor)


def decide(a: Answerer, q: Question, r: Retrieved, sc: Scored, watch: Stopwatch) -> Decision:
    """The verdict from the best evidence among the sentences (a typed question without an answer of its
    type, or one answered from a document in another language, is at most "uncertain"), and the quotes:
    the best sentences, the best of each document, or the report's own title, byline or date for a
    question about the report itself."""
    s = a.settings
    sentences = sc.sentences
    top = max(x.evidence for x in sentences) if sentences else None  # ScoredSentence: what the verdict reads
    across = bool(sentences) and read_across(a, q, sentences[0])
    floor = s.across_floor if across and s.across_floor is not None else s.floor
    verdict = verdict_for(top, s.threshold, floor)
    if verdict == "answered" and (sc.direct.typed_miss or across):
        verdict, top = "uncertain", min(top, s.threshold - 1e-6)
    repeated = r.previous
    if repeated:
        sentences = prefer_unquoted(sentences, [sentence_span(a.index, x.row) for x in sentences], repeated,
                                    following=r.following)
    each_quotes = [] if not r.each or verdict == "not_found" else best_per_document(
        a.index, score_sentences(a.index, r.hits, r.vector, r.tokens, r.analysis, sc.factor, r.lexical), r.k_each,
        s.floor, s.max_quote_words)
    each = len({x.doc for x in each_quotes}) > 1  # one document answering: a plain answer from it
    k = 1 if verdict == "not_found" else r.k
    # a follow-up's order is its own (repeats down, the text after the previous answer up); a refusal shows
    # the best-ranked passage as the closest
    sentences, vouching = with_best_evidence(sentences, k) if not repeated and verdict != "not_found" \
        else (sentences, frozenset())
    quotes = each_quotes if each else select_quotes(a.index, sentences, k, s.max_quote_words, s.min_relative_score,
                                                    continued(sentences, r.following, floor) | vouching)
    if verdict == "answered" and not speaks_to(r.analysis, (t for x in quotes for t in tokenize(x.text))):
        verdict, top = "uncertain", min(top, s.threshold - 1e-6)  # a yes or no its quotes never speak to
    about = None if each else about_answer(a.index, q.text, r.hits[:r.plain], sentences, quotes, r.k, a.languages())
    if about:  # a question about the document itself, never with a bold span from its body (app/answer/facts.py)
        quotes, top = about.quotes, about.score
        verdict = verdict_for(top, s.threshold, s.floor) if about.verdict == "answered" else "not_found"
        if verdict == "not_found" and top is not None:  # its confidence stays in the not_found third
            top = min(top, s.floor - 1e-6)
    elif verdict == "answered" or (verdict == "uncertain" and uncertain_spans(a.runtime, s.span_precision)):
        quotes = mark_answers(quotes, sc.direct, per_document=each)  # bold spans only where they are as good
    watch.lap("quote")
    return Decision(verdict, top, quotes, each, repeated, about.note if about else None,
                    r.resolved.text if r.resolved.changed else None, s.floor if about else floor)


def render(a: Answerer, q: Question, d: Decision, watch: Stopwatch) -> Answer:
    """The message (the quotes, numbered, after the verdict's note, in the asker's language) and the `Answer`."""
    lang = q.language
    again = frozenset(x.n for x in d.quotes if (x.doc, x.start, x.end) in d.repeated)  # shown as "(quoted above)"
    quoted = readable(d.quotes, d.per_document, again)
    if d.note and d.verdict == "not_found":
        message = f"{d.note} {line(lang, 'closest')}" if d.quotes else d.note
    elif d.note:
        message = f"{d.note}\n{quoted}" if d.quotes else d.note
    elif d.verdict == "answered":
        message = quoted
    elif d.verdict == "uncertain":
        message = f"{line(lang, 'uncertain')}\n{quoted}"
    else:
        message = f"{line(lang, 'not_answered')} {line(lang, 'closest')}" if d.quotes else line(lang, "not_answered")
    quoted_in = sorted({a.languages().get(x.doc, lang) for x in d.quotes} - {lang})
    if quoted_in:  # the report's own words, in another language than the question's: say so in the asker's
        message = f"{line(lang, 'quoted_in').format(language=', '.join(map(language_name, quoted_in)))}\n{message}"
    note = repeat_note([x.to_dict() for x in d.quotes], d.repeated) if d.repeated and d.verdict != "not_found" \
        else None
    if note == SAME_PASSAGE:  # a follow-up that quotes only the previous answer again says so (each: "(quoted above)")
        message = f"{note}\n{message}"
    if d.resolved:  # a follow-up shows how it was understood
        message = f"{UNDERSTOOD_AS.format(question=d.resolved)}\n{message}"
    watch.lap("quote")
    s = a.settings
    floor = s.floor if d.floor is None else d.floor
    return Answer(q.text, message, d.quotes, watch.laps, d.verdict, confidence_for(d.top, s.threshold, floor),
                  per_document=d.per_document, language=None if lang == "en" else lang, resolved=d.resolved,
                  score=d.top)


def read_across(a: Answerer, q: Question, best: ScoredSentence) -> bool:
    """Whether the best sentence is in another language than the question: then neither shared words nor
    the English answer-type checks vouch for it, so it is at most "uncertain"."""
    return a.index.documents[int(a.index.sentences[best.row, 0])].language != q.language


def with_best_evidence(sentences: list[ScoredSentence], k: int) -> tuple[list[ScoredSentence], frozenset[int]]:
    """`sentences` with the one whose evidence the verdict read moved up to place `k` if it ranked below, and
    its row: the answer shows the sentence that vouches for its verdict (a paraphrase shares few words with
    it, so it may rank below sentences that share the question's common words).

    >>> ranked = [ScoredSentence(7, 0.30, 0.35), ScoredSentence(8, 0.29, 0.36), ScoredSentence(9, 0.28, 0.34),
    ...           ScoredSentence(4, 0.26, 0.38)]
    >>> moved, rows = with_best_evidence(ranked, 3)
    >>> [x.row for x in moved], rows
    ([7, 8, 4, 9], frozenset({4}))
    >>> with_best_evidence(ranked, 4) == (ranked, frozenset())
    True
    """
    if not sentences:
        return sentences, frozenset()
    best = max(range(len(sentences)), key=lambda i: (sentences[i].evidence, -i))
    if best < k:
        return sentences, frozenset()
    return [*sentences[:k - 1], sentences[best], *sentences[k - 1:best], *sentences[best + 1:]], \
        frozenset({sentences[best].row})


def continued(sentences: list[ScoredSentence], following: frozenset[int], floor: float) -> frozenset[int]:
    """The rows after the previous answer's best quote whose evidence reaches the verdict's floor: quoted even
    below the usual share of the best score (the best is often the sentence shown before)."""
    return frozenset(x.row for x in sentences if x.row in following and x.evidence >= floor)


def continuing(index: Index, hits: list[Hit], rows: frozenset[int], vector: np.ndarray) -> list[Hit]:
    """The chunks holding `rows` that `hits` lack, as hits scored by their cosine to the question. The chunks'
    sentence ranges rise with the chunks (documents in order), so each row's chunks are found by bisection."""
    have, holding = {h.row for h in hits}, set()
    spans = index.chunk_sentences
    for r in rows:
        c = bisect.bisect_right(spans, r, key=lambda span: span[0]) - 1
        while c >= 0 and spans[c][1] > r:  # neighbours overlap by a sentence: every chunk whose range holds r
            holding.add(c)
            c -= 1
    out = []
    for c in sorted(holding - have):
        dense = float(index.chunk_vectors[c] @ vector)
        out.append(Hit(c, index.chunks[c], dense, dense, 0.0))
    return out


def sentence_span(index: Index, row: int) -> Span:
    d, start, end = (int(x) for x in index.sentences[row, :3])
    return index.documents[d].doc, start, end


def previous_quotes(a: Answerer, q: Question, k: int) -> list[Mapping] | None:
    """The quotes of the previous answer (`Quote.to_dict()`s), when `q` is a follow-up leaning on it (else None).

    Without `q.previous` (REST, `verbatim ask --history`), the previous question is answered again as the chat
    answered it: with the questions before it as its history, its own previous answer worked out the same way
    (one more answer per earlier question that leans on the one before it; the history holds at most 10)."""
    last = previous_question(q.history)
    if not last or not leans_on_previous(q.text):
        return None
    if q.previous is not None:
        return list(q.previous)
    earlier = [h for h in q.history or [] if h and h.strip()][:-1]
    try:
        answer = a.ask(last, k=k, docs=q.docs, history=earlier, mode=q.mode)
    except QuestionError:  # an earlier question that was never answered leaves nothing to move on from
        return []
    return [x.to_dict() for x in answer.quotes]
