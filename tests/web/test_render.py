"""Rendering: exact HTML for answers, sources and panels, and every outside string escaped."""

from __future__ import annotations

import pytest

from app.index.ingest import Document, document_from_text
from app.web.render import (
    CLOSEST_LABEL,
    DocumentRow,
    answer_html,
    answer_span,
    documents_html,
    esc,
    format_size,
    format_time,
    guess_title,
    header_html,
    location,
    notice_html,
    paragraph_context,
    quote_html,
    user_html,
    vote_html,
)
from app.web.viewer import Mark, parse_marks, viewer_html

HOSTILE = ("Hostile Notes\n\n"
           'The warden wrote <script>alert("pwned")</script> on the board. It stayed up.\n\n'
           "A tag <img src=x onerror=alert(1)> was painted on the wall.")


def hostile_doc() -> Document:
    return document_from_text("notes/hostile.md", HOSTILE)


def quote_of(doc: Document, text: str, n: int = 1, page: int | None = None) -> dict:
    start = doc.text.index(text)
    return {"n": n, "text": text, "doc": doc.doc, "start": start, "end": start + len(text),
            "paragraph": doc.paragraph_at(start), "page": page, "score": 0.5}


def test_esc_escapes_markup_quotes_and_newlines():
    assert esc("<script>alert('x')</script>") == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    assert esc('<img src=x onerror="alert(1)">') == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    assert esc("a & b\nc\r\n  d") == "a &amp; b c d"
    assert esc(42) == "42"


def cite(n: int, start: int, end: int, doc: str = "r.txt") -> str:
    """The [n] link the chat shows for quote n (doc already URL-encoded)."""
    return (f'<a class="vb-cite" href="#vb-source?doc={doc}&amp;n={n}&amp;start={start}&amp;end={end}" '
            f'title="Open source {n} in the document"><span class="vb-n">[{n}]</span></a>')


def test_answered_answer_exact_html_with_hostile_quote():
    doc = hostile_doc()
    q = quote_of(doc, 'The warden wrote <script>alert("pwned")</script> on the board.')
    answer = {"question": "What did the warden write?", "answered": True, "message": "", "quotes": [q]}
    link = cite(1, 15, 77, "notes%2Fhostile.md")
    assert answer_html(answer, {doc.doc: doc}) == (
        '<div class="vb-answer">'
        f'<blockquote class="vb-quote">{link} <span class="vb-text">\u201cThe warden wrote '
        '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; on the board.\u201d</span></blockquote>'
        '<div class="vb-sources"><div class="vb-sources-title">Sources</div>'
        f'<div class="vb-source"><div class="vb-source-head">{link} '
        '<span class="vb-doc">notes/hostile.md</span> <span class="vb-sep">\u00b7</span> '
        '<span class="vb-where">paragraph 2</span></div>'
        '<p class="vb-context"><mark>The warden wrote &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; on the '
        "board.</mark> It stayed up.</p></div></div></div>"
    )


def test_no_raw_tag_survives_from_corpus_or_question():
    doc = hostile_doc()
    q = quote_of(doc, "A tag <img src=x onerror=alert(1)> was painted on the wall.", n=2, page=3)
    html = answer_html({"question": "x", "answered": True, "message": "", "quotes": [q]}, {doc.doc: doc})
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count(f'{cite(2, 93, 152, "notes%2Fhostile.md")}') == 2  # the quote's [2] and its source's
    assert '<span class="vb-where">paragraph 3 (page 3)</span>' in html
    assert user_html('<img src=x onerror=alert(1)>') == '<div class="vb-user">&lt;img src=x onerror=alert(1)&gt;</div>'
    assert notice_html("<b>no</b>") == '<div class="vb-notice" role="status">&lt;b&gt;no&lt;/b&gt;</div>'
    assert header_html("<T>", "<R>", "<D>") == ('<header class="vb-header"><h1>&lt;T&gt;</h1><p class="vb-report">'
                                                '&lt;R&gt;</p><p class="vb-description">&lt;D&gt;</p></header>')


