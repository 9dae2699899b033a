"""BEIR benchmark: passage retrieval on any BEIR-format folder, scored as BEIR scores it.

A BEIR folder holds `corpus.jsonl` ({"_id", "title", "text"}), `queries.jsonl` or
`queries.SPLIT.jsonl` ({"_id", "text"}) and `qrels/SPLIT.tsv` (query-id, corpus-id, score, with a
header line). Every corpus entry becomes one document named by its `_id` whose text is the title,
a blank line, and the abstract; the index chunks it as it chunks a report. A document is ranked by
its best passage. nDCG@10 and Recall@100 (binary relevance) are computed for hybrid, BM25 and dense
retrieval in one run, with one loaded model and one index.

The index is cached in `.cache/benchmarks/<folder>-<settings hash>/`; a re-run whose documents
have the same content hashes loads it instead of re-embedding (see `cached_index`).

>>> run_beir(Path("../shared/benchmarks/scifact"), split="train")["methods"]["hybrid"]["ndcg@10"]  # doctest: +SKIP
0.7...
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.answer.retrieve import FUSIONS, Retriever
from app.errors import CorpusError, IndexCorruptError, IndexNotFoundError, IndexStaleError
from app.evaluation.ir_metrics import ndcg_at_k, recall_at_k
from app.evaluation.uncertainty import bracket, mean_interval, paired_difference
from app.files import read_jsonl, write_atomic
from app.index.build import build_index
from app.index.embed import Embedder, default_embedder
from app.index.ingest import Document, document_from_text
from app.index.lexical import tokenize_many
from app.index.store import Index, load_index, read_manifest
from app.settings import PROJECT_ROOT, AnswerSettings, BuildSettings

log = logging.getLogger(__name__)

DEFAULT_CACHE_ROOT = PROJECT_ROOT / ".cache" / "benchmarks"
MODES = ("hybrid", "bm25", "dense")
BEIR_BUILD_SETTINGS = BuildSettings(embed_sentences=False)  # only passages are ranked
CANDIDATES = 300  # passages fetched from each retriever: enough to rank 100 documents
NDCG_K, RECALL_K = 10, 100
SAVE_EVERY = 2048  # texts embedded between saves of the vector cache


# ---------------------------------------------------------------- shared by the benchmarks


def cache_folder(name: str, data_path: Path, embedder: Embedder, settings: BuildSettings,
                 cache_root: Path = DEFAULT_CACHE_ROOT) -> Path:
    """`<cache_root>/<name>-<hash>`: the hash covers the model, the chunking settings and the data path."""
    key = json.dumps({"model": embedder.name, "settings": settings.fingerprint(),
                      "data": str(Path(data_path).resolve())}, sort_keys=True)
    return Path(cache_root) / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class TextVectorCache:
    """An embedder wrapper that remembers every vector by the SHA-256 of its text, on disk.

    The index already reuses the vectors of unchanged documents; this cache also survives a change
    of chunker: after one, only passages whose text is new get embedded. Stored as two plain .npy
    files (keys as fixed-width strings, vectors float32), replaced atomically; no pickle.
    """

    def __init__(self, embedder: Embedder, folder: Path) -> None:
        self.embedder = embedder
        self.name, self.dim = embedder.name, embedder.dim
        self.folder = Path(folder)
        self.hits = self.misses = 0
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, self.dim), np.float32)
        try:
            keys = np.load(self.folder / "keys.npy", allow_pickle=False)
            vectors = np.load(self.folder / "vectors.npy", allow_pickle=False)
            if len(keys) == len(vectors) and vectors.shape[1:] == (self.dim,):
                self._rows = {str(k): i for i, k in enumerate(keys)}
                self._vectors = vectors.astype(np.float32, copy=False)
        except (OSError, ValueError):
            pass  # no cache yet, or an unreadable one: start empty

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._rows))
        self.misses += len(missing)
        self.hits += sum(1 for k in keys if k in self._rows)
        text_of = dict(zip(keys, texts, strict=True))
        for lo in range(0, len(missing), SAVE_EVERY):  # saved as it goes: a killed run resumes
            part = missing[lo:lo + SAVE_EVERY]
            log.info("embedding %d new texts (%d of %d)", len(part), lo + len(part), len(missing))
            fresh = self.embedder.encode([text_of[k] for k in part], batch_size=batch_size, progress=progress)
            base = len(self._vectors)
            self._vectors = np.concatenate([self._vectors, np.asarray(fresh, np.float32)])
            self._rows.update({k: base + i for i, k in enumerate(part)})
            self._save()
        return self._vectors[[self._rows[k] for k in keys]] if keys else np.zeros((0, self.dim), np.float32)

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(self._rows, key=self._rows.get), dtype="U64")
        for name, array in (("vectors.npy", self._vectors), ("keys.npy", keys)):
            tmp = self.folder / f"{name}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, self.folder / name)


def vector_cache_folder(embedder: Embedder, cache_root: Path) -> Path:
    return Path(cache_root) / f"vectors-{hashlib.sha256(embedder.name.encode()).hexdigest()[:12]}"


def benchmark_index(name: str, data_path: Path, documents: list[Document], embedder: Embedder,
                    settings: BuildSettings, cache_dir: Path | None = None) -> Index:
    """The cached index of a benchmark data set: `cache_dir`, or a folder named by data and settings."""
    root = Path(cache_dir).parent if cache_dir else DEFAULT_CACHE_ROOT
    index_dir = Path(cache_dir) if cache_dir else cache_folder(name, data_path, embedder, settings)
    return cached_index(documents, index_dir, embedder, settings, vector_cache_folder(embedder, root))


def cached_index(documents: list[Document], index_dir: Path, embedder: Embedder, settings: BuildSettings,
                 vector_cache: Path | None = None) -> Index:
    """Load the index at `index_dir` when it holds exactly these documents; otherwise (re)build it.

    A rebuild into the same folder re-embeds only documents whose content hash changed, and with
    `vector_cache` (a `TextVectorCache` folder) only passages whose text was never embedded before.
    """
    index_dir = Path(index_dir)
    wanted = {d.doc: d.sha256 for d in documents}
    try:
        manifest = read_manifest(index_dir)
        recorded = manifest["build_settings"]
        fresh = (manifest["documents"] == wanted and manifest["model"]["name"] == embedder.name
                 and settings.matches(recorded))
    except (IndexNotFoundError, IndexCorruptError, IndexStaleError, KeyError, TypeError, AttributeError):
        fresh = False
    if fresh:
        try:
            log.info("reusing the cached index at %s", index_dir)
            return load_index(index_dir, embedder_name=embedder.name)
        except (IndexCorruptError, IndexStaleError) as exc:
            log.warning("cached index unusable (%s); rebuilding", exc)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    builder = TextVectorCache(embedder, vector_cache) if vector_cache is not None else embedder
    report = build_index(index_dir, builder, settings, documents=documents, progress=log.isEnabledFor(logging.INFO))
    if isinstance(builder, TextVectorCache):
        log.info("vector cache: %d texts reused, %d embedded", builder.hits, builder.misses)
    log.info(report.summary())
    return load_index(index_dir, embedder_name=embedder.name)


def write_outputs(out_dir: Path, stem: str, result: dict, rows: list[dict]) -> list[Path]:
    """`<stem>.json` (figures), `<stem>.md` (the markdown) and `<stem>-items.jsonl`, each written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {k: v for k, v in result.items() if k != "markdown"}
    files = {
        out_dir / f"{stem}.json": json.dumps(figures, indent=2, ensure_ascii=False) + "\n",
        out_dir / f"{stem}.md": result["markdown"],
        out_dir / f"{stem}-items.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
    }
    for path, text in files.items():
        write_atomic(path, text)
    return list(files)


