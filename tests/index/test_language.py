"""A document's language, read when it is indexed (app/index/language.py)."""

import pytest

from app.index.language import CYRILLIC, identifier, reliable_foreign, text_language
from app.runtime import Runtime

RUNTIME = Runtime()  # one identifier for the module


def read(text: str) -> str:
    return text_language(RUNTIME, text)


def test_a_document_is_read_by_its_script_or_the_identifier():
    assert read("Полиция задержала шестнадцать активистов в Жанаозене.") == "ru"
    assert read("Поліція затримала шістнадцять активістів у Жанаозені.") == "uk"  # by the identifier
    assert read("Полиция Жаңаөзенде он алты белсендіні ұстады.") == "kk"  # ң, ө, ұ: Kazakh's own
    assert read("Die Polizei hat in der Stadt sechzehn Aktivisten festgenommen und verhört.") == "de"


def test_too_little_or_too_close_to_tell_is_english():
    assert read("") == read("2011 - 16") == "en"  # no letters
    assert read("Die Polizei hat festgenommen.") == "en"  # under `MIN_DOCUMENT_WORDS` words
    # an English text with a Spanish name: Spanish wins, but English keeps more than `MAX_ENGLISH`
    assert read("The restaurant La Casa del Mar serves paella de marisco con limón every Friday. "
                         "Its chef trained in Valencia.") == "en"
    assert reliable_foreign([("de", 0.9), ("en", 0.05)]) == "de"
    assert reliable_foreign([("de", 0.2), ("nl", 0.1)]) is None  # the winner under `MIN_CONFIDENCE`
    assert reliable_foreign([("en", 0.9), ("de", 0.1)]) is None


def test_the_identifier_is_a_model_of_the_runtime_loaded_once():
    fresh = Runtime()
    key = ("language identifier", "py3langid", CYRILLIC)
    assert not fresh.loaded(key)
    assert text_language(fresh, "Поліція затримала шістнадцять активістів у Жанаозені.") == "uk"
    assert fresh.loaded(key) and identifier(fresh, CYRILLIC) is identifier(fresh, CYRILLIC)
    assert identifier(fresh, CYRILLIC) is not identifier(RUNTIME, CYRILLIC)  # each runtime its own
    with pytest.raises(ValueError, match="^engine 'fasttext' is not one of py3langid, lingua$"):
        identifier(fresh, CYRILLIC, "fasttext")
