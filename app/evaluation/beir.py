"""BEIR benchmark: passage retrieval on any BEIR-format folder, scored as BEIR scores it.

A BEIR folder holds `corpus.jsonl` ({"_id", "title", "text"}), `queries.jsonl` or
`queries.SPLIT.jsonl` ({"_id", "text"}) and `qrels/SPLIT.tsv` (query-id, corpus-id, score, with a
header line). Every corpus entry becomes one document named by its `_id` whose text is the title,
a blank line, and the abstract; the index chunks it as it chunks a report. A document is ranked by
its best passage. nDCG@10 and Recall@100 (binary relevance) are computed for hybrid, BM25 and dense
retrieval in one run, with one loaded model and one index.

The index is cached as every suite's is (app/evaluation/benchmark.py).

    run_beir(Path("../shared/benchmarks/scifact"), split="train")["methods"]["hybrid"]["ndcg@10"]  # docs/evaluation.md

(exact figures on a tiny BEIR folder: tests/evaluation/test_beir.py)
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Unpack

import numpy as np

from app.errors import CorpusError
from app.evaluation.benchmark import BenchmarkRun, RunOptions
from app.evaluation.ir_metrics import ndcg_at_k, recall_at_k
from app.evaluation.uncertainty import bracket, mean_interval, paired_difference
from app.files import read_jsonl
from app.index.embed import Embedder
from app.index.ingest import Document, document_from_text
from app.index.lexical import tokenize_many
from app.index.search import FUSIONS, DocumentScorer, Hit, Searcher
from app.settings import RETRIEVAL_MODES, BuildSettings

log = logging.getLogger(__name__)

BEIR_BUILD_SETTINGS = BuildSettings(embed_sentences=False)  # only passages are ranked
CANDIDATES = 300  # passages fetched from each retriever: enough to rank 100 documents
NDCG_K, RECALL_K = 10, 100


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



BEST_PASSAGE = "hybrid, best passage only"  # the hybrid before documents were mixed in, for comparison
Config = tuple[str, str, float, float, float]  # mode, fusion, dense weight, document weight, title weight


def rank_documents(retriever: Searcher, query_vec: np.ndarray, tokens: list[str], config: Config, candidates: int,
                   documents: DocumentScorer | None = None, depth: int = RECALL_K) -> list[str]:
    """Document ids, best first, each ranked by its best passage (the first hit that names it); with a
    document weight or a title weight, passages' scores are first mixed with their documents' BM25
    (`DocumentScorer.rescore`, as the product's hybrid does)."""
    mode, fusion, dense_weight, doc_weight, title_weight = config
    hits = retriever.rank(query_vec, tokens, 2 * candidates, mode, candidates, dense_weight, fusion)
    if documents is not None and (doc_weight or title_weight):
        hits = documents.rescore(hits, tokens, doc_weight, title_weight)
    return rank_documents_by_hits(hits, depth)


def rank_documents_by_hits(hits: list[Hit], depth: int) -> list[str]:
    """Document names, best first, each ranked by its best hit."""
    ranked: list[str] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.chunk.doc not in seen:
            seen.add(hit.chunk.doc)
            ranked.append(hit.chunk.doc)
            if len(ranked) == depth:
                break
    return ranked


def _sweep_name(fusion: str, dense_weight: float) -> str:
    return "hybrid rrf" if fusion == "rrf" else f"hybrid relative w={dense_weight:g}"


def judged_queries(data_dir: Path, split: str, limit: int | None = None) -> tuple[list[tuple[str, str]], dict]:
    """The (id, text) of the queries with a judgement in `qrels/SPLIT.tsv` (the first `limit`), and the qrels."""
    if not (data_dir / "corpus.jsonl").is_file():
        raise CorpusError(f"{data_dir / 'corpus.jsonl'} does not exist; "
                          "pass a BEIR folder (corpus.jsonl, queries, qrels/)")
    qrels = read_qrels(data_dir / "qrels" / f"{split}.tsv")
    qfile = queries_file(data_dir, split)
    queries = [(str(r["_id"]), str(r["text"])) for r in read_jsonl(qfile, CorpusError) if str(r["_id"]) in qrels]
    queries = queries[:limit] if limit is not None else queries
    if not queries:
        raise CorpusError(f"no query in {qfile} has a judgement in qrels/{split}.tsv")
    return queries, qrels


def score_queries(retriever: Searcher, embedder: Embedder, queries: list[tuple[str, str]], qrels: dict,
                  configs: list[Config], names: list[str], candidates: int,
                  documents: DocumentScorer | None = None) -> tuple[dict, list]:
    """nDCG@10 and Recall@100 of each query under each configuration: per configuration, and one row a query."""
    texts = [q for _, q in queries]
    vectors = embedder.encode(texts, batch_size=64)
    tokens = tokenize_many(texts)
    per_query: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    rows = []
    for i, (qid, qtext) in enumerate(queries):
        relevant = qrels[qid]
        row = {"query_id": qid, "query": qtext, "relevant": sorted(relevant)}
        for name, config in zip(names, configs, strict=True):
            ranked = rank_documents(retriever, vectors[i], tokens[i], config, candidates, documents)
            scores = (ndcg_at_k(ranked, relevant, NDCG_K), recall_at_k(ranked, relevant, RECALL_K))
            per_query[name].append(scores)
            row[name] = {"ndcg@10": round(scores[0], 6), "recall@100": round(scores[1], 6), "top10": ranked[:10]}
        rows.append(row)
    return per_query, rows


def run_beir(data_dir: Path, split: str = "train", *, fusion: str = "relative", candidates: int = CANDIDATES,
             sweep: Sequence[tuple[str, float]] = (), **options: Unpack[RunOptions]) -> dict:
    """nDCG@10 and Recall@100 of hybrid, BM25 and dense retrieval on one BEIR split.

    Hybrid uses the product's fusion (`fusion`, and `dense_weight` from `answer_settings`);
    `sweep` adds other hybrid configurations, e.g. `[("relative", 0.3), ("rrf", 0.0)]`, scored in the
    same run and reported beside the default. `options` (see `RunOptions`): `limit` keeps the first N
    judged queries, `out_dir` receives the files, `cache_dir` the index.
    Returns the figures and a "markdown" string; with `out_dir`, also writes them there.
    """
    if fusion not in FUSIONS:
        raise ValueError(f"fusion {fusion!r} is not one of {', '.join(FUSIONS)}")
    run = BenchmarkRun.open("beir", data_dir, options, BEIR_BUILD_SETTINGS)
    queries, qrels = judged_queries(run.data, split, run.limit)
    index = run.index(run.dataset, beir_documents(run.data))
    t_index = run.seconds()

    settings = run.answer_settings
    weight, doc_weights = settings.dense_weight, (settings.doc_weight, settings.title_weight)
    named: dict[str, Config] = {"hybrid": ("hybrid", fusion, weight, *doc_weights)}  # the product's
    named |= {mode: (mode, fusion, weight, 0.0, 0.0) for mode in RETRIEVAL_MODES if mode != "hybrid"}
    if any(doc_weights):  # the product's hybrid mixes in documents: also the hybrid of the best passage alone
        named[BEST_PASSAGE] = ("hybrid", fusion, weight, 0.0, 0.0)
    for f, w in sweep:
        if ("hybrid", f, w, 0.0, 0.0) not in named.values():
            named[_sweep_name(f, w)] = ("hybrid", f, w, 0.0, 0.0)
    names, configs = list(named), list(named.values())
    documents = DocumentScorer(index.documents) if any(doc_weights) else None
    per_query, rows = score_queries(Searcher(index), run.embedder, queries, qrels, configs, names, candidates,
                                    documents)
    compared = {"bm25": "bm25", "dense": "dense", **({"best_passage": BEST_PASSAGE} if any(doc_weights) else {})}

    ndcg = {name: [s[0] for s in vals] for name, vals in per_query.items()}
    methods = method_figures(per_query)
    hybrid = methods["hybrid"]["ndcg@10"]
    # the bars are margins; kept in the hybrid row too, so `--fail-under ndcg@10_over_bm25=0.01` works
    methods["hybrid"]["ndcg@10_over_bm25"] = hybrid - methods["bm25"]["ndcg@10"]
    methods["hybrid"]["ndcg@10_over_dense"] = hybrid - methods["dense"]["ndcg@10"]
    result = {
        **run.header(),
        "split": split,
        "queries": len(queries),
        "documents": len(index.documents),
        "passages": len(index.chunks),
        "model": run.embedder.name,
        "build_settings": run.build_settings.to_dict(),
        "fusion": fusion,
        "dense_weight": weight,
        "candidates": candidates,
        "methods": methods,
        "hybrid_minus_bm25": hybrid - methods["bm25"]["ndcg@10"],
        "hybrid_minus_dense": hybrid - methods["dense"]["ndcg@10"],
        "doc_weight": doc_weights[0],
        "title_weight": doc_weights[1],
        "differences": {f"hybrid_minus_{key}": {"ndcg@10": paired_difference(ndcg["hybrid"], ndcg[name])}
                        for key, name in compared.items()},
        "index": str(index.path),
        "seconds": {"index": t_index},
    }
    return run.finish(result, beir_markdown, f"beir-{run.dataset}-{split}", rows)


def method_figures(per_query: dict[str, list]) -> dict[str, dict]:
    """Each method's mean nDCG@10 and Recall@100 over the queries, with bootstrap intervals."""
    out = {}
    for name, vals in per_query.items():
        ndcg, recall = [s[0] for s in vals], [s[1] for s in vals]
        out[name] = {"ndcg@10": float(np.mean(ndcg)), "recall@100": float(np.mean(recall)),
                     "intervals": {"ndcg@10": list(mean_interval(ndcg)), "recall@100": list(mean_interval(recall))}}
    return out


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
        f"Hybrid uses {fusion}" + (f", each passage's score mixed with its document's BM25 (weight "
                                   f"{result['doc_weight']:g}) and its title's ({result['title_weight']:g})."
                                   if result.get("doc_weight") or result.get("title_weight") else "."),
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
              + (f"hybrid minus its best passage alone: {_difference(diffs, 'hybrid_minus_best_passage'):+.4f}"
                 f"{interval('hybrid_minus_best_passage')} nDCG@10. " if "hybrid_minus_best_passage" in diffs else "")
              + "Brackets hold 95% intervals: a bootstrap over queries, paired for the differences.", ""]
    return "\n".join(lines)


def _difference(diffs: dict, name: str) -> float:
    return diffs[name]["ndcg@10"]["difference"]
