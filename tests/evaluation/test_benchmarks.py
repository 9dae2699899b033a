"""The public benchmark bars, with the real model, when the data lies beside the project.

The data is read where it lies (`../shared/benchmarks/`), never copied into the project; a machine
without it skips these tests and says why (under CI=true it fails them: `need_benchmark`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

from app.evaluation.squad import run_squad
from app.evaluation.squad2 import run_squad2
from app.index.embed import SentenceTransformerEmbedder
from tests.conftest import need_benchmark

pytestmark = pytest.mark.model


def test_xquad_dev_meets_the_quote_bar(tmp_path: Path):
    """Issue bar: answer-in-quote@3 >= 0.90 with at most 40 words per quote, every quote faithful.

    The abstention threshold is calibrated on the report; a threshold above ~0.33 refuses enough
    answerable XQuAD questions to break this bar, so a recalibration is checked here."""
    xquad = need_benchmark("xquad/xquad.en.dev.json")
    result = run_squad(xquad, cache_dir=tmp_path / "xquad", embedder=SentenceTransformerEmbedder(), modes=("hybrid",))
    hybrid = result["modes"]["hybrid"]
    assert result["questions"] == 612
    assert hybrid["faithfulness"] == 1.0
    assert hybrid["answer_in_quote@3"] >= 0.90, result["markdown"][:2000]
    assert hybrid["mean_quote_words"] <= 40


def test_squad2_first_two_articles(tmp_path: Path):
    """The squad2 suite on its first two articles (Normans, Computational complexity theory: 626
    questions, 333 unanswerable), each its own index: every quote faithful, every question in the
    verdict table, an AUC, and a floor under today's answer-in-quote@3."""
    squad2 = need_benchmark("squad2/squad2.dev.json")
    result = run_squad2(squad2, out_dir=tmp_path / "out", cache_dir=tmp_path / "squad2",
                        embedder=SentenceTransformerEmbedder(),
                        articles=2)
    assert (result["articles"], result["questions"], result["unanswerable"]) == (2, 626, 333)
    assert result["faithfulness"] == 1.0
    assert sum(n for row in result["verdicts"].values() for n in row.values()) == 626
    assert sum(result["verdicts"]["unanswerable"].values()) == 333
    items = [json.loads(line) for line in (tmp_path / "out" / "squad2-squad2.dev-items.jsonl").read_text().splitlines()]
    reference = roc_auc_score([i["answerable"] for i in items], [i["confidence"] for i in items])
    assert result["confidence_auc"] == pytest.approx(reference, abs=1e-4)  # against scikit-learn's
    # measured 0.833 (244 of 293) at the thresholds of app/calibration.json in 68d062d; AUC 0.506
    assert result["answer_in_quote@3"] >= 0.78, result["markdown"][:3000]
