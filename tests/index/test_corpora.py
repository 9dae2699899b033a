"""Every corpus on hand builds into an index that its own `verify` accepts: zero offset problems.

The public benchmark corpora are read where they lie (`../shared/benchmarks/`); a machine without
them skips those cases and says why (under CI=true it fails them: `need_benchmark`). The fake
embedder keeps this fast: offsets do not depend on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.evaluation.beir import beir_documents
from app.evaluation.squad import read_squad, squad_documents
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import load_corpus
from app.index.verify import verify_index
from tests.conftest import BENCHMARKS as BENCH
from tests.conftest import DATA, REPO, need_benchmark

SCIFACT_SUBSET = 1500  # of 5,183 abstracts: enough variety, a few seconds to chunk


def _squad(name: str):
    return squad_documents(read_squad(BENCH / name)[0])


CORPORA = {
    "bundled report": lambda: load_corpus(REPO / "corpus"),
    "test data": lambda: load_corpus(DATA / "tiny"),
    "squad2 dev articles": lambda: _squad("squad2/squad2.dev.json"),
    "xquad dev articles": lambda: _squad("xquad/xquad.en.dev.json"),
    "scifact subset": lambda: beir_documents(BENCH / "scifact")[:SCIFACT_SUBSET],
}
NEEDS = {"squad2 dev articles": "squad2/squad2.dev.json", "xquad dev articles": "xquad/xquad.en.dev.json",
         "scifact subset": "scifact/corpus.jsonl"}


@pytest.mark.parametrize("name", list(CORPORA))
def test_corpus_builds_and_verifies_with_zero_problems(name: str, tmp_path: Path):
    if name in NEEDS:
        need_benchmark(NEEDS[name])
    documents = CORPORA[name]()
    built = build_index(tmp_path / "index", HashEmbedder(), documents=documents)
    assert built.chunks > 0
    assert verify_index(tmp_path / "index") == []
