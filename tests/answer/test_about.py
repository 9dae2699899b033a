"""Questions about the report itself: title, author, date, quoted from the title area."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.about import STRUCTURAL_SCORE, about_document, about_kind
from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings, BuildSettings
from tests.conftest import DATA, REPORT, assert_quotes_verbatim


def tiny_pdf(lines: list[str], title: str | None = None, author: str | None = None,
             created: str | None = None) -> bytes:
    """A one-page PDF with one line of Helvetica text per entry, and a metadata title, author and creation
    date (PDF date syntax, "D:20130313") when given.

    Written by hand (objects, then a cross-reference table of their byte offsets) so no PDF writer is needed."""
    ops = []
    for i, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"BT /F1 12 Tf 72 {760 - 18 * i} Td ({escaped}) Tj ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    info = {"Title": title, "Author": author, "CreationDate": created}
    declared = " ".join(f"/{key} ({value})" for key, value in info.items() if value)
    if declared:
        objects.append(b"<< " + declared.encode("latin-1") + b" >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    trailer = b" /Info %d 0 R" % len(objects) if declared else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def _assistant(tmp_path: Path, files: dict[str, bytes], chunk_max_words: int = 30) -> Assistant:
    """An index of `files` (a long sentence cut into windows of `chunk_max_words`) and its assistant."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True)
    for name, data in files.items():
        (corpus / name).write_bytes(data)
    build_index(tmp_path / "index", HashEmbedder(), BuildSettings(chunk_max_words=chunk_max_words),
                corpus_dir=corpus)
    return Assistant.load(tmp_path / "index", settings=AnswerSettings(threshold=0.3, floor=0.2), corpus_dir=corpus)


@pytest.mark.parametrize("question, kind", [
    ("What is the report called?", "title"),
    ("What is the title of Amnesty's report?", "title"),
    ("What's the report's title?", "title"),
    ("What is the headline of the article?", "title"),
    ("What is the story's headline?", "title"),
    ("What headline did the newspaper print about the trial?", None),
    ("Who wrote the report?", "author"),
    ("Which organisation published the new report?", "author"),
    ("Who is the author of this study?", "author"),
    ("When was the report published?", "date"),
    ("What is the publication date of the report?", "date"),
    ("Who is named in the report?", None),
    ("What does the report say about food parcels?", None),
    ("When did the protests happen?", None),
    ("Who was interviewed for the report?", None),
    ("What kind of document is this?", "kind"),
    ("How long is the report?", "length"),
    ("How many pages does the report have?", "length"),
    ("What language is the report written in?", "language"),
    ("How long was he held?", None),
    ("What kind of torture was used?", None),
    ("What language did the guards speak?", None),
])
def test_questions_about_the_report_itself(question: str, kind: str | None):
    assert about_kind(question) == kind


def test_title_author_and_date_of_an_html_page(tmp_path: Path):
    html = (DATA / "structure" / "report.html").read_bytes()
    assistant = _assistant(tmp_path, {"report.html": html})
    text = assistant.index.document("report.html").text
    for question, quote, answer in [
        ("What is the title of the report?", "Old Habits: Torture in Kazakhstan", "Old Habits: Torture in Kazakhstan"),
        ("Who wrote the report?", "By Jane Roe", "By Jane Roe"),
        ("When was the report published?", "Published 13 March 2013", "13 March 2013"),
    ]:
        out = assistant.ask(question).to_dict()
        assert out["verdict"] == "answered", question
        first = out["quotes"][0]
        start = text.index(quote)
        assert (first["text"], first["start"], first["end"]) == (quote, start, start + len(quote))
        a = text.index(answer)
        assert first["answer"] == {"text": answer, "start": a, "end": a + len(answer)}
        assert_quotes_verbatim(out, assistant)


def test_title_of_a_pdf_from_its_metadata_or_first_line(tmp_path: Path):
    lines = ["Prison Monitoring in 2013", "The inspectors found abuse in four prisons.", "Guards beat detainees."]
    assistant = _assistant(tmp_path, {"declared.pdf": tiny_pdf(["Old Habits Revisited", *lines[1:]],
                                                               title="Old Habits Revisited"),
                                      "undeclared.pdf": tiny_pdf(lines, title="Annual Review")})
    declared = assistant.ask("What is the title of the report?", docs=["declared.pdf"]).to_dict()
    assert [(q["text"], q["start"], q["end"]) for q in declared["quotes"]] == [("Old Habits Revisited", 0, 20)]
    # "Annual Review" is only in the metadata: the quote is the first line the text holds, never the metadata
    undeclared = assistant.ask("What is the report called?", docs=["undeclared.pdf"]).to_dict()
    assert [(q["text"], q["start"], q["end"], q["page"]) for q in undeclared["quotes"]] == [
        ("Prison Monitoring in 2013", 0, 25, 1)]
    assert undeclared["verdict"] == "answered"


