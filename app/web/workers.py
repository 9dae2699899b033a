"""`verbatim serve --workers N`: N server processes on one port, one loaded index, one model.

Why not uvicorn's or gunicorn's workers: they hand each *connection* to whichever process accepts
it, but the Gradio chat keeps each conversation in one process (its queue, its `gr.State`), so a
browser's second request would reach a process that has never heard of it ("Session not found").
Here instead:

- The parent loads the index (vectors memory-mapped read-only) and the model once, then forks N
  workers. They share those pages (copy-on-write), so a second worker costs far less memory than
  the first; `verbatim bench --sections load` measures how much.
- All workers accept on one listening socket: the kernel spreads connections between them.
  The JSON API (`/api/v1`) is stateless: any worker answers.
- A chat request names its session (`session_hash`); its owner is `crc32(session_hash) % N`.
  A worker that receives another worker's session passes the request on, over loopback, to the
  owner's private port (`Affinity`), so every request of a conversation meets its state.
  Gradio's `/gradio_api/call/...` two-step API carries no session: worker 0 takes it.
- Each worker follows index rebuilds on its own (`app.web.live.LiveAssistant`): it swaps to the new build
  on its next question. Feedback lines are appended whole by any worker (one write per line).
- A worker that dies is started again at once; one that keeps dying right after starting is
  started again after a growing pause (`CrashGuard`), and only after `MAX_QUICK_DEATHS` quick
  deaths in a row does the server stop (a broken install, not an OOM kill). Ctrl+C or SIGTERM
  stops them all.
- A request passed on to a worker that dies before answering is tried again (the worker's private
  socket stays open in the parent, so its restarted self accepts it) for up to `RETRY_SECONDS`,
  when that is safe: a GET, or joining the queue (an ask, which changes nothing). Otherwise 503.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import socket
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from app.web.http import replaying
from app.web.server import create_server, listening_socket, uvicorn_config

if TYPE_CHECKING:
    from app.web.chat import ChatPage

log = logging.getLogger(__name__)

FORWARDED = b"x-verbatim-worker"  # set on a passed-on request, so it is never passed on again
HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"host", b"content-length", b"upgrade"}
MAX_SESSION_BODY = 256 * 1024
CRASH_WINDOW_SECONDS = 10.0  # a worker that dies this soon after starting died "quickly"
MAX_QUICK_DEATHS = 5  # quick deaths in a row of one worker before the server stops (not a restart loop)
BACKOFF_SECONDS = (0.0, 0.5, 1.0, 2.0, 4.0)  # pause before restarting after the 1st, 2nd, ... quick death
RETRY_SECONDS = 10.0  # how long a passed-on request waits for its worker to come back


class CrashGuard:
    """Decides, when a worker exits, how long to wait before starting it again, or to stop (None).

    A death after `window` seconds of life is a crash like any other: restarted at once, and the
    count of quick deaths starts again. A quick death waits `backoff[n - 1]` before the restart, the
    n-th in a row; the `limit`-th quick death in a row stops the server.

    >>> guard = CrashGuard(window=10, limit=3, backoff=(0, 1))
    >>> guard.exited(0, lived=2), guard.exited(0, lived=2), guard.exited(0, lived=2)
    (0, 1, None)
    >>> guard.exited(1, lived=60), guard.exited(1, lived=1)
    (0.0, 0)
    """

    def __init__(self, window: float = CRASH_WINDOW_SECONDS, limit: int = MAX_QUICK_DEATHS,
                 backoff: tuple[float, ...] = BACKOFF_SECONDS) -> None:
        self.window, self.limit, self.backoff = window, limit, backoff
        self.quick: dict[int, int] = {}  # worker number -> quick deaths in a row

    def exited(self, me: int, lived: float) -> float | None:
        if lived >= self.window:
            self.quick[me] = 0
            return 0.0
        self.quick[me] = n = self.quick.get(me, 0) + 1
        if n >= self.limit:
            return None
        return self.backoff[min(n, len(self.backoff)) - 1]


def owner(session_hash: str, workers: int) -> int:
    """The worker that keeps a session: stable across processes and restarts.

    >>> owner("abc123", 2), owner("abc123", 2) == owner("abc123", 2)
    (0, True)
    """
    return zlib.crc32(session_hash.encode("utf-8", "replace")) % workers


def session_of(path: str, query: bytes, body: bytes | None) -> str | None:
    """The Gradio session a request belongs to: `?session_hash=`, `/heartbeat/<hash>`, or the JSON body's.

    >>> session_of("/gradio_api/queue/data", b"session_hash=s1", None)
    's1'
    >>> session_of("/gradio_api/queue/join", b"", b'{"session_hash": "s2", "data": []}')
    's2'
    """
    found = parse_qs(query.decode("latin-1")).get("session_hash")
    if found:
        return found[0]
    if "/heartbeat/" in path:
        return path.rsplit("/heartbeat/", 1)[1].strip("/") or None
    if body:
        try:
            obj = json.loads(body)
        except ValueError:
            return None
        value = obj.get("session_hash") if isinstance(obj, dict) else None
        return value if isinstance(value, str) else None
    return None


def retry_safe(method: str, path: str) -> bool:
    """Whether a request that got no answer may be sent again: a GET, or joining the queue (an ask).

    >>> retry_safe("POST", "/gradio_api/queue/join"), retry_safe("POST", "/gradio_api/run/predict")
    (True, False)
    """
    return method in ("GET", "HEAD") or path.rstrip("/").endswith("/queue/join")


class Affinity:
    """ASGI middleware: a Gradio request of another worker's session is passed to that worker."""

    def __init__(self, app, me: int, ports: list[int]) -> None:
        self.app, self.me, self.ports = app, me, ports
        self._client = None

    async def __call__(self, scope, receive, send) -> None:
        headers = dict(scope.get("headers") or [])
        if (scope["type"] != "http" or not scope["path"].startswith("/gradio_api/") or FORWARDED in headers
                or len(self.ports) == 1):
            await self.app(scope, receive, send)
            return
        body, more = None, False
        if scope["method"] == "POST":
            body = b""
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_SESSION_BODY:
                    break  # too big to be a chat request: handled here, where the body limit refuses it
        session = session_of(scope["path"], scope.get("query_string", b""), body)
        if session is not None:
            target = owner(session, len(self.ports))
        else:
            target = 0 if scope["path"].startswith("/gradio_api/call/") else self.me
        if target != self.me:
            await self._forward(scope, body, send, self.ports[target])
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, replaying(receive, body, more), send)  # more: the rest is still to come

    async def _forward(self, scope, body: bytes | None, send, port: int) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP] + [(FORWARDED, b"1")]
        qs = scope.get("query_string", b"").decode("latin-1")
        url = f"http://127.0.0.1:{port}{scope['path']}" + (f"?{qs}" if qs else "")
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            request = self._client.build_request(scope["method"], url, headers=headers, content=body)
            try:
                response = await self._client.send(request, stream=True)
                break
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                error: Exception = exc  # no response came: the worker died; safe requests are tried again
                if retry_safe(scope["method"], scope["path"]) and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    continue
            except httpx.HTTPError as exc:
                error = exc
            log.warning("worker on port %d did not answer: %s", port, error)
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")]})
            await send({"type": "http.response.body",
                        "body": b'{"error": "a server worker is restarting; try again in a moment", "status": 503}'})
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP - {
                            b"content-length"}]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (OSError, asyncio.CancelledError, httpx.HTTPError):
            pass  # the browser went away, or the owner closed the stream: nothing left to tell anyone
        finally:
            await response.aclose()


