"""Language: which language a question is in (`detect_language`, `asked_in`); a document's is read when it
is indexed (app/index/language.py, whose scripts, identifier and reliability rule this shares).

A question in another language is searched like any other (the default encoder is multilingual);
its language decides where BM25 counts (the documents in that language), whether answer spans apply
(English only), and the language of the lines around the quotes (app/answer/messages.py).
`detect_language` returns the ISO 639-1 code of a question that is not English, or None.

The rule (measured by language_id.py; its record is in docs/experiments/README.md):

1. Names and numbers say nothing about the language ("Who is Aron Atabek?", "Zhanaozen?"): words
   written with a capital inside the question, words with digits, and punctuation are set aside.
   What is left must hold at least one word; a question of only names is taken as English.
2. A question mostly in another script than Latin (Cyrillic, Arabic, CJK...) is another language
   outright: Kazakh by its own letters (ә, ғ, қ, ң, ө, ұ, ү, һ), the rest of Cyrillic by the identifier
   among Cyrillic languages only.
3. Otherwise, with at least `MIN_WORDS` words left and no English opener ("how", "what", "who"...),
   py3langid (a bundled naive Bayes model, no network; lingua measured worse on short questions)
   names the language among `LANGUAGES`, and the question is flagged only when the winner is not
   English, has probability `MIN_CONFIDENCE` or more, and English has less than `MAX_ENGLISH`
   (`reliable_foreign` in app/index/language.py, which holds these constants).

>>> from app.runtime import Runtime
>>> runtime = Runtime()  # where the identifier is loaded, once
>>> detect_language(runtime, "Who is Aron Atabek?"), detect_language(runtime, "Сколько человек было арестовано?")
(None, 'ru')
>>> [detect_language(runtime, q) for q in ("Қанша адам қамауға алынды?", "¿Cuántas personas fueron arrestadas?")]
['kk', 'es']
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.index.language import (
    CYRILLIC,
    KAZAKH_LETTERS,
    LANGUAGES,
    SCRIPTS,
    main_script,
    reliable_foreign,
    scores,
    script,
)

if TYPE_CHECKING:
    from app.runtime import Runtime

MIN_WORDS = 2  # fewer words left than this (once names are set aside): too little to tell by
# a question opening with one of these is English (XQuAD: "How are ergänzungsschulen funded?" reads German)
ENGLISH_OPENERS = frozenset("how what who whom whose when where why which did does can could should would will "
                            "tell list summarize summarise show give explain describe".split())
_WORD = re.compile(r"\w[\w'’-]*")


def content_words(question: str) -> list[str]:
    """The question's words less names (capitalised after its first word) and words with digits.

    >>> content_words("Who is Aron Atabek, and was he held in 2012?")
    ['Who', 'is', 'and', 'was', 'he', 'held', 'in']
    """
    words = _WORD.findall(question)
    return [w for i, w in enumerate(words)
            if not any(c.isdigit() for c in w) and not (i > 0 and w[0].isupper())]


def detect_language(runtime: Runtime, question: str, engine: str = "py3langid") -> str | None:
    """The ISO 639-1 code of a question not in English; None for English (or nothing to tell by).

    `engine` names the identifier behind the rule: "py3langid" (the product's) or "lingua" (measured), which
    `runtime` loads once."""
    words = content_words(question)
    letters = [c for w in words for c in w if c.isalpha()]
    if not letters:
        return None
    main, count = main_script(letters)
    if main in SCRIPTS and count * 2 > len(letters):
        if main == "CYRILLIC":  # Kazakh's own letters decide; else the identifier among Cyrillic languages
            return "kk" if set(question) & KAZAKH_LETTERS else scores(runtime, " ".join(words), CYRILLIC, engine)[0][0]
        if main == "CJK" and any(script(c) in ("HIRAGANA", "KATAKANA") for c in letters):
            return "ja"
        return SCRIPTS[main]
    if len(words) < MIN_WORDS or words[0].lower() in ENGLISH_OPENERS:
        return None
    return reliable_foreign(scores(runtime, " ".join(words), LANGUAGES, engine))


def asked_in(runtime: Runtime, question: str) -> str:
    """The question's language as an ISO 639-1 code, "en" for English (`detect_language`'s None)."""
    return detect_language(runtime, question) or "en"
