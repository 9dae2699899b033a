"""The web chat: ask the report in a browser and see every quote in its place.

`build_app` receives an already-loaded `Assistant` and returns a Gradio `Blocks`; nothing here
loads a model or an index at import time. `verbatim serve` (app/web/serve.py) builds the index if it
is missing or stale, loads the assistant, and launches the app on http://127.0.0.1:7860, with the
JSON API of app/web/api.py at /api/v1.

The page offers two endpoints: `chat` (the streamed, rendered conversation) and `ask`, which
returns exactly the JSON object of `verbatim ask --json`:

>>> from gradio_client import Client  # doctest: +SKIP
>>> Client("http://127.0.0.1:7860/").predict("Who is Aron Atabek?", [], [], api_name="/ask")  # doctest: +SKIP
{'question': 'Who is Aron Atabek?', 'answered': True, 'message': '[1] “We have ...', 'quotes': [...]}
"""

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import QuestionError, VerbatimError
from app.web.feedback import FeedbackLog
from app.web.render import (
    DocumentRow,
    answer_html,
    documents_html,
    guess_title,
    header_html,
    notice_html,
    pending_html,
    user_html,
    vote_html,
)

if TYPE_CHECKING:  # the CLI imports this module for every command: keep it light
    from app.answer.assistant import Assistant

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
TITLE = "Ask the report"
DESCRIPTION = ("Every answer is quoted word for word from the report and numbered to its place; it does not "
               "summarise or use outside knowledge, and says so plainly when the report has no answer.")
HOW_IT_WORKS = (
    '<ul class="vb-how">'
    "<li><strong>Quotes, not summaries.</strong> An answer is the report\u2019s own sentences. Each [n] opens "
    "the whole document at the quote; the sources below the answer show each quote in its paragraph.</li>"
    "<li><strong>Honest gaps.</strong> When the report does not answer, it says so and shows the closest passage, "
    "marked as not an answer.</li>"
    "<li><strong>Follow-ups.</strong> A short question, or one saying \u201che\u201d, \u201cit\u201d or "
    "\u201cthat\u201d, is searched together with your previous question, and prefers passages the previous "
    "answer did not quote.</li>"
    "<li><strong>Feedback.</strong> The thumbs under an answer record whether it helped.</li>"
    "</ul>")
CONCURRENCY_ID = "assistant"  # the chat and the API share one concurrency limit
# measured (docs/performance.md, three sweeps at 20 users on 2 cores): 2 at once was never the worst and
# near the best in each (1 won only under load average 16, lost on a quieter machine); 64 waiting is ~5 s
CHAT_CONCURRENCY = 2
CHAT_MAX_QUEUE = 64
PAGE_MAX_BODY_BYTES = 256 * 1024
PANEL_BRIEFING_DOCS = 20  # the documents panel shows each document's briefing up to this many documents
BRIEFING_QUESTION = "Summarize the report"  # what the "Briefing" button asks (app/answer/intents.py routes it)  # a question is at most 2,000 characters; the chat takes no files


# ---------------------------------------------------------------- what the page says


def report_label(assistant: "Assistant") -> str:
    """The report's title, or a count of documents for a collection."""
    docs = assistant.index.documents
    if len(docs) == 1:
        return guess_title(docs[0])
    more = "; \u2026" if len(docs) > 3 else ""
    return f"{len(docs)} documents: " + "; ".join(guess_title(d) for d in docs[:3]) + more


def default_examples(assistant: "Assistant", count: int = 5) -> list[str]:
    """Curated questions for a known report, else ones found in the corpus (app/answer/examples.py)."""
    from app.answer.examples import default_examples as examples_for

    return examples_for(assistant.index, count)


