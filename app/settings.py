"""Settings: one frozen dataclass for what builds an index, one for how questions are answered.

`BuildSettings` is written into every index manifest; an index built with other build settings
is stale. `AnswerSettings` only shapes query time and can change without a rebuild.

>>> BuildSettings().chunk_max_words
100
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# 2: briefing.npy and briefing_scores.npy; 3: entities.jsonl (named entities); 4: documents' declared metadata;
# 5: each document's language (its sentences and BM25 tokens follow it)
INDEX_FORMAT_VERSION = 5
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
INDEX_TYPES = ("auto", "flat", "hnsw")

# Limits that keep bad input from hurting the service (all overridable through the settings).
MAX_QUESTION_CHARS = 2_000
MIN_K, MAX_K = 1, 50  # quotes or passages one question may ask for (checked by `bad_k` only)
MAX_HISTORY = 10  # earlier questions a follow-up may carry (issue 29: "up to 10")
MAX_BATCH_QUESTIONS = 10_000
# chat questions answered at once, and waiting, per server process: measured (docs/serving.md):
# questions answered at once share the batching encoder (app/batching.py), and at 20 sessions 4 at
# once gave the lowest p50 and the most answers per second of 1, 2, 4, 8, 16 (as in an earlier bench-alone
# sweep); 64 waiting is a few seconds
CHAT_CONCURRENCY = 4
CHAT_MAX_QUEUE = 64
MAX_CORPUS_FILE_BYTES = 50 * 1024 * 1024

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_DIR = Path(os.environ.get("VERBATIM_CORPUS", PROJECT_ROOT / "corpus"))
DEFAULT_INDEX_DIR = Path(os.environ.get("VERBATIM_INDEX", PROJECT_ROOT / "index" / "default"))


@dataclass(frozen=True)
class BuildSettings:
    """What an index is built with; any change makes older indexes stale."""

    # bump when chunk or sentence boundaries or extracted text change (8: PDF text by PDFium; 9: sentences split
    # by the rules of the document's language)
    chunker_version: int = 9
    chunk_max_words: int = 100  # all-MiniLM-L6-v2 reads 256 word pieces, ~180 words
    chunk_overlap_sentences: int = 1
    embed_sentences: bool = True  # sentence vectors let quoting score sentences without encoding
    entities: bool = True  # named entities of every sentence (spaCy NER, app/index/ner.py) for answer spans
    index_type: str = "auto"  # auto: exact below hnsw_threshold chunks, HNSW above
    hnsw_threshold: int = 50_000  # HNSW (recall@10 0.998 at 1M) answers in <1 ms; exact search at 100k takes 16+ ms
    max_file_bytes: int = MAX_CORPUS_FILE_BYTES

    def __post_init__(self) -> None:
        if self.index_type not in INDEX_TYPES:
            raise ValueError(f"index_type {self.index_type!r} is not one of {', '.join(INDEX_TYPES)}")
        if self.chunk_max_words < 10:
            raise ValueError(f"chunk_max_words {self.chunk_max_words} is below 10")
        if not 0 <= self.chunk_overlap_sentences <= 5:
            raise ValueError(f"chunk_overlap_sentences {self.chunk_overlap_sentences} is not in 0..5")

    def fingerprint(self) -> dict[str, Any]:
        """The settings that decide a document's chunks and vectors (index_type does not)."""
        return {k: v for k, v in asdict(self).items() if k not in ("index_type", "hnsw_threshold", "max_file_bytes")}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, recorded: dict[str, Any]) -> bool:
        """Whether build settings recorded in a manifest give the same chunks and vectors as these."""
        return all(recorded.get(k) == v for k, v in self.fingerprint().items())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


RETRIEVAL_MODES = ("hybrid", "bm25", "dense")  # fused (the product's), BM25 only, FAISS only