def test_unanswered_shows_message_and_labelled_closest_passage():
    doc = hostile_doc()
    q = quote_of(doc, "It stayed up.")
    answer = {"question": "Capital of France?", "answered": False,
              "message": "The report does not appear to answer this question.", "quotes": [q]}
    html = answer_html(answer, {doc.doc: doc})
    assert html.startswith('<div class="vb-answer vb-unanswered"><p class="vb-message">The report does not appear '
                           'to answer this question.</p><div class="vb-closest"><div class="vb-closest-label">'
                           'closest passage \u2014 not an answer</div><blockquote class="vb-quote">')
    assert f'<span class="vb-label">{CLOSEST_LABEL}</span>' in html
    assert html.count(CLOSEST_LABEL) == 2
    assert "<mark>It stayed up.</mark></p>" in html
    none_found = answer_html({**answer, "quotes": []}, {})
    assert none_found == ('<div class="vb-answer vb-unanswered"><p class="vb-message">The report does not appear to '
                          "answer this question.</p></div>")


def test_streaming_steps_show_quotes_then_sources():
    doc = document_from_text("r.txt", "One fact here. Two facts here.\n\nThree facts here.")
    quotes = [quote_of(doc, "One fact here.", 1), quote_of(doc, "Three facts here.", 2)]
    answer = {"question": "q", "answered": True, "message": "", "quotes": quotes}
    first = answer_html(answer, {doc.doc: doc}, shown=1, sources=False)
    assert first == (f'<div class="vb-answer"><blockquote class="vb-quote">{cite(1, 0, 14)} '
                     '<span class="vb-text">\u201cOne fact here.\u201d</span></blockquote></div>')
    full = answer_html(answer, {doc.doc: doc})
    assert full.count('<blockquote class="vb-quote">') == 2 and full.count('<div class="vb-source">') == 2
    assert "<mark>One fact here.</mark> Two facts here.</p>" in full
    assert '<span class="vb-where">paragraph 2</span>' in full


def test_paragraph_context_trims_at_word_breaks():
    text = "alpha beta gamma delta QUOTE HERE. epsilon zeta eta theta"
    doc = document_from_text("d.txt", text)
    start = text.index("QUOTE")
    ctx = paragraph_context(doc, start, start + len("QUOTE HERE."), max_chars=12)
    assert (ctx.before, ctx.quote, ctx.after, ctx.cut_before, ctx.cut_after) == (
        "gamma delta ", "QUOTE HERE.", " epsilon", True, True)
    whole = paragraph_context(doc, start, start + 5)
    assert (whole.before, whole.after, whole.cut_before, whole.cut_after) == (
        "alpha beta gamma delta ", " HERE. epsilon zeta eta theta", False, False)


def test_context_never_crosses_into_other_paragraphs():
    doc = document_from_text("d.txt", "First para.\n\nSecond para here.\n\nThird.")
    ctx = paragraph_context(doc, doc.text.index("para here"), doc.text.index("para here") + 4)
    assert (ctx.before, ctx.quote, ctx.after) == ("Second ", "para", " here.")


