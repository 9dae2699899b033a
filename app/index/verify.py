"""Checking an index: is it fresh for this corpus and these settings, and is every file and row sound.

`ensure_fresh` is cheap (hashes of the corpus files against the manifest); `verify_index` reads
everything (file checksums, row counts, each chunk and sentence against its document's text).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import IndexStaleError
from app.index.briefing import RANKING_SETTINGS
from app.index.encoders import calibration_changed
from app.index.ingest import file_hashes
from app.index.invariants import build_problems
from app.index.manifest import Manifest
from app.index.store import (
    ENTITIES,
    Index,
    check_files,
    load_index,
    read_entities,
    read_manifest,
    rebuild_hint,
    sentence_objects,
)
from app.settings import BuildSettings


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