def _serve_worker(me: int, root, shared: socket.socket, private: socket.socket, ports: list[int]) -> None:
    """One worker: serve the app on the shared socket and on its own, passing other workers' sessions on."""
    import uvicorn

    uvicorn.Server(uvicorn_config(Affinity(root, me, ports))).run(sockets=[shared, private])


def run_workers(build_page: Callable[[], ChatPage], host: str, port: int, workers: int) -> None:
    """Fork `workers` server processes on host:port and keep them running until Ctrl+C or SIGTERM.

    `build_page` makes the chat page (with its JSON API) from what the parent loaded; the parent
    builds it and the app around it once, before forking, and never serves itself."""
    import httpx  # noqa: F401 - imported before the fork, so its pages are shared too
    import uvicorn  # noqa: F401

    root = create_server(build_page(), host, port)
    shared = listening_socket(host, port)
    private = [listening_socket("127.0.0.1", 0) for _ in range(workers)]
    gc.collect()
    gc.freeze()  # what the parent loaded stays out of the children's garbage collections: shared pages stay shared
    supervisor = Supervisor(root, shared, private)
    previous = {s: signal.signal(s, supervisor.stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for me in range(workers):
            supervisor.spawn(me)
        log.info("%d workers on %s:%d (private ports %s)", workers, host, port, supervisor.ports)
        supervisor.watch()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for sock in (shared, *private):
            sock.close()


class Supervisor:
    """The parent of the workers: starts them, restarts one that dies (`CrashGuard`), stops them all."""

    def __init__(self, root, shared: socket.socket, private: list[socket.socket]) -> None:
        self.root, self.shared, self.private = root, shared, private
        self.ports = [s.getsockname()[1] for s in private]
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (worker number, start time)
        self.stopping = False
        self.guard = CrashGuard()

    def spawn(self, me: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                _serve_worker(me, self.root, self.shared, self.private[me], self.ports)
            except KeyboardInterrupt:
                pass
            except BaseException:  # noqa: BLE001 - log it; the parent decides what happens next
                log.exception("worker %d failed", me)
                code = 1
            finally:
                os._exit(code)
        self.children[pid] = (me, time.monotonic())

    def stop(self, signum, frame) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def watch(self) -> None:
        """Wait for workers to exit; start each again after `CrashGuard`'s pause, until stopped."""
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            me, started = self.children.pop(pid, (None, 0.0))
            if me is None or self.stopping:
                continue
            lived = time.monotonic() - started
            pause = self.guard.exited(me, lived)
            if pause is None:
                log.error("worker %d exited %s right after starting %d times in a row; stopping", me, status,
                          self.guard.limit)
                self.stop(signal.SIGTERM, None)
                continue
            log.warning("worker %d exited (status %s) after %.1f s; starting it again%s", me, status, lived,
                        f" in {pause:g} s" if pause else "")
            deadline = time.monotonic() + pause
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.05)
            if not self.stopping:
                self.spawn(me)