def test_documents_panel_and_formats():
    rows = [DocumentRow("a/<b>.txt", "A <b> report", 5527, 14, "2026-11-28T01:09:25+00:00"),
            DocumentRow("c.pdf", "C", 3 * 1024 * 1024, 1, "not a time")]
    assert documents_html(rows) == (
        '<ul class="vb-docs"><li class="vb-docitem"><a class="vb-doctitle vb-open-doc" '
        'href="#vb-source?doc=a%2F%3Cb%3E.txt" title="Read the whole document">A &lt;b&gt; report</a>'
        '<span class="vb-docfile">a/&lt;b&gt;.txt</span><span class="vb-docmeta">5.4 KB \u00b7 14 chunks'
        ' \u00b7 indexed <span class="vb-nowrap">2026-11-28 01:09 UTC</span></span></li>'
        '<li class="vb-docitem"><a class="vb-doctitle vb-open-doc" href="#vb-source?doc=c.pdf" '
        'title="Read the whole document">C</a><span class="vb-docfile">c.pdf</span>'
        '<span class="vb-docmeta">3.0 MB \u00b7 1 chunk \u00b7 indexed '
        '<span class="vb-nowrap">not a time</span></span></li></ul>')
    assert [format_size(n) for n in (0, 1023, 1024, 1536 * 1024)] == ["0 B", "1023 B", "1.0 KB", "1.5 MB"]
    assert format_time("2026-01-02T03:04:05+02:00") == "2026-01-02 03:04 +0200"
    assert location({"paragraph": 3, "page": None}) == "paragraph 3"


def test_guess_title():
    assert guess_title(document_from_text("x.txt", "Menu\n\nBreaking News\n\nA Long Enough Headline Here\n\nBody.")) \
        == "A Long Enough Headline Here"
    untitled = document_from_text("dir/annual-report_2024.txt", "Short.\n\nAlso short.")
    assert guess_title(untitled) == "Annual report 2024"
    assert guess_title(document_from_text("p.html", "text", title="  Visit \n report ")) == "Visit report"


def test_long_question_is_shortened_for_display_only():
    assert user_html("x" * 700) == '<div class="vb-user">' + "x" * 280 + "\u2026</div>"
    assert user_html("y" * 280) == '<div class="vb-user">' + "y" * 280 + "</div>"


def test_an_uncertain_answer_opens_with_one_plain_line_then_its_quotes():
    quote = {"n": 1, "text": "He spent time <in> isolation.", "doc": "r.txt", "start": 0, "end": 29,
             "paragraph": 1, "page": None, "score": 0.3}
    answer = {"question": "q", "answered": False, "verdict": "uncertain", "confidence": 0.5,
              "message": "The report mentions this, but may not answer it exactly:\n[1] x", "quotes": [quote]}
    assert answer_html(answer, {}, sources=False) == (
        '<div class="vb-answer vb-uncertain"><p class="vb-message">The report mentions this, but may not answer it '
        f'exactly:</p><blockquote class="vb-quote">{cite(1, 0, 29)} <span class="vb-text">'
        '\u201cHe spent time &lt;in&gt; isolation.\u201d</span></blockquote></div>')


# ---------------------------------------------------------------- sources without repeats, answer spans

THREE = "Title line\n\nAlpha one is here. Beta two is here. Gamma three is here.\n\nDelta four."


def three_quotes() -> tuple[Document, list[dict]]:
    doc = document_from_text("r.txt", THREE)
    quotes = [quote_of(doc, "Gamma three is here.", 1), quote_of(doc, "Alpha one is here.", 2),
              quote_of(doc, "Delta four.", 3)]
    for q, score in zip(quotes, (0.6, 0.55, 0.3), strict=True):
        q["score"] = score
    return doc, quotes


