"""The API's error handlers: every error as `{"error": one line, "status": code}`, never a traceback.

422 for a malformed body (400 or 413 when its only fault is the question, as `verbatim ask` says it),
503 while the index is unavailable, 500 for anything unexpected (logged).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from app.web.api_schema import question_status
from app.web.http import RETRY_AFTER_SECONDS, Unavailable, error_response

log = logging.getLogger(__name__)


def question_error(exc: RequestValidationError) -> tuple[int, str] | None:
    """400 or 413 for a body whose only fault is its question (empty, control characters, too long)."""
    errors = list(exc.errors())
    body = getattr(exc, "body", None)
    if not errors or not isinstance(body, dict) or any(tuple(e.get("loc", ()))[:2] != ("body", "question")
                                                       or e.get("type") == "string_type" for e in errors):
        return None
    return question_status(body.get("question"))


def validation_message(errors: list[dict]) -> str:
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


async def malformed(request: Request, exc: RequestValidationError):
    refused = question_error(exc)
    if refused is not None:
        return error_response(*refused)
    return error_response(422, validation_message(list(exc.errors())))


async def http_error(request: Request, exc: HTTPException):
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # every method of the path, not only those of the first route that matched it
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return error_response(exc.status_code, str(exc.detail), **headers)


def allowed_methods(request: Request) -> str:
    """The methods of every route whose path is the request's (GET and POST /documents with uploads on)."""
    from starlette.routing import Match

    methods: list[str] = []
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] in (Match.FULL, Match.PARTIAL):
            methods += [m for m in sorted(route.methods) if m not in methods]
    return ", ".join(methods)


async def unavailable(request: Request, exc: Unavailable):
    return error_response(503, str(exc), **{"Retry-After": str(RETRY_AFTER_SECONDS)})


async def unexpected(request: Request, exc: Exception):
    log.exception("API request %s failed", request.url.path)
    return error_response(500, "internal error; the server log has the details")


def handle_errors(api: FastAPI) -> None:
    """Register the handlers above on `api`."""
    api.add_exception_handler(RequestValidationError, malformed)
    api.add_exception_handler(HTTPException, http_error)
    api.add_exception_handler(Unavailable, unavailable)
    api.add_exception_handler(Exception, unexpected)