def document_rows(assistant: "Assistant") -> list[DocumentRow]:
    """The documents panel's rows; each carries its briefing while the index holds few enough documents."""
    from app.answer.briefing import briefing

    chunks: dict[str, int] = {}
    for c in assistant.index.chunks:
        chunks[c.doc] = chunks.get(c.doc, 0) + 1
    indexed = assistant.index.manifest.get("created_at", "")
    docs = assistant.index.documents
    briefed = len(docs) <= PANEL_BRIEFING_DOCS
    return [DocumentRow(d.doc, guess_title(d), d.size_bytes, chunks.get(d.doc, 0), indexed,
                        tuple(q.to_dict() for q in briefing(assistant.index, d.doc).points) if briefed else ())
            for d in docs]


def chat_examples(examples: list[str]) -> list[dict]:
    """The chat's example buttons: "Briefing" (the report's key passages) first, then the example questions."""
    return [{"text": BRIEFING_QUESTION, "display_text": "Briefing"}, *({"text": q} for q in examples)]


def build_id(assistant: "Assistant") -> str:
    """The build folder an assistant answers from: a rebuild swaps in a new one (see app/index/store.py)."""
    return os.path.realpath(assistant.index.path)


@dataclass(frozen=True)
class PageFurniture:
    """What the page says about the index it answers from: redrawn when a rebuild is swapped in."""

    build: str
    header: str
    documents_label: str
    documents: str
    choices: list[tuple[str, str]]  # (label, document name) for the "Search only in" selector
    examples: list[str]


def page_furniture(assistant: "Assistant", examples: list[str] | None = None, title: str = TITLE) -> PageFurniture:
    """The header, documents panel, selector choices and example questions for one build.

    Given `examples` (`--examples FILE`) are kept; otherwise they come from the build's documents."""
    docs = assistant.index.documents
    return PageFurniture(
        build=build_id(assistant),
        header=header_html(title, report_label(assistant), DESCRIPTION),
        documents_label=f"Documents in the index ({len(docs)})",
        documents=documents_html(document_rows(assistant)),
        choices=[(f"{guess_title(d)} ({d.doc})", d.doc) for d in docs],
        examples=(examples or default_examples(assistant))[:5],
    )


def polite(exc: Exception) -> str:
    """A `QuestionError` as a sentence for the chat: 'Sorry — the question is empty; ...'."""
    text = str(exc).rstrip(".")
    return f"Sorry \u2014 {text}."


# ---------------------------------------------------------------- following rebuilds