def test_the_bundled_report_title_question_quotes_the_work_it_discusses(tmp_path: Path):
    """The corpus is an RFE/RL interview about Amnesty's report: asked for the report's title, the
    quote is the lead sentence naming "Old Habits: ...", then the interview's own headline."""
    assistant = _assistant(tmp_path, {REPORT.name: REPORT.read_bytes()})
    text = REPORT.read_text(encoding="utf-8")
    out = assistant.ask("What is the title of the report?").to_dict()
    lead = ("RFE/RL correspondent Farangis Najibullah speaks to Amnesty International's David Diaz-Jogeix, the deputy "
            "director of the Europe and Central Asia Program at Amnesty International, about the contents of \"Old "
            "Habits: The Routine Use of Torture and Other Ill-Treatment in Kazakhstan.\"")
    work = "Old Habits: The Routine Use of Torture and Other Ill-Treatment in Kazakhstan"
    headline = "Watchdog Raises Concerns Over Kazakh Ill-Treatment Of Zhanaozen Prisoners"
    assert [(q["text"], q["start"]) for q in out["quotes"]] == [(lead, text.index(lead)),
                                                                 (headline, text.index(headline))]
    assert out["quotes"][0]["answer"] == {"text": work, "start": text.index(work), "end": text.index(work) + len(work)}
    who = assistant.ask("Who published the report?").to_dict()["quotes"][0]
    assert who["answer"] == {"text": "Amnesty International", "start": text.index("Amnesty International"),
                             "end": text.index("Amnesty International") + len("Amnesty International")}
    # no publication date is stated: nothing structural answers, and the answer says so, without a bold "2011"
    when = "When was the report published?"
    assert about_document(assistant.index, when, assistant.search(when).hits, [], 3, 0.3) == []
    out = assistant.ask(when).to_dict()
    assert (out["verdict"], out["message"]) == ("not_found", "The document does not give its publication date. "
                                                             "The closest passage is shown below; it is not an answer.")
    assert len(out["quotes"]) == 1 and "answer" not in out["quotes"][0]
    assert_quotes_verbatim(out, assistant)


def test_a_report_without_a_byline_says_it_names_no_author(tmp_path: Path):
    assistant = _assistant(tmp_path, {"p.txt": (DATA / "tiny" / "prisons.txt").read_bytes()})
    who = "Who wrote the report?"  # a title ("Prison Conditions Review") but no byline, no "published by" under it
    assert about_document(assistant.index, who, assistant.search(who).hits, [], 3, 0.3) == []
    out = assistant.ask(who).to_dict()
    assert (out["verdict"], out["message"].split(". ")[0]) == ("not_found", "The document does not name its author")
    title = assistant.ask("What is the report called?").to_dict()["quotes"]
    assert [(q["text"], q["start"], q["end"]) for q in title] == [("Prison Conditions Review", 0, 24)]


def test_a_structural_answer_does_not_take_its_score_from_the_threshold(tmp_path: Path):
    """Calibration chooses the threshold from the suite's scores: a title answer scored *at* the threshold
    fed the old threshold back into the choice (each recalibration moved it a hair). Its score is fixed."""
    html = (DATA / "structure" / "report.html").read_bytes()
    assistant = _assistant(tmp_path, {"report.html": html})
    for threshold in (0.3, 0.5):
        out = assistant.with_settings(threshold=threshold, floor=0.2).ask("What is the title of the report?").to_dict()
        assert (out["verdict"], out["quotes"][0]["score"], out["confidence"]) == ("answered", STRUCTURAL_SCORE, 1.0)


