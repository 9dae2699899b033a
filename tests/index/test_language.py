"""A document's language, read when it is indexed (app/index/language.py)."""

from app.index.language import reliable_foreign, text_language


def test_a_document_is_read_by_its_script_or_the_identifier():
    assert text_language("Полиция задержала шестнадцать активистов в Жанаозене.") == "ru"
    assert text_language("Поліція затримала шістнадцять активістів у Жанаозені.") == "uk"  # by the identifier
    assert text_language("Полиция Жаңаөзенде он алты белсендіні ұстады.") == "kk"  # ң, ө, ұ: Kazakh's own
    assert text_language("Die Polizei hat in der Stadt sechzehn Aktivisten festgenommen und verhört.") == "de"


def test_too_little_or_too_close_to_tell_is_english():
    assert text_language("") == text_language("2011 - 16") == "en"  # no letters
    assert text_language("Die Polizei hat festgenommen.") == "en"  # under `MIN_DOCUMENT_WORDS` words
    # an English text with a Spanish name: Spanish wins, but English keeps more than `MAX_ENGLISH`
    assert text_language("The restaurant La Casa del Mar serves paella de marisco con limón every Friday. "
                         "Its chef trained in Valencia.") == "en"
    assert reliable_foreign([("de", 0.9), ("en", 0.05)]) == "de"
    assert reliable_foreign([("de", 0.2), ("nl", 0.1)]) is None  # the winner under `MIN_CONFIDENCE`
    assert reliable_foreign([("en", 0.9), ("de", 0.1)]) is None
