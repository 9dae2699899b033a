"""What the chat page does on each event: ask, pick an example, vote, start over, redraw after a rebuild.

`ChatEvents` holds what the handlers share (the assistant to follow, the feedback log, the given
examples); app/web/chat.py wires its methods to the page's components. Imported only when a page is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from app.answer.question import validate_question
from app.errors import QuestionError, VerbatimError
from app.settings import MAX_HISTORY
from app.web.feedback import FeedbackLog
from app.web.live import current_assistant
from app.web.page import TITLE, build_id, build_view, chat_examples, polite
from app.web.render import answer_html, notice_html, pending_html, user_html, vote_html

if TYPE_CHECKING:
    from app.answer.assistant import Assistant
    from app.web.live import LiveAssistant

REDRAWN = 6  # outputs of `refresh`: shown build, header, documents panel, documents list, selector, chatbot


class ChatEvents:
    """The page's event handlers over one assistant (or a `LiveAssistant` that follows rebuilds)."""

    def __init__(self, assistant: Assistant | LiveAssistant, feedback_path: Path,
                 examples: list[str] | None = None, title: str = TITLE) -> None:
        self._current = lambda: current_assistant(assistant)
        first = self._current()
        self._served = (first, {d.doc: d for d in first.index.documents})  # the build answering now, its documents
        self.feedback = FeedbackLog(feedback_path)
        self.examples, self.title = examples, title
        self.max_chars = first.settings.max_question_chars

    def answerer(self) -> tuple[Assistant, dict]:
        """The assistant answering now and its documents by name (re-read when a rebuild was swapped in)."""
        now = self._current()
        if self._served[0] is not now:
            self._served = (now, {d.doc: d for d in now.index.documents})
        return self._served

    def converse(self, message: str, selected: list[str] | None, turns: list[dict], messages: list[dict]) -> Iterator:
        """Stream one exchange: the question, a searching note, the quotes one by one, then the sources."""
        messages, turns = list(messages or []), list(turns or [])
        message = message if isinstance(message, str) else ""
        try:
            question = validate_question(message, self.max_chars)
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
        history = [t["question"] for t in turns][-MAX_HISTORY:]  # a long conversation carries its latest
        answering, documents = self.answerer()
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

    def converse_example(self, selected, turns, messages, evt: gr.SelectData) -> Iterator:
        """An example question clicked in the empty chat: asked as if typed."""
        value = evt.value if isinstance(evt.value, dict) else {"text": str(evt.value)}
        yield from self.converse(value.get("text", ""), selected, turns, messages)

    def vote(self, turns: list[dict], data: gr.LikeData) -> str:
        """Record a like or dislike and say so under the chat (a withdrawn vote clears the line)."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = next((t for t in turns or [] if t["index"] == index), None)
        if turn is None or data.liked not in (True, False):
            return ""  # a notice, or a vote withdrawn
        self.feedback.record(turn["question"], turn["answer"]["quotes"], "like" if data.liked else "dislike",
                             answered=turn["answer"]["answered"], docs=turn["docs"])
        return vote_html(bool(data.liked), turn["question"])

    def ask(self, question: str, docs: list[str] | None = None, history: list[str] | None = None) -> dict:
        """Answer a question by quoting the report: the same JSON object as `verbatim ask --json`."""
        answering, _ = self.answerer()
        unknown = answering.index.unknown_documents(docs)
        if unknown:
            raise gr.Error(unknown, title="Unknown document", print_exception=False)
        try:
            return answering.ask(question, docs=docs or None, history=list(history or [])).to_dict()
        except QuestionError as exc:
            raise gr.Error(polite(exc), title="Question not asked", print_exception=False) from None

    def refresh(self, shown: str, chosen: list[str] | None) -> tuple:
        """Redraw what the page says about the index if a rebuild was swapped in since it was drawn."""
        answering, documents = self.answerer()
        if build_id(answering) == shown:
            return (gr.skip(),) * REDRAWN
        now = build_view(answering, self.examples, self.title)
        return (now.build, gr.HTML(now.header), gr.Accordion(label=now.documents_label), gr.HTML(now.documents),
                gr.Dropdown(choices=now.choices, value=[d for d in chosen or [] if d in documents],
                            visible=len(now.choices) > 1),
                gr.Chatbot(examples=chat_examples(now.examples)))

    @staticmethod
    def restart() -> tuple[list, str, list, list]:
        """A new conversation: empty chat, empty box, no turns, no messages."""
        return [], "", [], []
