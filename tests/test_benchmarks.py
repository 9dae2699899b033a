"""The public benchmark bars, with the real model, when the data lies beside the project.

The data is read where it lies (`../shared/benchmarks/`), never copied into the project; a machine
without it skips these tests and says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.embed import SentenceTransformerEmbedder
from app.evaluation.squad import run_squad
from tests.conftest import REPO

pytestmark = pytest.mark.model

XQUAD = REPO.parent / "shared" / "benchmarks" / "xquad" / "xquad.en.dev.json"


@pytest.mark.skipif(not XQUAD.is_file(), reason=f"no XQuAD data at {XQUAD}")
def test_xquad_dev_meets_the_quote_bar(tmp_path: Path):
    """Issue bar: answer-in-quote@3 >= 0.90 with at most 40 words per quote, every quote faithful.

    The abstention threshold is calibrated on the report; a threshold above ~0.33 refuses enough
    answerable XQuAD questions to break this bar, so a recalibration is checked here."""
    result = run_squad(XQUAD, cache_dir=tmp_path / "xquad", embedder=SentenceTransformerEmbedder(),
                       modes=("hybrid",))
    hybrid = result["modes"]["hybrid"]
    assert result["questions"] == 612
    assert hybrid["faithfulness"] == 1.0
    assert hybrid["answer_in_quote@3"] >= 0.90, result["markdown"][:2000]
    assert hybrid["mean_quote_words"] <= 40
