"""Language: which language a question (`detect_language`, `asked_in`) or a document (`text_language`) is in.

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
   English, has probability `MIN_CONFIDENCE` or more, and English has less than `MAX_ENGLISH`.

>>> detect_language("Who is Aron Atabek?"), detect_language("Сколько человек было арестовано?")
(None, 'ru')
>>> detect_language("Қанша адам қамауға алынды?"), detect_language("¿Cuántas personas fueron arrestadas?")
('kk', 'es')
"""

from __future__ import annotations

import functools
import re
import unicodedata

LANGUAGE_NAMES = {
    "en": "English", "ar": "Arabic", "be": "Belarusian", "bg": "Bulgarian", "cs": "Czech", "da": "Danish",
    "de": "German",
    "el": "Greek", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French", "he": "Hebrew",
    "hi": "Hindi", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ka": "Georgian", "kk": "Kazakh", "ko": "Korean", "ky": "Kyrgyz", "mn": "Mongolian", "nl": "Dutch",
    "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sr": "Serbian", "sv": "Swedish", "tg": "Tajik", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "zh": "Chinese",
}
LANGUAGES = tuple(LANGUAGE_NAMES)  # English first; the identifier chooses among these (py3langid knows 97)
CYRILLIC = ("ru", "uk", "kk")
MIN_WORDS = 2  # fewer words left than this (once names are set aside): too little to tell by
MIN_CONFIDENCE = 0.25  # the winner's probability
MAX_ENGLISH = 0.1  # English's probability must stay below this
# a question opening with one of these is English (XQuAD: "How are ergänzungsschulen funded?" reads German)
ENGLISH_OPENERS = frozenset("how what who whom whose when where why which did does can could should would will "
                            "tell list summarize summarise show give explain describe".split())
_KAZAKH = set("әғқңөұүһӘҒҚҢӨҰҮҺ")  # letters of Kazakh's alphabet no other Cyrillic alphabet here uses
_SCRIPTS = {"CYRILLIC": "ru", "ARABIC": "ar", "CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko",
            "GREEK": "el", "HEBREW": "he", "DEVANAGARI": "hi", "THAI": "th", "GEORGIAN": "ka", "ARMENIAN": "hy"}
_WORD = re.compile(r"\w[\w'’-]*")


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code ("kk" -> "Kazakh"; an unknown code is returned as given)."""
    return LANGUAGE_NAMES.get(code, code)


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return next((s for s in _SCRIPTS if name.startswith(s)), "LATIN" if "LATIN" in name else "OTHER")


def content_words(question: str) -> list[str]:
    """The question's words less names (capitalised after its first word) and words with digits.

    >>> content_words("Who is Aron Atabek, and was he held in 2012?")
    ['Who', 'is', 'and', 'was', 'he', 'held', 'in']
    """
    words = _WORD.findall(question)
    return [w for i, w in enumerate(words)
            if not any(c.isdigit() for c in w) and not (i > 0 and w[0].isupper())]


@functools.lru_cache(maxsize=4)
def _py3langid(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # the bundled model: numpy arrays, no pickle

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


@functools.lru_cache(maxsize=4)
def _lingua(languages: tuple[str, ...]):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in languages
              if hasattr(IsoCode639_1, c.upper())]
    return LanguageDetectorBuilder.from_languages(*chosen).build()


def scores(text: str, languages: tuple[str, ...], engine: str = "py3langid") -> list[tuple[str, float]]:
    """(code, probability) among `languages`, best first, by py3langid (the product's) or lingua (measured)."""
    if engine == "lingua":
        return [(v.language.iso_code_639_1.name.lower(), v.value)
                for v in _lingua(languages).compute_language_confidence_values(text)]
    if engine != "py3langid":
        raise ValueError(f"engine {engine!r} is not one of py3langid, lingua")
    return [(lang, float(p)) for lang, p in _py3langid(languages).rank(text)]


def detect_language(question: str, engine: str = "py3langid") -> str | None:
    """The ISO 639-1 code of a question not in English; None for English (or nothing to tell by).

    `engine` names the identifier behind the rule: "py3langid" (the product's) or "lingua" (measured)."""
    words = content_words(question)
    letters = [c for w in words for c in w if c.isalpha()]
    if not letters:
        return None
    scripts: dict[str, int] = {}
    for c in letters:
        scripts[_script(c)] = scripts.get(_script(c), 0) + 1
    script, count = max(scripts.items(), key=lambda kv: kv[1])
    if script in _SCRIPTS and count * 2 > len(letters):
        if script == "CYRILLIC":  # Kazakh's own letters decide; else the identifier among Cyrillic languages
            return "kk" if set(question) & _KAZAKH else scores(" ".join(words), CYRILLIC, engine)[0][0]
        if script == "CJK" and any(_script(c) in ("HIRAGANA", "KATAKANA") for c in letters):
            return "ja"
        return _SCRIPTS[script]
    if len(words) < MIN_WORDS or words[0].lower() in ENGLISH_OPENERS:
        return None
    (top, p), *rest = scores(" ".join(words), LANGUAGES, engine)
    english = p if top == "en" else next((q for lang, q in rest if lang == "en"), 0.0)
    return top if top != "en" and p >= MIN_CONFIDENCE and english < MAX_ENGLISH else None


def text_language(text: str) -> str:
    """The ISO 639-1 code of a document's language ("en" when there is nothing to tell by): its script
    where that decides, else py3langid over its first few thousand characters.

    >>> text_language("The inspectors counted 212 prisoners in cells built for 150.")
    'en'
    >>> text_language("Полиция задержала 16 человек.")
    'ru'
    """
    sample = text[:4000]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return "en"
    scripts: dict[str, int] = {}
    for c in letters[:2000]:
        scripts[_script(c)] = scripts.get(_script(c), 0) + 1
    script, count = max(scripts.items(), key=lambda kv: kv[1])
    if script == "CYRILLIC" and count * 2 > min(len(letters), 2000):
        return "kk" if set(sample) & _KAZAKH else scores(sample, CYRILLIC)[0][0]
    if script in _SCRIPTS and count * 2 > min(len(letters), 2000):
        return _SCRIPTS[script]
    return scores(sample, LANGUAGES)[0][0]


def asked_in(question: str) -> str:
    """The question's language as an ISO 639-1 code, "en" for English (`detect_language`'s None)."""
    return detect_language(question) or "en"