def test_questions_about_a_text_file_that_states_no_author_or_date(tmp_path: Path):
    text = ("Prison Conditions Review\n\nThe inspectors visited four prisons in March.\n\n"
            "Guards beat detainees in two of them.")  # 3 + 7 + 7 words, 3 paragraphs
    assistant = _assistant(tmp_path, {"review.txt": text.encode()})
    title = ("Prison Conditions Review", 0, 24)
    for question, verdict, message in [
        ("When was the review published?", "not_found", "The document does not give its publication date. "
                                                        "The closest passage is shown below; it is not an answer."),
        ("Who wrote the review?", "not_found", "The document does not name its author. "
                                               "The closest passage is shown below; it is not an answer."),
        ("How long is the review?", "answered",
         "The document is 17 words long, in 3 paragraphs.\n[1] \u201cPrison Conditions Review\u201d"),
        ("What language is the document written in?", "answered",
         "The document is in English.\n[1] \u201cPrison Conditions Review\u201d"),
        ("What kind of document is this?", "answered",
         "The document is a plain-text file.\n[1] \u201cPrison Conditions Review\u201d"),
    ]:
        out = assistant.ask(question).to_dict()
        assert (out["verdict"], out["message"]) == (verdict, message), question
        assert len(out["quotes"]) == 1 and all("answer" not in q for q in out["quotes"]), question
        if verdict == "answered":
            assert [(q["text"], q["start"], q["end"]) for q in out["quotes"]] == [title]
        assert_quotes_verbatim(out, assistant)


def test_an_html_article_with_a_date_line_and_one_with_meta_tags_only(tmp_path: Path):
    lined = (DATA / "structure" / "report.html").read_bytes()
    tagged = (b'<!doctype html><html><head><title>Cells</title><meta name="author" content="Jane  Roe">'
              b'<meta property="article:published_time" content="2014-06-02T08:00:00Z"></head><body><article>'
              b"<h1>Cells</h1><p>The cells were cold and the guards beat detainees at night.</p>"
              b"</article></body></html>")
    assistant = _assistant(tmp_path, {"lined.html": lined, "tagged.html": tagged})
    text = assistant.index.document("lined.html").text
    out = assistant.ask("When was the report published?", docs=["lined.html"]).to_dict()
    a = text.index("13 March 2013")
    assert (out["verdict"], out["quotes"][0]["answer"]) == ("answered", {"text": "13 March 2013", "start": a,
                                                                         "end": a + 13})
    for question, note in [("When was the article published?", "The document's file metadata gives its date: "
                                                                  "2 June 2014."),
                           ("Who wrote the article?", "The document's file metadata gives its author: Jane Roe."),
                           ("What kind of document is it?", "The document is a web page (HTML).")]:
        out = assistant.ask(question, docs=["tagged.html"]).to_dict()
        assert (out["verdict"], out["message"]) == ("answered", f"{note}\n[1] \u201cCells\u201d"), question
        assert [(q["text"], q["start"], q["end"], "answer" in q) for q in out["quotes"]] == [("Cells", 0, 5, False)]


def test_a_pdf_answers_author_and_date_from_its_metadata(tmp_path: Path):
    lines = ["Old Habits Revisited", "The inspectors found abuse in four prisons.", "Guards beat detainees."]
    assistant = _assistant(tmp_path, {"m.pdf": tiny_pdf(lines, title="Old Habits Revisited", author="Jane Roe",
                                                        created="D:20130313120000"),
                                      "bare.pdf": tiny_pdf(lines)})
    assert assistant.index.document("m.pdf").metadata == {"author": "Jane Roe", "date": "13 March 2013"}
    for question, note in [("Who wrote the report?", "The document's PDF metadata gives its author: Jane Roe."),
                           ("When was the report published?", "The document's PDF metadata gives its date: "
                                                               "13 March 2013."),
                           # 3 + 7 + 3 words; the title line ends unpunctuated, so it runs on into the next line's
                           # paragraph (app/index/ingest.py find_paragraphs): 2 paragraphs
                           ("How long is the report?", "The document is 13 words long, in 2 paragraphs on 1 page."),
                           ("What kind of document is this?", "The document is a PDF of 1 page.")]:
        out = assistant.ask(question, docs=["m.pdf"]).to_dict()
        assert (out["verdict"], out["message"]) == ("answered", f"{note}\n[1] \u201cOld Habits Revisited\u201d")
        assert [(q["text"], q["start"], q["page"], "answer" in q) for q in out["quotes"]] == [
            ("Old Habits Revisited", 0, 1, False)]
    bare = assistant.ask("When was the report published?", docs=["bare.pdf"]).to_dict()
    assert (bare["verdict"], bare["message"].split(". ")[0]) == ("not_found", "The document does not give its "
                                                                              "publication date")