def test_quotes_sharing_a_paragraph_share_one_source_block():
    doc, quotes = three_quotes()
    html = answer_html({"question": "q", "answered": True, "verdict": "answered", "message": "", "quotes": quotes},
                       {doc.doc: doc})
    assert html == (
        f'<div class="vb-answer"><blockquote class="vb-quote">{cite(1, 49, 69)} <span class="vb-text">'
        '\u201cGamma three is here.\u201d</span></blockquote>'
        f'<blockquote class="vb-quote">{cite(2, 12, 30)} <span class="vb-text">\u201cAlpha one is here.\u201d'
        '</span></blockquote>'
        # [3] scores 0.3, under 0.8 x 0.6: a supporting quote
        f'<blockquote class="vb-quote vb-support">{cite(3, 71, 82)} <span class="vb-text">\u201cDelta four.\u201d'
        '</span></blockquote>'
        '<div class="vb-sources"><div class="vb-sources-title">Sources</div>'
        # [1] and [2] lie in paragraph 2: one block, each quote numbered once, in text order
        f'<div class="vb-source"><div class="vb-source-head">{cite(1, 49, 69)} {cite(2, 12, 30)} '
        '<span class="vb-doc">r.txt</span> <span class="vb-sep">\u00b7</span> <span class="vb-where">paragraph 2</span>'
        '</div><p class="vb-context"><span class="vb-mark-n">[2]</span><mark>Alpha one is here.</mark> Beta two is '
        'here. <span class="vb-mark-n">[1]</span><mark>Gamma three is here.</mark></p></div>'
        f'<div class="vb-source"><div class="vb-source-head">{cite(3, 71, 82)} <span class="vb-doc">r.txt</span> '
        '<span class="vb-sep">\u00b7</span> <span class="vb-where">paragraph 3</span></div>'
        '<p class="vb-context"><mark>Delta four.</mark></p></div></div></div>')
    assert html.count("Alpha one is here.") == 2  # once in the answer, once in its source: never three times


def test_long_context_folds_and_long_gaps_are_elided():
    words = " ".join(f"w{i}" for i in range(200))  # ~1,000 characters around and between the quotes
    doc = document_from_text("r.txt", f"{words} First quote. {words} Second quote. {words}")
    quotes = [quote_of(doc, "First quote.", 1), quote_of(doc, "Second quote.", 2)]
    html = answer_html({"question": "q", "answered": True, "message": "", "quotes": quotes}, {doc.doc: doc})
    assert '<details class="vb-more"><summary>The quotes in paragraph 1</summary><p class="vb-context">' in html
    context = html[html.index('<p class="vb-context">'):html.index("</details>")]
    assert context.startswith('<p class="vb-context">\u2026w156 w157 ')  # 220 characters before, at a word break
    assert "w56 \u2026 w157 " in context and "w100 " not in context  # the gap between: ends kept, middle elided
    assert context.count("<mark>") == 2 and context.endswith(" w56\u2026</p>")
    short = answer_html({"question": "q", "answered": True, "message": "", "quotes": three_quotes()[1]},
                        {"r.txt": three_quotes()[0]})
    assert "<details" not in short


def test_answer_span_is_bold_inside_its_quote():
    doc = document_from_text("r.txt", THREE)
    q = quote_of(doc, "Alpha one is <b> here.".replace(" <b>", "")) | {"answer": {"text": "one", "start": 18,
                                                                                 "end": 21}}
    assert quote_html(q) == (f'<blockquote class="vb-quote">{cite(1, 12, 30)} <span class="vb-text">\u201cAlpha '
                             '<strong class="vb-answer-span">one</strong> is here.\u201d</span></blockquote>')
    hostile = {"n": 1, "text": "a <b> c", "doc": "r.txt", "start": 100, "end": 107, "score": 0.5,
               "answer": {"text": "<b>", "start": 102, "end": 105}}
    assert '\u201ca <strong class="vb-answer-span">&lt;b&gt;</strong> c\u201d' in quote_html(hostile)
    for wrong in ({"text": "two", "start": 18, "end": 21}, {"text": "one", "start": 5, "end": 8},
                  {"text": "x", "start": "a", "end": 2}, "one", {"start": 18}):
        assert answer_span({**q, "answer": wrong}) is None  # ignored: the quote is shown plain
        assert "<strong" not in quote_html({**q, "answer": wrong})


def test_a_follow_up_note_opens_the_answer():
    doc, quotes = three_quotes()
    answer = {"question": "And then?", "answered": True, "verdict": "answered",
              "message": "Same passage as above.\n[1] \u201cGamma three is here.\u201d", "quotes": quotes[:1]}
    assert answer_html(answer, {}, sources=False) == (
        '<div class="vb-answer"><p class="vb-message">Same passage as above.</p>'
        f'<blockquote class="vb-quote">{cite(1, 49, 69)} <span class="vb-text">\u201cGamma three is here.\u201d'
        '</span></blockquote></div>')


