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

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.answer.answer import Answer, SearchResult
from app.answer.followup import contextual_query
from app.answer.intents import route
from app.answer.pipeline import Stopwatch, decide, render, retrieve, routed_answer, score
from app.answer.question import Question
from app.index.embed import Embedder
from app.index.language import asked_in
from app.index.search import Hit, Searcher
from app.index.store import Calibration, Index, index_calibration
from app.index.verify import Opened, open_index
from app.runtime import Runtime
from app.settings import AnswerSettings, BuildSettings

log = logging.getLogger(__name__)


class Assistant:
    """Answers questions from one loaded index by quoting it verbatim; `runtime` holds the models and caches
    it shares with the process's other assistants (a new one by default)."""

    def __init__(self, index: Index, embedder: Embedder, settings: AnswerSettings | None = None,
                 runtime: Runtime | None = None, calibration: Calibration | None = None) -> None:
        self.index = index
        self.embedder = embedder
        # app/index/store.py: read once per loaded index (open_index reads it; with_settings hands it on)
        self.calibration = calibration or index_calibration(index.path, index.manifest)
        c = self.calibration
        self.settings = (settings or AnswerSettings()).calibrated(c.threshold, c.floor, c.across_floor)
        self.runtime = runtime or Runtime()
        self.searcher = Searcher(index, embedder)  # the one door into the index per question (app/index/search.py)
        self._languages = {d.doc: d.language for d in index.documents}  # as the build read them
        self._lexical: dict[str, frozenset[str] | None] = {}  # lexical(), per question language

    @classmethod
    def opened(cls, opened: Opened, settings: AnswerSettings | None = None,
               runtime: Runtime | None = None) -> Assistant:
        """The assistant of an index `open_index` opened (app/index/verify.py)."""
        return cls(opened.index, opened.encoder, settings, runtime, opened.calibration)

    @classmethod
    def load(cls, index_dir: Path, embedder: Embedder | None = None, settings: AnswerSettings | None = None,
             corpus_dir: Path | None = None, mmap: bool = False, runtime: Runtime | None = None) -> Assistant:
        """Load an index (`open_index`) with `embedder` (default: the encoder of the model that built it); with
        `corpus_dir`, refuse one that no longer matches the corpus. With `mmap` (servers), vectors are
        memory-mapped read-only, so processes on one build share its pages."""
        return cls.opened(open_index(index_dir, corpus_dir, query_encoder=embedder, mmap=mmap), settings, runtime)

    def with_settings(self, **changes) -> Assistant:
        return Assistant(self.index, self.embedder, replace(self.settings, **changes), self.runtime, self.calibration)

    @property
    def build_settings(self) -> BuildSettings:
        return self.index.build_settings

    def question(self, question: str | Question, **options) -> Question:
        """`question` validated (`Question.of`) unless it already is a `Question`, with its language read."""
        q = question if isinstance(question, Question) else Question.of(question, self.settings.max_question_chars,
                                                                         **options)
        return q if q.language else replace(q, language=asked_in(self.runtime, q.text))

    def languages(self) -> dict[str, str]:
        """Each document's language (ISO 639-1), as the build read it (app/index/language.py)."""
        return self._languages

    def lexical(self, language: str) -> frozenset[str] | None:
        """The documents written in `language`, where words shared with a question mean something (None: all)."""
        if language not in self._lexical:  # read per question: worked out once per language
            same = frozenset(doc for doc, lang in self._languages.items() if lang == language)
            self._lexical[language] = None if len(same) == len(self.index.documents) else same
        return self._lexical[language]

    def search(self, question: str | Question, k: int | None = None, docs: list[str] | None = None,
               history: list[str] | None = None, mode: str | None = None) -> SearchResult:
        """Ranked passages before quoting."""
        q = self.question(question, k=k, docs=docs, history=history, mode=mode)
        found = self.searcher.search(contextual_query(q.text, q.history), q.language, q.k or self.settings.passages,
                                     self.settings, q.mode, q.docs, lexical=self.lexical(q.language))
        return SearchResult(q.text, found.hits)

    def retrieve(self, vector: np.ndarray, tokens: list[str], k: int, mode: str | None,
                 docs: list[str] | None, timings: dict[str, float] | None = None,
                 lexical: frozenset[str] | None = None) -> list[Hit]:
        """The best `k` passages for a vector and tokens already made (`Searcher.retrieve`, these settings)."""
        return self.searcher.retrieve(vector, tokens, k, self.settings, mode, docs, lexical, timings)

    def scope(self, docs: list[str] | None) -> int:
        """How many documents a search over `docs` (None: all) reads."""
        return len(set(docs)) if docs else len(self.index.documents)

    def ask(self, question: str | Question, k: int | None = None, docs: list[str] | None = None,
            history: list[str] | None = None, mode: str | None = None,
            previous: Sequence[Mapping] | None = None, per_document: bool | None = None) -> Answer:
        """Quote the sentences that best answer `question`, or say that the report does not.

        The options are those of `Question` (app/answer/question.py); the stages, app/answer/pipeline.py."""
        watch = Stopwatch()
        q = self.question(question, k=k, docs=docs, history=history, mode=mode, previous=previous,
                          per_document=per_document)
        routed = route(self.index, q.text, q.docs)  # help, the briefing (app/answer/intents.py)
        if routed is not None:
            return routed_answer(q, routed, watch)
        found = retrieve(self, q, watch)
        scored = score(self, q, found, watch)
        decision = decide(self, q, found, scored, watch)
        return render(self, q, decision, watch)
