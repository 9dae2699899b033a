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
raises `Unavailable`); it loads nothing itself. With `uploads` (`serve --allow-uploads`) it also
declares POST /documents, DELETE /documents/{name} and GET /uploads (app/web/uploads.py). Each
route is a named function below; `app/web/server.py` mounts the API at /api/v1 with the chat.

    httpx.post("http://127.0.0.1:7860/api/v1/ask", json={"question": "Who is Aron Atabek?"}).json()
    {'question': 'Who is Aron Atabek?', 'answered': True, 'message': '[1] “We have ...', 'quotes': [...]}

(tests/web/test_api.py calls every route and checks every error above)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import FastAPI, Request
from fastapi import Query as Param
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app import __version__
from app.answer.briefing import DEFAULT_WORDS, MAX_WORDS, MIN_WORDS, briefing
from app.batching import MAX_BATCH
from app.errors import QuestionError
from app.settings import MAX_HISTORY, MAX_K, MAX_QUESTION_CHARS, MIN_K
from app.web.api_errors import handle_errors
from app.web.api_schema import QUESTION_PATTERN, UPLOAD_BODY, error_responses
from app.web.http import MAX_WAITING, Limits, Unavailable, error_response

if TYPE_CHECKING:
    from app.answer.assistant import Assistant
    from app.web.uploads import UploadRoutes

log = logging.getLogger(__name__)

# questions answered at once; the rest wait their turn. As many as the batching queue's largest batch
# (app/batching.py), so a batch can fill; at 4 (before batching) no batch could pass 4
ANSWERING_THREADS = MAX_BATCH


class Query(BaseModel):
    """A question, as `verbatim ask` takes it. The schema is what the server enforces (app/web/api_schema.py)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # strict: "5" is not a `k`, as the schema says
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=QUESTION_PATTERN,
                          description=f"The question: 1 to {MAX_QUESTION_CHARS:,} characters, not only white "
                                      "space, no control characters but tab and line breaks.")
    k: int | None = Field(None, ge=MIN_K, le=MAX_K, description="How many quotes (ask) or passages (search).")
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


# ---------------------------------------------------------------- from the route to the JSON


def current(request: Request) -> Assistant:
    """The assistant answering now (raises `Unavailable` while a new build loads)."""
    return request.app.state.source()


def answer_query(source: Callable[[], Assistant], kind: str, query: Query) -> JSONResponse:
    """`query` made the one validated `Question`, answered (`ask`) or searched (`search`) by the assistant
    answering now, as JSON."""
    assistant = source()
    unknown = assistant.index.unknown_documents(query.docs)
    if unknown:
        return error_response(400, unknown)
    try:
        question = assistant.question(query.question, k=query.k, docs=query.docs or None,
                                      history=list(query.history or []), per_document=query.per_document)
    except QuestionError as exc:
        over = len(query.question.strip()) > assistant.settings.max_question_chars
        return error_response(413 if over else 400, str(exc))
    result = assistant.ask(question) if kind == "ask" else assistant.search(question)
    # the JSON as FastAPI would write the dict, without its jsonable_encoder walk (plain JSON types already)
    return JSONResponse(result.to_dict())


async def in_thread(request: Request, kind: str, query: Query) -> JSONResponse:
    """`answer_query` on one of the API's answering threads."""
    state = request.app.state
    return await anyio.to_thread.run_sync(answer_query, state.source, kind, query, limiter=state.limiter)


async def ask(query: Query, request: Request):
    """The object `verbatim ask --json` prints: question, answered, message, quotes[...]."""
    return await in_thread(request, "ask", query)


async def search(query: Query, request: Request):
    """The object `verbatim search --json` prints: question, hits[...]."""
    return await in_thread(request, "search", query)


async def brief(request: Request,
                doc: str | None = Param(None, description="One document (a name from /documents); "
                                                          "default: every document, one section each."),
                words: int = Param(DEFAULT_WORDS, ge=MIN_WORDS, le=MAX_WORDS, description="Word budget per document.")):
    """The object `verbatim brief --json` prints: doc, words, points[quote objects as in /ask]."""
    try:
        return briefing(current(request).index, doc, words).to_dict()
    except QuestionError as exc:
        return error_response(400, str(exc))


async def documents(request: Request):
    """Every indexed document: name (for `docs`), title, size, chunk count; and when the build was made."""
    return documents_json(current(request))


