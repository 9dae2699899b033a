"""The opening the SciFact ranking experiments share: arguments, one half of the judged queries, the cached index."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from app.evaluation.beir import BEIR_BUILD_SETTINGS, beir_documents, judged_queries, query_half
from app.evaluation.benchmark import benchmark_index
from app.index.embed import Embedder, default_embedder
from app.index.store import Index
from app.settings import PROJECT_ROOT


@dataclass
class Half:
    out: Path
    half: str
    embedder: Embedder
    queries: list[tuple[str, str]]  # (id, text) of the judged queries in this half
    qrels: dict
    index: Index


def open_half(default_out: str) -> Half:
    """Parse --data, --half (tune by default) and --out; load the half's queries and the cached benchmark index."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT.parent / "shared" / "benchmarks" / "scifact")
    parser.add_argument("--half", choices=("tune", "report"), default="tune")
    parser.add_argument("--out", type=Path, default=Path(default_out))
    args = parser.parse_args()
    embedder = default_embedder()
    queries, qrels = judged_queries(args.data, "train")
    queries = [q for q in queries if query_half(q[0]) == args.half]
    index = benchmark_index(args.data.name, args.data, beir_documents(args.data), embedder, BEIR_BUILD_SETTINGS)
    return Half(args.out, args.half, embedder, queries, qrels, index)
