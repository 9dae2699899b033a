from app.index.lexical import join_hyphenated, tokenize


def test_a_word_hyphenated_at_a_line_end_is_one_token():
    assert join_hyphenated("encoding manip-\nulation.") == "encoding manipulation."
    assert tokenize("DER manip-\nulation") == tokenize("DER manipulation") == ["der", "manipul"]


def test_a_real_hyphen_before_a_capital_or_a_digit_stays():
    assert join_hyphenated("Front-\nCover Texts") == "Front-\nCover Texts"
    assert join_hyphenated("version-\n2") == "version-\n2"
    assert join_hyphenated("a - \nb") == "a - \nb"  # a dash between words, not a broken word