def test_a_follow_up_shows_how_it_was_understood_and_does_not_repeat_a_quote():
    doc, quotes = three_quotes()
    answer = {"question": "And then?", "answered": True, "verdict": "answered",
              "message": "Understood as: And then? (after: \"Where?\")\n[1] (quoted above)\n[2] \u201cx\u201d",
              "quotes": quotes[:1]}
    assert answer_html(answer, {}, sources=False) == (
        '<div class="vb-answer"><p class="vb-message">Understood as: And then? (after: &quot;Where?&quot;)</p>'
        '<p class="vb-message">[1] (quoted above)</p></div>')


def test_vote_acknowledgement():
    assert vote_html(True, "Who <b>?") == ('<p class="vb-vote-ack" role="status">Thank you \u2014 your vote '
                                            '(helpful) on \u201cWho &lt;b&gt;?\u201d was recorded.</p>')
    assert "(not helpful) on \u201c" + "x" * 80 + "\u2026\u201d" in vote_html(False, "x" * 300)


# ---------------------------------------------------------------- the document viewer


def test_viewer_numbers_paragraphs_marks_quotes_and_dims_furniture():
    text = "Accessibility links\n\nThe <b>warden</b> spoke. He left.\n\nTo find out more, click here."
    doc = document_from_text("r.txt", text)
    assert [text[s:e] for s, e in doc.furniture] == ["Accessibility links", "To find out more, click here."]
    one, two = text.index("The <b>"), text.index("He left.")
    html = viewer_html(doc, "R & D", [Mark(1, one, one + 24), Mark(2, two, two + 8)], focus=2)
    assert html == (
        '<article class="vb-viewer-doc"><header class="vb-viewer-head"><h2 id="vb-viewer-title">R &amp; D</h2>'
        '<p class="vb-viewer-file">r.txt \u00b7 3 paragraphs</p></header><div class="vb-paras">'
        '<p class="vb-para vb-furniture" id="vb-para-1"><span class="vb-pn">1</span> <span class="vb-ptext">'
        '<span class="vb-furniture-tag">page furniture, not part of the report</span> Accessibility links</span></p>'
        '<p class="vb-para" id="vb-para-2"><span class="vb-pn">2</span> <span class="vb-ptext">'
        '<span class="vb-hl-n">[1]</span><mark class="vb-hl vb-other">The &lt;b&gt;warden&lt;/b&gt; spoke.</mark> '
        '<span class="vb-hl-n">[2]</span><mark class="vb-hl vb-focus" id="vb-focus" tabindex="-1">He left.</mark>'
        '</span></p>'
        '<p class="vb-para vb-furniture" id="vb-para-3"><span class="vb-pn">3</span> <span class="vb-ptext">'
        '<span class="vb-furniture-tag">page furniture, not part of the report</span> To find out more, click here.'
        "</span></p></div></article>")
    plain = viewer_html(doc, "R", [])
    assert "<mark" not in plain and 'id="vb-focus"' not in plain and plain.count('class="vb-pn"') == 3


def test_viewer_pages_and_a_quote_across_paragraphs():
    text = "Page one text.\n\nStill page one.\n\nPage two text."
    base = document_from_text("r.pdf", text)
    doc = Document(base.doc, text, base.sha256, base.paragraphs, pages=((0, 33), (33, len(text))))
    html = viewer_html(doc, "R", [Mark(1, 5, 24)], focus=1)  # "one text.\n\nStill pa": two paragraphs
    assert html.count('<h3 class="vb-page"') == 2 and '<h3 class="vb-page" id="vb-page-2">Page 2</h3>' in html
    assert "r.pdf \u00b7 3 paragraphs \u00b7 2 pages" in html
    assert html.count('id="vb-focus"') == 1 and html.count("vb-focus") == 3  # two parts, the first one focused
    assert html.count('<span class="vb-hl-n">[1]</span>') == 1


