"""The build pipeline: ingest, chunk, check every offset, embed what is new, write an index.

`store` owns the on-disk format (write, load, verify, freshness, the atomic swap); this module
decides what goes into a build. Documents whose content hash and build settings match the
current index reuse its chunks and vectors; only changed documents are embedded.

>>> from app.embed import HashEmbedder
>>> from app.ingest import document_from_text
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "idx"
>>> build_index(folder, HashEmbedder(), documents=[document_from_text("a.txt", "One. Two.")]).chunks
1
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .chunk import Chunk, chunk_document
from .embed import Embedder
from .errors import IndexBuildError, IndexCorruptError, IndexNotFoundError, IndexStaleError
from .ingest import Document, load_corpus
from .invariants import build_problems
from .lexical import BM25Index
from .settings import INDEX_FORMAT_VERSION, BuildSettings
from .store import (
    check_files,
    load_index,
    make_faiss_index,
    read_manifest,
    sentence_objects,
    stale_reasons,
    write_build,
)

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    documents: int
    chunks: int
    sentences: int
    embedded_documents: int
    reused_documents: int
    seconds: float
    path: Path

    def summary(self) -> str:
        return (f"indexed {self.documents} document(s), {self.chunks} chunks, {self.sentences} sentences "
                f"in {self.seconds:.1f} s: embedded {self.embedded_documents}, "
                f"reused {self.reused_documents} unchanged document(s) -> {self.path}")


def _previous_rows(index_dir: Path, settings: BuildSettings, embedder: Embedder) -> dict[str, dict]:
    """Per-document chunks, sentences and vectors from the previous build, if it can be reused."""
    try:
        old = load_index(index_dir)  # checksums too: damaged rows must not be reused
    except (IndexNotFoundError, IndexCorruptError, IndexStaleError):
        return {}
    if (old.manifest["model"]["name"] != embedder.name
            or not settings.matches(old.manifest["build_settings"])):
        return {}
    rows: dict[str, dict] = {}
    chunk_rows: dict[str, list[int]] = {}
    for i, c in enumerate(old.chunks):
        chunk_rows.setdefault(c.doc, []).append(i)
    for d_row, doc in enumerate(old.documents):
        s_rows = np.flatnonzero(old.sentences[:, 0] == d_row)
        c_rows = chunk_rows.get(doc.doc, [])
        rows[doc.sha256] = {
            "chunks": [old.chunks[i] for i in c_rows],
            "chunk_vectors": old.chunk_vectors[c_rows] if c_rows
            else np.zeros((0, old.chunk_vectors.shape[1]), np.float32),
            "sentences": old.sentences[s_rows].copy(),
            "sentence_vectors": None if old.sentence_vectors is None else old.sentence_vectors[s_rows],
            "doc": doc.doc,
        }
    return rows


def build_index(
    index_dir: Path,
    embedder: Embedder,
    settings: BuildSettings | None = None,
    corpus_dir: Path | None = None,
    documents: list[Document] | None = None,
    progress: bool = False,
) -> BuildReport:
    """Build (or rebuild) the index at `index_dir` from a corpus folder or from documents.

    Documents whose content hash and chunking settings match the previous build reuse its
    chunks and vectors; only changed documents are embedded.
    """
    settings = settings or BuildSettings()
    t0 = time.perf_counter()
    if documents is None:
        if corpus_dir is None:
            raise ValueError("build_index needs corpus_dir or documents")
        documents = load_corpus(corpus_dir, settings.max_file_bytes)
    index_dir = Path(index_dir)
    previous = _previous_rows(index_dir, settings, embedder)

    chunks: list[Chunk] = []
    sentence_rows: list[np.ndarray] = []
    chunk_vecs: list[np.ndarray | None] = []
    sent_vecs: list[np.ndarray | None] = []
    to_embed_chunks: list[str] = []
    to_embed_sents: list[str] = []
    reused = 0
    for d_row, doc in enumerate(documents):
        old = previous.get(doc.sha256)
        reusable = old is not None and old["doc"] == doc.doc
        if reusable and (old["sentence_vectors"] is not None or not settings.embed_sentences):
            reused += 1
            doc_chunks = old["chunks"]
            s_arr = old["sentences"].copy()
            s_arr[:, 0] = d_row
            chunk_vecs.append(old["chunk_vectors"])
            sent_vecs.append(old["sentence_vectors"] if settings.embed_sentences else None)
        else:
            doc_chunks, doc_sents = chunk_document(doc, settings)
            s_arr = np.array([[d_row, s.start, s.end, s.paragraph, -1 if s.page is None else s.page]
                              for s in doc_sents], dtype=np.int64).reshape(-1, 5)
            to_embed_chunks.extend(c.text for c in doc_chunks)
            if settings.embed_sentences:
                to_embed_sents.extend(doc.text[s.start:s.end] for s in doc_sents)
            chunk_vecs.append(None)
            sent_vecs.append(None)
        chunks.extend(doc_chunks)
        sentence_rows.append(s_arr)

    sentences = np.concatenate(sentence_rows) if sentence_rows else np.zeros((0, 5), np.int64)
    problems = build_problems(documents, chunks, sentence_objects(documents, sentences))
    if problems:  # before any embedding: a build that would cite wrong text never starts
        raise IndexBuildError(f"{len(problems)} chunk/sentence offset problem(s), first: {'; '.join(problems[:3])}. "
                              f"Nothing was written; the index at {index_dir} is unchanged")
    log.info("embedding %d chunks and %d sentences", len(to_embed_chunks), len(to_embed_sents))
    new_vectors = embedder.encode(to_embed_chunks + to_embed_sents, progress=progress)
    new_chunk_vecs, new_sent_vecs = new_vectors[:len(to_embed_chunks)], new_vectors[len(to_embed_chunks):]
    chunks_per_doc = Counter(c.doc for c in chunks)
    chunk_matrix = _assemble(chunk_vecs, [chunks_per_doc[d.doc] for d in documents], new_chunk_vecs, embedder.dim)
    sentence_matrix = None
    if settings.embed_sentences:
        sentence_matrix = _assemble(sent_vecs, [len(r) for r in sentence_rows], new_sent_vecs, embedder.dim)

    faiss_index, faiss_info = make_faiss_index(chunk_matrix, settings.index_type, settings.hnsw_threshold)
    bm25 = BM25Index.build([c.text for c in chunks])
    manifest = {
        "format_version": INDEX_FORMAT_VERSION,
        "package": "verbatim",
        "package_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": {"name": embedder.name, "dim": embedder.dim, "normalized": True, "metric": "inner_product"},
        "build_settings": settings.to_dict(),
        "faiss": faiss_info,
        "bm25": {"library": "bm25s", "stemmer": "snowball-english", "stopwords": "en_plus"},
        "corpus_dir": str(corpus_dir.resolve()) if corpus_dir else None,
        "documents": {d.doc: d.sha256 for d in documents},
        "counts": {"documents": len(documents), "chunks": len(chunks), "sentences": len(sentences),
                   "embedded_documents": len(documents) - reused, "reused_documents": reused},
    }
    write_build(index_dir, manifest, documents, chunks, chunk_matrix, sentences, sentence_matrix, faiss_index, bm25)
    return BuildReport(len(documents), len(chunks), len(sentences), len(documents) - reused, reused,
                       time.perf_counter() - t0, index_dir)


def _assemble(parts: list[np.ndarray | None], sizes: list[int], fresh: np.ndarray, dim: int) -> np.ndarray:
    """Stitch reused per-document vectors and freshly embedded ones back into document order."""
    out, pos = [], 0
    for part, n in zip(parts, sizes, strict=False):
        if part is None:
            part = fresh[pos:pos + n]
            pos += n
        out.append(part)
    return np.ascontiguousarray(np.concatenate(out) if out else np.zeros((0, dim)), dtype=np.float32)



def ensure_index(index_dir: Path, corpus_dir: Path, embedder: Embedder, settings: BuildSettings | None = None,
                 progress: bool = False) -> BuildReport | None:
    """Build the index if it is missing, unreadable or stale; return the build report, or None if fresh."""
    settings = settings or BuildSettings()
    try:
        manifest = read_manifest(index_dir)
        fresh = not stale_reasons(manifest, corpus_dir, settings, embedder.name)
        if fresh and not check_files(index_dir, manifest, full=False):
            return None
    except (IndexNotFoundError, IndexCorruptError, IndexStaleError):
        pass
    log.info("building the index at %s from %s", index_dir, corpus_dir)
    return build_index(index_dir, embedder, settings, corpus_dir=corpus_dir, progress=progress)
