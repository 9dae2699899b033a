"""The web chat: ask the report in a browser and see every quote in its place.

`build_app` receives an already-loaded `Assistant` (or a `LiveAssistant` that follows rebuilds) and
returns a `ChatPage`: the Gradio `Blocks`, the assistant answering now and the upload routes, which
app/web/server.py mounts on one FastAPI app with the JSON API and the document viewer. Nothing here
loads a model or an index. What the page says is app/web/page.py; what it does on each event,
app/web/events.py.

The page offers two endpoints: `chat` (the streamed, rendered conversation) and `ask`, which
returns exactly the JSON object of `verbatim ask --json` (tests/web/test_chat.py calls both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import CHAT_CONCURRENCY, CHAT_MAX_QUEUE
from app.web.live import LiveAssistant, current_assistant
from app.web.page import HOW_IT_WORKS, STATIC, TITLE, BuildView, chat_examples

if TYPE_CHECKING:
    from app.answer.assistant import Assistant
    from app.web.events import ChatEvents
    from app.web.uploads import UploadRoutes


CONCURRENCY_ID = "assistant"  # the chat's two endpoints (chat, ask) share one concurrency limit; the API has its own


# ---------------------------------------------------------------- the page


@dataclass
class ChatPage:
    """A built page: the Gradio `Blocks`, the assistant answering now (for the API and the document
    viewer), and the upload routes when uploads are on. `server` is set once it is launched."""

    blocks: Any  # gradio.Blocks
    assistant: Callable[[], Assistant]  # raises `Unavailable` while a new build loads
    uploads: UploadRoutes | None = None  # `serve --allow-uploads`
    server: Any = None  # app.web.server.Served, while it runs

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.uploads is not None:
            self.uploads.shelf.close()
        self.blocks.close()


@dataclass
class Parts:
    """The page's components that events read or redraw."""

    header: Any
    shown: Any  # State: the build this page describes
    turns: Any  # State: the answered questions
    messages: Any  # State: the chat as shown
    chatbot: Any
    vote_status: Any
    textbox: Any
    new_chat: Any
    selected: Any  # the "Search only in" selector
    docs_panel: Any
    docs_list: Any
    redraw: Any = None  # with uploads: a hidden button static/uploads.js clicks once a change is answerable


def build_app(assistant: Assistant | LiveAssistant, feedback_path: Path, *, examples: list[str] | None = None,
              title: str = TITLE, concurrency_limit: int = CHAT_CONCURRENCY,
              max_queue: int = CHAT_MAX_QUEUE, uploads: UploadRoutes | None = None) -> ChatPage:
    """The chat page, queued; launch it with `launch(page, ...)`.

    With several documents a selector limits the search (`docs=`); follow-ups pass the earlier
    questions as `history=`; likes and dislikes go to `feedback_path` as JSON lines. Given a
    `LiveAssistant`, each question is answered, and its sources shown, from one build: the newest;
    the header, documents panel, selector and examples follow it on page load and after an answer.
    `uploads` (app/web/uploads.py) adds the routes and the panel that add and remove documents.
    """
    import gradio as gr

    from app.web.events import ChatEvents
    from app.web.page import build_view

    events = ChatEvents(assistant, feedback_path, examples, title)
    with gr.Blocks(title=title, analytics_enabled=False) as blocks:
        parts = lay_out(build_view(current_assistant(assistant), examples, title), uploads and uploads.mode)
        wire(blocks, parts, events, concurrency_limit)
    blocks.queue(max_size=max_queue, default_concurrency_limit=concurrency_limit)
    answering = lambda: current_assistant(assistant, wait=False)  # noqa: E731
    return ChatPage(blocks, answering, uploads)


def lay_out(first: BuildView, uploads: str | None = None) -> Parts:
    """The page's components, inside an open `gr.Blocks`: the chat on the left, documents on the right."""
    import gradio as gr

    header = gr.HTML(first.header, elem_id="vb-header", padding=False)
    shown, turns, messages = gr.State(first.build), gr.State([]), gr.State([])
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
            redraw = None
            if uploads is not None:
                from app.web.uploads import upload_panel

                with gr.Accordion("Add or remove documents", open=True, elem_id="vb-uploads"):
                    gr.HTML(upload_panel(uploads), padding=False)
                    # the documents panel, selector and examples follow an upload without a reload, which
                    # would lose the conversation; hidden by static/web.css
                    redraw = gr.Button("Redraw the documents", elem_id="vb-redraw", size="sm")
            with gr.Accordion("How it works", open=True, elem_id="vb-how"):
                gr.HTML(HOW_IT_WORKS, padding=False)
    return Parts(header, shown, turns, messages, chatbot, vote_status, textbox, new_chat, selected, docs_panel,
                 docs_list, redraw)


def wire(blocks, p: Parts, events: ChatEvents, concurrency_limit: int) -> None:
    """Connect the components to `events`, inside the open `blocks` that holds them."""
    import gradio as gr

    outputs = [p.chatbot, p.textbox, p.turns, p.messages]
    limited = {"concurrency_id": CONCURRENCY_ID, "concurrency_limit": concurrency_limit}
    redraw = {"fn": events.refresh, "inputs": [p.shown, p.selected],  # after each answer, and on page load
              "outputs": [p.shown, p.header, p.docs_panel, p.docs_list, p.selected, p.chatbot],
              "api_visibility": "private", "show_progress": "hidden", "queue": False}
    blocks.load(**redraw)  # a rebuild swapped in since the server started
    if p.redraw is not None:
        p.redraw.click(**redraw)  # an upload or removal is answerable (static/uploads.js)
    p.textbox.submit(events.converse, [p.textbox, p.selected, p.turns, p.messages], outputs, api_name="chat",
                     show_progress="hidden", **limited).then(**redraw)
    p.chatbot.example_select(events.converse_example, [p.selected, p.turns, p.messages], outputs,
                             api_visibility="private", show_progress="hidden", **limited).then(**redraw)
    p.chatbot.like(events.vote, [p.turns], p.vote_status, api_visibility="private", queue=False)
    p.chatbot.clear(events.restart, None, outputs, api_visibility="private", queue=False)
    p.new_chat.click(events.restart, None, outputs, api_visibility="private", queue=False)
    gr.api(events.ask, api_name="ask", **limited)


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
    scripts = [(STATIC / name).read_text(encoding="utf-8").strip() for name in ("web.js", "uploads.js")]
    js = "() => {\n" + "".join(f"({script}\n)();\n" for script in scripts) + "}"  # each file is one function
    return {"theme": theme, "css_paths": [STATIC / "web.css"], "js": js,
            "footer_links": ["api"], "show_error": False, "max_file_size": 0}
