from app.index.lexical import join_hyphenated, tokenize


def test_a_word_hyphenated_at_a_line_end_is_one_token():
    assert join_hyphenated("encoding manip-\nulation.") == "encoding manipulation."
    assert tokenize("DER manip-\nulation") == tokenize("DER manipulation") == ["der", "manipul"]


def test_a_real_hyphen_before_a_capital_or_a_digit_stays():
    assert join_hyphenated("Front-\nCover Texts") == "Front-\nCover Texts"
    assert join_hyphenated("version-\n2") == "version-\n2"
    assert join_hyphenated("a - \nb") == "a - \nb"  # a dash between words, not a broken word


def test_tokens_equal_bm25s_tokenize_on_the_report_the_questions_and_odd_text():
    import json

    import bm25s
    import Stemmer

    from app.index.lexical import STOPWORDS, tokenize_many
    from tests.conftest import REPO, REPORT

    report = [p for p in REPORT.read_text(encoding="utf-8").split("\n") if p.strip()]
    questions = [json.loads(line)["question"] for line in
                 (REPO / "eval" / "report_questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    odd = ["", "a I of the which when did", "İstanbul STRASSE straße naïve Ångström", "x_y __init__ 3.14 1,000 v2",
           "北京 欢迎你 東京", "Die Straße – “quoted” — dash", "manip-\nulation MANIP-\nULATION", "don't won't it's"]
    texts = report + questions + odd
    assert len(report) >= 20 and len(questions) >= 50
    # the reference: the library call this function used to make (what every index was built with)
    reference = bm25s.tokenize([join_hyphenated(t) for t in texts], stopwords=STOPWORDS,
                               stemmer=Stemmer.Stemmer("english"), return_ids=False, show_progress=False)
    assert tokenize_many(texts) == reference
    assert [tokenize_many([t])[0] for t in odd] == reference[-len(odd):]  # alone as in a batch
    assert tokenize("The prisoners were beaten") == ["prison", "beaten"]  # by hand: stop words out, Snowball stems
