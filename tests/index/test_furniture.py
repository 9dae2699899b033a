"""Page furniture stays in the document text but is never chunked, retrieved or quoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.index.chunk import chunk_document
from app.index.furniture import furniture_spans, is_navigation, is_notice
from app.index.ingest import document_from_text, find_paragraphs, read_document
from tests.conftest import REPORT

BOILERPLATE = [
    "Accessibility links",
    "Breaking News",
    'RFE/RL has been declared an "undesirable organization" by the Russian government.',
    "If you are in Russia or the Russia-controlled parts of Ukraine and hold a Russian passport or are a stateless "
    "person residing permanently in Russia or the Russia-controlled parts of Ukraine, please note that you could face "
    "fines or imprisonment for sharing, liking, commenting on, or saving our content, or for contacting us.",
    "To find out more, click here.",
]
CAPTIONS = [
    "A police officer stands guard in Zhanaozen in the days after the December 2011 violence.",
    "A still from an amateur video taken as protesters fled police in Zhanaozen on December 16, 2011.",
]


def test_the_bundled_reports_boilerplate_is_out_and_every_interview_paragraph_is_in():
    doc = read_document(REPORT, REPORT.parent)
    furniture = [doc.text[s:e] for s, e in doc.furniture]
    assert furniture == [BOILERPLATE[0], BOILERPLATE[1], CAPTIONS[0], CAPTIONS[1], *BOILERPLATE[2:]]
    chunks, sentences = chunk_document(doc)
    chunked = "\n".join(c.text for c in chunks)
    for block in BOILERPLATE:
        assert block not in chunked
    for caption in CAPTIONS:  # printed twice on the page; quotable once (it dates the events)
        assert sum(doc.text[s.start:s.end] == caption for s in sentences) == 1
    kept = [doc.text[s:e] for s, e in doc.paragraphs if (s, e) not in doc.furniture]
    # headline, first caption, standfirst, 11 interview paragraphs (5 questions, 6 answers), other caption
    assert len(kept) == 15
    assert kept[0] == "Watchdog Raises Concerns Over Kazakh Ill-Treatment Of Zhanaozen Prisoners"
    assert sum(p.startswith("RFE/RL: ") for p in kept) == 5
    covered = {i for c in chunks for i in range(c.start, c.end)}
    for s, e in doc.paragraphs:  # every character of every kept paragraph lies in a chunk
        if (s, e) not in doc.furniture:
            assert all(i in covered for i in range(s, e) if not doc.text[i].isspace()), doc.text[s:e]


def test_an_html_page_keeps_only_its_article(tmp_path: Path):
    page = tmp_path / "news.html"
    page.write_text("""<!doctype html><html><head><title>Prison visit | Example News</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<header><a href="#main">Skip to main content</a></header>
<main><article><h1>Inspectors find overcrowding in northern prisons</h1>
<p>The inspectors visited four prisons in the northern region during March and counted 212 prisoners.</p>
<p>Medical care was the main complaint: prisoners waited an average of nine days to see a doctor.</p>
</article></main>
<aside><h3>Most read</h3><ul><li><a href="/a">Storm closes ports along the coast</a></li></ul></aside>
<footer><p>Copyright 2024 Example News. All rights reserved.</p><p>We use cookies on our site.</p></footer>
</body></html>""", encoding="utf-8")
    doc = read_document(page, tmp_path)
    chunks, _ = chunk_document(doc)
    assert [c.text for c in chunks] == [
        "Inspectors find overcrowding in northern prisons\n\n"
        "The inspectors visited four prisons in the northern region during March and counted 212 prisoners.\n\n"
        "Medical care was the main complaint: prisoners waited an average of nine days to see a doctor."]
    assert "Storm closes ports" in doc.text  # furniture stays in the text, so offsets and the viewer are whole


def test_navigation_and_notice_rules():
    assert is_navigation("Skip to main content") and is_navigation("To find out more, click here.")
    assert not is_navigation("Prisoners said guards would click their tongues and read more charges aloud to "
                             "them every night before the lights went out in the block.")
    assert is_notice("We use cookies to improve your experience.")
    assert not is_notice("We use cookies " + "and more words " * 30)  # long prose that mentions cookies


def test_a_readers_line_at_the_end_needs_a_notice_or_furniture_beside_it():
    text = "The report covers prisons.\n\nThank you, we hope our findings help."
    assert furniture_spans(text, find_paragraphs(text)) == []
    text += "\n\nTo find out more, click here."
    assert [text[s:e] for s, e in furniture_spans(text, find_paragraphs(text))] == [
        "Thank you, we hope our findings help.", "To find out more, click here."]


def test_a_document_that_is_all_furniture_keeps_everything():
    doc = document_from_text("n.txt", "Home\n\nMenu\n\nSearch")
    assert doc.furniture == ()
    assert len(chunk_document(doc)[0]) == 1


BODY = ("The inspectors visited four prisons in the northern region during March. They counted 212 prisoners held "
        "in cells built for 150, and found that medical care was the main complaint of those held there.")


def _furniture(paragraphs: list[str]) -> list[str]:
    text = "\n\n".join(paragraphs)
    return [text[s:e] for s, e in furniture_spans(text, find_paragraphs(text))]


@pytest.mark.parametrize("statement, notice", [
    # other sites' notices, none of them the bundled report's words
    ("Meduza has been designated a foreign agent by the Russian Justice Ministry.",
     "If you are reading this in Russia, note that you may be fined for sharing our articles or donating to us."),
    ("Novaya Gazeta Europe is blocked in Russia.",
     "You can still reach us through a VPN or our mirror sites; please share our reporting with care."),
    ("This outlet was banned by the authorities in 2022.",
     "Readers in the country: you could be prosecuted for subscribing to our channels or quoting us."),
])
def test_a_notice_block_is_known_by_shape_and_place_at_the_tail(statement, notice):
    assert _furniture([BODY, BODY.replace("212", "214"), statement, notice, "To find out more, click here."]) == [
        statement, notice, "To find out more, click here."]


def test_a_notice_block_at_the_head():
    statement = "Meduza has been designated a foreign agent by the Russian Justice Ministry."
    notice = "If you are reading this in Russia, note that you may be fined for sharing our articles."
    assert _furniture(["Accessibility links", statement, notice, BODY]) == ["Accessibility links", statement, notice]


def test_a_short_sentence_is_not_a_notice_without_its_shape_and_place():
    statement = "The ministry was informed in 2022."
    # in the body, before a reader's line that no furniture run reaches: kept
    assert _furniture([statement, "Thank you, we hope our findings help.", BODY]) == []
    # at the tail but with no reader's notice beside it: kept
    assert _furniture([BODY, statement, "To find out more, click here."]) == ["To find out more, click here."]
    # two sentences are prose, not a notice's opening statement
    two = "The outlet was banned in 2022. It moved to Riga."
    notice = "If you are reading this in Russia, note that you may be fined for sharing our articles."
    assert _furniture([BODY, two, notice, "To find out more, click here."]) == [notice, "To find out more, click here."]
