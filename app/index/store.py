"""The index on disk: a folder of plain files, built in a temporary folder and swapped in atomically.

Layout of one build (no pickle anywhere):

    manifest.json          format version, package version, model, settings, per-document SHA-256,
                           counts, FAISS type, and the size and SHA-256 of every file below
    documents.jsonl        one row per document: path, hash, language, text, paragraph and page spans
    chunks.jsonl           row i = vector i: id, doc, start, end, paragraph, page, text
    chunk_vectors.npy      float32 (chunks x dim), L2-normalised
    sentences.npy          int64 (sentences x 5): document row, start, end, paragraph, page (-1: none)
    sentence_vectors.npy   float32 (sentences x dim), when sentence vectors are built
    briefing.npy           int64 (ranked x 2): sentence row, words; each document's briefing ranking,
                           documents in order, best first within each (app/index/briefing.py)
    briefing_scores.npy    float32 (ranked): the relevance of each ranked sentence
    entities.jsonl         one row per named entity, by sentence: [sentence row, start, end, label, text]
                           (document offsets, label an OntoNotes name; from `app.index.ner` at build time)
    dense.faiss            the FAISS index over chunk_vectors (inner product = cosine)
    bm25/                  the bm25s index over chunk texts

`index_dir` itself is a symbolic link to the current build inside `<index_dir>.builds/`; a new
build is written beside it and the link is replaced with one `os.replace`, so readers always see
either the old index or the new one, whole. A build killed midway leaves the old one in place.
Beside the builds, `calibration.json` holds the index's own verdict calibration, when one was chosen
for it (`Calibration`): rebuilds keep it.

This module is the format: the file names, the manifest, the row shapes, and loading (the calibration
too). Writing a build and swapping it in is `app.index.store_write`; verifying, freshness and opening an
index to answer from is `app.index.verify`; what goes into a build (ingest, chunking, embedding, reuse)
is `app.index.build`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.errors import IndexCorruptError, IndexNotFoundError, IndexStaleError, VerbatimError
from app.files import read_jsonl
from app.index.chunk import Chunk, Sentence
from app.index.ingest import Document
from app.index.manifest import Manifest
from app.index.ner import LABELS
from app.settings import INDEX_FORMAT_VERSION, BuildSettings

if TYPE_CHECKING:
    from app.index.lexical import BM25Index

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.jsonl"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCES = "sentences.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
ENTITIES = "entities.jsonl"
BRIEFING = "briefing.npy"
BRIEFING_SCORES = "briefing_scores.npy"
DENSE = "dense.faiss"
BM25_FOLDER = "bm25"
CHECKSUM_LIMIT_BYTES = 256 * 1024 * 1024  # above this, loading checks sizes only; verify checks all
CALIBRATION = "calibration.json"  # beside the builds (`calibration_path`)
# the tests' hash embedder has no card: it answers with thresholds of its own (its bag-of-hashed-words
# cosines are no model's; these keep the test corpora's answers answered and off-topic questions out)
STAND_IN = {"threshold": 0.25, "floor": 0.05, "chosen_on": "a stand-in for the tests' hash embedder"}


def rebuild_hint(index_dir: Path, corpus_dir: Path | None = None) -> str:
    corpus = f" --corpus {corpus_dir}" if corpus_dir else ""
    return f"run `verbatim index build{corpus} --index {index_dir}` to rebuild it"


@dataclass
class Index:
    """A loaded index: documents, chunks, sentences, vectors, FAISS and BM25, all row-aligned."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentences: np.ndarray  # int64 (S, 5): doc row, start, end, paragraph, page
    sentence_vectors: np.ndarray | None
    faiss_index: object
    bm25: BM25Index
    entities: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int64))  # (E, 4): sentence row,
    # start, end, label row in `app.index.ner.LABELS`; sorted by sentence row
    doc_rows: dict[str, int] = field(default_factory=dict)
    chunk_sentences: list[tuple[int, int]] = field(default_factory=list)  # sentence rows per chunk
    sentence_hubness: np.ndarray | None = None
    briefing: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # (sentence row, words)
    briefing_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    briefing_bounds: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))  # doc d: [b[d], b[d+1])

    def __post_init__(self) -> None:
        self.doc_rows = {d.doc: i for i, d in enumerate(self.documents)}
        ranked_docs = self.sentences[self.briefing[:, 0], 0] if len(self.briefing) else np.zeros(0, np.int64)
        self.briefing_bounds = np.searchsorted(ranked_docs, np.arange(len(self.documents) + 1))
        self.chunk_sentences = _sentences_per_chunk(self.chunks, self.sentences, self.doc_rows)
        # each sentence's mean cosine to all sentences of the corpus: how much it looks like any
        # sentence of the report ("hubness"); quoting subtracts it so on-topic filler loses to answers
        self.sentence_hubness = (self.sentence_vectors @ self.sentence_vectors.mean(axis=0)
                                 if self.sentence_vectors is not None and len(self.sentence_vectors) else None)

    @property
    def build_settings(self) -> BuildSettings:
        return BuildSettings.from_dict(self.manifest.build_settings)

    def document(self, doc: str) -> Document:
        return self.documents[self.doc_rows[doc]]

    def chunks_per_document(self) -> dict[str, int]:
        """How many chunks each document has, in document order (0 for a document without text)."""
        counts = dict.fromkeys(self.doc_rows, 0)
        for c in self.chunks:
            counts[c.doc] += 1
        return counts

    def unknown_documents(self, docs: list[str] | None) -> str | None:
        """The error for `docs` naming documents the index does not hold (with the valid names), or None."""
        unknown = sorted(set(docs or []) - set(self.doc_rows))
        if not unknown:
            return None
        return f"unknown document(s) {', '.join(unknown)}; choose from {', '.join(sorted(self.doc_rows))}"

    def sentence_entities(self, row: int) -> np.ndarray:
        """The entity rows (sentence row, start, end, label) of sentence `row`."""
        lo, hi = np.searchsorted(self.entities[:, 0], [row, row + 1], side="left")
        return self.entities[lo:hi]

    def sentence(self, row: int) -> Sentence:
        d, s, e, p, pg = (int(x) for x in self.sentences[row])
        return Sentence(self.documents[d].doc, s, e, p, None if pg < 0 else pg)


