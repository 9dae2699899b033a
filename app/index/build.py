"""The build pipeline: ingest, read each document's language, chunk, check every offset, embed what is new,
write an index.

`store` owns the on-disk format (write, load, verify, freshness, the atomic swap); this module
decides what goes into a build. Documents whose content hash and build settings match the
current index reuse its chunks and vectors; only changed documents are embedded. Embedding runs
on an `Engine` (in this process, or on Ray: `app.index.build_ray`) and every batch it returns is
checkpointed (`app.index.checkpoint`), so a build killed midway and started again embeds only the rest.

>>> from app.index.embed import HashEmbedder
>>> from app.index.ingest import document_from_text
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "idx"
>>> build_index(folder, HashEmbedder(), documents=[document_from_text("a.txt", "One. Two.")]).chunks
1
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from app import __version__
from app.errors import IndexBuildError, IndexCorruptError, IndexNotFoundError, IndexStaleError
from app.index.briefing import RANKING_SETTINGS, rank_documents
from app.index.checkpoint import Checkpoint, remove_checkpoints, text_key
from app.index.chunk import Chunk, chunk_document
from app.index.embed import Embedder
from app.index.encoders import encoder_record
from app.index.ingest import Document, load_corpus
from app.index.invariants import build_problems
from app.index.language import text_language
from app.index.lexical import BM25Index, join_hyphenated, lexical_record
from app.index.manifest import Manifest
from app.index.ner import entity_rows, model_record
from app.index.store import builds_dir, load_index, sentence_objects
from app.index.store_write import make_faiss_index, write_build
from app.index.verify import needs_build
from app.runtime import Runtime
from app.settings import INDEX_FORMAT_VERSION, BuildSettings

log = logging.getLogger(__name__)


@dataclass
class BuildSummary:
    documents: int
    chunks: int
    sentences: int
    embedded_documents: int
    reused_documents: int
    seconds: float
    path: Path
    engine: str = "in-process"
    workers: int = 1
    texts_embedded: int = 0  # texts this run embedded
    texts_resumed: int = 0  # texts an interrupted build had already embedded (from its checkpoint)
    ner_seconds: float = 0.0  # named entities of the new sentences

    def summary(self) -> str:
        resumed = ""
        if self.texts_resumed:
            total = self.texts_resumed + self.texts_embedded
            resumed = (f"resumed an interrupted build: {self.texts_resumed:,} of {total:,} texts came from its "
                       f"checkpoint, {self.texts_embedded:,} embedded now\n")
        return (f"{resumed}indexed {self.documents} document(s), {self.chunks} chunks, {self.sentences} sentences "
                f"in {self.seconds:.1f} s: embedded {self.embedded_documents}, "
                f"reused {self.reused_documents} unchanged document(s) -> {self.path}")


Sink = Callable[[Sequence[str], np.ndarray], None]


class Engine(Protocol):
    """Embeds (key, text) pairs and hands each finished batch of (keys, vectors) to `sink`, in any order."""

    name: str
    workers: int

    def embed(self, items: Sequence[tuple[str, str]], sink: Sink) -> None: ...


class InProcessEngine:
    """Embedding in this process, one batch of `batch_texts` at a time (each batch is one checkpoint shard)."""

    name = "in-process"
    workers = 1

    def __init__(self, embedder: Embedder, batch_texts: int = 256) -> None:
        self.embedder = embedder
        self.batch_texts = batch_texts

    def embed(self, items: Sequence[tuple[str, str]], sink: Sink) -> None:
        for i in range(0, len(items), self.batch_texts):
            batch = items[i:i + self.batch_texts]
            sink([k for k, _ in batch], self.embedder.encode([t for _, t in batch]))


def _previous_rows(index_dir: Path, settings: BuildSettings, embedder: Embedder) -> dict[str, dict]:
    """Per-document chunks, sentences and vectors from the previous build, if it can be reused."""
    try:
        old = load_index(index_dir)  # checksums too: damaged rows must not be reused
    except (IndexNotFoundError, IndexCorruptError, IndexStaleError):
        return {}
    if old.manifest.model_name != embedder.name or not settings.matches(old.manifest.build_settings):
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
            "entities": _rebased(old.entities[np.isin(old.entities[:, 0], s_rows)], -int(s_rows[0]) if len(s_rows)
                                 else 0),
            "sentence_vectors": None if old.sentence_vectors is None else old.sentence_vectors[s_rows],
            "doc": doc.doc,
            "language": doc.language,
        }
    return rows


@dataclass
class _Plan:
    """A build before embedding: its rows, the vectors reused from the old index, and what is left to embed."""

    chunks: list[Chunk]
    sentences: np.ndarray
    chunk_matrix: np.ndarray
    sentence_matrix: np.ndarray | None
    fresh: dict[str, list]  # "chunk"/"sentence" -> [keys], and "chunk_rows"/"sentence_rows" -> [rows]
    pending: dict[str, str]  # key -> text, unique, in embedding order
    reused_documents: int
    entities: list[np.ndarray]  # the reused documents' entity rows, sentence rows already rebased
    ner_rows: list[int]  # sentences whose entities are still to be found


def _plan(documents: list[Document], settings: BuildSettings, previous: dict[str, dict], dim: int) -> _Plan:
    chunks: list[Chunk] = []
    sentence_rows: list[np.ndarray] = []
    reused_parts: list[tuple[int, int, dict]] = []  # (first chunk row, first sentence row, old rows)
    fresh: dict[str, list] = {"chunk": [], "chunk_rows": [], "sentence": [], "sentence_rows": []}
    sentence_texts: dict[str, str] = {}
    pending: dict[str, str] = {}
    entities: list[np.ndarray] = []
    ner_rows: list[int] = []
    n_sents = 0
    for d_row, doc in enumerate(documents):
        old = previous.get(doc.sha256)
        if (old is not None and old["doc"] == doc.doc
                and (old["sentence_vectors"] is not None or not settings.embed_sentences)):
            reused_parts.append((len(chunks), n_sents, old))
            doc_chunks = old["chunks"]
            s_arr = old["sentences"].copy()
            s_arr[:, 0] = d_row
            entities.append(_rebased(old["entities"], n_sents))
        else:
            doc_chunks, doc_sents = chunk_document(doc, settings)
            s_arr = np.array([[d_row, s.start, s.end, s.paragraph, -1 if s.page is None else s.page]
                              for s in doc_sents], dtype=np.int64).reshape(-1, 5)
            ner_rows.extend(range(n_sents, n_sents + len(doc_sents)))
            for row, c in enumerate(doc_chunks, len(chunks)):
                key = text_key(c.text)
                pending.setdefault(key, join_hyphenated(c.text))
                fresh["chunk"].append(key)
                fresh["chunk_rows"].append(row)
            if settings.embed_sentences:
                for row, s in enumerate(doc_sents, n_sents):
                    text = doc.text[s.start:s.end]
                    key = text_key(text)
                    sentence_texts.setdefault(key, join_hyphenated(text))
                    fresh["sentence"].append(key)
                    fresh["sentence_rows"].append(row)
        chunks.extend(doc_chunks)
        sentence_rows.append(s_arr)
        n_sents += len(s_arr)
    for key, text in sentence_texts.items():  # chunks first, then sentences (a text is embedded once)
        pending.setdefault(key, text)
    sentences = np.concatenate(sentence_rows) if sentence_rows else np.zeros((0, 5), np.int64)
    chunk_matrix = np.zeros((len(chunks), dim), np.float32)
    sentence_matrix = np.zeros((len(sentences), dim), np.float32) if settings.embed_sentences else None
    for c0, s0, old in reused_parts:
        chunk_matrix[c0:c0 + len(old["chunks"])] = old["chunk_vectors"]
        if sentence_matrix is not None:
            sentence_matrix[s0:s0 + len(old["sentences"])] = old["sentence_vectors"]
    return _Plan(chunks, sentences, chunk_matrix, sentence_matrix, fresh, pending, len(reused_parts), entities,
                 ner_rows)


def with_languages(documents: list[Document], previous: dict[str, dict], runtime: Runtime) -> list[Document]:
    """The documents with their language: as given, else the previous build's for the same bytes, else read
    from the text now (`text_language`, by `runtime`'s identifier: English unless it is sure)."""
    read = [d.language or previous.get(d.sha256, {}).get("language") or text_language(runtime, d.text)
            for d in documents]
    return [replace(d, language=language) for d, language in zip(documents, read, strict=True)]


def lexical_index(documents: list[Document], chunks: list[Chunk]) -> BM25Index:
    """BM25 over the chunks, each tokenized in its document's language."""
    language = {d.doc: d.language for d in documents}
    return BM25Index.build([c.text for c in chunks], [language[c.doc] for c in chunks])


def _rebased(entities: np.ndarray, shift: int) -> np.ndarray:
    out = entities.copy()
    out[:, 0] += shift
    return out


def find_entities(documents: list[Document], sentences: np.ndarray, plan: _Plan, settings: BuildSettings,
                  runtime: Runtime) -> np.ndarray:
    """The entity rows of every sentence, sorted by sentence row: the reused documents' as stored, NER over
    the rest (in this process, also on Ray builds: the NER runs beside the driver's planning, see build_ray)."""
    if not settings.entities:
        return np.zeros((0, 4), np.int64)
    rows = plan.ner_rows
    texts = [documents[int(sentences[r, 0])].text[int(sentences[r, 1]):int(sentences[r, 2])] for r in rows]
    owners = [documents[int(sentences[r, 0])].doc for r in rows]  # each document has its own NER budget
    found = entity_rows(runtime.nlp, texts, [int(sentences[r, 1]) for r in rows], rows, owners) if rows \
        else np.zeros((0, 4), np.int64)
    allrows = np.concatenate([*plan.entities, found]) if plan.entities else found
    return allrows[np.lexsort((allrows[:, 1], allrows[:, 0]))] if len(allrows) else allrows.reshape(-1, 4)


def build_index(
    index_dir: Path,
    embedder: Embedder,
    settings: BuildSettings | None = None,
    corpus_dir: Path | None = None,
    documents: list[Document] | None = None,
    progress: bool = False,
    engine: Engine | None = None,
    runtime: Runtime | None = None,
) -> BuildSummary:
    """Build (or rebuild) the index at `index_dir` from a corpus folder or from documents.

    Documents whose content hash and chunking settings match the previous build reuse its
    chunks and vectors; texts an interrupted build already embedded come from its checkpoint;
    only the rest is embedded, by `engine` (default: in this process with `embedder`, whose name
    and dimension the index records either way). `runtime` runs NER and reads the language of a document that
    has none yet (default: a new `Runtime`, which loads spaCy's pipeline or the identifier only if needed).
    """
    settings, runtime = settings or BuildSettings(), runtime or Runtime()
    engine = engine or InProcessEngine(embedder)
    t0 = time.perf_counter()
    if documents is None:
        if corpus_dir is None:
            raise ValueError("build_index needs corpus_dir or documents")
        documents = load_corpus(corpus_dir, settings.max_file_bytes)
    index_dir = Path(index_dir)
    previous = _previous_rows(index_dir, settings, embedder)
    documents = with_languages(documents, previous, runtime)
    plan = _plan(documents, settings, previous, embedder.dim)
    problems = build_problems(documents, plan.chunks, sentence_objects(documents, plan.sentences))
    if problems:  # before any embedding: a build that would cite wrong text never starts
        raise IndexBuildError(f"{len(problems)} chunk/sentence offset problem(s), first: {'; '.join(problems[:3])}. "
                              f"Nothing was written; the index at {index_dir} is unchanged")
    checkpoint = Checkpoint.open(builds_dir(index_dir), embedder.name, embedder.dim, settings.fingerprint())
    t_ner = time.perf_counter()  # NER timed
    entities = find_entities(documents, plan.sentences, plan, settings, runtime)
    t_plan = time.perf_counter()
    todo = [(k, t) for k, t in plan.pending.items() if k not in checkpoint]
    resumed = len(plan.pending) - len(todo)
    if resumed:
        log.info("resuming: %d of %d texts are in the checkpoint %s", resumed, len(plan.pending), checkpoint.folder)
    log.info("embedding %d texts on %s (%d worker(s))", len(todo), engine.name, engine.workers)
    embedded = _embed(engine, todo, checkpoint, resumed, progress)
    t_embed = time.perf_counter()
    fill_vectors(plan, checkpoint, engine.name, len(todo), index_dir)

    faiss_index, faiss_info = make_faiss_index(plan.chunk_matrix, settings.index_type, settings.hnsw_threshold)
    bm25 = lexical_index(documents, plan.chunks)
    n_docs, reused = len(documents), plan.reused_documents
    times = {"plan_seconds": round(t_plan - t0, 3), "ner_seconds": round(t_plan - t_ner, 3),
             "embed_seconds": round(t_embed - t_plan, 3), "seconds_before_write": round(time.perf_counter() - t0, 3)}
    manifest = build_manifest(embedder, settings, corpus_dir, documents, plan, len(entities), faiss_info, engine,
                              {"texts_embedded": embedded, "texts_resumed": resumed, **times})
    briefing = rank_documents(documents, plan.sentences, plan.sentence_matrix)  # every build: cheap, per document
    write_build(index_dir, manifest, documents, plan.chunks, plan.chunk_matrix, plan.sentences,
                plan.sentence_matrix, faiss_index, bm25, briefing, entities)
    remove_checkpoints(builds_dir(index_dir))  # the swapped-in build supersedes them
    return BuildSummary(n_docs, len(plan.chunks), len(plan.sentences), n_docs - reused, reused,
                        time.perf_counter() - t0, index_dir, engine.name, engine.workers, embedded, resumed,
                        t_plan - t_ner)


def fill_vectors(plan: _Plan, checkpoint: Checkpoint, engine: str, asked: int, index_dir: Path) -> None:
    """The plan's vector matrices filled from the checkpoint; a text the engine left out fails the build."""
    missing = sum(k not in checkpoint for k in plan.pending)
    if missing:
        raise IndexBuildError(f"the {engine} engine returned no vector for {missing} of {asked} texts; "
                              f"the index at {index_dir} is unchanged; run the build again to resume")
    checkpoint.fill(plan.fresh["chunk"], plan.chunk_matrix, plan.fresh["chunk_rows"])
    if plan.sentence_matrix is not None:
        checkpoint.fill(plan.fresh["sentence"], plan.sentence_matrix, plan.fresh["sentence_rows"])


def build_manifest(embedder: Embedder, settings: BuildSettings, corpus_dir: Path | None, documents: list[Document],
                   plan: _Plan, entities: int, faiss_info: dict, engine: Engine, build: dict) -> dict:
    """What the index knows of its making: formats, model, settings, documents' hashes, counts, the build's figures."""
    n_docs, reused = len(documents), plan.reused_documents
    return {
        "format_version": INDEX_FORMAT_VERSION,
        "package": "verbatim",
        "package_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": encoder_record(embedder),
        "build_settings": settings.to_dict(),
        "faiss": faiss_info,
        "bm25": lexical_record([d.language for d in documents]),
        "briefing": RANKING_SETTINGS,
        "ner": model_record() if settings.entities else None,
        "corpus_dir": str(corpus_dir.resolve()) if corpus_dir else None,
        "documents": {d.doc: d.sha256 for d in documents},
        "counts": {"documents": n_docs, "chunks": len(plan.chunks), "sentences": len(plan.sentences),
                   "entities": entities, "embedded_documents": n_docs - reused, "reused_documents": reused},
        "build": {"engine": engine.name, "workers": engine.workers, "ner_sentences": len(plan.ner_rows), **build,
                  "engine_stats": getattr(engine, "stats", {})},
    }


def _embed(engine: Engine, todo: list[tuple[str, str]], checkpoint: Checkpoint, resumed: int, progress: bool) -> int:
    """Run the engine, checkpointing each batch as it arrives, under a progress bar; the texts embedded."""
    from tqdm.auto import tqdm

    done = 0
    with tqdm(total=resumed + len(todo), initial=resumed, unit="text", desc=f"embedding ({engine.name})",
              disable=not progress, smoothing=0.05, dynamic_ncols=True) as bar:
        def sink(keys: Sequence[str], vectors: np.ndarray) -> None:
            nonlocal done
            checkpoint.add(keys, vectors)
            done += len(keys)
            bar.update(len(keys))

        if todo:
            engine.embed(todo, sink)
    return done


def ensure_index(index_dir: Path, corpus_dir: Path, embedder: Embedder, settings: BuildSettings | None = None,
                 progress: bool = False, engine: Engine | None = None,
                 runtime: Runtime | None = None, defer_corpus_changes: bool = False,
                 manifest: Manifest | None = None) -> BuildSummary | None:
    """Build the index if it is missing, unreadable or stale; return the build summary, or None if fresh.
    `manifest`: the index's, when the caller has already read it.

    With `defer_corpus_changes`, an index stale only because corpus documents were added, removed or
    changed counts as fresh: a server with uploads answers from it at once and builds in the background.

    A damaged index (unreadable manifest, missing or altered files) is first moved aside by `set_aside`
    and the move is logged, so the rebuild starts from the corpus and the damage stays for a look.
    """
    settings = settings or BuildSettings()
    if not needs_build(index_dir, corpus_dir, embedder.name, settings, defer_corpus_changes, manifest):
        return None
    return build_index(index_dir, embedder, settings, corpus_dir=corpus_dir, progress=progress, engine=engine,
                       runtime=runtime)
