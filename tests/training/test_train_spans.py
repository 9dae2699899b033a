"""The span scorer's training (training/train_spans.py), smoke-run on a tiny SQuAD 2.0 file: it reads the
file, parses it, fits, and writes weights the product loads."""

from __future__ import annotations

import json
from pathlib import Path

from app.answer.spans import FEATURES, load_model
from training.train_spans import fit, labels, load

TINY = Path(__file__).resolve().parent.parent / "data" / "squad2_tiny.json"


def test_training_on_a_tiny_file_gives_weights_the_product_loads(tmp_path: Path):
    items = load(TINY, cache_dir=tmp_path / "spacy")
    assert {it["answerable"] for it in items} == {True, False}
    # every candidate of an unanswerable question is a negative, and is trained on
    unanswerable = next(it for it in items if not it["answerable"])
    y, mask = labels(unanswerable)
    assert (y.sum(), bool(mask.all())) == (0, True)
    model = fit(items)
    assert model.coef.shape == (len(FEATURES),)
    path = tmp_path / "span_weights.json"
    path.write_text(json.dumps(model.to_dict()), encoding="utf-8")
    loaded = load_model(path)
    assert loaded.threshold == 0.5 and loaded.coef.tolist() == model.coef.tolist()
    assert list((tmp_path / "spacy").iterdir())  # the parses were cached as JSON
