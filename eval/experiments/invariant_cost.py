"""What the build-time offset invariants cost, next to chunking, on the bench build's texts (SciFact).

    .venv/bin/python eval/experiments/invariant_cost.py [../shared/benchmarks/scifact]

Prints the medians over 3 runs of chunking every abstract and of checking every chunk and sentence.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from app.evaluation.beir import beir_documents
from app.index.chunk import chunk_document
from app.index.invariants import build_problems

data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/benchmarks/scifact")
documents = beir_documents(data)
chunk_s, check_s = [], []
for _ in range(3):
    t0 = time.perf_counter()
    pairs = [chunk_document(d) for d in documents]
    t1 = time.perf_counter()
    problems = build_problems(documents, [c for cs, _ in pairs for c in cs], [s for _, ss in pairs for s in ss])
    t2 = time.perf_counter()
    chunk_s.append(t1 - t0)
    check_s.append(t2 - t1)
chunks = sum(len(cs) for cs, _ in pairs)
sentences = sum(len(ss) for _, ss in pairs)
print(f"{len(documents)} documents, {chunks} chunks, {sentences} sentences, {len(problems)} problems")
print(f"chunking {statistics.median(chunk_s):.2f} s, invariant check {statistics.median(check_s):.3f} s "
      f"({statistics.median(check_s) / statistics.median(chunk_s):.1%} of chunking)")
