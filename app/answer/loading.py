"""Loading an assistant for a command: below the CLI, the web chat, the HTTP API and the eval.

`verbatim ask`, `verbatim eval`, `verbatim serve` and its workers all start the same way, through the
index's one door, `open_index` (app/index/verify.py): find the corpus an index was built from (its
`resolve_corpus`), build the index if it is missing or stale (serve only), and load it with its query
encoder and calibration; then the `Assistant`. Nothing here imports click, Gradio or a model at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.runtime import Runtime
from app.settings import DEFAULT_CORPUS_DIR, RETRIEVAL_MODES, AnswerSettings

if TYPE_CHECKING:
    from app.answer.assistant import Assistant
    from app.index.build import BuildSummary

log = logging.getLogger(__name__)

WARM_UP_QUESTION = "How many people does the report name, and when?"  # typed: it takes the span path too


def load_assistant(index_dir: Path, corpus_dir: Path | None, mode: str = RETRIEVAL_MODES[0],
                   runtime: Runtime | None = None) -> Assistant:
    """The assistant of an existing index for a command, checked against its corpus (given, else recorded)."""
    from app.answer.assistant import Assistant
    from app.index.verify import open_index

    opened = open_index(index_dir, corpus_dir, recorded=True)
    return Assistant.opened(opened, AnswerSettings(mode=mode), runtime)


@dataclass(frozen=True)
class Serving:
    """What `verbatim serve` answers from: the loaded assistant, its corpus, and the build it made (if any)."""

    assistant: Assistant
    corpus_dir: Path
    built: BuildSummary | None  # the build it made, if any


def prepare_serving(index_dir: Path, corpus_dir: Path | None, runtime: Runtime | None = None,
                    defer_corpus_changes: bool = False) -> Serving:
    """Build the index if it is missing, damaged or stale (with `defer_corpus_changes`, not for corpus changes
    alone: the upload shelf builds those in the background), then load it with the query encoder, warmed up,
    on `runtime` (default: a new one), which the build and every later answer share."""
    from app.answer.assistant import Assistant
    from app.index.build_process import build_in_child
    from app.index.encoders import default_model
    from app.index.verify import open_index

    # a build runs in a child process (app/index/build_process.py): this one only answers; the model is
    # multilingual-e5-small unless VERBATIM_MODEL says otherwise; concurrent questions are encoded together
    opened = open_index(index_dir, corpus_dir, recorded=True, default_corpus=DEFAULT_CORPUS_DIR,
                        model=default_model(), build=build_in_child, defer_corpus_changes=defer_corpus_changes,
                        mmap=True, batched=True)
    assistant = Assistant.opened(opened, runtime=runtime or Runtime())
    # the warm-up question loads the model now, not on the first question, and what an English answer loads
    # on first use (spaCy's pipeline, the span weights): before `--workers` forks, so the workers share those
    # pages instead of each loading its own
    assistant.ask(WARM_UP_QUESTION)
    return Serving(assistant, opened.corpus_dir, opened.built)


def assistant_over_texts(folder: Path, texts: dict[str, str]) -> Assistant:
    """An assistant over a few texts (name -> text), indexed in `folder` with the deterministic hash embedder
    (no model; its queries too, as the index records it): the small corpus of examples and tests."""
    from app.answer.assistant import Assistant
    from app.index.build import build_index
    from app.index.encoders import encoder
    from app.index.ingest import document_from_text

    documents = [document_from_text(name, text) for name, text in texts.items()]
    build_index(folder / "index", encoder("test/hash-embedder-64", "build"), documents=documents)
    return Assistant.load(folder / "index")
