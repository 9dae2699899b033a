"""Language: the language a document is written in (`text_language`), read once when it is indexed, and a
question's (`detect_language`, `asked_in`), read when it is asked: one owner of language identification.

A document's language decides how its sentences are split (app/index/chunk.py) and its words stemmed for
BM25 (app/index/lexical.py), and where a question's words count (app/answer/assistant.py). A question's
decides where BM25 counts (the documents in that language), whether answer spans apply (English only), and
the language of the lines around the quotes (app/answer/messages.py). Both share the scripts, the
identifier and its reliability rule.

A question's rule (measured by language_id.py; its record is in docs/experiments/README.md):

1. Names and numbers say nothing about the language ("Who is Aron Atabek?", "Zhanaozen?"): words
   written with a capital inside the question, words with digits, and punctuation are set aside.
   What is left must hold at least one word; a question of only names is taken as English.
2. A question mostly in another script than Latin (Cyrillic, Arabic, CJK...) is another language
   outright: Kazakh by its own letters, the rest of Cyrillic by the identifier among Cyrillic languages.
3. Otherwise, with at least `MIN_WORDS` words left and no English opener ("how", "what", "who"...),
   py3langid (a bundled naive Bayes model, no network; lingua measured worse on short questions)
   names the language among `LANGUAGES`, and the question is flagged only when `reliable_foreign` says so.

The identifier (py3langid's model, ~0.9 s to load) is a model like spaCy's pipeline: a `Runtime` keeps it.

>>> from app.runtime import Runtime
>>> runtime = Runtime()
>>> text_language(runtime, "The inspectors counted 212 prisoners in cells built for 150.")
'en'
>>> text_language(runtime, "Полиция задержала 16 человек.")
'ru'
>>> text_language(runtime, "Polizei")  # too little to tell by: English
'en'
>>> detect_language(runtime, "Who is Aron Atabek?"), detect_language(runtime, "Сколько человек было арестовано?")
(None, 'ru')
>>> [detect_language(runtime, q) for q in ("Қанша адам қамауға алынды?", "¿Cuántas personas fueron arrestadas?")]
['kk', 'es']
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.runtime import Runtime

LANGUAGE_NAMES = MappingProxyType({
    "en": "English", "ar": "Arabic", "be": "Belarusian", "bg": "Bulgarian", "cs": "Czech", "da": "Danish",
    "de": "German",
    "el": "Greek", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French", "he": "Hebrew",
    "hi": "Hindi", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ka": "Georgian", "kk": "Kazakh", "ko": "Korean", "ky": "Kyrgyz", "mn": "Mongolian", "nl": "Dutch",
    "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sr": "Serbian", "sv": "Swedish", "tg": "Tajik", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "zh": "Chinese",
})
LANGUAGES = tuple(LANGUAGE_NAMES)  # English first; the identifier chooses among these (py3langid knows 97)
CYRILLIC = ("ru", "uk", "kk")
MIN_CONFIDENCE = 0.25  # the winner's probability
MAX_ENGLISH = 0.1  # English's probability must stay below this
# a document of fewer words, not told by its script, is English: py3langid (with the two bounds above) read
# 13 of 600 windows of XQuAD's English paragraphs as another language at 3 words, 5 to 7 at 4 to 6, 1 at 8
# and 2 at 10 (eval/experiments/document_language_length.py; docs/experiments/README.md)
MIN_DOCUMENT_WORDS = 8
KAZAKH_LETTERS = frozenset("әғқңөұүһӘҒҚҢӨҰҮҺ")  # letters of Kazakh's alphabet no other Cyrillic alphabet here uses
SCRIPTS = MappingProxyType({
    "CYRILLIC": "ru", "ARABIC": "ar", "CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "GREEK": "el",
    "HEBREW": "he", "DEVANAGARI": "hi", "THAI": "th", "GEORGIAN": "ka", "ARMENIAN": "hy"})


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code ("kk" -> "Kazakh"; an unknown code is returned as given)."""
    return LANGUAGE_NAMES.get(code, code)


def script(ch: str) -> str:
    """The script of a letter: a key of `SCRIPTS`, "LATIN" or "OTHER"."""
    name = unicodedata.name(ch, "")
    return next((s for s in SCRIPTS if name.startswith(s)), "LATIN" if "LATIN" in name else "OTHER")


def main_script(letters: list[str]) -> tuple[str, int]:
    """The script most of `letters` are written in, and how many are."""
    counts: dict[str, int] = {}
    for c in letters:
        counts[script(c)] = counts.get(script(c), 0) + 1
    return max(counts.items(), key=lambda kv: kv[1])


def _py3langid(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # the bundled model: numpy arrays, no pickle

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def _lingua(languages: tuple[str, ...]):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in languages
              if hasattr(IsoCode639_1, c.upper())]
    return LanguageDetectorBuilder.from_languages(*chosen).build()


ENGINES = MappingProxyType({"py3langid": _py3langid, "lingua": _lingua})  # the product's, and the one measured


def identifier(runtime: Runtime, languages: tuple[str, ...], engine: str = "py3langid"):
    """`engine`'s identifier choosing among `languages`, loaded once per runtime."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    return runtime.memo(("language identifier", engine, languages), lambda: ENGINES[engine](languages))


def scores(runtime: Runtime, text: str, languages: tuple[str, ...],
           engine: str = "py3langid") -> list[tuple[str, float]]:
    """(code, probability) among `languages`, best first, by py3langid (the product's) or lingua (measured)."""
    found = identifier(runtime, languages, engine)
    if engine == "lingua":
        return [(v.language.iso_code_639_1.name.lower(), v.value)
                for v in found.compute_language_confidence_values(text)]
    return [(lang, float(p)) for lang, p in found.rank(text)]


def reliable_foreign(ranked: list[tuple[str, float]]) -> str | None:
    """The winner of `scores` when it is not English and reliable: probability `MIN_CONFIDENCE` or more,
    English's below `MAX_ENGLISH`; else None (English, or too close to tell).

    >>> reliable_foreign([("es", 0.78), ("en", 0.12)]), reliable_foreign([("sr", 0.05), ("uz", 0.05)])
    (None, None)
    """
    (top, p), *rest = ranked
    english = p if top == "en" else next((q for lang, q in rest if lang == "en"), 0.0)
    return top if top != "en" and p >= MIN_CONFIDENCE and english < MAX_ENGLISH else None


def text_language(runtime: Runtime, text: str) -> str:
    """The ISO 639-1 code of a document's language: its script where that decides, else py3langid over its
    first few thousand characters; "en" when there is too little to tell by (no letters, or under
    `MIN_DOCUMENT_WORDS` words) or the identifier is unsure (`reliable_foreign`)."""
    sample = text[:4000]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return "en"
    main, count = main_script(letters[:2000])
    if main in SCRIPTS and count * 2 > min(len(letters), 2000):
        if main == "CYRILLIC":
            return "kk" if set(sample) & KAZAKH_LETTERS else scores(runtime, sample, CYRILLIC)[0][0]
        return SCRIPTS[main]
    if len(sample.split()) < MIN_DOCUMENT_WORDS:
        return "en"
    return reliable_foreign(scores(runtime, sample, LANGUAGES)) or "en"


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
