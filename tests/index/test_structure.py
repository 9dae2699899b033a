"""Document structure: interviewer turns and the replies they point to, titles, bylines, dates."""

from __future__ import annotations

from pathlib import Path

from app.index.ingest import document_from_text, find_paragraphs, read_document
from app.index.structure import named_works, prompt_paragraphs, speaker_label, title_span
from tests.conftest import DATA, REPORT

STRUCTURE = DATA / "structure"


def _read(name: str):
    return read_document(STRUCTURE / name, STRUCTURE)


def _paragraph(doc, number: int) -> str:
    s, e = doc.paragraphs[number - 1]
    return doc.text[s:e]


def test_a_qa_interview_points_each_question_to_its_answer():
    doc = _read("interview.txt")
    assert doc.prompts == {2: 3, 4: 5, 6: 7}
    assert _paragraph(doc, 4) == ("Q: The board has been criticised for slow repairs in the past, and residents "
                                  "waited a week for water last winter. What has the board changed since then?")
    assert _paragraph(doc, 5).startswith("A: We now keep spare pumps")


def test_a_hearing_finds_the_member_who_asks_not_the_chair_or_the_witness():
    doc = _read("hearing.txt")
    # CHAIRMAN DOE speaks twice without asking; MR. SMITH asks twice; DR. LEE answers
    assert doc.prompts == {3: 4, 5: 6}
    assert _paragraph(doc, 4) == "DR. LEE: On average, prisoners wait nine days for a first appointment."


def test_a_markdown_faq_points_each_heading_question_to_the_paragraph_under_it():
    doc = _read("faq.md")
    assert doc.prompts == {2: 3, 4: 5, 6: 7}
    assert _paragraph(doc, 6) == "## Who can visit?"


def test_the_bundled_interview_turns():
    doc = read_document(REPORT, REPORT.parent)
    # paragraphs 7, 9, 14, 16 and 18 open with "RFE/RL:", each followed by Diaz-Jogeix's reply
    assert doc.prompts == {7: 8, 9: 10, 14: 15, 16: 17, 18: 19}
    assert _paragraph(doc, 16).startswith("RFE/RL: Kazakh authorities insist")
    assert _paragraph(doc, 17).startswith("Diaz-Jogeix: Not really.")


def test_prose_is_not_an_interview():
    one_question = "Why does this matter?\n\nBecause prisons are full.\n\nThe report ends here."
    assert prompt_paragraphs(one_question, find_paragraphs(one_question)) == {}
    # labels that never ask (a note, a source) make no interviewer
    notes = "Note: figures are rounded.\n\nSource: the ministry.\n\nNote: see annex.\n\nSource: the court."
    assert prompt_paragraphs(notes, find_paragraphs(notes)) == {}
    # an FAQ question too long to be a heading is prose that ends in a question
    long_q = " ".join(["word"] * 60) + "?"
    text = f"{long_q}\n\nAnswer one.\n\n{long_q}\n\nAnswer two."
    assert prompt_paragraphs(text, find_paragraphs(text)) == {}


def test_speaker_labels():
    assert speaker_label("**Q:** Who runs it?") == "q"
    assert speaker_label("David Diaz-Jogeix: According to ...") == "david diaz-jogeix"
    assert speaker_label("The report says: torture is routine.") is None  # lower-case words before the colon
    assert speaker_label("A Very Long Label With Far Too Many Words: text") is None  # six words


def test_titles_lie_in_the_text():
    faq = _read("faq.md")
    assert faq.text[slice(*faq.title_span)] == "Visiting Rules FAQ"
    assert faq.title_span == (2, 20)  # after "# "
    hearing = _read("hearing.txt")
    assert hearing.title_span == (0, 29)
    page = _read("report.html")  # <title> "Old Habits: Torture in Kazakhstan | Rights Watchers", <h1> the first part
    s, e = page.title_span
    assert page.text[s:e] == "Old Habits: Torture in Kazakhstan"
    assert page.text.index("Old Habits") == s
    report = read_document(REPORT, REPORT.parent)  # "Accessibility links", "Breaking News" are furniture
    assert report.text[slice(*report.title_span)] == (
        "Watchdog Raises Concerns Over Kazakh Ill-Treatment Of Zhanaozen Prisoners")


def test_a_declared_title_missing_from_the_text_gives_way_to_the_first_heading():
    text = "Prison Monitoring in 2013\nThe inspectors found abuse in four prisons."
    paragraphs = find_paragraphs(text)
    assert paragraphs == [(0, len(text))]  # a PDF's lines run together into one paragraph
    assert title_span(text, paragraphs, title="Annual Review") == (0, 25)
    assert title_span(text, paragraphs, title="Monitoring in 2013") == (7, 25)  # printed: found where it is
    assert title_span("Just one sentence of prose.", [(0, 27)]) is None


def test_byline_and_date_under_the_title():
    page = _read("report.html")
    assert {k: page.text[s:e] for k, (s, e) in page.front_matter.items()} == {
        "author": "By Jane Roe", "date": "13 March 2013"}
    caption = document_from_text("a.txt", "Title Of The Piece\n\nA guard stands outside the prison in the days after "
                                 "the December 2011 violence.\n\nBody text here.")
    assert caption.front_matter == {}  # a caption that mentions a date is not a date line


def test_named_works_are_quoted_capitalised_titles():
    text = 'It discussed "Old Habits: The Routine Use of Torture in Kazakhstan." and "so-called" reforms.'
    assert [text[s:e] for s, e in named_works(text, 0, len(text))] == [
        "Old Habits: The Routine Use of Torture in Kazakhstan"]


def test_pdf_metadata_title_is_read(tmp_path: Path):
    from tests.answer.test_about import tiny_pdf

    (tmp_path / "r.pdf").write_bytes(tiny_pdf(["Old Habits Revisited", "By Jane Roe", "Guards beat detainees."],
                                              title="Old Habits Revisited"))
    doc = read_document(tmp_path / "r.pdf", tmp_path)
    assert doc.title == "Old Habits Revisited"
    assert doc.title_span == (0, 20)
