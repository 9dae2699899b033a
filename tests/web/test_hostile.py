"""Hostile input: any question text, corpora full of HTML, JavaScript and forged citations, paths
that try to leave the corpus folder, and inputs over the limits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import string
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.answer.assistant import Assistant
from app.errors import QuestionError
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings, BuildSettings
from app.web.render import answer_html
from tests.conftest import DATA

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CONTRACT = ["question", "answered", "verdict", "confidence", "message", "quotes"]
QUOTE_KEYS = ["n", "text", "doc", "start", "end", "paragraph", "page", "score"]
DOCS = ["page.html", "prisons.txt", "sub/budget.md"]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    base = tmp_path_factory.mktemp("hostile")
    corpus = base / "corpus"
    shutil.copytree(DATA / "tiny", corpus)
    build_index(base / "index", HashEmbedder(), BuildSettings(chunk_max_words=30), corpus_dir=corpus)
    return Assistant.load(base / "index", embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.2),
                          corpus_dir=corpus)


# ---------------------------------------------------------------- any question: a one-line refusal or the contract

ODD = ("\x00\x01\x07\x08\x1b\x7f\x85\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202e\u2066\u2069\u2028\u2029"
       "\ufeff\ufffd\u0301\u0308\U0001f600\U0001f469\u200d\U0001f4bb\U0001f1fa\U0001f1f8\t\n\r\u00a0\u3000"
       "\u05d0\u0627\u4e2d")
questions = st.one_of(
    st.text(max_size=300),  # any unicode (hypothesis leaves out lone surrogates, which str.encode rejects)
    st.text(alphabet=ODD + "prisoners cells budget food ", max_size=120),
    st.text(alphabet=string.punctuation + "\u201c\u201d\u2014\u2026\u00bf\u00a1", max_size=60),
    st.text(alphabet=" \t\n\r\u00a0\u2003\u3000\u200b", max_size=40),
    st.builds(lambda unit, times: unit * times, st.sampled_from(["why ", "x", "\U0001f600", "\u202e", "a\u0301", " "]),
              st.integers(300, 2600)),  # very long, on both sides of the 2,000-character limit
)
doc_filters = st.one_of(st.none(), st.lists(st.sampled_from(
    DOCS + ["../../etc/passwd", "/etc/passwd", "sub/../prisons.txt", "..", "", "PRISONS.TXT", "nope.txt"]),
    max_size=3))
histories = st.lists(st.text(alphabet=ODD + "prisoners budget? ", max_size=60), max_size=3)


def expected_refusal(question: str) -> str | None:
    """The reason `validate_question` must give, worked out independently, or None."""
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in question):
        return "the question contains control characters ("
    if not question.strip():
        return "the question is empty; type a question about the report"
    if len(question.strip()) > 2000:
        return f"the question is {len(question):,} characters; the limit is 2,000. Shorten it and ask again"
    return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=questions, docs=doc_filters, history=histories)
def test_any_question_gets_a_one_line_refusal_or_the_contract(assistant, question, docs, history):
    refusal = expected_refusal(question)
    try:
        answer = assistant.ask(question, docs=docs, history=history)
    except QuestionError as exc:
        message = str(exc)
        assert refusal is not None and message.startswith(refusal), (question, message)
        assert "\n" not in message and "\r" not in message
        return
    assert refusal is None, (question, refusal)
    result = answer.to_dict()
    optional = [key for key in ("language", "resolved_question") if key in result]  # the contract's optional keys
    assert list(result) == [*CONTRACT, *optional]
    if "language" in result:  # a question read as another language: answered, its lines in that language
        assert len(result["language"]) == 2 and result["language"] != "en"
    if "resolved_question" in result:  # a follow-up as understood: a history to lean on, and a non-empty question
        assert history and isinstance(result["resolved_question"], str) and result["resolved_question"].strip()
    assert result["question"] == question.strip()
    assert isinstance(result["answered"], bool) and isinstance(result["message"], str) and result["message"]
    assert json.loads(json.dumps(result, ensure_ascii=False)) == result
    assert [q["n"] for q in result["quotes"]] == list(range(1, len(result["quotes"]) + 1))
    assert result["answered"] == (result["verdict"] == "answered") and 0.0 <= result["confidence"] <= 1.0
    assert len(result["quotes"]) <= (1 if result["verdict"] == "not_found" else 3)
    wanted = set(docs or []) & set(DOCS)
    for q in result["quotes"]:
        assert list(q) == QUOTE_KEYS
        text = assistant.index.document(q["doc"]).text
        assert 0 <= q["start"] < q["end"] <= len(text) and text[q["start"]:q["end"]] == q["text"]
        assert q["paragraph"] >= 1 and q["page"] is None
        if docs and wanted:
            assert q["doc"] in wanted
    if docs and not wanted:  # only unknown names: nothing is searched, nothing is quoted
        assert result["quotes"] == [] and result["answered"] is False


# ---------------------------------------------------------------- the corpus cannot forge a citation

FORGED = "[1] \u201cfake quote\u201d \u2014 other.txt, paragraph 3"
FORGERY = f"""Forgery Notes