class LiveAssistant:
    """The assistant of an index folder that follows its rebuilds while the chat is serving.

    `index_dir` is a link to the current build (see app/index/store.py). `current()` reads that link once
    per question; until a rebuild swaps in a new build, the old one answers; then one thread loads
    the new build while the questions that arrive meanwhile wait for it, and the switch is one
    assignment. A new build that does not
    load, was built with another model, or no longer matches the corpus is refused (logged once)
    and the old one keeps answering: never an answer from a mismatched index.

    >>> live = LiveAssistant(assistant, Path("index/default"), corpus_dir=Path("corpus"))  # doctest: +SKIP
    >>> live.current().ask("Who is Aron Atabek?")  # doctest: +SKIP
    """

    def __init__(self, assistant: "Assistant", index_dir: Path, corpus_dir: Path | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.corpus_dir = corpus_dir
        self._state = (os.path.realpath(self.index_dir), assistant)  # (build folder, its assistant)
        self._refused: str | None = None
        self._loading = threading.Lock()

    def current(self, wait: bool = True) -> "Assistant":
        """The assistant of the newest complete build.

        A question that sees a new build waits while one thread loads it (a fraction of a second
        for a report), so once a build is swapped in, no answer comes from the previous one. With
        `wait=False` (the HTTP API) it raises `Unavailable` instead of waiting for another thread's load."""
        target = os.path.realpath(self.index_dir)
        loaded, assistant = self._state
        if target in (loaded, self._refused):
            return assistant
        if not self._loading.acquire(blocking=wait):
            from app.web.api import Unavailable

            raise Unavailable("a new build of the index is being loaded; try again in a moment")
        try:
            return self._switch(target)
        finally:
            self._loading.release()

    def _switch(self, target: str) -> "Assistant":
        from app.answer.loading import load_served

        loaded, old = self._state
        if target in (loaded, self._refused):  # another thread got here first
            return old
        try:
            fresh = load_served(Path(target), old.embedder, old.settings, self.corpus_dir)
        except VerbatimError as exc:
            log.warning("still answering from %s; the new build is refused: %s", loaded, exc)
            self._refused = target
            return old
        self._state = (target, fresh)
        log.info("now answering from the new build %s", target)
        return fresh


def current_assistant(assistant: "Assistant | LiveAssistant", wait: bool = True) -> "Assistant":
    return assistant.current(wait) if isinstance(assistant, LiveAssistant) else assistant


# ---------------------------------------------------------------- the app


def build_app(assistant: "Assistant | LiveAssistant", feedback_path: Path, *, examples: list[str] | None = None,
              title: str = TITLE, concurrency_limit: int = CHAT_CONCURRENCY, max_queue: int = CHAT_MAX_QUEUE):
    """The chat page as a Gradio `Blocks`, queued; launch it with `launch(app, ...)`.

    With several documents a selector limits the search (`docs=`); follow-ups pass the earlier
    questions as `history=`; likes and dislikes go to `feedback_path` as JSON lines. Given a
    `LiveAssistant`, each question is answered, and its sources shown, from one build: the newest;
    the header, documents panel, selector and examples follow it on page load and after an answer.
    """
    import gradio as gr

    from app.answer.assistant import validate_question

    live, assistant = assistant, current_assistant(assistant)
    feedback = FeedbackLog(feedback_path)
    served = [(assistant, {d.doc: d for d in assistant.index.documents})]  # the build answering now, its documents

    def answerer() -> tuple["Assistant", dict]:
        now = current_assistant(live)
        if served[-1][0] is not now:
            served[-1] = (now, {d.doc: d for d in now.index.documents})
        return served[-1]
    first = page_furniture(assistant, examples, title)
    max_chars = assistant.settings.max_question_chars

    def converse(message: str, selected: list[str] | None, turns: list[dict], messages: list[dict]) -> Iterator:
        """Stream one exchange: the question, a searching note, the quotes one by one, then the sources."""
        messages, turns = list(messages or []), list(turns or [])
        message = message if isinstance(message, str) else ""
        try:
            question = validate_question(message, max_chars)
        except QuestionError as exc:
            if message.strip():
                messages.append({"role": "user", "content": user_html(message)})
            messages.append({"role": "assistant", "content": notice_html(polite(exc))})
            # an over-long question stays in the box so it can be shortened
            yield messages, (message if message.strip() else ""), turns, messages
            return
        messages.append({"role": "user", "content": user_html(question)})
        messages.append({"role": "assistant", "content": pending_html()})
        yield messages, "", turns, messages
        history = [t["question"] for t in turns]
        answering, documents = answerer()
        docs = [d for d in (selected or []) if d in documents] or None
        try:
            previous = turns[-1]["answer"]["quotes"] if turns else None  # a follow-up moves on from these
            answer = answering.ask(question, docs=docs, history=history, previous=previous).to_dict()
        except VerbatimError as exc:
            messages[-1] = {"role": "assistant", "content": notice_html(polite(exc))}
            yield messages, "", turns, messages
            return
        for shown in range(1, len(answer["quotes"]) + 1):
            messages[-1] = {"role": "assistant", "content": answer_html(answer, documents, shown, sources=False)}
            yield messages, "", turns, messages
        messages[-1] = {"role": "assistant", "content": answer_html(answer, documents)}
        turns.append({"index": len(messages) - 1, "question": question, "docs": docs, "answer": answer})
        yield messages, "", turns, messages

    def converse_example(selected, turns, messages, evt: gr.SelectData):
        value = evt.value if isinstance(evt.value, dict) else {"text": str(evt.value)}
        yield from converse(value.get("text", ""), selected, turns, messages)

    def vote(turns: list[dict], data: gr.LikeData) -> str:
        """Record a like or dislike and say so under the chat (a withdrawn vote clears the line)."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = next((t for t in turns or [] if t["index"] == index), None)
        if turn is None or data.liked not in (True, False):
            return ""  # a notice, or a vote withdrawn
        feedback.record(turn["question"], turn["answer"]["quotes"], "like" if data.liked else "dislike",
                        answered=turn["answer"]["answered"], docs=turn["docs"])
        return vote_html(bool(data.liked), turn["question"])

    def ask(question: str, docs: list[str] | None = None, history: list[str] | None = None) -> dict:
        """Answer a question by quoting the report: the same JSON object as `verbatim ask --json`."""
        answering, documents = answerer()
        unknown = sorted(set(docs or []) - set(documents))
        if unknown:
            raise gr.Error(f"unknown document(s) {', '.join(unknown)}; choose from {', '.join(documents)}",
                           title="Unknown document", print_exception=False)
        try:
            return answering.ask(question, docs=docs or None, history=list(history or [])).to_dict()
        except QuestionError as exc:
            raise gr.Error(polite(exc), title="Question not asked", print_exception=False) from None

    def refresh(shown: str, chosen: list[str] | None) -> tuple:
        """Redraw what the page says about the index if a rebuild was swapped in since it was drawn."""
        answering, documents = answerer()
        if build_id(answering) == shown:
            return (gr.skip(),) * 6
        now = page_furniture(answering, examples, title)
        return (now.build, gr.HTML(now.header), gr.Accordion(label=now.documents_label), gr.HTML(now.documents),
                gr.Dropdown(choices=now.choices, value=[d for d in chosen or [] if d in documents],
                            visible=len(now.choices) > 1),
                gr.Chatbot(examples=chat_examples(now.examples)))

    def restart():
        return [], [], [], ""

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        header = gr.HTML(first.header, elem_id="vb-header", padding=False)
        shown = gr.State(first.build)  # the build this page describes
        turns = gr.State([])
        messages = gr.State([])
        with gr.Row(equal_height=False, elem_id="vb-main"):
            with gr.Column(scale=3, min_width=320, elem_id="vb-chat-column"):
                chatbot = gr.Chatbot(  # no height of its own: the chat grows with the page (static/web.css)
                    elem_id="vb-chat", show_label=False, height=None, layout="panel",
                    sanitize_html=True, render_markdown=True, line_breaks=False, latex_delimiters=[],
                    feedback_options=("Like", "Dislike"), buttons=["copy"], autoscroll=False,  # static/web.js scrolls
                    examples=chat_examples(first.examples),
                    placeholder=('<div class="vb-placeholder"><strong>Ask anything about the report.</strong><br>'
                                 "Answers are its own sentences, each with a [n] that opens the document where it "
                                 "says it. Try one of these:</div>"),
                )
                with gr.Column(elem_id="vb-composer"):  # sticks to the bottom of the window
                    vote_status = gr.HTML("", elem_id="vb-vote-status", padding=False)
                    textbox = gr.Textbox(  # focused by static/web.js on wide screens only (a phone would scroll)
                        elem_id="vb-question", label="Your question about the report", show_label=False, lines=1,
                        max_lines=5, autofocus=False, placeholder="Ask a question about the report\u2026",
                        submit_btn="Ask",
                    )
                with gr.Row(elem_id="vb-actions"):
                    gr.HTML('<p class="vb-hint">Press Enter to ask. A follow-up such as \u201cHow long was he '
                            'held?\u201d builds on your previous question and its answer.</p>', padding=False)
                    new_chat = gr.Button("New conversation", size="sm", variant="secondary", scale=0,
                                         min_width=150, elem_id="vb-new")
            with gr.Column(scale=1, min_width=260, elem_id="vb-side"):
                selected = gr.Dropdown(  # shown once the index holds several documents
                    choices=first.choices, value=[], multiselect=True, visible=len(first.choices) > 1,
                    label="Search only in", info="Leave empty to search every document.", elem_id="vb-docs-filter",
                )
                with gr.Accordion(first.documents_label, open=True, elem_id="vb-docs-panel") as docs_panel:
                    docs_list = gr.HTML(first.documents, padding=False)
                with gr.Accordion("How it works", open=True, elem_id="vb-how"):
                    gr.HTML(HOW_IT_WORKS, padding=False)

        outputs = [chatbot, textbox, turns, messages]
        limited = {"concurrency_id": CONCURRENCY_ID, "concurrency_limit": concurrency_limit}
        redraw = {"fn": refresh, "inputs": [shown, selected],  # after each answer, and on page load
                  "outputs": [shown, header, docs_panel, docs_list, selected, chatbot],
                  "api_visibility": "private", "show_progress": "hidden", "queue": False}
        app.load(**redraw)  # a rebuild swapped in since the server started
        textbox.submit(converse, [textbox, selected, turns, messages], outputs, api_name="chat",
                       show_progress="hidden", **limited).then(**redraw)
        chatbot.example_select(converse_example, [selected, turns, messages], outputs, api_visibility="private",
                               show_progress="hidden", **limited).then(**redraw)
        chatbot.like(vote, [turns], vote_status, api_visibility="private", queue=False)
        chatbot.clear(restart, None, outputs, api_visibility="private", queue=False)
        new_chat.click(restart, None, outputs, api_visibility="private", queue=False)
        gr.api(ask, api_name="ask", **limited)

    app.queue(max_size=max_queue, default_concurrency_limit=concurrency_limit)
    from app.web.api import create_api

    app.verbatim_assistant = lambda: current_assistant(live, wait=False)  # for the API and the document viewer
    app.verbatim_api = create_api(app.verbatim_assistant)  # mounted by `launch`
    return app


def page_options() -> dict:
    """How the page looks and what the server accepts, for `launch` and for workers' `mount_gradio_app`:
    system fonts, no footer but the API link, no error details, and no uploads (`max_file_size` 0)."""
    import gradio as gr

    # system fonts only: a Google font would be fetched from the internet on every page load
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                           font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]).set(
        # WCAG AA (4.5:1): the Soft theme's subdued slate-400 text is about 2.5:1 on white
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        input_placeholder_color="*neutral_500", input_placeholder_color_dark="*neutral_400",
        block_label_text_color="*primary_700", block_label_text_color_dark="*primary_200",
        block_title_text_color="*primary_700", block_title_text_color_dark="*primary_200")
    return {"theme": theme, "css_paths": [STATIC / "web.css"], "js": (STATIC / "web.js").read_text(encoding="utf-8"),
            "footer_links": ["api"], "show_error": False, "max_file_size": 0}


def server_parts(app) -> dict:
    """FastAPI arguments that put the JSON API at /api/v1, the document viewer's HTML at /vb/document, and
    the body and upload limits in front of the chat."""
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route

    from app.web.api import API_PREFIX, Limits
    from app.web.viewer import DOCUMENT_ROUTE, document_response

    routes = [Mount(API_PREFIX, app.verbatim_api)] if getattr(app, "verbatim_api", None) is not None else []
    if getattr(app, "verbatim_assistant", None) is not None:
        routes.append(Route(DOCUMENT_ROUTE, document_response(app.verbatim_assistant), methods=["GET"]))
    return {"routes": routes, "middleware": [Middleware(Limits, max_body=PAGE_MAX_BODY_BYTES, max_waiting=None,
                                                        refuse=("/gradio_api/upload", "/upload"))]}


def launch(app, host: str = "127.0.0.1", port: int = 7860, **kwargs):
    """Launch with the app's look and the JSON API, no share link, no analytics; returns Gradio's
    (app, local_url, share_url)."""
    return app.launch(server_name=host, server_port=port, share=False, app_kwargs=server_parts(app),
                      **page_options(), **kwargs)
