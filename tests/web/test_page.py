"""What the page says about one build (app/web/page.py)."""

import os

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.web.page import build_view, polite
from tests.web.test_chat import EXAMPLES, VISITS, make_assistant


def test_build_view_describes_one_build(tmp_path):
    assistant = make_assistant(tmp_path)
    page = build_view(assistant)
    assert page.build == os.path.realpath(tmp_path / "index")  # the build folder the index link points to
    assert page.documents_label == "Documents in the index (2)"
    assert page.choices == [("Hostile Test Notes (notes/hostile.md)", "notes/hostile.md"),
                            ("Prison Conditions Review (prisons.txt)", "prisons.txt")]
    assert page.examples == ["What is this report about?", "Who wrote the report?", "What are the main findings?",
                             "What does the report recommend?", "When did the events take place?"]
    assert '<p class="vb-report">2 documents: Hostile Test Notes; Prison Conditions Review</p>' in page.header
    assert page.documents.count('<li class="vb-docitem">') == 2
    given = build_view(assistant, examples=EXAMPLES + ["A sixth?"])
    assert given.examples == EXAMPLES  # `--examples FILE` is kept, first five
    corpus = tmp_path / "corpus"
    (corpus / "visits.txt").write_text(VISITS, encoding="utf-8")
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=corpus)
    rebuilt = build_view(Assistant.load(tmp_path / "index", embedder=HashEmbedder(), corpus_dir=corpus))
    assert rebuilt.build != page.build and rebuilt.build == os.path.realpath(tmp_path / "index")
    assert (rebuilt.documents_label, [doc for _, doc in rebuilt.choices]) == (
        "Documents in the index (3)", ["notes/hostile.md", "prisons.txt", "visits.txt"])
    assert rebuilt.examples == ["Who paid for the lawyers of the prisoners?", "What is this report about?",
                                "Who wrote the report?", "What are the main findings?",
                                "What does the report recommend?"]  # a question found in the new document


def test_polite_turns_an_error_into_one_sentence():
    assert polite(ValueError("the question is empty; type a question about the report.")) == (
        "Sorry \u2014 the question is empty; type a question about the report.")
