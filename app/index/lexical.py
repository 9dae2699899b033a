"""Lexical side: BM25 (bm25s) over chunks, with one tokenizer shared by index, query and quoting.

A text is tokenized in its language: a chunk in its document's, a question in the question's, each with
that language's Snowball stemmer and bm25s stop words (`tools`; English's for a language without them).
BM25 counts a question's words only in documents of its language, so its stems and theirs agree.

>>> tokenize("Which prisoners were beaten?")
['prison', 'beaten']
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import MappingProxyType

import bm25s.stopwords
import numpy as np
import Stemmer

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


# Snowball stemmers (PyStemmer) of the languages the detector names (app/index/language.py), by ISO 639-1 code
STEMMERS = MappingProxyType({
    "en": "english", "ar": "arabic", "cs": "czech", "da": "danish", "de": "german", "el": "greek", "es": "spanish",
    "fa": "persian", "fi": "finnish", "fr": "french", "hi": "hindi", "hu": "hungarian", "hy": "armenian",
    "id": "indonesian", "it": "italian", "nl": "dutch", "no": "norwegian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish", "tr": "turkish"})
# bm25s's stop-word lists by ISO 639-1 code, named as `bm25s.tokenize(stopwords=...)` names them
STOPWORD_LISTS = MappingProxyType({
    "en": STOPWORDS, "da": "danish", "de": "german", "es": "spanish", "fr": "french", "it": "italian", "nl": "dutch",
    "no": "norwegian", "pt": "portuguese", "ru": "russian", "sv": "swedish", "tr": "turkish", "zh": "chinese",
    "ko": "korean"})
# Made once, at import, and never changed: a stemmer per algorithm (2 ms for PyStemmer's import and all 24; a
# stemmer keeps a cache of the stems it gave, which never changes what a word stems to; its calls hold the
# GIL, so threads take turns) and each stop-word list as a set (what bm25s.tokenize removes; bm25s is what
# the BM25 index is, so a process that tokenizes imports it anyway).
_STEMMER = MappingProxyType({name: Stemmer.Stemmer(name) for name in sorted(set(STEMMERS.values()))})
_STOP = MappingProxyType({name: frozenset(getattr(bm25s.stopwords, f"STOPWORDS_{name.upper()}"))
                          for name in sorted(set(STOPWORD_LISTS.values()))})


def tools(language: str) -> tuple[str, str]:
    """The Snowball stemmer and the stop-word list a language's words get: its own where there is one,
    else English's.

    >>> tools("ru"), tools("kk")
    (('russian', 'russian'), ('english', 'en_plus'))
    """
    return STEMMERS.get(language, "english"), STOPWORD_LISTS.get(language, STOPWORDS)


def stem(word: str) -> str:
    """A word's English Snowball stem, as the BM25 index stems English (one stemmer for search and spans).

    >>> stem("detained")
    'detain'
    """
    return _STEMMER["english"].stemWord(word)


def tokenize(text: str, language: str = "en") -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed word tokens (line-end hyphens joined), in `language`'s
    way (ISO 639-1; `tools`).

    >>> tokenize("Задержанных держали в камерах", "ru")
    ['задержа', 'держа', 'камер']
    """
    return tokenize_many([text], language)[0]


# bm25s.tokenize's default token pattern: words of two or more word characters
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tokenize_many(texts: list[str], language: str = "en") -> list[list[str]]:
    """Each text's tokens in `language`: exactly what `bm25s.tokenize(texts, stopwords=..., stemmer=Snowball,
    return_ids=False)` returns with that language's `tools` (lower-case, split on its pattern, stop words out,
    each word stemmed; tests/index/test_lexical.py holds them equal, in English and in Russian), without
    the three progress bars bm25s builds on every call even when hidden: ~60% of a question's tokenizing,
    and a lock every server thread shared (`verbatim bench --sections load`, docs/performance.md)."""
    algorithm, stopwords = tools(language)
    stop = _STOP[stopwords]
    words = [[w for w in _TOKEN.findall(join_hyphenated(t).lower()) if w not in stop] for t in texts]
    unique = list(dict.fromkeys(w for ws in words for w in ws))
    stems = dict(zip(unique, _STEMMER[algorithm].stemWords(unique), strict=True))
    return [[stems[w] for w in ws] for ws in words]


def tokenize_each(texts: list[str], languages: list[str]) -> list[list[str]]:
    """Each text's tokens in its own language (`languages[i]` for `texts[i]`).

    >>> tokenize_each(["prisoners", "заключённых"], ["en", "ru"])
    [['prison'], ['заключен']]
    """
    out: list[list[str]] = [[] for _ in texts]
    for language in dict.fromkeys(languages):
        rows = [i for i, lang in enumerate(languages) if lang == language]
        for i, tokens in zip(rows, tokenize_many([texts[i] for i in rows], language), strict=True):
            out[i] = tokens
    return out


def lexical_record(languages: list[str]) -> dict:
    """The manifest's "bm25" entry: each chunk is tokenized in its document's language; the stemmers and
    stop-word lists those languages got.

    >>> lexical_record(["ru", "en", "ru"])["stemmers"]
    {'en': 'snowball-english', 'ru': 'snowball-russian'}
    """
    chosen = {lang: tools(lang) for lang in sorted(set(languages))}
    return {"library": "bm25s", "tokens": "per document language",
            "stemmers": {lang: f"snowball-{stemmer}" for lang, (stemmer, _) in chosen.items()},
            "stopwords": {lang: stopwords for lang, (_, stopwords) in chosen.items()}}


class BM25Index:
    """A bm25s index over chunk texts; row i is chunk i."""

    def __init__(self, retriever) -> None:
        self.retriever = retriever
        self.size = int(retriever.scores["num_docs"])

    @classmethod
    def build(cls, texts: list[str], languages: list[str] | None = None) -> BM25Index:
        """The index of `texts`, each tokenized in its language (`languages`, one per text; None: English)."""
        retriever = bm25s.BM25()
        tokens = tokenize_many(texts) if languages is None else tokenize_each(texts, languages)
        retriever.index(tokens, show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
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
