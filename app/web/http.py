"""HTTP pieces under the server: the error body, the one limits middleware, and the "try again" error.

Every error is JSON, `{"error": "<one line>", "status": <code>}`. `Limits` stands in front of the
whole server (app/web/server.py): a body over its path's limit gets 413 before it is read whole,
the API answers 503 "busy" past `max_waiting` requests in flight, and file uploads reach only the
upload route.
"""

from __future__ import annotations

import threading

from app.errors import VerbatimError
from app.settings import MAX_CORPUS_FILE_BYTES

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024  # an API body: a question is at most 2,000 characters, a history 10 of them
PAGE_MAX_BODY_BYTES = 256 * 1024  # the chat page's own requests (Gradio's queue); the chat takes no files
UPLOAD_MAX_BODY_BYTES = MAX_CORPUS_FILE_BYTES + 64 * 1024  # one document and its multipart envelope
MAX_WAITING = 256  # API requests in flight in one process before it answers 503 "busy"
RETRY_AFTER_SECONDS = 1
BUSY = "the server is busy; try again in a moment"


def too_big(limit: int, api: bool) -> str:
    """The 413 message of a body over `limit`, naming whose limit it is (the API's and the page's differ).

    >>> too_big(MAX_BODY_BYTES, True)
    "the request body is over 65,536 bytes (64 KiB, the JSON API's limit)"
    """
    whose = "the JSON API's" if api else "the chat page's"
    return f"the request body is over {limit:,} bytes ({limit // 1024} KiB, {whose} limit)"


class Unavailable(VerbatimError):
    """The index is loading, or a new build is being swapped in: the client should retry (503)."""


def error_response(status: int, message: str, **headers: str):
    """The JSON error every route answers with."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers or None)


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
    """ASGI middleware, one for the whole server.

    - A POST to a path ending in one of `refuse` gets 413 unread (the chat takes no files, so Gradio's
      upload route stores nothing).
    - A POST to one of `large` (the document upload) is streamed through, counted, and cut off past
      `UPLOAD_MAX_BODY_BYTES`.
    - Any other body over its limit gets 413 before it is read whole (a declared Content-Length at
      once, a chunked body as it arrives): `api_max_body` under `api_prefix`, `page_max_body` elsewhere.
    - Under `api_prefix`, beyond `max_waiting` requests in flight, 503 "busy" with Retry-After.
    """

    def __init__(self, app, *, api_prefix: str = API_PREFIX, api_max_body: int = MAX_BODY_BYTES,
                 page_max_body: int = PAGE_MAX_BODY_BYTES, max_waiting: int | None = MAX_WAITING,
                 refuse: tuple[str, ...] = (), large: tuple[str, ...] = (),
                 upload_max_body: int = UPLOAD_MAX_BODY_BYTES) -> None:
        self.app, self.api_prefix, self.refuse, self.large = app, api_prefix, refuse, large
        self.upload_max_body = upload_max_body
        self.api_max_body, self.page_max_body, self.max_waiting = api_max_body, page_max_body, max_waiting
        self.in_flight = 0
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, post = scope["path"].rstrip("/"), scope["method"] == "POST"
        if post and self.refuse and path.endswith(self.refuse):
            await error_response(413, "this server accepts no file uploads")(scope, receive, send)
            return
        if post and path in self.large:
            await self._upload(scope, receive, send)
            return
        api = scope["path"].startswith(self.api_prefix)
        limit = self.api_max_body if api else self.page_max_body
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await error_response(413, too_big(limit, api))(scope, receive, send)
            return
        if api and not self._enter():
            await error_response(503, BUSY, **{"Retry-After": str(RETRY_AFTER_SECONDS)})(scope, receive, send)
            return
        try:
            await self._pass(scope, receive, send, limit)
        finally:
            if api:
                with self._lock:
                    self.in_flight -= 1

    def _enter(self) -> bool:
        with self._lock:
            if self.max_waiting is not None and self.in_flight >= self.max_waiting:
                return False
            self.in_flight += 1
            return True

    async def _pass(self, scope, receive, send, limit: int) -> None:
        """Read a (small) body first, refusing it as soon as it is over `limit`; then hand it on."""
        api = scope["path"].startswith(self.api_prefix)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await error_response(413, too_big(limit, api))(scope, receive, send)
                return
        await self.app(scope, replaying(receive, body), send)

    async def _upload(self, scope, receive, send) -> None:
        """A document upload: a declared length over the limit is refused unread; the body is streamed
        to the route (Starlette's form parser spools it), counted, and cut off past the limit with 413
        (a chunked body has no declared length: whatever the route answers then is replaced)."""
        limit = self.upload_max_body
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await error_response(413, f"the upload is over {limit:,} bytes")(scope, receive, send)
            return
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ValueError(f"the upload is over {limit:,} bytes")
            return message

        async def told(message) -> None:
            if seen <= limit:
                await send(message)
            elif message["type"] == "http.response.start":  # the route's answer to a cut body: 413 instead
                await error_response(413, f"the upload is over {limit:,} bytes")(scope, receive, send)

        await self.app(scope, counted, told)