def test_viewer_shows_a_window_of_a_long_document():
    text = "\n\n".join(f"Paragraph {i} " + "x" * 90 for i in range(1, 101))  # 100 paragraphs of ~100 characters
    doc = document_from_text("long.txt", text)
    at = text.index("Paragraph 60 ")
    html = viewer_html(doc, "Long", [Mark(1, at, at + 12)], focus=1, max_chars=1000)
    assert html.count('<p class="vb-para"') == 9
    assert 'id="vb-para-56"' in html and 'id="vb-para-64"' in html and 'id="vb-para-55"' not in html
    assert "Paragraphs 1\u201355 are not shown: the document is long." in html
    assert "Paragraphs 65\u2013100 are not shown: the document is long." in html
    assert viewer_html(doc, "Long", max_chars=10**6).count('<p class="vb-para"') == 100


def test_viewer_marks_are_checked():
    assert parse_marks(["1:0:5", "3:2:9"], 10) == [Mark(1, 0, 5), Mark(3, 2, 9)]
    for bad, message in (("1:5", "quote '1:5' is not N:START:END"), ("a:1:2", "quote 'a:1:2' is not N:START:END"),
                         ("1:5:11", r"quote '1:5:11' lies outside the document \(0..10\)"),
                         ("0:1:2", r"quote '0:1:2' lies outside"), ("1:4:4", "quote '1:4:4' lies outside")):
        with pytest.raises(ValueError, match=message):
            parse_marks([bad], 10)


def test_briefing_html_escapes_and_links_each_point():
    from app.web.render import briefing_html

    points = [{"n": 1, "text": "A <script>x</script> here.", "doc": "r.txt", "start": 0, "end": 26},
              {"n": 2, "text": "Second.", "doc": "r.txt", "start": 30, "end": 37}]
    html = briefing_html(points)
    assert html == ('<details class="vb-brief"><summary>Briefing: 2 key passages</summary><ol>'
                    '<li><a class="vb-cite" href="#vb-source?doc=r.txt&amp;n=1&amp;start=0&amp;end=26" '
                    'title="Open source 1 in the document"><span class="vb-n">[1]</span></a> '
                    '<span class="vb-text">\u201cA &lt;script&gt;x&lt;/script&gt; here.\u201d</span></li>'
                    '<li><a class="vb-cite" href="#vb-source?doc=r.txt&amp;n=2&amp;start=30&amp;end=37" '
                    'title="Open source 2 in the document"><span class="vb-n">[2]</span></a> '
                    '<span class="vb-text">\u201cSecond.\u201d</span></li></ol></details>')
    assert briefing_html([]) == ""


def test_a_help_message_shows_one_paragraph_a_line():
    from app.web.render import answer_html

    html = answer_html({"answered": False, "verdict": "not_found", "message": "I answer.\nTry:\n- <b>Who?</b>",
                        "quotes": []}, {})
    assert html == ('<div class="vb-answer vb-unanswered"><p class="vb-message">I answer.</p>'
                    '<p class="vb-message">Try:</p><p class="vb-message">- &lt;b&gt;Who?&lt;/b&gt;</p></div>')


def test_briefing_points_are_never_marked_supporting():
    from app.answer.briefing import BRIEFING_NOTE

    quotes = [{"n": 1, "text": "First.", "doc": "r.txt", "start": 0, "end": 6, "paragraph": 1, "page": None,
               "score": 2.0},
              {"n": 2, "text": "Second.", "doc": "r.txt", "start": 8, "end": 15, "paragraph": 1, "page": None,
               "score": 0.5}]
    briefed = {"answered": True, "verdict": "answered", "message": f"{BRIEFING_NOTE}\n[1] ...", "quotes": quotes}
    searched = {**briefed, "message": "[1] ..."}
    assert "vb-support" not in answer_html(briefed, {}, sources=False)
    assert answer_html(searched, {}, sources=False).count('<blockquote class="vb-quote vb-support">') == 1
