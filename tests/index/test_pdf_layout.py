"""PDF layout: running headers, page numbers and tables of contents are furniture; short lines end paragraphs."""

from pathlib import Path

from app.index.chunk import split_sentences
from app.index.ingest import pdf_document, read_document
from app.index.pdf_layout import analyse
from tests.conftest import need_path

WRAPPED = ("so anybody may redistribute this library, as they wish, under the\n"
           "terms of the GNU Lesser General Public License.")
FULL = "This sentence of prose runs across the whole width of a printed page and"  # 73 characters


def _pdf_text(pages: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Page texts joined as ingest joins them (a blank line between pages), with the page spans."""
    text, spans, pos = "", [], 0
    for i, page in enumerate(pages):
        if i:
            text += "\n\n"
            pos += 2
        spans.append((pos, pos + len(page)))
        text += page
        pos += len(page)
    return text, tuple(spans)


PAGES = [
    "Contents\n1 Introduction . . . . . . . . 1\n2 Licence . . . . . . . . . . . 2",
    f"1\n1 Introduction\n{FULL}\nit goes on to the next line.",
    f"Chapter 2: Licence 2\n{FULL}\n{WRAPPED}",
    f"Chapter 2: Licence 3\nThe tools are licensed under the GNU General Public License. {FULL}\nends.",
    f"Chapter 2: Licence 4\n{FULL}\nends here too.",
]


def test_running_headers_page_numbers_and_contents_are_furniture():
    text, pages = _pdf_text(PAGES)
    layout = analyse(text, pages)
    # the headers carry the page number at a fixed offset from the page index (page index 2 -> 2)
    assert [text[s:e] for s, e in layout.furniture] == [
        "Contents\n1 Introduction . . . . . . . . 1\n2 Licence . . . . . . . . . . . 2",
        "1", "Chapter 2: Licence 2", "Chapter 2: Licence 3", "Chapter 2: Licence 4"]


def test_a_pdf_documents_paragraphs_and_furniture():
    text, pages = _pdf_text(PAGES)
    doc = pdf_document("m.pdf", text, pages, text.encode())
    paragraphs = [text[s:e] for s, e in doc.paragraphs]
    assert paragraphs == [
        PAGES[0], "1", "1 Introduction", f"{FULL}\nit goes on to the next line.",
        "Chapter 2: Licence 2", f"{FULL}\n{WRAPPED}",
        "Chapter 2: Licence 3", f"The tools are licensed under the GNU General Public License. {FULL}\nends.",
        "Chapter 2: Licence 4", f"{FULL}\nends here too."]
    assert [text[s:e] for s, e in doc.furniture] == [
        PAGES[0], "1", "Chapter 2: Licence 2", "Chapter 2: Licence 3", "Chapter 2: Licence 4"]
    sentences = [text[s.start:s.end] for s in split_sentences(doc, 100)]
    # a heading (a short line) stays out of the sentence below it; a wrapped sentence is whole
    assert "1 Introduction" in sentences
    assert f"{FULL}\n{WRAPPED}" in sentences
    assert not any("Chapter 2" in s or "Contents" in s for s in sentences)


def test_a_line_short_of_the_full_width_ends_its_paragraph_unless_it_ends_in_a_hyphen():
    page = f"{FULL}\nshort last line\n{FULL} manip-\nulation of data\nNext paragraph starts here."
    text, pages = _pdf_text([page])
    layout = analyse(text, pages)
    assert layout.furniture == ()
    # "short last line" (15 < 0.6 * 73) ends a paragraph; the hyphenated full line does not
    assert sorted(text[b:b + 10] for b in layout.breaks) == ["Next parag", "This sente"]


TASN1 = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")


def test_the_libtasn1_manuals_licence_sentence_is_whole_and_its_headers_are_furniture(tmp_path: Path):
    need_path(TASN1, "needs Debian's libtasn1-doc: make shelf-docs")
    (tmp_path / "libtasn1.pdf").write_bytes(TASN1.read_bytes())
    doc = read_document(tmp_path / "libtasn1.pdf", tmp_path)
    sentences = [doc.text[s.start:s.end] for s in split_sentences(doc, 100)]
    licence = ("• It’s Free Software. Anybody can use, modify, and redistribute the library under the\n"
               "terms of the GNU Lesser General Public License version 2.1 or later.")
    assert licence in sentences
    furniture = {doc.text[s:e] for s, e in doc.furniture}
    assert {"Chapter 4: Function reference 9", "Appendix A: Copying Information 25", "1"} <= furniture
    assert not any(s.startswith("Chapter 4: Function reference") for s in sentences)
