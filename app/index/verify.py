"""Checking an index: is it fresh for this corpus and these settings, and is every file and row sound;
and `open_index`, the one way the answer layer opens one (checked, and built first when a server must).

`ensure_fresh` is cheap (hashes of the corpus files against the manifest); `verify_index` reads
everything (file checksums, row counts, each chunk and sentence against its document's text).
`resolve_corpus` is the one answer to "which corpus folder is this index checked against".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.batching import BatchingEncoder
from app.errors import IndexCorruptError, IndexNotFoundError, IndexStaleError, VerbatimError
from app.index.briefing import RANKING_SETTINGS
from app.index.embed import Embedder
from app.index.encoders import calibration_changed, encoder
from app.index.ingest import file_hashes
from app.index.invariants import build_problems
from app.index.manifest import Manifest
from app.index.store import (
    ENTITIES,
    Calibration,
    Index,
    check_files,
    index_calibration,
    load_index,
    read_entities,
    read_manifest,
    rebuild_hint,
    sentence_objects,
)
from app.index.store_write import set_aside
from app.settings import BuildSettings

log = logging.getLogger(__name__)
# how a server builds an index it cannot answer from: (index, corpus, model, settings) -> the build's summary
Builder = Callable[[Path, Path, str, BuildSettings | None], Any]


def resolve_corpus(manifest: Manifest | None, corpus_dir: Path | None, default: Path | None = None) -> Path | None:
    """The one corpus resolver: the given folder, else the one the index was built from if it still exists
    (`manifest`: the index's, None when it has none), else `default`."""
    if corpus_dir is not None:
        return corpus_dir
    recorded = manifest.corpus_dir if manifest is not None else None
    return Path(recorded) if recorded and Path(recorded).is_dir() else default


def corpus_changes(manifest: Manifest, corpus_dir: Path) -> list[str]:
    """The documents added, removed or changed in the corpus folder since the index was built."""
    built, current = manifest.documents, file_hashes(corpus_dir)
    return [*(f"{doc} is new" for doc in sorted(set(current) - set(built))),
            *(f"{doc} was removed" for doc in sorted(set(built) - set(current))),
            *(f"{doc} has changed" for doc in sorted(set(built) & set(current)) if built[doc] != current[doc])]


def stale_reasons(manifest: Manifest, corpus_dir: Path, settings: BuildSettings | None = None,
                  embedder_name: str | None = None) -> list[str]:
    """Why an index no longer matches the corpus folder and settings (empty list: it matches)."""
    reasons = corpus_changes(manifest, corpus_dir)
    if manifest.briefing != RANKING_SETTINGS:
        reasons.append("the briefing ranking changed")
    if settings is not None and not settings.matches(manifest.build_settings):
        reasons.append("chunking or model settings differ")
    if embedder_name is not None and manifest.model_name != embedder_name:
        reasons.append(f"built with {manifest.model_name}, not {embedder_name}")
    elif calibration_changed(manifest.model):
        reasons.append(f"{manifest.model_name}'s default calibration changed")
    return reasons


def ensure_fresh(index_dir: Path, corpus_dir: Path, settings: BuildSettings | None = None,
                 embedder_name: str | None = None, manifest: Manifest | None = None) -> None:
    """Raise `IndexStaleError` (naming the fix) if the index does not match the corpus; `manifest`: the index's,
    when the caller has already read it."""
    manifest = read_manifest(index_dir) if manifest is None else manifest
    reasons = stale_reasons(manifest, corpus_dir, settings, embedder_name)
    if reasons:
        raise IndexStaleError(f"index at {index_dir} is stale ({'; '.join(reasons[:3])}); "
                              f"{rebuild_hint(index_dir, corpus_dir)}")


def needs_build(index_dir: Path, corpus_dir: Path, model: str, settings: BuildSettings,
                defer_corpus_changes: bool = False, manifest: Manifest | None = None) -> bool:
    """Whether the index must be built (missing, unreadable, damaged or stale; with `defer_corpus_changes`,
    not when corpus documents alone were added, removed or changed); a damaged one is first moved aside
    (`set_aside`, logged), so the rebuild starts from the corpus and the damage stays for a look."""
    index_dir = Path(index_dir)
    damage = None
    try:
        manifest = read_manifest(index_dir) if manifest is None else manifest
        reasons = stale_reasons(manifest, corpus_dir, settings, model)
        fresh = len(reasons) == len(corpus_changes(manifest, corpus_dir) if defer_corpus_changes else [])
        damage = "; ".join(check_files(index_dir, manifest, full=False)[:3]) or None
        if fresh and damage is None:
            return False
    except IndexCorruptError as exc:
        damage = str(exc).split("; run `", 1)[0]
    except (IndexNotFoundError, IndexStaleError):
        pass
    if damage is not None:
        aside = set_aside(index_dir)
        log.warning("the index at %s is damaged (%s): moved it to %s and rebuilding from %s",
                    index_dir, damage, aside, corpus_dir)
    log.info("building the index at %s from %s", index_dir, corpus_dir)
    return True


@dataclass(frozen=True, eq=False)
class Opened:
    """An index opened to answer from: loaded, checked, with its query encoder and calibration."""

    index: Index
    encoder: Embedder
    calibration: Calibration
    corpus_dir: Path | None  # the corpus it was resolved against (None: none)
    built: Any = None  # the `BuildSummary` of the build `open_index` made first, if any


def open_index(index_dir: Path, corpus_dir: Path | None = None, *, recorded: bool = False,
               default_corpus: Path | None = None, model: str | None = None, query_encoder: Embedder | None = None,
               build: Builder | None = None, defer_corpus_changes: bool = False, mmap: bool = False,
               batched: bool = False) -> Opened:
    """The index at `index_dir`, opened once for the answer layer: its manifest read once and handed on.

    - corpus: `corpus_dir`; else, with `recorded`, the one the index was built from if it still exists, else
      `default_corpus` (`resolve_corpus`);
    - `model`: the encoder the index must be built with (None: whichever built it);
    - with `build` (a server; it needs `model`), an index that is missing, unreadable, damaged or stale is
      built first (`needs_build`); without, such an index raises, and so does one its corpus no longer matches;
    - the query encoder: `query_encoder`, else the factory's (`encoders.encoder`), batched across
      concurrent questions with `batched` (app/batching.py);
    - `mmap`: vectors memory-mapped read-only (`load_index`)."""
    index_dir = Path(index_dir)
    manifest = _manifest(index_dir, strict=build is None)
    corpus = resolve_corpus(manifest, corpus_dir, default_corpus) if recorded else corpus_dir
    built, checked = None, False
    if build is not None:
        settings = _recorded_settings(manifest)
        checked = not needs_build(index_dir, corpus, model, settings or BuildSettings(), defer_corpus_changes, manifest)
        if not checked:
            built, manifest = build(index_dir, corpus, model, settings), None
    query = query_encoder or encoder(model or manifest.model_name, "query")
    query = BatchingEncoder(query) if batched else query
    # the files' sizes and checksums: checked by needs_build already when it found the index fresh
    index = load_index(index_dir, embedder_name=query.name, verify_files=not checked, mmap=mmap, manifest=manifest)
    if corpus is not None and build is None:
        ensure_fresh(index_dir, corpus, index.build_settings, query.name, index.manifest)
    return Opened(index, query, index_calibration(index_dir, index.manifest), corpus, built)


def _manifest(index_dir: Path, strict: bool) -> Manifest | None:
    """The index's manifest; unless `strict`, None when it has none or it is unreadable (a server rebuilds)."""
    try:
        return read_manifest(index_dir)
    except IndexNotFoundError:
        if strict:
            raise IndexNotFoundError(f"no index at {index_dir}; run `verbatim index build --index {index_dir}` "
                                     "first") from None
        return None
    except VerbatimError:
        if strict:
            raise
        return None


def _recorded_settings(manifest: Manifest | None) -> BuildSettings | None:
    """The build settings a rebuild keeps (the index type); None for an unreadable record."""
    try:
        return BuildSettings(index_type=manifest.index_type) if manifest is not None else None
    except (VerbatimError, KeyError, TypeError, AttributeError):
        return None


def verify_index(index_dir: Path) -> list[str]:
    """Every check there is: file checksums, row counts, and each chunk and sentence against its text."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    problems = check_files(index_dir, manifest, full=True)
    if problems:
        return problems
    index = load_index(index_dir, verify_files=False, manifest=manifest)
    doc_rows = index.sentences[:, 0] if len(index.sentences) else np.zeros(0, np.int64)
    if len(doc_rows) and not (0 <= doc_rows.min() and doc_rows.max() < len(index.documents)):
        problems.append("a sentence names a document row outside the document table")
    else:
        problems.extend(build_problems(index.documents, index.chunks,
                                       sentence_objects(index.documents, index.sentences)))
    problems.extend(entity_problems(index, read_entities(index_dir / ENTITIES)[1]))
    if index.faiss_index.ntotal != len(index.chunks):
        problems.append(f"FAISS holds {index.faiss_index.ntotal} vectors for {len(index.chunks)} chunks")
    norms = np.linalg.norm(index.chunk_vectors, axis=1) if len(index.chunk_vectors) else np.ones(0)
    if len(norms) and not np.allclose(norms, 1.0, atol=1e-3):
        problems.append("chunk vectors are not unit length")
    return problems


def entity_problems(index: Index, texts: list[str]) -> list[str]:
    """Entities that lie outside their sentence or whose stored text differs from the document's."""
    problems = []
    for (srow, start, end, _), text in zip(index.entities.tolist(), texts, strict=True):
        d, s, e = (int(x) for x in index.sentences[srow, :3])
        doc = index.documents[d]
        if not s <= start < end <= e:
            problems.append(f"entity {text!r} at {doc.doc}:{start}-{end} lies outside its sentence {s}-{e}")
        elif doc.text[start:end] != text:
            problems.append(f"entity {text!r} at {doc.doc}:{start}-{end} reads {doc.text[start:end]!r} in the document")
    return problems