# ---------------------------------------------------------------- reading a BEIR folder


def queries_file(data_dir: Path, split: str) -> Path:
    """`queries.SPLIT.jsonl` when present, else `queries.jsonl`."""
    for path in (data_dir / f"queries.{split}.jsonl", data_dir / "queries.jsonl"):
        if path.is_file():
            return path
    raise CorpusError(f"{data_dir} has neither queries.{split}.jsonl nor queries.jsonl; is it a BEIR folder?")


def read_qrels(path: Path) -> dict[str, set[str]]:
    """Relevant corpus ids per query id (score > 0), from a BEIR qrels TSV with a header line."""
    if not path.is_file():
        raise CorpusError(f"{path} does not exist; pass a BEIR folder with qrels/<split>.tsv (--split names the split)")
    qrels: dict[str, set[str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if n == 1 and not parts[-1].strip().lstrip("-").isdigit():
                continue  # the header
            if not line.strip():
                continue
            if len(parts) < 3:
                raise CorpusError(f"{path}:{n}: expected query-id, corpus-id, score separated by tabs")
            if int(parts[2]) > 0:
                qrels.setdefault(parts[0], set()).add(parts[1])
    return qrels


def beir_documents(data_dir: Path) -> list[Document]:
    """One document per corpus entry: title, blank line, text (just the text when untitled)."""
    path = data_dir / "corpus.jsonl"
    if not path.is_file():
        raise CorpusError(f"{path} does not exist; pass a BEIR folder (corpus.jsonl, queries, qrels/)")
    docs, seen = [], set()
    for row in read_jsonl(path, CorpusError):
        doc_id, title, text = str(row["_id"]), (row.get("title") or "").strip(), (row.get("text") or "").strip()
        if doc_id in seen:
            raise CorpusError(f"{path}: corpus id {doc_id!r} appears twice")
        seen.add(doc_id)
        body = f"{title}\n\n{text}" if title and text else (title or text)
        if body:
            docs.append(document_from_text(doc_id, body, title=title))
    return docs


# ---------------------------------------------------------------- ranking and scoring

QUERY_HALVES = ("tune", "report")


def query_half(query_id: str) -> str:
    """Which half of a data set's queries a query belongs to: weights are chosen on "tune" and
    reported on "report" (by the parity of the SHA-256 of its id: fixed, and about half each).

    >>> [query_half(q) for q in ("0", "1", "2", "3")]
    ['tune', 'report', 'tune', 'report']
    """
    return QUERY_HALVES[int(hashlib.sha256(query_id.encode("utf-8")).hexdigest()[:8], 16) % 2]



def rank_documents(retriever: Retriever, query_vec: np.ndarray, tokens: list[str], mode: str, candidates: int,
                   dense_weight: float, fusion: str, depth: int = RECALL_K) -> list[str]:
    """Document ids, best first, each ranked by its best passage (the first hit that names it)."""
    hits = retriever.search(query_vec, tokens, 2 * candidates, mode, candidates, dense_weight, fusion)
    ranked: list[str] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.chunk.doc not in seen:
            seen.add(hit.chunk.doc)
            ranked.append(hit.chunk.doc)
            if len(ranked) == depth:
                break
    return ranked


def _config_name(mode: str, fusion: str, dense_weight: float) -> str:
    if mode != "hybrid":
        return mode
    return "hybrid rrf" if fusion == "rrf" else f"hybrid relative w={dense_weight:g}"


def run_beir(
    data_dir: Path,
    split: str = "train",
    out_dir: Path | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
    *,
    embedder: Embedder | None = None,
    build_settings: BuildSettings | None = None,
    answer_settings: AnswerSettings | None = None,
    fusion: str = "relative",
    candidates: int = CANDIDATES,
    sweep: Sequence[tuple[str, float]] = (),
) -> dict:
    """nDCG@10 and Recall@100 of hybrid, BM25 and dense retrieval on one BEIR split.

    Hybrid uses the product's fusion (`fusion`, and `dense_weight` from `answer_settings`);
    `sweep` adds other hybrid configurations, e.g. `[("relative", 0.3), ("rrf", 0.0)]`, scored in the
    same run and reported beside the default. `limit` keeps the first N judged queries.
    Returns the figures and a "markdown" string; with `out_dir`, also writes them there.
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    if fusion not in FUSIONS:
        raise ValueError(f"fusion {fusion!r} is not one of {', '.join(FUSIONS)}")
    embedder = embedder or default_embedder()
    settings = build_settings or BEIR_BUILD_SETTINGS
    answer = answer_settings or AnswerSettings()

    if not (data_dir / "corpus.jsonl").is_file():
        raise CorpusError(f"{data_dir / 'corpus.jsonl'} does not exist; "
                          "pass a BEIR folder (corpus.jsonl, queries, qrels/)")
    qrels = read_qrels(data_dir / "qrels" / f"{split}.tsv")
    qfile = queries_file(data_dir, split)
    queries = [(str(r["_id"]), str(r["text"])) for r in read_jsonl(qfile, CorpusError) if str(r["_id"]) in qrels]
    if limit is not None:
        queries = queries[:limit]
    if not queries:
        raise CorpusError(f"no query in {qfile} has a judgement in qrels/{split}.tsv")
    documents = beir_documents(data_dir)
    index = benchmark_index(data_dir.name, data_dir, documents, embedder, settings, cache_dir)
    t_index = time.perf_counter()

    texts = [q for _, q in queries]
    vectors = embedder.encode(texts, batch_size=64)
    tokens = tokenize_many(texts)
    retriever = Retriever(index)
    configs = [("hybrid", fusion, answer.dense_weight), ("bm25", fusion, answer.dense_weight),
               ("dense", fusion, answer.dense_weight)]
    configs += [("hybrid", f, w) for f, w in sweep if ("hybrid", f, w) not in configs]
    names = [_config_name(*c) for c in configs]
    names[0] = "hybrid"

    per_query: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    rows = []
    for i, (qid, qtext) in enumerate(queries):
        relevant = qrels[qid]
        row = {"query_id": qid, "query": qtext, "relevant": sorted(relevant)}
        for name, (mode, fus, weight) in zip(names, configs, strict=True):
            ranked = rank_documents(retriever, vectors[i], tokens[i], mode, candidates, weight, fus)
            scores = (ndcg_at_k(ranked, relevant, NDCG_K), recall_at_k(ranked, relevant, RECALL_K))
            per_query[name].append(scores)
            row[name] = {"ndcg@10": round(scores[0], 6), "recall@100": round(scores[1], 6), "top10": ranked[:10]}
        rows.append(row)

    ndcg = {name: [s[0] for s in vals] for name, vals in per_query.items()}
    recall = {name: [s[1] for s in vals] for name, vals in per_query.items()}
    methods = {name: {"ndcg@10": float(np.mean(ndcg[name])), "recall@100": float(np.mean(recall[name])),
                      "intervals": {"ndcg@10": list(mean_interval(ndcg[name])),
                                    "recall@100": list(mean_interval(recall[name]))}}
               for name in per_query}
    hybrid = methods["hybrid"]["ndcg@10"]
    # the bars are margins; kept in the hybrid row too, so `--fail-under ndcg@10_over_bm25=0.01` works
    methods["hybrid"]["ndcg@10_over_bm25"] = hybrid - methods["bm25"]["ndcg@10"]
    methods["hybrid"]["ndcg@10_over_dense"] = hybrid - methods["dense"]["ndcg@10"]
    result = {
        "suite": "beir",
        "data": str(data_dir),
        "dataset": data_dir.name,
        "split": split,
        "queries": len(queries),
        "documents": len(index.documents),
        "passages": len(index.chunks),
        "model": embedder.name,
        "build_settings": settings.to_dict(),
        "fusion": fusion,
        "dense_weight": answer.dense_weight,
        "candidates": candidates,
        "methods": methods,
        "hybrid_minus_bm25": hybrid - methods["bm25"]["ndcg@10"],
        "hybrid_minus_dense": hybrid - methods["dense"]["ndcg@10"],
        "differences": {f"hybrid_minus_{m}": {"ndcg@10": paired_difference(ndcg["hybrid"], ndcg[m])}
                        for m in ("bm25", "dense")},
        "index": str(index.path),
        "seconds": {"index": round(t_index - t0, 1), "total": round(time.perf_counter() - t0, 1)},
    }
    result["markdown"] = beir_markdown(result)
    if out_dir is not None:
        write_outputs(Path(out_dir), f"beir-{data_dir.name}-{split}", result, rows)
    return result


def beir_markdown(result: dict) -> str:
    """A short Markdown report: the setup, then one table row per retrieval method."""
    fusion = "reciprocal rank fusion (k=60)" if result["fusion"] == "rrf" else \
        f"relative-score fusion, dense weight {result['dense_weight']:g}"
    lines = [
        f"## BEIR {result['dataset']} ({result['split']})",
        "",
        f"{result['queries']} queries, {result['documents']:,} documents in {result['passages']:,} passages "
        f"(chunks of at most {result['build_settings']['chunk_max_words']} words); model `{result['model']}`. "
        f"A document is ranked by its best passage; {result['candidates']} candidate passages per retriever. "
        f"Hybrid uses {fusion}.",
        "",
        "| method | nDCG@10 | Recall@100 |",
        "|---|---:|---:|",
    ]
    for name, m in result["methods"].items():
        label = f"**{name}**" if name == "hybrid" else name
        cells = [f"{m[k]:.4f}" + bracket(m.get("intervals", {}).get(k)) for k in ("ndcg@10", "recall@100")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    diffs = result.get("differences", {})

    def interval(name: str) -> str:
        d = diffs.get(name, {}).get("ndcg@10")
        return f" [{d['low']:+.4f}, {d['high']:+.4f}]" if d else ""

    lines += ["", f"Hybrid minus BM25: {result['hybrid_minus_bm25']:+.4f}{interval('hybrid_minus_bm25')} nDCG@10; "
              f"hybrid minus dense: {result['hybrid_minus_dense']:+.4f}{interval('hybrid_minus_dense')} nDCG@10. "
              "Brackets hold 95% intervals: a bootstrap over queries, paired for the differences.", ""]
    return "\n".join(lines)
