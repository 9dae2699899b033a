"""BEIR benchmark on a tiny BEIR folder written into tmp_path, with the hash embedder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from app.errors import CorpusError
from app.evaluation.beir import beir_documents, read_qrels, run_beir
from app.index.embed import HashEmbedder
from tests.conftest import CountingEmbedder as _CountingEmbedder

# Each document uses words no other document uses, so BM25 and the hash embedder see only exact overlaps.
CORPUS = [
    {"_id": "d1", "title": "Alpha", "text": "alpha beta zebra."},
    {"_id": "d2", "title": "", "text": "gamma delta quokka."},
    {"_id": "d3", "title": "Epsilon", "text": "epsilon walrus."},
    {"_id": "d4", "title": "Iota", "text": "iota kappa lemur."},
    {"_id": "d5", "title": "Omicron", "text": "omicron sigma narwhal."},
]
QUERIES = [
    {"_id": "q1", "text": "alpha beta"},
    {"_id": "q2", "text": "gamma delta"},
    {"_id": "q3", "text": "a query nobody judged"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\td5\t1\nq2\td3\t0\n"


class CountingEmbedder(_CountingEmbedder):
    """The shared counting embedder, at the 512 dimensions these expected values were computed with."""

    def __init__(self, dim: int = 512) -> None:
        super().__init__(dim)


def write_beir(root: Path, queries_name: str = "queries.train.jsonl") -> Path:
    root.mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CORPUS))
    (root / queries_name).write_text("".join(json.dumps(r) + "\n" for r in QUERIES))
    (root / "qrels").mkdir()
    (root / "qrels" / "train.tsv").write_text(QRELS)
    return root


def test_reading_a_beir_folder(tmp_path):
    data = write_beir(tmp_path / "tiny")
    docs = beir_documents(data)
    assert [d.doc for d in docs] == ["d1", "d2", "d3", "d4", "d5"]
    assert docs[0].text == "Alpha\n\nalpha beta zebra." and docs[0].title == "Alpha"
    assert docs[1].text == "gamma delta quokka."  # no title, no blank line
    assert read_qrels(data / "qrels" / "train.tsv") == {"q1": {"d1"}, "q2": {"d2", "d5"}}  # score 0 is not relevant


def test_run_beir_exact_figures(tmp_path):
    data = write_beir(tmp_path / "tiny")
    embedder = CountingEmbedder()
    result = run_beir(data, "train", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", embedder=embedder,
                      sweep=[("rrf", 0.0)])
    assert result["queries"] == 2  # q3 has no judgement
    assert result["documents"] == 5 and result["passages"] == 5
    # q1: d1 first everywhere -> nDCG 1, recall 1.
    # q2: d2 first; d5 shares no word with the query. BM25 ranks only d2: nDCG = 1 / (1 + 1/log2 3),
    # recall 0.5. Dense and hybrid rank every document, zero-score ties in corpus order (d1, d3, d4, d5),
    # so d5 is fifth: nDCG = (1 + 1/log2 6) / (1 + 1/log2 3), recall 1.
    ideal = 1 + 1 / math.log2(3)
    bm25_q2, dense_q2 = 1 / ideal, (1 + 1 / math.log2(6)) / ideal
    m = result["methods"]
    assert m["bm25"]["ndcg@10"] == pytest.approx((1 + bm25_q2) / 2)
    assert m["bm25"]["recall@100"] == pytest.approx(0.75)
    for name in ("dense", "hybrid"):
        assert m[name]["ndcg@10"] == pytest.approx((1 + dense_q2) / 2), name
        assert m[name]["recall@100"] == pytest.approx(1.0), name
    # rrf fuses ranks, and the order FAISS gives zero-score ties is its own: only bounds are exact
    assert (1 + bm25_q2) / 2 <= m["hybrid rrf"]["ndcg@10"] <= 1.0 and m["hybrid rrf"]["recall@100"] == 1.0
    assert result["hybrid_minus_bm25"] == pytest.approx((dense_q2 - bm25_q2) / 2)
    assert m["hybrid"]["ndcg@10_over_bm25"] == result["hybrid_minus_bm25"]
    assert m["hybrid"]["ndcg@10_over_dense"] == pytest.approx(0.0)
    assert result["fusion"] == "relative" and result["dense_weight"] == 0.5
    # 95% intervals: bm25 recall is 1 and 0.5 over the two queries, so resampled means span [0.5, 1];
    # hybrid and dense agree on every query, so their paired difference is exactly 0
    assert m["bm25"]["intervals"]["recall@100"] == [0.5, 1.0]
    assert result["differences"]["hybrid_minus_dense"]["ndcg@10"] == {"difference": 0.0, "low": 0.0, "high": 0.0}
    assert result["differences"]["hybrid_minus_bm25"]["ndcg@10"]["difference"] == round((dense_q2 - bm25_q2) / 2, 3)
    assert "| **hybrid** |" in result["markdown"] and "| bm25 |" in result["markdown"]

    stem = tmp_path / "out" / "beir-tiny-train"
    saved = json.loads(stem.with_suffix(".json").read_text())
    assert saved["methods"] == result["methods"] and "markdown" not in saved
    assert Path(f"{stem}.md").read_text() == result["markdown"]
    rows = [json.loads(line) for line in Path(f"{stem}-items.jsonl").read_text().splitlines()]
    assert [r["query_id"] for r in rows] == ["q1", "q2"]
    assert rows[1]["bm25"]["top10"] == ["d2"]


def test_plain_queries_file_and_missing_parts(tmp_path):
    data = write_beir(tmp_path / "plain", queries_name="queries.jsonl")
    assert run_beir(data, cache_dir=tmp_path / "c1", embedder=HashEmbedder(512))["queries"] == 2
    with pytest.raises(CorpusError, match="qrels/test.tsv"):
        run_beir(data, split="test", cache_dir=tmp_path / "c2", embedder=HashEmbedder(512))
    with pytest.raises(CorpusError, match="corpus.jsonl"):
        run_beir(tmp_path / "nowhere", cache_dir=tmp_path / "c3", embedder=HashEmbedder(512))
    with pytest.raises(ValueError, match="fusion"):
        run_beir(data, fusion="max", embedder=HashEmbedder(512))


def test_the_products_document_mix_is_scored_beside_the_best_passage_alone(tmp_path):
    """With a document weight in the answer settings, "hybrid" is the product's (passages mixed with their
    documents' BM25) and "hybrid, best passage only" is the hybrid of a run without it, query by query."""
    from app.evaluation.beir import BEST_PASSAGE
    from app.settings import AnswerSettings

    data = write_beir(tmp_path / "tiny")
    kw = {"cache_dir": tmp_path / "cache", "embedder": HashEmbedder(512)}
    plain = run_beir(data, answer_settings=AnswerSettings(doc_weight=0.0, title_weight=0.0), **kw)
    mixed = run_beir(data, answer_settings=AnswerSettings(doc_weight=0.3, title_weight=0.1), **kw)
    assert BEST_PASSAGE not in plain["methods"] and "hybrid_minus_best_passage" not in plain["differences"]
    assert list(mixed["methods"]) == ["hybrid", "bm25", "dense", BEST_PASSAGE]
    assert mixed["methods"][BEST_PASSAGE]["ndcg@10"] == plain["methods"]["hybrid"]["ndcg@10"]
    assert (mixed["doc_weight"], mixed["title_weight"]) == (0.3, 0.1)
    difference = mixed["differences"]["hybrid_minus_best_passage"]["ndcg@10"]["difference"]
    assert difference == pytest.approx(mixed["methods"]["hybrid"]["ndcg@10"] - plain["methods"]["hybrid"]["ndcg@10"])
    assert "hybrid minus its best passage alone" in mixed["markdown"]