def bad_k(k: object) -> str | None:
    """Why `k` cannot be a number of quotes or passages, in one line (None when it can): the one check of
    the range, for a question (`Question.of`, app/answer/question.py) and the default (`AnswerSettings`).
    The CLI's -k and the API's schema declare the same MIN_K..MAX_K.

    >>> bad_k(3), bad_k(0), bad_k(2.0)
    (None, 'k 0 is not a whole number in 1..50', 'k 2.0 is not a whole number in 1..50')
    """
    if isinstance(k, bool) or not isinstance(k, int) or not MIN_K <= k <= MAX_K:
        return f"k {k!r} is not a whole number in {MIN_K}..{MAX_K}"
    return None


def bad_mode(mode: object, what: str = "mode") -> str | None:
    """Why `mode` is not a retrieval mode, in one line (None when it is one): the one check, for a question,
    the settings and the evaluations' methods.

    >>> bad_mode("bm25"), bad_mode("fast")
    (None, "mode 'fast' is not one of hybrid, bm25, dense")
    """
    return None if mode in RETRIEVAL_MODES else f"{what} {mode!r} is not one of {', '.join(RETRIEVAL_MODES)}"


@dataclass(frozen=True)
class AnswerSettings:
    """How a question is answered; none of this needs a rebuild."""

    k: int = 3  # quotes per answer
    candidates: int = 50  # passages fetched from each retriever before fusion
    passages: int = 3  # fused passages whose sentences compete for quotes
    mode: str = RETRIEVAL_MODES[0]  # one of RETRIEVAL_MODES
    dense_weight: float = 0.5  # share of the dense score in relative-score fusion
    # across several documents, hybrid mixes each passage's score with its whole document's BM25 and its
    # title's (app/index/search.py): the best mix at dense weight 0.5 on SciFact's "tune" queries
    # (docs/experiments/README.md, doc_fusion.py); on the "report" queries it neither gains nor loses
    doc_weight: float = 0.3
    title_weight: float = 0.05
    # verdicts: "answered" at or above `threshold`, "not_found" below `floor`, "uncertain" between; None:
    # the index's calibration (`Calibration`, app/index/store.py), filled in when an assistant loads it
    threshold: float | None = None
    floor: float | None = None
    across_floor: float | None = None  # the floor for an answer read across languages (None: `floor`)
    max_question_chars: int = MAX_QUESTION_CHARS
    max_quote_words: int = 60  # a second sentence joins a quote only while it stays this short
    min_relative_score: float = 0.5  # quotes after the first need this share of the best score
    spans: bool = True  # answer spans (app/answer/direct.py): sentence parses, span scores, typed verdicts
    span_weights: str = ""  # the span scorer's weights file; "" = the shipped app/answer/span_weights.json
    span_precision: str = ""  # span F1 by verdict (bold spans under "uncertain"?); "" = app/answer/span_precision.json

    def __post_init__(self) -> None:
        problem = bad_mode(self.mode) or bad_k(self.k)
        if problem:
            raise ValueError(problem)
        if min(self.doc_weight, self.title_weight) < 0 or self.doc_weight + self.title_weight >= 1:
            raise ValueError(f"doc_weight {self.doc_weight} and title_weight {self.title_weight} must be >= 0 "
                             "and leave the passage a share (sum < 1)")
        if self.threshold is not None and self.floor is not None and self.floor > self.threshold:
            object.__setattr__(self, "floor", self.threshold)

    def calibrated(self, threshold: float, floor: float, across_floor: float | None = None) -> AnswerSettings:
        """These settings with the verdict scores they leave open (None) taken from a calibration; a floor
        is never above the threshold; a floor given by hand is the floor across languages too.

        >>> s = AnswerSettings(threshold=0.3).calibrated(0.5, 0.2, 0.1)
        >>> (s.threshold, s.floor, s.across_floor)
        (0.3, 0.2, 0.1)
        """
        chosen = self.threshold if self.threshold is not None else threshold
        low = min(self.floor if self.floor is not None else floor, chosen)
        if self.across_floor is not None:
            across = self.across_floor
        elif self.floor is not None or across_floor is None:
            across = low
        else:
            across = min(across_floor, chosen)
        return replace(self, threshold=chosen, floor=low, across_floor=across)
