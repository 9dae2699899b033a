"""Loading an assistant for a command: below the CLI, the web chat, the HTTP API and the eval.

`verbatim ask`, `verbatim eval`, `verbatim serve` and its workers all start the same way: find
the corpus an index was built from, build the index if it is missing or stale (serve only), and
load the `Assistant`. Nothing here imports click, Gradio or a model at import time.

>>> resolve_corpus(Path("index/default"), Path("corpus"))
PosixPath('corpus')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import IndexNotFoundError, VerbatimError
from app.runtime import Runtime
from app.settings import DEFAULT_CORPUS_DIR, RETRIEVAL_MODES, AnswerSettings, BuildSettings

if TYPE_CHECKING:
    from app.answer.assistant import Assistant
    from app.index.build import BuildSummary
    from app.index.manifest import Manifest

log = logging.getLogger(__name__)

WARM_UP_QUESTION = "How many people does the report name, and when?"  # typed: it takes the span path too


def resolve_corpus(index_dir: Path, corpus_dir: Path | None, default: Path | None = None) -> Path | None:
    """The one corpus resolver: the given folder, else the one the index was built from (if it still
    exists), else `default`. With a `default` (serving), an unreadable manifest falls back to it too (the
    build that follows repairs the index); without, it is the manifest's error."""
    if corpus_dir is not None:
        return corpus_dir
    return recorded_corpus(existing_manifest(index_dir, strict=default is None), default)


def existing_manifest(index_dir: Path, strict: bool = True) -> Manifest | None:
    """The index's manifest, read once for the caller to hand on; None when there is none, or (unless `strict`)
    when it is unreadable."""
    from app.index.store import MANIFEST, read_manifest

    try:
        return read_manifest(index_dir) if (index_dir / MANIFEST).exists() else None
    except VerbatimError:
        if strict:
            raise
        return None


def recorded_corpus(manifest: Manifest | None, default: Path | None = None) -> Path | None:
    """The corpus folder `manifest` records if it still exists, else `default`."""
    recorded = manifest.corpus_dir if manifest is not None else None
    return Path(recorded) if recorded and Path(recorded).is_dir() else default


def load_assistant(index_dir: Path, corpus_dir: Path | None, mode: str = RETRIEVAL_MODES[0],
                   runtime: Runtime | None = None) -> Assistant:
    """The assistant of an existing index for a command, checked against its corpus (given or recorded)."""
    from app.answer.assistant import Assistant

    manifest = existing_manifest(index_dir)
    if manifest is None:
        raise IndexNotFoundError(f"no index at {index_dir}; run `verbatim index build --index {index_dir}` first")
    corpus = corpus_dir if corpus_dir is not None else recorded_corpus(manifest)
    return Assistant.load(index_dir, settings=AnswerSettings(mode=mode), corpus_dir=corpus, runtime=runtime,
                          manifest=manifest)


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
    from app.batching import BatchingEncoder
    from app.index.build import needs_build
    from app.index.build_process import build_in_child
    from app.index.encoders import default_model, encoder

    # read once here and handed on (issue 28); None: missing or unreadable, and ensure_index rebuilds
    manifest = existing_manifest(index_dir, strict=False)
    corpus = corpus_dir if corpus_dir is not None else recorded_corpus(manifest, DEFAULT_CORPUS_DIR)
    model = default_model()  # multilingual-e5-small unless VERBATIM_MODEL says otherwise
    settings = None
    if manifest is not None:
        try:
            settings = BuildSettings(index_type=manifest.index_type)
        except (VerbatimError, KeyError, TypeError, AttributeError):
            settings = None  # an unreadable manifest: ensure_index rebuilds
    runtime = runtime or Runtime()
    # a build runs in a child process (app/index/build_process.py): this one only answers
    built = build_in_child(index_dir, corpus, model, settings) \
        if needs_build(index_dir, corpus, model, settings or BuildSettings(), defer_corpus_changes, manifest) else None
    # concurrent questions are encoded together (app/batching.py)
    checked = None if defer_corpus_changes else corpus  # deferred: the index may lack the newest uploads
    assistant = Assistant.load(index_dir, BatchingEncoder(encoder(model, "query")), corpus_dir=checked,
                               mmap=True, runtime=runtime, manifest=manifest if built is None else None)
    assistant.embedder.encode(["warm up"])  # load the model now, not on the first question
    # and what an English answer loads on first use (spaCy's pipeline, the span weights): before `--workers`
    # forks, so the workers share those pages instead of each loading its own
    assistant.ask(WARM_UP_QUESTION)
    return Serving(assistant, corpus, built)


def assistant_over_texts(folder: Path, texts: dict[str, str]) -> Assistant:
    """An assistant over a few texts (name -> text), indexed in `folder` with the deterministic `HashEmbedder`
    (no model): the small corpus of examples and tests."""
    from app.answer.assistant import Assistant
    from app.index.build import build_index
    from app.index.embed import HashEmbedder
    from app.index.ingest import document_from_text

    documents = [document_from_text(name, text) for name, text in texts.items()]
    build_index(folder / "index", HashEmbedder(), documents=documents)
    return Assistant.load(folder / "index", embedder=HashEmbedder())
