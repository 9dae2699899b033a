"""The server: one FastAPI app holding the JSON API, the upload routes, the document viewer and the chat.

    /api/v1/...         the JSON API (app/web/api.py), with the upload routes when they are on
    /vb/document        the document viewer (app/web/viewer.py)
    /                   the Gradio chat (app/web/chat.py), mounted with `gradio.mount_gradio_app`

One `Limits` middleware (app/web/http.py) stands in front of all of it. `verbatim serve` runs the app
on uvicorn (`launch`); `--workers N` forks it (app/web/workers.py).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException

from app.web.http import API_PREFIX, Limits

if TYPE_CHECKING:
    from app.web.chat import ChatPage

# An idle keep-alive connection is closed by the server after this long. uvicorn's default (5 s) equals
# httpx's pool expiry (5 s): a client reusing a connection just as the server closes it got a reset
# (httpx.ReadError: 1 in 25,198 requests of a 10-minute soak). Longer than the clients' expiry, the
# client always drops an idle connection first.
KEEP_ALIVE_SECONDS = 30
GRADIO_UPLOAD_PATHS = ("/gradio_api/upload", "/upload")  # the chat takes no files


def create_server(page: ChatPage, host: str = "127.0.0.1", port: int | None = None) -> Any:
    """The one FastAPI app: the API at /api/v1, the viewer, the chat at /, behind one `Limits`."""
    import gradio as gr
    from fastapi import FastAPI

    from app.web.api import create_api
    from app.web.chat import page_options
    from app.web.viewer import DOCUMENT_ROUTE, document_response

    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    root.mount(API_PREFIX, create_api(page.assistant, uploads=page.uploads, limits=False))
    root.add_route(DOCUMENT_ROUTE, document_response(page.assistant), methods=["GET"])
    large = (f"{API_PREFIX}/documents",) if page.uploads is not None else ()
    root.add_middleware(Limits, refuse=GRADIO_UPLOAD_PATHS, large=large)
    root.add_exception_handler(HTTPException, api_errors_too)
    return gr.mount_gradio_app(root, page.blocks, path="/", server_name=host, server_port=port or 7860,
                               **page_options())


async def api_errors_too(request: Any, exc: Any) -> Any:
    """An error the root answers for a path under /api/v1 (one the API's mount does not match, such as
    a name with a line break in it) in the API's JSON, `{"error", "status"}`; elsewhere FastAPI's own."""
    from fastapi.exception_handlers import http_exception_handler

    from app.web.http import error_response

    if request.url.path.startswith(API_PREFIX):
        return error_response(exc.status_code, str(exc.detail), **(exc.headers or {}))
    return await http_exception_handler(request, exc)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it
    # a keep-alive client waits ~40 ms for each reply (Nagle and delayed ACKs)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any, **options: Any) -> Any:
    """uvicorn's settings for this server: quiet, lifespan on (Gradio's queue starts with it), deadlines on
    receiving requests, 503 past the connection cap. Raises this process's soft open-file limit to the hard
    one and quiets resource errors to one line a minute (app/web/deadlines.py)."""
    import uvicorn

    from app.web.deadlines import DeadlineProtocol, connection_cap, quiet_resource_errors, raise_file_limit

    quiet_resource_errors()
    settings = {"log_level": "warning", "lifespan": "on", "timeout_graceful_shutdown": 3,
                "timeout_keep_alive": KEEP_ALIVE_SECONDS, "http": DeadlineProtocol,
                "limit_concurrency": connection_cap(raise_file_limit())}
    return uvicorn.Config(app, **{**settings, **options})


@dataclass
class Served:
    """A server running on a thread of this process (tests, `launch(block=False)`)."""

    url: str
    server: Any  # uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def launch(page: ChatPage, host: str = "127.0.0.1", port: int | None = 7860, block: bool = True) -> Served | None:
    """Serve `page` on host:port (None: a free port). With `block`, until Ctrl+C; without, on a thread, and
    the `Served` (its URL) is returned once it accepts connections."""
    import uvicorn

    sock = listening_socket(host, port or 0)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    server = uvicorn.Server(uvicorn_config(create_server(page, host, sock.getsockname()[1])))
    if block:
        server.run(sockets=[sock])
        return None
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="verbatim-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} did not start")
        time.sleep(0.02)
    page.server = Served(url, server, thread)
    return page.server
