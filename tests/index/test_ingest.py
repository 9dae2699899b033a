import shutil
from pathlib import Path

import pytest

from app.errors import CorpusError
from app.index.ingest import (
    corpus_files,
    document_from_text,
    find_paragraphs,
    load_corpus,
    pdf_page_text,
    read_document,
)
from tests.conftest import need_path


def test_txt_text_is_the_decoded_file_unchanged(tiny_corpus: Path):
    doc = read_document(tiny_corpus / "prisons.txt", tiny_corpus)
    assert doc.text == (tiny_corpus / "prisons.txt").read_text(encoding="utf-8")
    assert doc.doc == "prisons.txt"
    assert doc.pages is None


def test_corpus_is_read_recursively_in_path_order(tiny_corpus: Path):
    assert [d.doc for d in load_corpus(tiny_corpus)] == ["page.html", "prisons.txt", "sub/budget.md"]


def test_paragraphs_split_on_blank_lines_and_after_sentence_ends():
    text = "Title\n\nOne line that\nwraps here.\nNext para.\n\n- item\n- item two"
    assert [text[s:e] for s, e in find_paragraphs(text)] == [
        "Title", "One line that\nwraps here.", "Next para.", "- item", "- item two"]


def test_paragraph_at_maps_offsets_to_numbers():
    doc = document_from_text("a.txt", "First.\n\nSecond.\n\nThird.")
    assert [doc.paragraph_at(i) for i in (0, 6, 8, 17, 22)] == [1, 1, 2, 3, 3]


def test_html_goes_through_a_parser(tiny_corpus: Path):
    doc = read_document(tiny_corpus / "page.html", tiny_corpus)
    assert doc.title == "Visit report"
    assert doc.text == (
        "Visit to the women's prison\n\nThe visit took place on 4 May. The governor said that "
        "<script>alert(1)</script> is not a real threat.\n\nVisitors may bring books and letters.\n"
        "Food parcels are banned.")
    assert "head script" not in doc.text and "color: red" not in doc.text


def test_pdf_keeps_page_numbers(tmp_path: Path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    root = tmp_path / "c"
    root.mkdir()
    with PdfPages(root / "r.pdf") as pdf:
        for text in ("Alpha page speaks of rivers.", "Beta page speaks of mountains."):
            fig = plt.figure()
            fig.text(0.1, 0.5, text)
            pdf.savefig(fig)
            plt.close(fig)
    doc = read_document(root / "r.pdf", root)
    assert doc.pages is not None and len(doc.pages) == 2
    beta = doc.text.index("Beta")
    assert doc.page_at(beta) == 2 and doc.page_at(doc.text.index("Alpha")) == 1


def test_non_utf8_file_is_an_error_naming_the_file(tmp_path: Path):
    (tmp_path / "bad.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"bad\.txt: not valid UTF-8 \(byte 3\)"):
        load_corpus(tmp_path)


def test_missing_and_empty_corpus_folders_are_errors(tmp_path: Path):
    with pytest.raises(CorpusError, match="does not exist"):
        corpus_files(tmp_path / "nope")
    with pytest.raises(CorpusError, match="has no"):
        corpus_files(tmp_path)


def test_oversized_file_is_refused(tmp_path: Path):
    (tmp_path / "big.txt").write_text("x" * 101)
    with pytest.raises(CorpusError, match="101 bytes is over the 100-byte limit"):
        load_corpus(tmp_path, max_bytes=100)


def test_hidden_files_are_skipped(tmp_path: Path):
    (tmp_path / ".draft.txt").write_text("secret")
    (tmp_path / "a.txt").write_text("public")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.txt"]


def test_a_link_to_a_file_outside_the_corpus_is_refused(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    (corpus / "a.txt").write_text("inside")
    (corpus / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(CorpusError, match=r"leak\.txt links to .*secret\.txt, outside the corpus folder"):
        corpus_files(corpus)


class _FakeTextPage:
    def __init__(self, text: str) -> None:
        self.text = text

    def get_text_range(self) -> str:
        return self.text

    def close(self) -> None:
        pass


class _FakePage:
    def __init__(self, text: str) -> None:
        self.text = text

    def get_textpage(self) -> _FakeTextPage:
        return _FakeTextPage(self.text)

    def close(self) -> None:
        pass


def test_a_pdf_page_reads_as_printed():
    # PDFium ends lines with \r\n and marks a word it joined across a line end with U+FFFE
    raw = "Rules (DER) manip\ufffeulation.  \r\nNext line\rlast\r\n"
    assert pdf_page_text(_FakePage(raw)) == "Rules (DER) manip-\nulation.\nNext line\nlast"


MAINT_GUIDE = Path("/usr/share/doc/maint-guide/maint-guide.en.pdf")


@pytest.mark.shelf
def test_a_typeset_pdf_keeps_the_spaces_it_never_stored(tmp_path: Path):
    need_path(MAINT_GUIDE, "needs the Debian package maint-guide: make shelf-docs")
    # its fonts position words without space characters: pypdf read "Thisdocumentmaybeusedunder..."
    shutil.copyfile(MAINT_GUIDE, tmp_path / "guide.pdf")
    doc = read_document(tmp_path / "guide.pdf", tmp_path)
    assert ("This document may be used under the terms of the GNU General Public License version 2 or higher."
            in doc.text)
    assert doc.title == "Debian New Maintainers' Guide"


def test_a_broken_pdf_is_a_one_line_error_naming_the_file(tmp_path: Path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a real PDF body")
    with pytest.raises(CorpusError) as error:
        read_document(tmp_path / "broken.pdf", tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'broken.pdf'}: cannot read this PDF (")
    assert message.endswith("); repair or remove it") and "\n" not in message


def _manual_pdf(metadata: dict[str, str]) -> bytes:
    """A one-page manual whose first line is its author's name, then its title, then a paragraph."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with PdfPages(buf, metadata=metadata) as pdf:
        fig = plt.figure()
        fig.text(0.1, 0.9, "Fabio Fiorina", fontsize=10)
        fig.text(0.1, 0.7, "The Debian Packaging Manual", fontsize=18)
        fig.text(0.1, 0.4, "This manual describes how a package is built and uploaded.", fontsize=10)
        pdf.savefig(fig)
        plt.close(fig)
    return buf.getvalue()


@pytest.mark.parametrize("metadata, title", [
    ({"Title": "Fabio Fiorina", "Author": "Fabio Fiorina"}, "The Debian Packaging Manual"),  # issue 27, item 7
    ({"Author": "Fabio Fiorina"}, "The Debian Packaging Manual"),  # no title declared: the first heading
    ({"Title": "By Fabio Fiorina"}, "The Debian Packaging Manual"),  # a byline is no title either
    ({"Title": "Packaging, the Debian Way", "Author": "Fabio Fiorina"}, "Packaging, the Debian Way"),
])
def test_a_pdfs_title_is_its_metadata_or_first_heading_never_its_author(metadata, title):
    from app.index.ingest import document_from_bytes
    from app.web.render import guess_title

    assert guess_title(document_from_bytes("manual.pdf", _manual_pdf(metadata))) == title
