"""Connections with deadlines: what keeps half-open connections from locking every client out.

- uvicorn closes an idle keep-alive connection (`timeout_keep_alive`), but it has no timeout while a
  request arrives: a connection that sends nothing, or half its headers, or half its body, stays open
  for good. `DeadlineProtocol` (uvicorn's h11 protocol, the one this install runs: no httptools) gives
  each request `HEADER_SECONDS` from its first byte (a new connection: from its opening) to send its
  headers, then `body_seconds(length)` for its body; past either, the connection is closed. Once the
  request is in, nothing is timed: a slow answer or a long SSE stream is never cut.
- `raise_file_limit` lifts the soft open-file limit to the hard one; `connection_cap` leaves files for
  the index and the builds, and uvicorn answers 503 at once past it (`limit_concurrency`).
- `ResourceErrors` (a logging filter) turns `accept()` out of file descriptors, which asyncio logs with a
  traceback on every retry, into one line per `interval` with a count.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections.abc import Callable

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.web.http import UPLOAD_MAX_BODY_BYTES

log = logging.getLogger(__name__)

HEADER_SECONDS = 5.0  # from a request's first byte (a new connection: from its opening) to its last header
BODY_SECONDS = 10.0  # a body's base time, plus its length at MIN_BODY_RATE
MIN_BODY_RATE = 100_000  # bytes/s a body must keep up on average (50 MiB: 534 s)
MAX_CONNECTIONS = 2048  # connections and tasks past which uvicorn answers 503 at once
FILE_RESERVE = 128  # open files kept for the index, the logs and a build when the cap follows the file limit
RESOURCE_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
RESOURCE_LOG_SECONDS = 60.0


def body_seconds(length: int | None) -> float:
    """The time a body of `length` bytes (None: chunked, at most the upload limit) has to arrive.

    >>> body_seconds(0), body_seconds(1_000_000)
    (10.0, 20.0)
    """
    return BODY_SECONDS + (UPLOAD_MAX_BODY_BYTES if length is None else length) / MIN_BODY_RATE


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each request (see the module docstring)."""

    header_seconds = HEADER_SECONDS

    def body_seconds(self, length: int | None) -> float:
        return body_seconds(length)

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm(self.header_seconds)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:  # the first byte of a next request
            self._arm(self.header_seconds)
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        self._disarm()  # idle now: uvicorn's keep-alive timeout takes over until the next byte
        super().on_response_complete()
        self._follow()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _follow(self) -> None:
        """Move the deadline on with the request: headers in, the body's; body in, none."""
        state = self.conn.their_state
        if state is h11.SEND_BODY and not self._for_body:
            length = dict(self.headers or []).get(b"content-length")
            self._arm(self.body_seconds(int(length) if length and length.isdigit() else None), body=True)
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()

    def _arm(self, seconds: float, body: bool = False) -> None:
        self._disarm()
        self._for_body = body
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
        self._deadline, self._for_body = None, False

    def _expired(self) -> None:
        self._deadline = None
        log.debug("closed %s: its request did not arrive in time", self.client)
        if not self.transport.is_closing():
            self.transport.close()


def raise_file_limit() -> int:
    """Lift the soft open-file limit to the hard one (where the system allows); the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:  # e.g. an unlimited hard limit that the kernel caps lower
            log.info("the open-file limit stays %d (%s)", soft, exc)
    return soft


def connection_cap(files: int) -> int:
    """Connections (and tasks) served at once under an open-file limit of `files`; 503 past it.

    >>> connection_cap(1024), connection_cap(1_048_576)
    (896, 2048)
    """
    return max(16, min(MAX_CONNECTIONS, files - FILE_RESERVE))


class ResourceErrors(logging.Filter):
    """Let a resource error (out of file descriptors, buffers or memory; uvicorn's 503 past its cap) through
    once per `interval`, as one line with the count since the last one; other records pass unchanged."""

    def __init__(self, interval: float = RESOURCE_LOG_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval, self.clock = interval, clock
        self.count = 0
        self.last: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not (isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS) and record.msg not in FLOOD_MESSAGES:
            return True
        self.count += 1
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            return False
        line = record.getMessage().splitlines()[0] + (f": {exc}" if exc else "")
        record.msg, record.args = "%s (%d time(s) since the last report)", (line, self.count)
        record.exc_info, record.exc_text = None, None
        self.last, self.count = now, 0
        return True


FLOOD_MESSAGES = ("Exceeded concurrency limit.",)  # uvicorn's warning on each 503 past `limit_concurrency`
RESOURCE_LOGGERS = ("asyncio", "uvicorn.error")


def quiet_resource_errors(interval: float = RESOURCE_LOG_SECONDS) -> ResourceErrors:
    """One `ResourceErrors` filter on the loggers that report accept() failures, installed once per process."""
    first = logging.getLogger(RESOURCE_LOGGERS[0])
    installed = [f for f in first.filters if isinstance(f, ResourceErrors)]
    if installed:
        return installed[0]
    errors = ResourceErrors(interval)
    for name in RESOURCE_LOGGERS:
        logging.getLogger(name).addFilter(errors)
    return errors
