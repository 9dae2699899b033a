"""Lexical side: BM25 (bm25s) over chunks, with one tokenizer shared by index, query and quoting.

>>> tokenize("Which prisoners were beaten?")
['prison', 'beaten']
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

STOPWORDS = "en_plus"  # NLTK's English list plus question words (which, when, did, ...)
# bm25s resets its logger to DEBUG when it indexes; a filter keeps its chatter out of our output
logging.getLogger("bm25s").addFilter(lambda record: record.levelno >= logging.WARNING)


# A word broken by a hyphen at a line end, continued in lower case on the next line ("manip-\nulation").
_LINE_END_HYPHEN = re.compile(r"(?<=[^\W\d_])-[ \t]*\r?\n[ \t]*(?=[a-z])")


def join_hyphenated(text: str) -> str:
    """The text with words hyphenated at a line end joined: what search and embedding read.

    Quotes are still cut from the original text; this only decides tokens and vectors.

    >>> join_hyphenated("DER manip-\\nulation and Front-\\nCover Texts")
    'DER manipulation and Front-\\nCover Texts'
    """
    return _LINE_END_HYPHEN.sub("", text)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    """A word's English Snowball stem, as the BM25 index stems it (one stemmer for search and spans).

    >>> stem("detained")
    'detain'
    """
    return _stemmer().stemWord(word)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed word tokens (line-end hyphens joined)."""
    return tokenize_many([text])[0]


# bm25s.tokenize's default token pattern: words of two or more word characters
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS  # what bm25s.tokenize(stopwords="en_plus") removes

    return frozenset(STOPWORDS_EN_PLUS)


def tokenize_many(texts: list[str]) -> list[list[str]]:
    """Each text's tokens: exactly what `bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=Snowball,
    return_ids=False)` returns (lower-case, split on its pattern, stop words out, each word stemmed;
    tests/index/test_lexical.py holds them equal), without the three progress bars bm25s builds on
    every call even when hidden: ~60% of a question's tokenizing, and a lock every server thread
    shared (`verbatim bench --sections load`, docs/performance.md)."""
    stop = _stopwords()
    words = [[w for w in _TOKEN.findall(join_hyphenated(t).lower()) if w not in stop] for t in texts]
    unique = list(dict.fromkeys(w for ws in words for w in ws))
    stems = dict(zip(unique, _stemmer().stemWords(unique), strict=True))
    return [[stems[w] for w in ws] for ws in words]


class BM25Index:
    """A bm25s index over chunk texts; row i is chunk i."""

    def __init__(self, retriever) -> None:
        self.retriever = retriever
        self.size = int(retriever.scores["num_docs"])

    @classmethod
    def build(cls, texts: list[str]) -> BM25Index:
        import bm25s

        retriever = bm25s.BM25()
        retriever.index(tokenize_many(texts), show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=False, allow_pickle=False, show_progress=False))

    @property
    def vocabulary(self) -> dict[str, int]:
        """Every token of the indexed chunks, with its column in the score matrix."""
        return self.retriever.vocab_dict

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query tokens (zeros when none is known)."""
        ids = self.retriever.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32)

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse chunk frequency of each token (BM25's +1 form); a token the corpus never uses
        gets the highest IDF there is, since a question term the report lacks matters most."""
        vocab = self.retriever.vocab_dict
        indptr = self.retriever.scores["indptr"]
        out: dict[str, float] = {}
        for tok in set(tokens):
            df = int(indptr[vocab[tok] + 1] - indptr[vocab[tok]]) if tok in vocab else 0
            out[tok] = float(np.log(1 + (self.size - df + 0.5) / (df + 0.5)))
        return out
