"""`verbatim serve`: the web chat and the JSON API on one port, in one process or in several.

    verbatim serve                      one process on http://127.0.0.1:7860
    verbatim serve --workers 2          two processes on the same port, one index (app/web/workers.py)

It builds the index first if it is missing, damaged or stale, loads it (vectors memory-mapped),
warms the model up, then listens. `app/web/chat.py` makes the page; `app/web/api.py` the JSON API.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.errors import VerbatimError
from app.runtime import Runtime
from app.settings import CHAT_CONCURRENCY, CHAT_MAX_QUEUE, DEFAULT_INDEX_DIR, PROJECT_ROOT

if TYPE_CHECKING:
    from app.index.manifest import Manifest

log = logging.getLogger(__name__)

DEFAULT_FEEDBACK = Path(os.environ.get("VERBATIM_FEEDBACK", PROJECT_ROOT / "feedback" / "feedback.jsonl"))
MAX_WORKERS = 16


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'.

    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
    (True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Gradio's queue records every event and, after each one, rebuilds a pandas summary of the last
# 10,000 (for its monitoring page, unused here): 6-19 ms of CPU per chat answer, growing with the
# records, measured beside an answer's ~10 ms. Keep one record and never summarise (operators may override).
GRADIO_QUEUE_ENV = {"GRADIO_ANALYTICS_MAX_EVENTS": "1", "GRADIO_ANALYTICS_CACHE_FREQUENCY": str(10**9)}


def settle_gradio() -> None:
    """Before the app is built: Gradio's per-event analytics off (above), and matplotlib's headless
    backend chosen. Gradio wraps every queued event in a "use agg" block that asks matplotlib for its
    backend; left on "auto", the first event of each process imports pyplot to resolve it (2.6 s of
    CPU in a py-spy profile of 20 chat users, inside the first answers' latency)."""
    for name, value in GRADIO_QUEUE_ENV.items():
        os.environ.setdefault(name, value)
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("agg")


def read_examples(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise VerbatimError(f"cannot read examples from {path}: {exc}") from None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="VERBATIM_HOST",
              help="Address to listen on; anything but loopback exposes the chat to the network.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, envvar="VERBATIM_PORT")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=DEFAULT_INDEX_DIR,
              show_default=True, envvar="VERBATIM_INDEX", help="Index folder.")
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=None,
              help="Corpus folder [default: the one the index was built from, else ./corpus].")
@click.option("--feedback", "feedback_path", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_FEEDBACK, show_default=True, help="JSON-lines file that likes and dislikes go to.")
@click.option("--examples", "examples_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="File of example questions, one per line (the first five are shown).")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=1, show_default=True,
              envvar="VERBATIM_WORKERS",
              help="Server processes on the one port, sharing the loaded index and model (Linux/macOS).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, envvar="VERBATIM_CONCURRENCY",
              help=f"Chat questions answered at once per worker [default: {CHAT_CONCURRENCY}, measured in "
                   "docs/serving.md].")
@click.option("--max-queue", type=click.IntRange(1, 10_000), default=None, envvar="VERBATIM_MAX_QUEUE",
              help=f"Chat questions waiting per worker before 'busy, try again' [default: {CHAT_MAX_QUEUE}].")
@click.option("--allow-uploads", is_flag=True, default=False,
              help="Let visitors add and remove documents (POST/DELETE /api/v1/documents); off by default.")
@click.option("--upload-token", default=None, envvar="VERBATIM_UPLOAD_TOKEN",
              help="Secret that uploads must send (X-Upload-Token); required when --host is not loopback.")
def serve(host: str, port: int, index_dir: Path, corpus_dir: Path | None, feedback_path: Path,
          examples_file: Path | None, workers: int, concurrency: int | None, max_queue: int | None,
          allow_uploads: bool = False, upload_token: str | None = None) -> None:
    """Open the web chat and the JSON API at http://HOST:PORT (builds the index first if needed)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from app.answer.loading import prepare_serving
    from app.web import chat as web
    from app.web.live import LiveAssistant
    from app.web.server import launch
    from app.web.uploads import token_problem

    if allow_uploads and (problem := token_problem(is_loopback(host), upload_token)):
        raise click.UsageError(problem)
    if allow_uploads and workers > 1:
        raise click.UsageError("--allow-uploads needs --workers 1: one process owns the corpus folder and its builds")
    if not is_loopback(host):
        click.echo(f"Warning: listening on {host}, not loopback: anyone who can reach this machine can use the "
                   "chat. Use --host 127.0.0.1 to keep it local.", err=True)
    if workers > 1 and not hasattr(os, "fork"):
        raise click.UsageError("--workers above 1 needs fork(); run one process per port behind a load balancer")
    settle_gradio()
    runtime = Runtime()  # this process's models and caches: every answer, and a build needed before serving
    serving = prepare_serving(index_dir, corpus_dir, runtime, defer_corpus_changes=allow_uploads)
    if serving.built is not None:
        click.echo(serving.built.summary(), err=True)
    examples = read_examples(examples_file)
    live = LiveAssistant(serving.assistant, index_dir, serving.corpus_dir)
    shown_host = f"[{host}]" if ":" in host else host
    more = f", {workers} workers" if workers > 1 else ""
    click.echo(f"Ask the report at http://{shown_host}:{port}  (JSON API at /api/v1/docs{more}; Ctrl+C to stop)",
               err=True)
    queue = {k: v for k, v in (("concurrency_limit", concurrency), ("max_queue", max_queue)) if v is not None}
    if workers == 1:
        manifest = serving.assistant.index.manifest  # read once by prepare_serving
        uploads = upload_routes(index_dir, serving.corpus_dir, upload_token, manifest) if allow_uploads else None
        try:
            launch(web.build_app(live, feedback_path, examples=examples, uploads=uploads, **queue), host, port)
        finally:
            if uploads is not None:  # a running build process ends with the server
                uploads.shelf.close()
        return
    from app.web.workers import run_workers

    run_workers(lambda: web.build_app(live, feedback_path, examples=examples, **queue), host, port, workers)


def upload_routes(index_dir: Path, corpus_dir: Path, token: str | None, manifest: Manifest):
    """The upload routes over the served corpus: builds (in a child process) embed with the model of the index
    whose `manifest` serving has read."""
    from app.settings import BuildSettings
    from app.web.uploads import Shelf, UploadRoutes

    shelf = Shelf(corpus_dir, index_dir, manifest.model_name, BuildSettings(index_type=manifest.index_type),
                  manifest=manifest)
    return UploadRoutes(shelf, token)
