"""Rendering: exact HTML for answers, sources and panels, and every outside string escaped."""

from __future__ import annotations

from app.ingest import Document, document_from_text
from app.render import (
    CLOSEST_LABEL,
    DocumentRow,
    answer_html,
    documents_html,
    esc,
    format_size,
    format_time,
    guess_title,
    header_html,
    location,
    notice_html,
    paragraph_context,
    user_html,
)

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


def test_answered_answer_exact_html_with_hostile_quote():
    doc = hostile_doc()
    q = quote_of(doc, 'The warden wrote <script>alert("pwned")</script> on the board.')
    answer = {"question": "What did the warden write?", "answered": True, "message": "", "quotes": [q]}
    assert answer_html(answer, {doc.doc: doc}) == (
        '<div class="vb-answer">'
        '<blockquote class="vb-quote"><span class="vb-n">[1]</span> <span class="vb-text">\u201cThe warden wrote '
        '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; on the board.\u201d</span></blockquote>'
        '<div class="vb-sources"><div class="vb-sources-title">Sources</div>'
        '<div class="vb-source"><div class="vb-source-head"><span class="vb-n">[1]</span> '
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
    assert '<span class="vb-n">[2]</span>' in html
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
    assert first == ('<div class="vb-answer"><blockquote class="vb-quote"><span class="vb-n">[1]</span> '
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
        '<ul class="vb-docs"><li class="vb-docitem"><span class="vb-doctitle">A &lt;b&gt; report</span>'
        '<span class="vb-docfile">a/&lt;b&gt;.txt</span><span class="vb-docmeta">5.4 KB \u00b7 14 chunks'
        ' \u00b7 indexed <span class="vb-nowrap">2026-11-28 01:09 UTC</span></span></li>'
        '<li class="vb-docitem"><span class="vb-doctitle">C</span><span class="vb-docfile">c.pdf</span>'
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
        'exactly:</p><blockquote class="vb-quote"><span class="vb-n">[1]</span> <span class="vb-text">'
        '\u201cHe spent time &lt;in&gt; isolation.\u201d</span></blockquote></div>')
