"""The web chat in-process: launched on a free loopback port, called with gradio_client.

A tiny two-document corpus (one of them hostile) is indexed with the deterministic hash embedder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings
from tests.conftest import BUILD_RUNTIME

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

PRISONS = """Prison Conditions Review

The inspectors visited four prisons in the northern region during March. \
They counted 212 prisoners held in cells built for 150.

Medical care was the main complaint. Prisoners waited an average of nine days to see a doctor.

The inspectors found 14 prisoners in solitary confinement, some for more than six months.
"""
HOSTILE = """Hostile Test Notes

The warden wrote <script>alert("pwned")</script> on the visitor board.

A picture tag <img src=x onerror=alert(1)> was painted on the canteen wall.
"""
VISITS = """Prison Visits Log

The families asked one question at every visit. Who paid for the lawyers of the prisoners?

The inspectors answered that the region paid for them.
"""
EXAMPLES = ["What did the warden write on the visitor board?", "How many prisoners were held in the cells?",
            "What was painted on the canteen wall?", "How long did prisoners wait to see a doctor?",
            "Who was held in solitary confinement?"]


def write_corpus(root: Path) -> Path:
    (root / "notes").mkdir(parents=True)
    (root / "prisons.txt").write_text(PRISONS, encoding="utf-8")
    (root / "notes" / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    return root


def make_assistant(base: Path) -> Assistant:
    corpus = write_corpus(base / "corpus")
    build_index(base / "index", HashEmbedder(), corpus_dir=corpus, runtime=BUILD_RUNTIME)
    return Assistant.load(base / "index", embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.25, floor=0.25),
                          corpus_dir=corpus)


def start(page) -> str:
    """Launch `page` on a free port, on a thread of this process; its URL (`page.close()` stops it)."""
    from app.web.server import launch

    return launch(page, "127.0.0.1", None, block=False).url


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from gradio_client import Client

    from app.web.chat import build_app

    base = tmp_path_factory.mktemp("web")
    assistant = make_assistant(base)
    app = build_app(assistant, base / "feedback.jsonl", examples=EXAMPLES)
    url = start(app)
    try:
        yield assistant, Client(url, verbose=False), base / "feedback.jsonl"
    finally:
        app.close()


def last_reply(chat_output) -> str:
    messages, _textbox = chat_output
    content = messages[-1]["content"]
    return content[0]["text"] if isinstance(content, list) else content


@pytest.mark.parametrize("question, text, doc, paragraph", [
    ("How many prisoners were held in the cells?", "They counted 212 prisoners held in cells built for 150.",
     "prisons.txt", 2),
    ("How long did prisoners wait to see a doctor?", "Prisoners waited an average of nine days to see a doctor.",
     "prisons.txt", 3),
    ("What did the warden write on the visitor board?",
     'The warden wrote <script>alert("pwned")</script> on the visitor board.', "notes/hostile.md", 2),
])
def test_ask_endpoint_returns_the_cli_json(served, question, text, doc, paragraph):
    assistant, client, _ = served
    result = client.predict(question, api_name="/ask")
    assert result == assistant.ask(question).to_dict()  # what `verbatim ask --json` prints
    assert set(result) == {"question", "answered", "verdict", "confidence", "message", "quotes"}
    first = result["quotes"][0]
    assert (result["answered"], first["n"], first["text"], first["doc"], first["paragraph"], first["page"]) == (
        True, 1, text, doc, paragraph, None)
    assert assistant.index.document(doc).text[first["start"]:first["end"]] == text


@pytest.mark.parametrize("question, quote_html, source_head", [
    ("How many prisoners were held in the cells?",
     '<blockquote class="vb-quote"><a class="vb-cite" href="#vb-source?doc=prisons.txt&amp;n=1&amp;start=99&amp;'
     'end=154" title="Open source 1 in the document"><span class="vb-n">[1]</span></a> <span class="vb-text">'
     '\u201cThey counted <strong class="vb-answer-span">212</strong> '
     'prisoners held in cells built for 150.\u201d</span></blockquote>',
     '<span class="vb-doc">prisons.txt</span> <span class="vb-sep">\u00b7</span> '
     '<span class="vb-where">paragraph 2</span>'),
    ("How long did prisoners wait to see a doctor?",
     '<span class="vb-text">\u201cPrisoners waited <strong class="vb-answer-span">an average of nine days</strong> '
     'to see a doctor.\u201d</span>',
     '<span class="vb-doc">prisons.txt</span> <span class="vb-sep">\u00b7</span> '
     '<span class="vb-where">paragraph 3</span>'),
    ("What was painted on the canteen wall?",
     '<span class="vb-text">\u201cA picture tag &lt;img src=x onerror=alert(1)&gt; was painted on the canteen '
     'wall.\u201d</span>',
     '<span class="vb-doc">notes/hostile.md</span> <span class="vb-sep">\u00b7</span> '
     '<span class="vb-where">paragraph 3</span>'),
])
def test_chat_shows_quotes_and_sources(served, question, quote_html, source_head):
    _, client, _ = served
    out = client.predict(question, api_name="/chat")
    html = last_reply(out)
    assert out[1] == ""  # the question box is cleared
    assert quote_html in html
    assert '<div class="vb-sources-title">Sources</div>' in html
    assert source_head in html
    assert html.count("<mark>") == html.count('<blockquote class="vb-quote') >= 1


def test_hostile_corpus_renders_escaped(served):
    _, client, _ = served
    html = last_reply(client.predict("What did the warden write on the visitor board?", api_name="/chat"))
    assert ("<mark>The warden wrote &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; on the visitor board."
            "</mark>") in html
    assert "<script" not in html and "<img" not in html
    user = client.predict('<img src=x onerror=alert(1)> warden board?', api_name="/chat")[0][-2]["content"]
    text = user[0]["text"] if isinstance(user, list) else user
    assert text == '<div class="vb-user">&lt;img src=x onerror=alert(1)&gt; warden board?</div>'


def test_unanswered_question_says_so_with_closest_passage(served):
    _, client, _ = served
    result = client.predict("What is the capital of France?", api_name="/ask")
    assert result["answered"] is False and len(result["quotes"]) == 1
    html = last_reply(client.predict("What is the capital of France?", api_name="/chat"))
    assert html.startswith('<div class="vb-answer vb-unanswered"><p class="vb-message">The report does not appear '
                           "to answer this question.")
    assert '<div class="vb-closest-label">closest passage \u2014 not an answer</div>' in html


def test_empty_and_over_long_questions_get_a_polite_message(served):
    from gradio_client.exceptions import AppError

    _, client, _ = served
    messages, box = client.predict("   ", api_name="/chat")
    assert box == ""
    assert last_reply((messages, box)) == ('<div class="vb-notice" role="status">Sorry \u2014 the question is '
                                           "empty; type a question about the report.</div>")
    long = "why " * 600
    messages, box = client.predict(long, api_name="/chat")
    assert box == long  # kept, so it can be shortened
    assert last_reply((messages, box)) == ('<div class="vb-notice" role="status">Sorry \u2014 the question is '
                                           "2,400 characters; the limit is 2,000. Shorten it and ask again.</div>")
    with pytest.raises(AppError, match="^Sorry \u2014 the question is empty; type a question about the report.$"):
        client.predict("", api_name="/ask")


def test_follow_up_uses_the_previous_question(served):
    assistant, client, _ = served
    alone = client.predict("For how long?", api_name="/ask")
    follow = client.predict("For how long?", history=["Who was held in solitary confinement?"], api_name="/ask")
    assert follow == assistant.ask("For how long?", history=["Who was held in solitary confinement?"]).to_dict()
    assert follow["quotes"][0]["text"] == ("The inspectors found 14 prisoners in solitary confinement, some for "
                                           "more than six months.")
    assert alone["answered"] is False


def test_follow_up_in_the_chat_remembers_the_previous_turn(served):
    """Through the chat itself (`converse`): each gradio_client has its own session, so its own turns.

    "And their capacity?" alone finds nothing near it (its closest passage is the canteen wall); after the
    cells question its closest passage is the cells sentence. ("Built for how many?", asked here before
    answer spans, is now answered alone: the cells sentence holds "built for 150", a count.)
    """
    from gradio_client import Client

    from app.web.render import answer_html

    assistant, client, _ = served
    documents = {d.doc: d for d in assistant.index.documents}
    first, follow_up = "How many prisoners were held in the cells?", "And their capacity?"
    with_history = assistant.ask(follow_up, history=[first]).to_dict()
    alone = assistant.ask(follow_up).to_dict()
    assert with_history["quotes"][0]["text"] == "They counted 212 prisoners held in cells built for 150."
    assert alone["quotes"][0]["text"] == "A picture tag <img src=x onerror=alert(1)> was painted on the canteen wall."

    lone = Client(client.src, verbose=False)
    assert last_reply(lone.predict(follow_up, api_name="/chat")) == answer_html(alone, documents)

    chat = Client(client.src, verbose=False)
    chat.predict(first, api_name="/chat")
    messages, _ = chat.predict(follow_up, api_name="/chat")
    assert len(messages) == 4  # both turns stay on screen
    assert last_reply((messages, "")) == answer_html(with_history, documents)


def test_summarize_in_the_chat_shows_the_briefing_as_citations(served):
    from app.answer.briefing import briefing
    from app.web.render import answer_html, cite_html

    assistant, client, _ = served
    documents = {d.doc: d for d in assistant.index.documents}
    html = last_reply(client.predict("Summarize the report", api_name="/chat"))
    expected = assistant.ask("Summarize the report").to_dict()
    assert expected["quotes"] == [q.to_dict() for q in briefing(assistant.index).points]
    assert html == answer_html(expected, documents)
    assert all(cite_html(q) in html for q in expected["quotes"])


def test_the_page_offers_a_briefing_button_and_each_document_its_briefing(served):
    from app.answer.briefing import briefing
    from app.web.page import build_view, chat_examples
    from app.web.render import briefing_html

    assistant, _, _ = served
    assert chat_examples(EXAMPLES)[0] == {"text": "Summarize the report", "display_text": "Briefing"}
    assert chat_examples(EXAMPLES)[1:] == [{"text": q} for q in EXAMPLES]
    panel = build_view(assistant, EXAMPLES).documents
    for doc in ("prisons.txt", "notes/hostile.md"):
        points = [q.to_dict() for q in briefing(assistant.index, doc).points]
        assert points and briefing_html(points) in panel


def test_follow_up_moves_on_from_the_previous_answer(served):
    assistant, client, _ = served
    first = assistant.ask("How many prisoners were held in the cells?")
    again = assistant.ask("And those?", history=[first.question])  # leans on it: resolved, the same passage again
    # "those": the plural noun the previous question asked about, with its passive verb phrase (app/answer/resolve.py);
    # the previous answer's sentence is not shown again but marked "(quoted above)"; the text right after it
    # ("Medical care ...", its next paragraph) is offered too, its evidence above the floor
    assert [q.text for q in first.quotes] == ["They counted 212 prisoners held in cells built for 150."]
    assert again.message == ("Understood as: And the prisoners held in the cells?\n[1] (quoted above)\n"
                             "[2] \u201cThe inspectors found 14 prisoners in solitary confinement, some for more than "
                             "six months.\u201d\n[3] \u201cMedical care was the main complaint. Prisoners waited an "
                             "average of nine days to see a doctor.\u201d")
    assert again.quotes[0].text == first.quotes[0].text  # the JSON keeps the quote itself
    assert again.to_dict()["resolved_question"] == "And the prisoners held in the cells?"
    assert again.to_dict() == assistant.ask("And those?", history=[first.question],
                                            previous=[q.to_dict() for q in first.quotes]).to_dict()
    assert client.predict("And those?", history=[first.question], api_name="/ask") == again.to_dict()
    assert assistant.ask("And those?", history=[first.question], previous=[]).message.startswith(
        "Understood as: And the prisoners held in the cells?\n[1] \u201c")

    # within 0.05 of the best, a sentence the previous answer did not quote comes first; the score is unchanged
    asked = "What did the inspectors find in the prisons?"
    quoted = assistant.ask(asked).quotes[1].to_dict()
    assert quoted["paragraph"] == 4
    plain = assistant.ask("What did they find?", history=[asked], previous=[])
    moved = assistant.ask("What did they find?", history=[asked], previous=[quoted])
    assert [q.paragraph for q in plain.quotes] == [4, 2, 3] and [q.paragraph for q in moved.quotes] == [2, 4, 3]
    assert {q.paragraph: q.score for q in plain.quotes} == {q.paragraph: q.score for q in moved.quotes}
    assert 0 < plain.quotes[0].score - plain.quotes[1].score < 0.05  # within the margin: paragraph 4 gives way
    assert moved.message.splitlines()[:3:2] == ["Understood as: What did the inspectors find?", "[2] (quoted above)"]
    assert (moved.verdict, moved.confidence) == (plain.verdict, plain.confidence)  # the verdict is not moved


def test_document_viewer_route(served):
    import httpx

    assistant, client, _ = served
    base = client.src.rstrip("/")
    doc = assistant.index.document("notes/hostile.md")
    start = doc.text.index("The warden")
    reply = httpx.get(f"{base}/vb/document", params={"doc": "notes/hostile.md", "focus": "1",
                                                      "q": [f"1:{start}:{start + 10}", "2:0:7"]})
    assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store"
    assert reply.text.startswith('<article class="vb-viewer-doc"><header class="vb-viewer-head"><h2 '
                                 'id="vb-viewer-title">Hostile Test Notes</h2>')
    assert '<mark class="vb-hl vb-focus" id="vb-focus" tabindex="-1">The warden</mark>' in reply.text
    assert '<mark class="vb-hl vb-other">Hostile</mark>' in reply.text
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in reply.text and "<script" not in reply.text
    missing = httpx.get(f"{base}/vb/document", params={"doc": "../etc/passwd"})
    assert (missing.status_code, missing.text) == (404, '<div class="vb-notice" role="status">Sorry \u2014 there is '
                                                        "no document &#x27;../etc/passwd&#x27; in the index.</div>")
    bad = httpx.get(f"{base}/vb/document", params={"doc": "prisons.txt", "q": "1:5:99999"})
    assert (bad.status_code, bad.text) == (400, '<div class="vb-notice" role="status">Sorry \u2014 quote '
                                                "&#x27;1:5:99999&#x27; lies outside the document (0..342).</div>")


def test_document_filter(served):
    from gradio_client.exceptions import AppError

    _, client, _ = served
    result = client.predict("How many prisoners were held in the cells?", docs=["notes/hostile.md"], api_name="/ask")
    assert {q["doc"] for q in result["quotes"]} == {"notes/hostile.md"}
    with pytest.raises(AppError, match="unknown document\\(s\\) nope.txt; choose from notes/hostile.md, prisons.txt"):
        client.predict("Anything?", docs=["nope.txt"], api_name="/ask")


def test_a_long_conversation_carries_its_latest_questions_and_keeps_answering(tmp_path: Path):
    """The chat sends the last MAX_HISTORY questions as history: its 12th question is answered, not refused
    for a history over the API's limit."""
    from app.settings import MAX_HISTORY
    from app.web.events import ChatEvents

    events = ChatEvents(make_assistant(tmp_path), tmp_path / "feedback.jsonl")
    turns, messages = [], []
    for i in range(MAX_HISTORY + 2):
        *_, (messages, _, turns, _) = events.converse(f"How many prisoners were held in the cells? ({i})", None,
                                                      turns, messages)
    assert len(turns) == MAX_HISTORY + 2
    assert [t["answer"]["quotes"][0]["text"] for t in turns[-1:]] == [
        "They counted 212 prisoners held in cells built for 150."]
