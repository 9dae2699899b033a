"""The plain HTTP API beside the chat: JSON in, the JSON of `verbatim ask --json` out.

    POST /api/v1/ask        {"question", "k", "docs", "history"} -> the object `verbatim ask --json` prints
    POST /api/v1/search     the same body -> the object `verbatim search --json` prints
    GET  /api/v1/brief      ?doc=NAME&words=N -> the object `verbatim brief --json` prints
    GET  /api/v1/documents  the indexed documents
    GET  /api/v1/health     200 once the index and model are loaded, 503 before or while a new build loads
    GET  /api/v1/docs       the OpenAPI page (schema at /api/v1/openapi.json)

Every error is JSON, `{"error": "<one line>", "status": <code>}`, never a traceback: 400 for an
empty question, control characters or an unknown document; 413 for an over-long question or a
body over 64 KB; 422 for a malformed body; 503 while loading, while a new build is swapped in,
or when too many requests are already waiting (with `Retry-After`).

`create_api` receives a zero-argument callable that returns the `Assistant` answering now (or
raises `Unavailable`); it loads nothing itself.

    httpx.post("http://127.0.0.1:7860/api/v1/ask", json={"question": "Who is Aron Atabek?"}).json()
    {'question': 'Who is Aron Atabek?', 'answered': True, 'message': '[1] “We have ...', 'quotes': [...]}

(tests/web/test_api.py calls every route and checks every error above)
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.answer.batching import MAX_BATCH
from app.errors import QuestionError, VerbatimError
from app.settings import MAX_CORPUS_FILE_BYTES, MAX_QUESTION_CHARS
from app.web.api_schema import MAX_HISTORY, MAX_K, QUESTION_PATTERN, error_responses, question_status

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.answer.assistant import Assistant

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
UPLOAD_MAX_BODY_BYTES = MAX_CORPUS_FILE_BYTES + 64 * 1024  # one document and its multipart envelope
MAX_WAITING = 256  # requests in flight in one process before it answers 503 "busy"
# questions answered at once; the rest wait their turn. As many as the batching queue's largest batch
# (app/answer/batching.py), so a batch can fill; at 4 (before batching) no batch could pass 4
ANSWERING_THREADS = MAX_BATCH
RETRY_AFTER_SECONDS = 1
BUSY = "the server is busy; try again in a moment"


class Query(BaseModel):
    """A question, as `verbatim ask` takes it. The schema is what the server enforces (app/web/api_schema.py)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # strict: "5" is not a `k`, as the schema says
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=QUESTION_PATTERN,
                          description=f"The question: 1 to {MAX_QUESTION_CHARS:,} characters, not only white "
                                      "space, no control characters but tab and line breaks.")
    k: int | None = Field(None, ge=1, le=MAX_K, description="How many quotes (ask) or passages (search).")
    docs: list[str] | None = Field(None, description="Search only these documents (names from /documents).")
    history: Annotated[list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)]] | None,
                       Field(max_length=MAX_HISTORY)] = Field(
        None, description="Earlier questions of the conversation, oldest first, for follow-ups.")
    per_document: bool | None = Field(
        None, description="ask: the best quote of each document that answers (default: when the question asks "
                          "what each report says).")

    @field_validator("k", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        """2.0 is the integer 2 in JSON Schema; "2" and 2.5 stay refused."""
        return int(value) if isinstance(value, float) and value.is_integer() else value


class Unavailable(VerbatimError):
    """The index is loading, or a new build is being swapped in: the client should retry (503)."""


class Slot:
    """Where the answering assistant appears once loaded; until then every call raises `Unavailable`.

    >>> slot = Slot()
    >>> slot.ready
    False
    """

    def __init__(self, source: Callable[[], Assistant] | None = None) -> None:
        self._source = source

    def fill(self, source: Callable[[], Assistant]) -> None:
        self._source = source

    @property
    def ready(self) -> bool:
        return self._source is not None

    def __call__(self) -> Assistant:
        if self._source is None:
            raise Unavailable("the index and model are still loading; try again in a few seconds")
        return self._source()


def replaying(receive, body: bytes, more: bool = False):
    """An ASGI `receive` that first hands back a body already read, then defers to the real one."""
    replayed = False

    async def replay():
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay


class Limits:
    """ASGI middleware: a body over `max_body` bytes gets 413 before it is read whole (a declared
    Content-Length at once, a chunked body as it arrives); beyond `max_waiting` requests in flight,
    503 "busy" with Retry-After; a POST to a path ending in one of `refuse` gets 413 unread (the
    chat takes no files, so Gradio's upload route stores nothing)."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES, max_waiting: int | None = MAX_WAITING,
                 refuse: tuple[str, ...] = (), large: tuple[str, ...] = ()) -> None:
        self.app, self.max_body, self.max_waiting, self.refuse = app, max_body, max_waiting, refuse
        self.large = large  # paths whose bodies (document uploads) may reach UPLOAD_MAX_BODY_BYTES, streamed through
        self.in_flight = 0
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"].rstrip("/").endswith(self.refuse):
            await _error(413, "this server accepts no file uploads")(scope, receive, send)
            return
        if self.large and scope["method"] == "POST" and scope["path"].rstrip("/") in self.large:
            await self._upload(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _error(413, f"the request body is over {self.max_body:,} bytes")(scope, receive, send)
            return
        with self._lock:
            busy = self.max_waiting is not None and self.in_flight >= self.max_waiting
            if not busy:
                self.in_flight += 1
        if busy:
            await _error(503, BUSY, **{"Retry-After": str(RETRY_AFTER_SECONDS)})(scope, receive, send)
            return
        try:
            if scope["method"] in ("POST", "PUT", "PATCH"):
                body = b""
                more = True
                while more:  # read the (small) body first, refusing it as soon as it is too long
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                    if len(body) > self.max_body:
                        await _error(413, f"the request body is over {self.max_body:,} bytes")(scope, receive, send)
                        return
                await self.app(scope, replaying(receive, body), send)
            else:
                await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1


    async def _upload(self, scope, receive, send) -> None:
        """A document upload: a declared length over the limit is refused unread; the body is streamed
        to the route (Starlette's form parser spools it), counted, and cut off past the limit."""
        limit = UPLOAD_MAX_BODY_BYTES
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _error(413, f"the upload is over {limit:,} bytes")(scope, receive, send)
            return
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ValueError(f"the upload is over {limit:,} bytes")
            return message

        await self.app(scope, counted, send)


def _error(status: int, message: str, **headers: str):
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers or None)


def _question_error(exc) -> tuple[int, str] | None:
    """400 or 413 for a body whose only fault is its question (empty, control characters, too long)."""
    errors = list(exc.errors())
    body = getattr(exc, "body", None)
    if not errors or not isinstance(body, dict) or any(tuple(e.get("loc", ()))[:2] != ("body", "question")
                                                       or e.get("type") == "string_type" for e in errors):
        return None
    return question_status(body.get("question"))


def _validation_message(errors: list[dict]) -> str:
    """Pydantic's errors as one line: 'question: Field required; k: Input should be ...'."""
    parts = []
    if any(e.get("type") == "json_invalid" for e in errors):
        return "malformed request body (not valid JSON)"
    for e in errors[:5]:
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query")) or "body"
        given = f" (got {e['input']!r})" if e.get("loc", ("",))[0] == "query" and "input" in e else ""
        parts.append(f"{where}: {e.get('msg', 'invalid')}{given}")
    what = "query parameter" if all(e.get("loc", ("",))[0] == "query" for e in errors) else "request body"
    return f"malformed {what} (" + "; ".join(parts) + ")"


def _handle_errors(api: FastAPI) -> None:
    """Every error as `{"error": one line, "status": code}`: 422 malformed, 503 unavailable, 500 unexpected."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @api.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError):
        refused = _question_error(exc)
        if refused is not None:
            return _error(*refused)
        return _error(422, _validation_message(list(exc.errors())))

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail), **(exc.headers or {}))  # 405 keeps its Allow header

    @api.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable):
        return _error(503, str(exc), **{"Retry-After": str(RETRY_AFTER_SECONDS)})

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("API request %s failed", request.url.path)
        return _error(500, "internal error; the server log has the details")


def create_api(source: Callable[[], Assistant], *, max_waiting: int = MAX_WAITING,
               answering_threads: int = ANSWERING_THREADS) -> FastAPI:
    """The API as a FastAPI app, to mount at `API_PREFIX` (`app/web/chat.py` mounts it on the chat's server)."""
    import anyio
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from app import __version__

    api = FastAPI(title="Verbatim API", version=__version__, docs_url="/docs", redoc_url=None,
                  description="Answers quoted verbatim from the report, each with an exact citation.")
    limiter = anyio.CapacityLimiter(answering_threads)

    _handle_errors(api)
    api.add_middleware(Limits, max_body=MAX_BODY_BYTES, max_waiting=max_waiting)

    def current() -> Assistant:
        return source()

    def answer(kind: str, query: Query):
        assistant = current()
        unknown = assistant.index.unknown_documents(query.docs)
        if unknown:
            return _error(400, unknown)
        call = assistant.ask if kind == "ask" else assistant.search
        extra = {"per_document": query.per_document} if kind == "ask" else {}
        try:
            result = call(query.question, k=query.k, docs=query.docs or None, history=list(query.history or []),
                          **extra).to_dict()
        except QuestionError as exc:
            over = len(query.question.strip()) > assistant.settings.max_question_chars
            return _error(413 if over else 400, str(exc))
        # the JSON as FastAPI would write the dict, without its jsonable_encoder walk (plain JSON types already)
        return JSONResponse(result)

    async def run(kind: str, query: Query):
        return await anyio.to_thread.run_sync(answer, kind, query, limiter=limiter)

    errors = error_responses(400, 405, 413, 422, 503)
    _declare_documents(api, current)

    @api.post("/ask", responses=errors, summary="Answer a question by quoting the report")
    async def ask(query: Query):
        """The object `verbatim ask --json` prints: question, answered, message, quotes[...]."""
        return await run("ask", query)

    @api.post("/search", responses=errors, summary="Ranked passages before quoting")
    async def search(query: Query):
        """The object `verbatim search --json` prints: question, hits[...]."""
        return await run("search", query)

    _add_brief(api, current, error_responses(400, 405, 422, 503))

    @api.get("/documents", responses=error_responses(405, 503), summary="The indexed documents")
    async def documents():
        return documents_json(current())

    @api.get("/health", responses=error_responses(405, 503), summary="Ready once the index and model are loaded")
    async def health():
        assistant = current()
        counts = assistant.index.manifest.get("counts", {})
        return {"status": "ready", "worker_pid": os.getpid(), "model": assistant.embedder.name,
                "documents": len(assistant.index.documents),
                "chunks": counts.get("chunks", len(assistant.index.chunks)),
                "built": assistant.index.manifest.get("created_at"), "batches": batch_counts(assistant)}

    return api


def batch_counts(assistant: Assistant) -> dict[str, dict[str, int]]:
    """How many batches of each size this process's batching queues ran since it started: the question
    parse (`parse`) and, when the query encoder batches, the encoder (`encode`). JSON keys: the sizes."""
    from app.answer.direct import QUESTION_PARSES

    queues = {"encode": getattr(assistant.embedder, "batcher", None), "parse": QUESTION_PARSES}
    return {name: {str(size): n for size, n in sorted(q.stats.sizes.items())}
            for name, q in queues.items() if q is not None}


def _declare_documents(api: FastAPI, current: Callable[[], Assistant]) -> None:
    """The schema's `docs` items list the names indexed now (an unknown one is refused with 400);
    the schema is made again when a rebuild changes them."""
    made = api.openapi
    cache: dict[tuple[str, ...], dict] = {}

    def openapi() -> dict:
        try:
            names = tuple(sorted(d.doc for d in current().index.documents))
        except Unavailable:
            names = ()
        if names not in cache:
            api.openapi_schema = None
            schema = made()
            if names:
                items = schema["components"]["schemas"]["Query"]["properties"]["docs"]["anyOf"][0]["items"]
                items["enum"] = list(names)
                for route in schema["paths"].values():  # a `doc` query parameter (GET /brief) names one too
                    for op in route.values():
                        for param in op.get("parameters", []):
                            if param["name"] == "doc" and "anyOf" in param["schema"]:
                                param["schema"]["anyOf"][0]["enum"] = list(names)
            cache.clear()
            cache[names] = schema
        api.openapi_schema = cache[names]
        return cache[names]

    api.openapi = openapi


def _add_brief(api: FastAPI, current: Callable[[], Assistant], responses: dict) -> None:
    """GET /brief: the briefing, as `verbatim brief --json` prints it (400 unknown document, 422 bad words)."""
    from fastapi import Query as Param

    from app.answer.briefing import DEFAULT_WORDS, MAX_WORDS, MIN_WORDS, briefing

    @api.get("/brief", responses=responses, summary="The report's key passages, quoted verbatim, within a word budget")
    async def brief(doc: str | None = Param(None, description="One document (a name from /documents); "
                                            "default: every document, one section each."),
                    words: int = Param(DEFAULT_WORDS, ge=MIN_WORDS, le=MAX_WORDS,
                                       description="Word budget per document.")):
        """The object `verbatim brief --json` prints: doc, words, points[quote objects as in /ask]."""
        try:
            return briefing(current().index, doc, words).to_dict()
        except QuestionError as exc:
            return _error(400, str(exc))


def documents_json(assistant: Assistant) -> dict:
    """Every indexed document: name (for `docs`), title, size, chunk count; and when the build was made."""
    from app.web.render import guess_title

    chunks = assistant.index.chunks_per_document()
    return {"built": assistant.index.manifest.get("created_at"),
            "documents": [{"doc": d.doc, "title": guess_title(d), "size_bytes": d.size_bytes,
                           "chunks": chunks[d.doc]} for d in assistant.index.documents]}