The clerk copied this line into the minutes: {FORGED}

## Sources

[2] \u201cThe minister approved everything.\u201d \u2014 secret.txt, paragraph 9

<div class="vb-source"><span class="vb-doc">secret.txt</span></div> The clerk signed the minutes.

![tracker](http://203.0.113.9/pixel.png) and [a link](javascript:alert(1)) were in the margin of the minutes.
"""


def forged_assistant(base: Path) -> tuple[Assistant, Path]:
    corpus = base / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "minutes.md").write_text(FORGERY, encoding="utf-8")
    build_index(base / "index", HashEmbedder(), corpus_dir=corpus)
    return Assistant.load(base / "index", embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.2),
                          corpus_dir=corpus), corpus


def quote_of(assistant: Assistant, n: int, text: str) -> dict:
    """A quote in the JSON contract for the sentence `text` of minutes.md, cut at its offsets."""
    document = assistant.index.document("minutes.md")
    start = document.text.index(text)
    return {"n": n, "text": text, "doc": "minutes.md", "start": start, "end": start + len(text),
            "paragraph": document.paragraph_at(start), "page": None, "score": 0.9}


def test_markdown_in_the_corpus_cannot_forge_a_citation(tmp_path: Path):
    assistant, _ = forged_assistant(tmp_path)
    documents = {d.doc: d for d in assistant.index.documents}
    lines = [f"The clerk copied this line into the minutes: {FORGED}",
             '[2] \u201cThe minister approved everything.\u201d \u2014 secret.txt, paragraph 9',
             '<div class="vb-source"><span class="vb-doc">secret.txt</span></div> The clerk signed the minutes.']
    quotes = [quote_of(assistant, n, line) for n, line in enumerate(lines, 1)]
    answer = {"question": "q", "answered": True, "message": "m", "quotes": quotes}
    html = answer_html(answer, documents)
    # exactly three quote blocks and three sources, numbered 1-3, each naming the real document
    assert html.count('<blockquote class="vb-quote">') == html.count('<div class="vb-source">') == 3
    assert re.findall(r'<span class="vb-n">\[(\d+)\]</span>', html) == ["1", "2", "3"] * 2
    assert re.findall(r'<span class="vb-doc">([^<]*)</span>', html) == ["minutes.md"] * 3
    assert re.findall(r'<span class="vb-where">([^<]*)</span>', html) == ["paragraph 2", "paragraph 4", "paragraph 5"]
    assert ('<span class="vb-text">\u201cThe clerk copied this line into the minutes: [1] \u201cfake quote\u201d '
            '\u2014 other.txt, paragraph 3\u201d</span>') in html
    assert ('<span class="vb-text">\u201c&lt;div class=&quot;vb-source&quot;&gt;&lt;span class=&quot;vb-doc&quot;&gt;'
            'secret.txt&lt;/span&gt;&lt;/div&gt; The clerk signed the minutes.\u201d</span>') in html
    # one HTML block with no line break: the chat's Markdown renderer passes it through as it is
    assert "\n" not in html
    real = assistant.ask("Who signed the minutes?").to_dict()  # a real answer renders the same way
    assert real["quotes"][0]["text"] == lines[2]
    assert answer_html(real, documents).count('<span class="vb-doc">') == len(real["quotes"])


# ---------------------------------------------------------------- HTML and JavaScript in the corpus, in Chromium

SCRIPTED = """Scripted Page Notes

The guard typed <script>alert("typed")</script> into the log book.

The cook drew <svg onload=alert("svg")></svg> on the menu board.

A poster said <iframe src="javascript:alert('frame')"></iframe> near the gate.

The nurse wrote <a href="javascript:alert('link')" onclick="alert('click')">click me</a> on the chart.
"""
QUESTIONS = {
    "What did the guard type into the log book?":
        'The guard typed <script>alert("typed")</script> into the log book.',
    "What did the cook draw on the menu board?": 'The cook drew <svg onload=alert("svg")></svg> on the menu board.',
    "What did the poster say near the gate?":
        "A poster said <iframe src=\"javascript:alert('frame')\"></iframe> near the gate.",
    "What did the nurse write on the chart?":
        "The nurse wrote <a href=\"javascript:alert('link')\" onclick=\"alert('click')\">click me</a> on the chart.",
    "Who signed the minutes?": '<div class="vb-source"><span class="vb-doc">secret.txt</span></div> The clerk signed '
                               "the minutes.",
    "What was in the margin of the minutes?":
        "![tracker](http://203.0.113.9/pixel.png) and [a link](javascript:alert(1)) were in the margin of the minutes.",
}


@pytest.mark.browser
def test_html_javascript_and_forged_citations_render_as_text_in_chromium(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    from app.web.chat import build_app

    from .pages import ARGS, CHROMIUM, open_page
    from .test_chat import start

    base = tmp_path / "site"
    assistant, corpus = forged_assistant(base)
    (corpus / "scripted.md").write_text(SCRIPTED, encoding="utf-8")
    build_index(base / "index", HashEmbedder(), corpus_dir=corpus)
    assistant = Assistant.load(base / "index", embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.2),
                               corpus_dir=corpus)
    ui = build_app(assistant, base / "feedback.jsonl", examples=list(QUESTIONS)[:5])
    url = start(ui)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page, problems = open_page(browser, url, 1280, 900)
                for asked, (question, line) in enumerate(QUESTIONS.items(), 1):
                    page.locator("#vb-question textarea").fill(question)
                    page.keyboard.press("Enter")
                    page.wait_for_function(f"document.querySelectorAll('#vb-chat .vb-sources').length === {asked}")
                    answer = page.locator("#vb-chat .vb-answer").last
                    texts = answer.locator("blockquote.vb-quote .vb-text").all_inner_texts()
                    # the questions are one conversation: a quote an earlier answer showed reads "(quoted above)"
                    shown = page.locator("#vb-chat blockquote.vb-quote .vb-text").all_inner_texts()
                    assert f"\u201c{line}\u201d" in shown, (question, texts)
                    above = answer.locator("p.vb-message", has_text="(quoted above)").count()
                    assert answer.locator(".vb-source").count() == len(texts) + above  # no extra, forged source
                    assert set(answer.locator(".vb-doc").all_inner_texts()) <= {"minutes.md", "scripted.md"}
                chat = page.locator("#vb-chat")
                for tag in ("script", "svg", "iframe", "img", "a[href^='javascript']", "[onclick]", "[onload]"):
                    assert chat.locator(f".vb-answer {tag}").count() == 0, tag
                page.wait_for_timeout(500)
                assert problems == []  # no dialog opened, nothing fetched from off the machine
                assert page.evaluate("typeof window.alert") == "function"
            finally:
                browser.close()
    finally:
        ui.close()


# ---------------------------------------------------------------- no path in a request reaches outside the corpus

CANARY = "TOP-SECRET-CANARY-7f3e"


def test_paths_in_requests_cannot_reach_files_outside_the_corpus(tmp_path: Path):
    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from app.web.chat import build_app

    from .test_chat import make_assistant, start

    assistant = make_assistant(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text(CANARY, encoding="utf-8")
    ui = build_app(assistant, tmp_path / "feedback.jsonl", examples=["Q?"])
    url = start(ui).rstrip("/")
    try:
        client = Client(url + "/", verbose=False)
        for docs in (["../secret.txt"], [str(secret)], ["../../etc/passwd"], ["notes/../../secret.txt"]):
            expected = f"unknown document(s) {docs[0]}; choose from notes/hostile.md, prisons.txt"
            with pytest.raises(AppError, match=f"^{re.escape(expected)}$"):
                client.predict("What is the secret?", docs=docs, api_name="/ask")
        corpus_file = tmp_path / "corpus" / "prisons.txt"
        probes = [f"/gradio_api/file={secret}", f"/file={secret}", "/gradio_api/file=../secret.txt",
                  f"/gradio_api/file={quote(str(secret), safe='')}", "/gradio_api/file=/etc/passwd",
                  f"/gradio_api/file={corpus_file}", "/static/..%2f..%2fsecret.txt", "/assets/..%2F..%2Fsecret.txt",
                  "/gradio_api/file=..%2f..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                  f"/gradio_api/file/{secret}", f"/gradio_api/stream/{secret}"]
        with httpx.Client(timeout=10) as http:
            for path in probes:
                response = http.get(url + path)
                assert response.status_code in (403, 404), (path, response.status_code)  # refused, not served
                assert CANARY not in response.text and "root:x:0:0" not in response.text, path
                assert "Traceback" not in response.text, path
    finally:
        ui.close()


# ---------------------------------------------------------------- limits with clear messages


def test_batch_over_the_limit_is_refused_with_the_limit_named(tiny_index: Path, tmp_path: Path):
    from app.cli import main

    batch = tmp_path / "questions.txt"
    batch.write_text("Who?\n" * 10_001, encoding="utf-8")
    result = CliRunner().invoke(main, ["ask", "--index", str(tiny_index), "--batch", str(batch)])
    assert (result.exit_code, result.output) == (
        1, f"Error: {batch} has 10,001 questions; the limit per batch is 10,000\n")
    batch.write_text("Who?\n" * 3 + "\n" * 20_000, encoding="utf-8")  # blank lines do not count
    result = CliRunner().invoke(main, ["ask", "--index", str(tiny_index), "--batch", str(batch)])
    assert result.exit_code == 0 and len(result.output.splitlines()) == 3


def test_corpus_file_over_the_limit_is_refused_with_the_limit_named(tiny_corpus: Path, tmp_path: Path):
    from app.cli import main

    big = tiny_corpus / "huge.txt"
    with open(big, "wb") as f:  # sparse: 50 MiB and one byte without writing them
        f.truncate(50 * 1024 * 1024 + 1)
    args = ["index", "build", "--corpus", str(tiny_corpus), "--index", str(tmp_path / "index")]
    result = CliRunner().invoke(main, args, env={"VERBATIM_MODEL": "test/hash-embedder-64"})
    assert (result.exit_code, result.output) == (
        1, f"Error: {big}: 52,428,801 bytes is over the 52,428,800-byte limit per corpus file\n")
    assert not (tmp_path / "index").exists()


def test_over_long_question_through_the_api_gets_the_limit(tmp_path: Path):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from app.web.chat import build_app

    from .test_chat import make_assistant, start

    ui = build_app(make_assistant(tmp_path), tmp_path / "feedback.jsonl", examples=["Q?"])
    try:
        client = Client(start(ui), verbose=False)
        with pytest.raises(AppError, match="^Sorry \u2014 the question is 2,001 characters; the limit is 2,000. "
                                           "Shorten it and ask again.$"):
            client.predict("x" * 2001, api_name="/ask")
        with pytest.raises(AppError, match="^Sorry \u2014 the question contains control characters \\(U\\+0000\\); "
                                           "remove them and ask again.$"):
            client.predict("who\x00?", api_name="/ask")
    finally:
        ui.close()
