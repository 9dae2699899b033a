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


def test_russian_word_forms_share_a_stem_and_russian_stop_words_go():
    # by hand, Snowball's Russian rules: "-ли" and "-ла" after "а" are verb endings, "-нных" a participle's
    # "-нн" (after "а") and an adjective's "-ых"; "-ов", "-а" noun endings; "их", "не" are bm25s's stop words
    assert tokenize("Их не задержали, задержала, задержанных активистов активиста", "ru") == [
        "задержа", "задержа", "задержа", "активист", "активист"]
    # English's stemmer leaves Cyrillic whole: the forms stay apart, and nothing is a stop word
    assert tokenize("Их не задержали задержанных", "en") == ["их", "не", "задержали", "задержанных"]


def test_a_language_without_a_stemmer_gets_english_tools():
    from app.index.lexical import tools

    assert tools("ru") == ("russian", "russian") and tools("pl") == ("polish", "en_plus")
    assert tools("kk") == tools("") == ("english", "en_plus")
    assert tokenize("The prisoners", "kk") == tokenize("The prisoners") == ["prison"]


def test_russian_tokens_equal_bm25s_tokenize_with_its_russian_tools():
    import bm25s
    import Stemmer

    from app.index.lexical import tokenize_each, tokenize_many

    texts = ["В декабре 2011 г. полиция задержала в Жанаозене шестнадцать активистов.",
             "Их держали в изоляторе на ул. Ленина три дня; адвокатов не пускали.", "", "Ёлки и ЁЖИКИ, ёж"]
    reference = bm25s.tokenize(texts, stopwords="russian", stemmer=Stemmer.Stemmer("russian"), return_ids=False,
                               show_progress=False)
    assert tokenize_many(texts, "ru") == reference
    english = tokenize_many(["The prisoners were beaten"])
    assert tokenize_each([texts[0], "The prisoners were beaten"], ["ru", "en"]) == [reference[0], english[0]]