async def health(request: Request):
    """Ready once the index and model are loaded: the worker, model, counts and batch sizes."""
    assistant = current(request)
    counts = assistant.index.manifest.counts
    return {"status": "ready", "worker_pid": os.getpid(), "model": assistant.embedder.name,
            "documents": len(assistant.index.documents),
            "chunks": counts.get("chunks", len(assistant.index.chunks)),
            "built": assistant.index.manifest.created_at,
            "batches": assistant.runtime.batch_counts(assistant.embedder)}


async def add_document(request: Request):
    """Store one document (multipart field `file`) and queue a build: 202 {"doc", "status": "indexing"}."""
    return await request.app.state.uploads.upload(request)


async def remove_document(name: str, request: Request):
    """Take a document out of the corpus and queue a build: 202 {"doc", "status": "removed"}."""
    return await request.app.state.uploads.delete(request)


async def upload_statuses(request: Request):
    """Each document added or removed, with its status (kept across restarts, app/web/statuses.py)."""
    return await request.app.state.uploads.status(request)


# ---------------------------------------------------------------- the app


def create_api(source: Callable[[], Assistant], *, uploads: UploadRoutes | None = None,
               max_waiting: int = MAX_WAITING, answering_threads: int = ANSWERING_THREADS,
               limits: bool = True) -> FastAPI:
    """The API as a FastAPI app. With `limits` (standing alone) it has its own `Limits` middleware; mounted
    in the server (app/web/server.py), the server's one `Limits` stands in front of it instead."""
    api = FastAPI(title="Verbatim API", version=__version__, docs_url="/docs", redoc_url=None,
                  description="Answers quoted verbatim from the report, each with an exact citation.")
    api.state.source, api.state.uploads = source, uploads
    api.state.limiter = anyio.CapacityLimiter(answering_threads)
    handle_errors(api)
    if limits:
        api.add_middleware(Limits, api_prefix="", max_waiting=max_waiting,
                           large=("/documents",) if uploads is not None else ())
    errors = error_responses(400, 405, 413, 422, 503)
    api.add_api_route("/ask", ask, methods=["POST"], responses=errors,
                      summary="Answer a question by quoting the report")
    api.add_api_route("/search", search, methods=["POST"], responses=errors, summary="Ranked passages before quoting")
    api.add_api_route("/brief", brief, methods=["GET"], responses=error_responses(400, 405, 422, 503),
                      summary="The report's key passages, quoted verbatim, within a word budget")
    api.add_api_route("/documents", documents, methods=["GET"], responses=error_responses(405, 503),
                      summary="The indexed documents")
    api.add_api_route("/health", health, methods=["GET"], responses=error_responses(405, 503),
                      summary="Ready once the index and model are loaded")
    if uploads is not None:
        declare_uploads(api, uploads)
    declare_documents(api, source)
    return api


def declare_uploads(api: FastAPI, uploads: UploadRoutes) -> None:
    """The upload routes, in the schema with their bodies and errors (401 only when a token is asked for)."""
    token = (401,) if uploads.token else ()
    api.add_api_route("/documents", add_document, methods=["POST"], status_code=202,
                      responses=error_responses(400, *token, 405, 409, 413, 415, 503), openapi_extra=UPLOAD_BODY,
                      summary="Add a document (PDF, HTML, Markdown or text) and index it in the background")
    api.add_api_route("/documents/{name:path}", remove_document, methods=["DELETE"], status_code=202,
                      responses=error_responses(*token, 404, 405, 409, 503), summary="Remove a document")
    api.add_api_route("/uploads", upload_statuses, methods=["GET"], responses=error_responses(*token, 405),
                      summary="The status of each document added or removed (kept across restarts)")


def declare_documents(api: FastAPI, source: Callable[[], Assistant]) -> None:
    """The schema's `docs` items list the names indexed now (an unknown one is refused with 400);
    the schema is made again when a rebuild changes them."""
    made = api.openapi
    cache: dict[tuple[str, ...], dict] = {}

    def openapi() -> dict:
        try:
            names = tuple(sorted(d.doc for d in source().index.documents))
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


def documents_json(assistant: Assistant) -> dict:
    """Every indexed document: name (for `docs`), title, size, chunk count; and when the build was made."""
    from app.web.render import guess_title

    chunks = assistant.index.chunks_per_document()
    return {"built": assistant.index.manifest.created_at,
            "documents": [{"doc": d.doc, "title": guess_title(d), "size_bytes": d.size_bytes,
                           "chunks": chunks[d.doc]} for d in assistant.index.documents]}