def sentence_objects(documents: list[Document], rows: np.ndarray) -> list[Sentence]:
    """`Sentence`s from the int64 sentence table (document row, start, end, paragraph, page or -1)."""
    return [Sentence(documents[d].doc, s, e, p, None if pg < 0 else pg) for d, s, e, p, pg in rows.tolist()]


def _sentences_per_chunk(chunks: list[Chunk], sentences: np.ndarray, doc_rows: dict[str, int]) -> list[tuple[int, int]]:
    """For each chunk, the [first, last) rows of the sentences lying inside it."""
    if len(sentences) == 0:
        return [(0, 0)] * len(chunks)
    # sentences are sorted by (document row, start); a combined key keeps that order for search
    key = sentences[:, 0] * (1 << 40) + sentences[:, 1]
    out = []
    for c in chunks:
        base = doc_rows[c.doc] * (1 << 40)
        lo = int(np.searchsorted(key, base + c.start, side="left"))
        hi = int(np.searchsorted(key, base + c.end, side="left"))
        while hi > lo and sentences[hi - 1, 2] > c.end:
            hi -= 1
        out.append((lo, hi))
    return out


def builds_dir(index_dir: Path) -> Path:
    """Where the builds of `index_dir` live (and, in `work-*` folders, the checkpoints of unfinished ones)."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.builds"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def document_row(d: Document, indexed_at: str) -> dict:
    """One row of documents.jsonl."""
    return {"doc": d.doc, "sha256": d.sha256, "size_bytes": d.size_bytes, "title": d.title, "indexed_at": indexed_at,
            "paragraphs": d.paragraphs, "pages": d.pages, "furniture": d.furniture, "meta": d.meta,
            "language": d.language, "text": d.text}


def document_from_row(r: dict) -> Document:
    """The `Document` of one documents.jsonl row (the inverse of `document_row`)."""
    return Document(r["doc"], r["text"], r["sha256"], tuple(map(tuple, r["paragraphs"])),
                    tuple(map(tuple, r["pages"])) if r["pages"] else None, r["size_bytes"], r.get("title", ""),
                    tuple(map(tuple, r.get("furniture") or ())), tuple(map(tuple, r.get("meta") or ())),
                    r["language"])


def chunk_from_row(r: dict) -> Chunk:
    """The `Chunk` of one chunks.jsonl row (the inverse of `Chunk.to_dict`)."""
    return Chunk(r["id"], r["doc"], r["text"], r["start"], r["end"], r["paragraph"], r["page"])


def entity_lines(documents: list[Document], sentences: np.ndarray, entities: np.ndarray):
    """The lines of entities.jsonl: [sentence row, start, end, label, text], the text cut from its document."""
    for srow, start, end, label in entities.tolist():
        yield [srow, start, end, LABELS[label], documents[int(sentences[srow, 0])].text[start:end]]


def read_entities(path: Path) -> tuple[np.ndarray, list[str]]:
    """The entity rows (sentence row, start, end, label row) and their stored texts."""
    rows, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            srow, start, end, label, text = json.loads(line)
            rows.append((srow, start, end, LABELS.index(label)))
            texts.append(text)
    return np.array(rows, dtype=np.int64).reshape(-1, 4), texts


# ---------------------------------------------------------------- reading


def read_manifest(index_dir: Path) -> Manifest:
    """The one reader of manifest.json: read it once and hand the `Manifest` on to whatever needs it."""
    index_dir = Path(index_dir)
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexNotFoundError(f"no index at {index_dir}; {rebuild_hint(index_dir)}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc}); {rebuild_hint(index_dir)}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != INDEX_FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise IndexStaleError(f"index at {index_dir} has format version {found}, this Verbatim reads "
                              f"{INDEX_FORMAT_VERSION}; {rebuild_hint(index_dir)}")
    try:
        return manifest_of(manifest)
    except (KeyError, TypeError, AttributeError) as exc:
        raise IndexCorruptError(f"{path} is incomplete ({type(exc).__name__}: {exc}); "
                                f"{rebuild_hint(index_dir)}") from None


def manifest_of(raw: dict) -> Manifest:
    """The `Manifest` of a parsed manifest.json: its fields read once (a missing model name or build settings
    raises KeyError)."""
    model, built = raw["model"], raw["build_settings"]
    return Manifest(raw, model, model["name"], model.get("dim"), built, built.get("index_type", "auto"),
                    raw.get("documents", {}), raw.get("counts", {}), raw.get("faiss", {}).get("type", ""),
                    raw.get("created_at", ""), raw.get("corpus_dir"), raw.get("briefing"), raw.get("files", {}))


def check_files(index_dir: Path, manifest: Manifest, full: bool) -> list[str]:
    """Problems with the index files: missing, wrong size, or (when full or small) wrong SHA-256."""
    problems = []
    files = manifest.files
    total = sum(f["bytes"] for f in files.values())
    for name, info in files.items():
        p = index_dir / name
        if not p.is_file():
            problems.append(f"{name} is missing")
        elif p.stat().st_size != info["bytes"]:
            problems.append(f"{name} is {p.stat().st_size} bytes, expected {info['bytes']}")
        elif (full or total <= CHECKSUM_LIMIT_BYTES) and sha256_file(p) != info["sha256"]:
            problems.append(f"{name} does not match its SHA-256")
    return problems


def checked_manifest(index_dir: Path, embedder_name: str | None, verify_files: bool,
                     manifest: Manifest | None = None) -> Manifest:
    """The manifest (`manifest` if the caller has read it, else read here) of an index built by `embedder_name`
    (when given) whose files match it (when `verify_files`)."""
    manifest = read_manifest(index_dir) if manifest is None else manifest
    if embedder_name is not None and manifest.model_name != embedder_name:
        raise IndexStaleError(f"index at {index_dir} was built with {manifest.model_name}, not "
                              f"{embedder_name}; {rebuild_hint(index_dir)}")
    if verify_files:
        problems = check_files(index_dir, manifest, full=False)
        if problems:
            raise IndexCorruptError(f"index at {index_dir} is damaged ({'; '.join(problems[:3])}); "
                                    f"{rebuild_hint(index_dir)}")
    return manifest


def load_index(index_dir: Path, embedder_name: str | None = None, verify_files: bool = True,
               mmap: bool = False, manifest: Manifest | None = None) -> Index:
    """Load an index folder, refusing one that is missing, corrupt, or built by another model; `manifest`:
    its manifest, when the caller has already read it.

    With `mmap`, the vectors and the FAISS index's stored vectors are memory-mapped read-only, so
    server processes reading one build share its pages instead of holding a copy each."""
    import faiss

    from app.index.lexical import BM25Index  # bm25s, imported by lexical: read_manifest alone stays light

    index_dir = Path(index_dir)
    manifest = checked_manifest(index_dir, embedder_name, verify_files, manifest)
    try:
        docs = [document_from_row(r) for r in read_jsonl(index_dir / DOCUMENTS)]
        chunks = [chunk_from_row(r) for r in read_jsonl(index_dir / CHUNKS)]
        mode = "r" if mmap else None
        chunk_vectors = np.load(index_dir / CHUNK_VECTORS, allow_pickle=False, mmap_mode=mode)
        sentences = np.load(index_dir / SENTENCES, allow_pickle=False)
        sv_path = index_dir / SENTENCE_VECTORS
        sentence_vectors = np.load(sv_path, allow_pickle=False, mmap_mode=mode) if sv_path.exists() else None
        briefing = np.load(index_dir / BRIEFING, allow_pickle=False)
        briefing_scores = np.load(index_dir / BRIEFING_SCORES, allow_pickle=False)
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0  # flat and HNSW storage
        faiss_index = faiss.read_index(str(index_dir / DENSE), flags)
        bm25 = BM25Index.load(index_dir / BM25_FOLDER)
        entities, _ = read_entities(index_dir / ENTITIES)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"index at {index_dir} cannot be read ({type(exc).__name__}: {exc}); "
                                f"{rebuild_hint(index_dir)}") from None
    n = len(chunks)
    counts = manifest.counts
    if not (faiss_index.ntotal == n == len(chunk_vectors) == bm25.size == counts.get("chunks")
            and len(sentences) == counts.get("sentences")
            and (sentence_vectors is None or len(sentence_vectors) == len(sentences))
            and briefing.ndim == 2 and briefing.shape[1] == 2 and len(briefing) == len(briefing_scores)
            and (not len(briefing) or 0 <= briefing[:, 0].min() <= briefing[:, 0].max() < len(sentences))):
        raise IndexCorruptError(f"index at {index_dir} has mismatched row counts (chunks {n}, vectors "
                                f"{faiss_index.ntotal}, bm25 {bm25.size}, briefing {briefing.shape} for "
                                f"{len(sentences)} sentences); {rebuild_hint(index_dir)}")
    dim = manifest.dim
    dims = {chunk_vectors.shape[-1], faiss_index.d}
    if sentence_vectors is not None:
        dims.add(sentence_vectors.shape[-1])
    if dims != {dim}:
        raise IndexCorruptError(f"index at {index_dir} holds {'/'.join(map(str, sorted(dims)))}-dimensional vectors "
                                f"but its manifest names {manifest.model.get('name')} ({dim} dimensions); "
                                f"{rebuild_hint(index_dir)}")
    try:
        if len(entities) and not (np.all(np.diff(entities[:, 0]) >= 0) and entities[-1, 0] < len(sentences)):
            raise ValueError("entity rows are not sorted by a known sentence row")
        return Index(index_dir, manifest, docs, chunks, chunk_vectors, sentences, sentence_vectors, faiss_index, bm25,
                     briefing=briefing, briefing_scores=briefing_scores, entities=entities)
    except (KeyError, IndexError, ValueError) as exc:  # a chunk naming an unknown document, bad sentence rows
        raise IndexCorruptError(f"index at {index_dir} has inconsistent rows ({type(exc).__name__}: {exc}); "
                                f"{rebuild_hint(index_dir)}") from None


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Calibration:
    """An index's verdict calibration: a top score at or above `threshold` is "answered"; below `floor`,
    "not_found"; between, "uncertain".

    Calibration belongs to the index, because scores mean different things under different encoders
    (multilingual-e5-small's cosines of unrelated sentences sit near 0.8, all-MiniLM-L6-v2's near 0).
    Every build records its model's defaults in the manifest (`model.calibration`, from the model's card
    in app/index/encoders.py); `verbatim eval --calibrate --index DIR` chooses them on that index and writes
    them beside its builds (`calibration_path`, with the model they were chosen for: rebuilds keep them;
    `app.index.store_write.write_calibration`). `index_calibration` gives the index's own when it was made
    for the index's model, else the model's defaults; `source` says which (`verbatim index status` prints it).
    """

    threshold: float
    floor: float
    source: str  # "index" (chosen on this index) or "model default"
    chosen_on: str = ""
    # below it, "not_found" for an answer whose best sentence is in another language than the question
    # (cross-lingual cosines run lower); None: `floor`. Only the model's card sets it today.
    across_floor: float | None = None

    def __post_init__(self) -> None:
        if not self.floor <= self.threshold:
            raise VerbatimError(f"calibration floor {self.floor} is above its threshold {self.threshold}; "
                                "run `verbatim eval --calibrate`")


def calibration_path(index_dir: Path) -> Path:
    return builds_dir(index_dir) / CALIBRATION


def index_calibration(index_dir: Path, manifest: Manifest) -> Calibration:
    """The calibration an index answers with: its own, else its model's defaults (see `Calibration`)."""
    model = manifest.model
    path = calibration_path(index_dir)
    if path.exists():
        try:
            own = json.loads(path.read_text(encoding="utf-8"))
            if own.get("model") == model.get("name"):
                return Calibration(float(own["threshold"]), float(own["floor"]), "index", str(own.get("chosen_on", "")),
                                   _across(model.get("calibration") or {}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerbatimError(f"{path} is unreadable ({type(exc).__name__}); delete it or run "
                                "`verbatim eval --calibrate`") from None
    default = model.get("calibration") or STAND_IN
    return Calibration(float(default["threshold"]), float(default["floor"]), "model default",
                       str(default.get("chosen_on", "")), _across(default))


def _across(record: dict) -> float | None:
    value = record.get("across_floor")
    return None if value is None else float(value)
