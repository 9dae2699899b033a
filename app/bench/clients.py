"""The load bench's clients: many concurrent askers of a running `verbatim serve`, each level a dict of
counts, throughput and p50 / p95 (app/bench/load.py runs them).

- `rest_level`: the JSON API (`POST /api/v1/ask`), asyncio + httpx, keep-alive.
- `chat_level`: `gradio_client` users calling the chat's `/ask` (through its queue).
- `sse_level`: the chat's queue as the page asks: join, then read the event stream (asyncio + httpx).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from app.bench.common import summarize


class Refused(RuntimeError):
    """A request the server answered with an error: recorded as its own text (status: body)."""


def _closed_loop(url: str, clients: int, total: int, seconds: float, connections: int,
                 ask_once: Callable[[Any, int, int, dict], Awaitable[None]]) -> dict:
    """`clients` concurrent askers, each with its own keep-alive httpx client of `connections`
    connections (as each user has its own browser), each asking again as soon as it is answered, until
    `total` are asked or `seconds` are up. `ask_once(http, client, n, state)` asks one question and
    raises on a failed answer; `state` is the client's own dict (a session, say).

    One client per asker, not one pool shared by all: one shared pool of 100 connections cost the bench
    15-16 ms of CPU per answer at 100 askers (2.2 ms at 20), a client each 2.9-3.6 ms, and the 100-client
    levels measured the bench (load_levels.py, docs/experiments/README.md)."""
    import httpx

    async def run() -> tuple[list[float], list[str], float]:
        latencies: list[float] = []
        errors: list[str] = []
        counter = iter(range(total))
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

        async def client(i: int) -> None:
            async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
                state: dict = {}
                for n in counter:
                    if time.perf_counter() > deadline:
                        return
                    t0 = time.perf_counter()
                    try:
                        await ask_once(http, i, n, state)
                    except Refused as exc:
                        errors.append(str(exc))
                        continue
                    except (httpx.HTTPError, RuntimeError, ValueError) as exc:
                        errors.append(repr(exc)[:100])
                        continue
                    latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        return latencies, errors, time.perf_counter() - t0

    latencies, errors, wall = asyncio.run(run())
    return _level(clients, latencies, errors, wall)


def rest_level(url: str, questions: Sequence[str], clients: int, total: int, seconds: float) -> dict:
    """`clients` concurrent keep-alive clients posting questions until `total` are asked or time is up."""

    async def ask_once(http, i: int, n: int, state: dict) -> None:
        r = await http.post("/api/v1/ask", json={"question": questions[(i * 7 + n) % len(questions)]})
        if r.status_code != 200 or "quotes" not in r.json():
            raise Refused(f"{r.status_code}: {r.text[:100]}")

    return _closed_loop(url, clients, total, seconds, 1, ask_once)


def chat_level(url: str, questions: Sequence[str], clients: int, total: int, seconds: float) -> dict:
    """`clients` concurrent `gradio_client` users calling `/ask` (through the chat's queue)."""
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    ready = threading.Barrier(clients + 1, timeout=300)
    go = threading.Event()
    deadline: list[float] = []

    def user(i: int) -> None:
        try:
            client = Client(url + "/", verbose=False)
        except Exception as exc:  # noqa: BLE001 - counted as an error
            with lock:
                errors.append(f"connect: {exc!r}"[:100])
            ready.wait()
            return
        ready.wait()
        go.wait()
        for n in counter:
            if time.perf_counter() > deadline[0]:
                break
            t0 = time.perf_counter()
            try:
                result = client.predict(questions[(i * 7 + n) % len(questions)], api_name="/ask")
                ok = isinstance(result, dict) and "quotes" in result
            except Exception as exc:  # noqa: BLE001 - "Queue is full" and the like are the errors counted
                ok, result = False, exc
            with lock:
                (latencies.append(time.perf_counter() - t0) if ok else errors.append(repr(result)[:100]))
        client.close()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    deadline.append(t0 + seconds)
    go.set()
    for t in threads:
        t.join(seconds + 120)
    return _level(clients, latencies, errors, time.perf_counter() - t0)


def ask_fn_index(url: str) -> int:
    """The chat's `/ask` endpoint's number in the page's config (what a browser's queue join names)."""
    import httpx

    config = httpx.get(f"{url}/config", timeout=30).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == "ask")


def sse_level(url: str, questions: Sequence[str], clients: int, total: int, seconds: float) -> dict:
    """`clients` sessions asking `/ask` through the chat's queue as the page does: join the queue, then
    read the event stream until the answer (asyncio + httpx, no client-side polling), one session each."""
    import json
    import uuid


    fn_index = ask_fn_index(url)

    async def ask(http, session: str, question: str) -> dict:
        r = await http.post("/gradio_api/queue/join", json={"data": [question, None, None], "fn_index": fn_index,
                                                            "session_hash": session, "event_data": None,
                                                            "trigger_id": None})
        if r.status_code != 200:
            raise RuntimeError(f"{r.status_code}: {r.text[:80]}")
        event = r.json()["event_id"]
        async with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
            async for line in stream.aiter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("msg") == "process_completed" and msg.get("event_id") == event:
                    if not msg.get("success"):
                        raise RuntimeError(str(msg.get("output"))[:80])
                    return msg["output"]["data"][0]
        raise RuntimeError("the event stream ended without the answer")

    async def ask_once(http, i: int, n: int, state: dict) -> None:
        session = state.setdefault("session", uuid.uuid4().hex[:11])
        answer = await ask(http, session, questions[(i * 7 + n) % len(questions)])
        if "quotes" not in answer:
            raise RuntimeError(str(answer)[:80])

    return _closed_loop(url, clients, total, seconds, 2, ask_once)


def _level(clients: int, latencies: list[float], errors: list[str], wall: float) -> dict:
    out = {"clients": clients, "answered": len(latencies), "errors": len(errors),
           "throughput_per_s": round(len(latencies) / wall, 1) if wall else None, "seconds": round(wall, 2)}
    if latencies:
        s = summarize(latencies)
        out.update({"p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"]})
    if errors:
        out["first_errors"] = sorted(set(errors))[:3]
    return out
