"""Answer: the library API the CLI, the web chat and the evaluation all call.

>>> import shutil, tempfile
>>> from app.answer.loading import assistant_over_texts  # builds an index with a stand-in for the model
>>> folder = Path(tempfile.mkdtemp())
>>> text = "The inspectors counted 212 prisoners held in cells built for 150."
>>> assistant = assistant_over_texts(folder, {"review.txt": text})
>>> quote = assistant.ask("How many prisoners were counted?").to_dict()["quotes"][0]
>>> quote["doc"], quote["paragraph"], quote["text"] == text[quote["start"]:quote["end"]]
('review.txt', 1, True)
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import functools
import logging
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.answer.about import about_document
from app.answer.direct import mark_answers, with_spans
from app.answer.followup import (
    contextual_query,
    leans_on_previous,
    prefer_unquoted,
    previous_question,
    quoted_spans,
    repeat_note,
)
from app.answer.intents import route
from app.answer.per_document import MAX_DOCUMENTS, asks_each_document, best_per_document, topic
from app.answer.quote import UNKNOWN_NAME_FACTOR, Quote, answer_type, score_sentences, select_quotes, unknown_names
from app.answer.ranking import DocumentScorer
from app.answer.retrieve import Hit, Retriever
from app.errors import QuestionError
from app.index.embed import Embedder, query_embedder_for
from app.index.lexical import tokenize
from app.index.store import Index, load_index, read_manifest
from app.index.verify import ensure_fresh
from app.settings import AnswerSettings, BuildSettings

log = logging.getLogger(__name__)

NOT_ANSWERED = "The report does not appear to answer this question."
CLOSEST_NOTE = "The closest passage is shown below; it is not an answer."
UNCERTAIN_NOTE = "The report mentions this, but may not answer it exactly:"
VERDICTS = ("answered", "uncertain", "not_found")
TIMINGS = ("prepare", "encode", "retrieve", "quote", "spans", "dense", "bm25", "fusion")  # the stages an answer times


def verdict_for(score: float | None, threshold: float, floor: float) -> str:
    """"answered" at or above `threshold`, "not_found" below `floor` (or with nothing to quote),
    "uncertain" between.

    >>> [verdict_for(x, 0.3, 0.2) for x in (0.35, 0.25, 0.1, None)]
    ['answered', 'uncertain', 'not_found', 'not_found']
    """
    if score is None or score < floor:
        return "not_found"
    return "answered" if score >= threshold else "uncertain"


def confidence_for(score: float | None, threshold: float, floor: float) -> float:
    """The top score on a 0..1 scale whose thirds are the verdicts: piecewise linear through
    (0, 0), (floor, 1/3), (threshold, 2/3) and (1, 1). Monotone in the score, so it ranks questions
    exactly as the score does.

    >>> [round(confidence_for(x, 0.3, 0.2), 4) for x in (0.0, 0.1, 0.2, 0.25, 0.3, 0.65, 1.0, 2.0)]
    [0.0, 0.1667, 0.3333, 0.5, 0.6667, 0.8333, 1.0, 1.0]
    """
    if score is None or score <= 0:
        return 0.0
    if score >= threshold:  # the verdict's own band, so equal thresholds still give "answered" 2/3
        top = max(1.0, threshold)
        return 1.0 if score >= top else 2 / 3 + (score - threshold) / (top - threshold) / 3
    if score >= floor:
        return 1 / 3 + (score - floor) / (threshold - floor) / 3
    return score / floor / 3


def validate_question(question: object, max_chars: int) -> str:
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
class Answer:
    question: str
    answered: bool  # True exactly when verdict == "answered"
    message: str
    quotes: list[Quote]
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    verdict: str = ""  # "answered" | "uncertain" | "not_found"; derived from `answered` when not given
    confidence: float | None = None
    per_document: bool = False  # the quotes are the best of each document (app/answer/per_document.py)
    language: str | None = None  # ISO 639-1 code of a question not in English (app/answer/language.py)

    def __post_init__(self) -> None:
        if not self.verdict:
            object.__setattr__(self, "verdict", "answered" if self.answered else "not_found")
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")
        if self.answered != (self.verdict == "answered"):
            raise ValueError(f"answered={self.answered} disagrees with verdict {self.verdict!r}")
        if self.confidence is None:
            object.__setattr__(self, "confidence", 1.0 if self.answered else 0.0)

    def to_dict(self) -> dict:
        """The JSON contract: question, answered, verdict, confidence, message,
        quotes[n, text, doc, start, end, paragraph, page, score]; "language" only for a question
        detected as not English; "per_document": true only when set."""
        out = {"question": self.question, "answered": self.answered, "verdict": self.verdict,
               "confidence": round(float(self.confidence), 6), "message": self.message,
               "quotes": [q.to_dict() for q in self.quotes]}
        if self.language is not None:
            out["language"] = self.language
        if self.per_document:
            out["per_document"] = True
        return out


@dataclass(frozen=True)
class SearchResult:
    question: str
    hits: list[Hit]

    def to_dict(self) -> dict:
        return {"question": self.question, "hits": [h.to_dict() for h in self.hits]}


def _readable(quotes: list[Quote], cite: bool = False) -> str:
    """The numbered quotes; with `cite`, each followed by the document it comes from."""
    return "\n".join(f"[{q.n}] \u201c{q.text}\u201d" + (f" ({q.doc})" if cite else "") for q in quotes)


class Assistant:
    """Answers questions from one loaded index by quoting it verbatim."""

    def __init__(self, index: Index, embedder: Embedder, settings: AnswerSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or AnswerSettings()
        self.retriever = Retriever(index)

    @classmethod
    def load(cls, index_dir: Path, embedder: Embedder | None = None, settings: AnswerSettings | None = None,
             corpus_dir: Path | None = None, mmap: bool = False) -> Assistant:
        """Load an index; with `corpus_dir`, refuse one that no longer matches the corpus. With `mmap`
        (servers), vectors are memory-mapped read-only, so processes on one build share its pages."""
        if embedder is None:
            embedder = query_embedder_for(read_manifest(Path(index_dir))["model"]["name"])
        index = load_index(Path(index_dir), embedder_name=embedder.name, mmap=mmap)
        if corpus_dir is not None:
            ensure_fresh(Path(index_dir), Path(corpus_dir), index.build_settings, embedder.name)
        return cls(index, embedder, settings)

    def with_settings(self, **changes) -> Assistant:
        return Assistant(self.index, self.embedder, replace(self.settings, **changes))

    @property
    def build_settings(self) -> BuildSettings:
        return self.index.build_settings

    def _encode(self, text: str) -> np.ndarray:
        return self.embedder.encode([text])[0]

    def search(self, question: str, k: int | None = None, docs: list[str] | None = None,
               history: list[str] | None = None, mode: str | None = None) -> SearchResult:
        """Ranked passages before quoting."""
        text = validate_question(question, self.settings.max_question_chars)
        query = contextual_query(text, history)
        hits = self._retrieve(self._encode(query), tokenize(query), k or self.settings.passages, mode, docs)
        return SearchResult(text, hits)

    def _retrieve(self, query_vec: np.ndarray, tokens: list[str], k: int, mode: str | None,
                  docs: list[str] | None, timings: dict[str, float] | None = None) -> list[Hit]:
        """The best `k` passages; in hybrid mode over several documents, each passage's score is mixed
        with its document's whole-text and title BM25 (`doc_weight`, `title_weight`) before the cut."""
        s = self.settings
        mode = mode or s.mode
        across = mode == "hybrid" and (s.doc_weight or s.title_weight) and self._in_scope(docs) > 1
        pool = max(k, s.candidates) if across else k
        hits = self.retriever.search(query_vec, tokens, pool, mode, s.candidates, s.dense_weight, docs=docs,
                                     timings=timings)
        if across:
            hits = self._documents.rescore(hits, tokens, s.doc_weight, s.title_weight)
        return hits[:k]

    @functools.cached_property
    def _documents(self) -> DocumentScorer:
        """Whole-document and title BM25 of this index (built on first use: a corpus of one never needs it)."""
        return DocumentScorer(self.index.documents)

    def _in_scope(self, docs: list[str] | None) -> int:
        return len(set(docs)) if docs else len(self.index.documents)

    def ask(self, question: str, k: int | None = None, docs: list[str] | None = None,
            history: list[str] | None = None, mode: str | None = None,
            previous: Sequence[Mapping] | None = None, per_document: bool | None = None) -> Answer:
        """Quote the sentences that best answer `question`, or say that the report does not.

        `history` holds the earlier questions, oldest first; `previous` the quotes of the answer to
        the last of them (the web chat passes them; without them they are found again).
        `per_document`: give the best quote of each document that answers (None: when the question
        asks what each report says); used only when more than one document answers."""
        s = self.settings
        t0 = time.perf_counter()
        text = validate_question(question, s.max_question_chars)
        routed = route(self.index, text, docs)  # the briefing, the help text, another language (app/answer/intents.py)
        if routed is not None:
            timings = {**dict.fromkeys(TIMINGS, 0.0), "prepare": time.perf_counter() - t0}  # no search stage ran
            return Answer(text, routed.verdict == "answered", routed.message, routed.quotes, timings, routed.verdict,
                          language=routed.language)
        each = self._per_document(text, per_document, docs)
        k_each, k = k or MAX_DOCUMENTS, k or s.k
        query = contextual_query(topic(text) if each else text, history)
        t1 = time.perf_counter()
        query_vec = self._encode(query)
        t2 = time.perf_counter()
        tokens = tokenize(query)
        stages: dict[str, float] = {}
        plain = max(s.passages, k)
        pool = max(s.candidates, k_each, plain) if each else plain  # per document: every candidate passage is read
        hits = self._retrieve(query_vec, tokens, pool, mode, docs, timings=stages)
        t3 = time.perf_counter()
        factor = UNKNOWN_NAME_FACTOR if unknown_names(text, self.index.bm25.vocabulary) else 1.0
        kind = answer_type(text)
        scored = score_sentences(self.index, hits[:plain], query_vec, tokens, kind, text, factor)
        t_spans = time.perf_counter()
        # each sentence's best answer span counts in its score (app/answer/direct.py)
        direct = with_spans(self.index, scored, text, s.spans, s.span_weights)
        scored = direct.scored
        top = scored[0].score if scored else None
        verdict = verdict_for(top, s.threshold, s.floor)
        if verdict == "answered" and direct.typed_miss:  # a typed question without an answer of its type
            verdict = "uncertain"
            top = min(top, s.threshold - 1e-6)
        t_spans = time.perf_counter() - t_spans
        quoted = self._followup_quoted(text, history, previous, k, docs, mode)  # follow-up path
        if quoted:
            scored = prefer_unquoted(scored, [self._span(x.row) for x in scored], quoted)
        each_quotes = [] if not each or verdict == "not_found" else best_per_document(
            self.index, score_sentences(self.index, hits, query_vec, tokens, kind, text, factor), k_each, s.floor,
            s.max_quote_words)
        each = len({q.doc for q in each_quotes}) > 1  # one document answering: a plain answer from it
        quotes = each_quotes if each else select_quotes(self.index, scored, 1 if verdict == "not_found" else k,
                                                        s.max_quote_words, s.min_relative_score)
        about = None if each else about_document(self.index, text, hits[:plain], scored, k)
        if about:  # a question about the report itself: its title, byline or date (app/answer/about.py)
            quotes, top = about, about[0].score
            verdict = verdict_for(top, s.threshold, s.floor)
        elif verdict != "not_found":
            quotes = mark_answers(quotes, direct, per_document=each)
        t4 = time.perf_counter()
        if verdict == "answered":
            message = _readable(quotes, each)
        elif verdict == "uncertain":
            message = f"{UNCERTAIN_NOTE}\n{_readable(quotes, each)}"
        elif quotes:
            message = f"{NOT_ANSWERED} {CLOSEST_NOTE}"
        else:
            message = NOT_ANSWERED
        note = repeat_note([q.to_dict() for q in quotes], quoted) if quoted and verdict != "not_found" else None
        if note:  # a follow-up that quotes the previous answer again says so
            message = f"{note}\n{message}"
        # retrieve = tokenize + dense + bm25 + fusion; the three retriever stages are also given alone
        timings = {"prepare": t1 - t0, "encode": t2 - t1, "retrieve": t3 - t2, "quote": t4 - t3 - t_spans,
                   "spans": t_spans,
                   **{k: stages.get(k, 0.0) for k in ("dense", "bm25", "fusion")}}
        return Answer(text, verdict == "answered", message, quotes, timings, verdict,
                      confidence_for(top, s.threshold, s.floor), per_document=each)

    def _per_document(self, text: str, asked: bool | None, docs: list[str] | None) -> bool:
        """Whether to look for the best quote of each document: asked for (or worded so), over more than one."""
        wanted = asks_each_document(text) if asked is None else asked
        return wanted and self._in_scope(docs) > 1

    # ---------------------------------------------------------------- the follow-up path (app/answer/followup.py)

    def _span(self, row: int) -> tuple[str, int, int]:
        d, start, end = (int(x) for x in self.index.sentences[row, :3])
        return self.index.documents[d].doc, start, end

    def _followup_quoted(self, text: str, history: list[str] | None, previous: Sequence[Mapping] | None,
                         k: int, docs: list[str] | None, mode: str | None) -> frozenset[tuple[str, int, int]]:
        """The spans the previous answer quoted, when `text` is a follow-up leaning on it (else empty).

        Without `previous`, the previous question is answered again (with the one before it as its
        history, one level deep)."""
        last = previous_question(history)
        if not last or not leans_on_previous(text):
            return frozenset()
        if previous is None:
            earlier = [h for h in history or [] if h and h.strip()][:-1][-1:]
            try:
                previous = [q.to_dict() for q in self.ask(last, k=k, docs=docs, history=earlier, mode=mode,
                                                          previous=()).quotes]
            except QuestionError:  # an earlier question that was never answered leaves nothing to move on from
                return frozenset()
        return quoted_spans(previous)
