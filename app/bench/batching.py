"""Bench section `batching`: the batching queue's window and batch size, measured, not guessed.

In one process, on the served index and query encoder:

- the encoder alone: ms per question at batch sizes 1..32 (the ceiling batching can reach);
- identity: every question encoded inside a padded batch against alone (bitwise equal rows);
- closed-loop clients (threads, each asking again as soon as answered, like the server's answering
  threads) calling `Assistant.ask` with the plain encoder and with `BatchingEncoder` at each
  (max_batch, window): CPU ms per answer (the capacity figure, least disturbed by other jobs),
  answers per second and p50 / p95, each against the plain encoder's run with the same clients.
  Configurations run interleaved in short slices, several passes, medians.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.bench.common import Row, median, ms, ratio, summarize

log = logging.getLogger(__name__)

BATCH_SIZES = (1, 2, 4, 8, 16, 32)
CLIENTS = (1, 4, 16)
MAX_BATCHES = (4, 16, 32)
WINDOWS_MS = (0.0, 2.0)
SECONDS = 1.5  # per configuration and pass: short slices, many passes, so a busy machine's swings hit all alike
PASSES = 6


def encoder_per_question(embedder, questions: Sequence[str], repeats: int = 3) -> list[dict]:
    """Wall and CPU ms per question when the encoder is handed batches of each size (sizes interleaved
    in each repeat). CPU time (all of this process's threads) is what capacity is made of, and what
    other people's jobs on a shared machine disturb least."""
    walls: dict[int, list[float]] = {size: [] for size in BATCH_SIZES}
    cpus: dict[int, list[float]] = {size: [] for size in BATCH_SIZES}
    for _ in range(repeats):
        for size in BATCH_SIZES:
            t0, c0 = time.perf_counter(), time.process_time()
            count = 0
            for i in range(0, min(len(questions), 64), size):
                chunk = list(questions[i:i + size])
                embedder.encode(chunk, batch_size=size)
                count += len(chunk)
            walls[size].append((time.perf_counter() - t0) / count)
            cpus[size].append((time.process_time() - c0) / count)
    return [{"batch": size, "ms_per_question": round(median(walls[size]) * 1000, 3),
             "cpu_ms_per_question": round(median(cpus[size]) * 1000, 3)} for size in BATCH_SIZES]


def identical_rows(embedder, questions: Sequence[str], size: int = 16) -> dict:
    """How many questions get, inside a padded batch of `size`, exactly the vector they get alone."""
    same = 0
    worst = 0.0
    for i in range(0, len(questions), size):
        chunk = list(questions[i:i + size])
        together = embedder.encode(chunk, batch_size=size)
        for j, q in enumerate(chunk):
            alone = embedder.encode([q])[0]
            same += bool(np.array_equal(alone, together[j]))
            worst = max(worst, float(np.abs(alone - together[j]).max()))
    return {"questions": len(questions), "bitwise_identical": same, "max_abs_difference": worst}


def closed_loop(assistant, questions: Sequence[str], clients: int, seconds: float) -> dict:
    """`clients` threads asking back to back for `seconds`; answers per second and latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        n, mine = 0, []
        while time.perf_counter() < stop:
            q = questions[(i * 7 + n) % len(questions)]
            t0 = time.perf_counter()
            assistant.ask(q)
            mine.append(time.perf_counter() - t0)
            n += 1
        with lock:
            latencies.extend(mine)

    t0, c0 = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s = summarize(latencies)
    return {"answered": len(latencies), "per_s": round(len(latencies) / wall, 1), "p50_ms": s["p50_ms"],
            "p95_ms": s["p95_ms"], "cpu_ms_per_answer": round(cpu / max(len(latencies), 1) * 1000, 3)}


def bench_batching(index_dir: Path, questions: Sequence[str], *, seconds: float = SECONDS, passes: int = PASSES,
                   clients: Sequence[int] = CLIENTS, max_batches: Sequence[int] = MAX_BATCHES,
                   windows_ms: Sequence[float] = WINDOWS_MS) -> dict:
    """The encoder's batch curve, batched-vs-alone identity, and the (max_batch, window) sweep."""
    from app.answer.assistant import Assistant
    from app.batching import BatchingEncoder
    from app.index.encoders import encoder
    from app.index.store import read_manifest

    questions = list(questions)
    inner = encoder(read_manifest(Path(index_dir)).model_name, "query")
    plain = Assistant.load(Path(index_dir), inner, mmap=True)
    for q in questions[:5]:
        plain.ask(q)
    out: dict = {"encoder": encoder_per_question(inner, questions), "identity": identical_rows(inner, questions)}
    configs: list[tuple[str, int, float]] = [("plain", 0, 0.0)] + [
        (f"batch {b}, window {w:g} ms", b, w) for b in max_batches for w in windows_ms]
    runs: dict[tuple[int, str], list[dict]] = {}
    for _ in range(passes):
        for c in clients:
            for label, b, w in configs:
                if c == 1 and label != "plain" and (b, w) != (max_batches[-1], windows_ms[-1]):
                    continue  # alone, only the largest setting is worth checking for a cost
                assistant = plain if label == "plain" else Assistant(plain.index, BatchingEncoder(inner, b, w / 1000),
                                                                     plain.settings)
                log.info("batching: %d clients, %s", c, label)
                runs.setdefault((c, label), []).append(closed_loop(assistant, questions, c, seconds))
    sweep = []
    for (c, label), rs in runs.items():
        per_s = round(median([r["per_s"] for r in rs]), 1)
        cpu = round(median([r["cpu_ms_per_answer"] for r in rs]), 3)
        base = median([r["cpu_ms_per_answer"] for r in runs[(c, "plain")]])
        sweep.append({"clients": c, "config": label, "per_s": per_s, "cpu_ms_per_answer": cpu,
                      "cpu_over_plain": ratio(cpu, base), "p50_ms": median([r["p50_ms"] for r in rs]),
                      "p95_ms": median([r["p95_ms"] for r in rs])})
    out["sweep"] = sweep
    return out


def batching_rows(result: dict) -> list[Row]:
    rows: list[Row] = []
    one = result["encoder"][0]
    for e in result["encoder"]:
        rows.append((f"encoder, batch {e['batch']}, CPU ms per question", f"{e['cpu_ms_per_question']}",
                     f"wall {e['ms_per_question']}", f"{ratio(e['cpu_ms_per_question'], one['cpu_ms_per_question'])}x"
                     " batch 1", ""))
    ident = result["identity"]
    rows.append(("batched vector == alone (bitwise)", f"{ident['bitwise_identical']} of {ident['questions']}",
                 f"max diff {ident['max_abs_difference']:.1e}", "", "all"))
    for r in result["sweep"]:
        rows.append((f"ask, {r['clients']} clients, {r['config']}", f"CPU {r['cpu_ms_per_answer']} ms",
                     f"{r['per_s']}/s, {ms(r)}", f"{r['cpu_over_plain']}x plain", ""))
    return rows
