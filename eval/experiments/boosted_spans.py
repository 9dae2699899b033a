"""Experiment: does a small boosted model pick answer spans better than the logistic regression?

The issue allows "logistic regression or a small boosted model" over the span features. Same rows,
labels, cross-validation and threshold rule as `train_spans.py` (SQuAD 2.0 dev half, 5 folds by
article; XQuAD dev never trained on; both given the gold paragraph); the learner is scikit-learn's
HistGradientBoostingClassifier instead. Prints both learners' figures from the same run.

    OMP_NUM_THREADS=1 nice -n 10 python eval/experiments/boosted_spans.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval" / "experiments"))

from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402
from train_spans import SQUAD2, XQUAD, choose_threshold, fit, labels, load, predict, report  # noqa: E402

SETTINGS = {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 31, "min_samples_leaf": 40,
            "l2_regularization": 1.0, "random_state": 0}


class Boosted:
    def __init__(self, items: list[dict], **settings) -> None:
        xs, ys = [], []
        for it in items:
            y, mask = labels(it)
            xs.append(it["x"][mask])
            ys.append(y[mask])
        self.clf = HistGradientBoostingClassifier(**{**SETTINGS, **settings})
        self.clf.fit(np.concatenate(xs), np.concatenate(ys))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return self.clf.predict_proba(x)[:, 1]


def cross_validate(squad: list[dict], make) -> list:
    groups = np.array([it["article"] for it in squad])
    preds: list = [None] * len(squad)
    for train, test in GroupKFold(n_splits=5).split(np.zeros(len(squad)), groups=groups):
        model = make([squad[i] for i in train])
        for i, p in zip(test, predict(model, [squad[i] for i in test]), strict=True):
            preds[i] = p
    return preds


def main() -> None:
    squad, xquad = load(SQUAD2), load(XQUAD)
    results = {}
    for name, make in (("logistic", fit), ("boosted", Boosted)):
        preds = cross_validate(squad, make)
        threshold = choose_threshold(squad, preds)
        results[name] = {"threshold": threshold,
                         "squad2_cv": report(f"{name}: SQuAD 2.0 CV", squad, preds, threshold),
                         "xquad_dev": report(f"{name}: XQuAD dev", xquad, predict(make(squad), xquad), threshold)}
    out = ROOT / "eval" / "results" / "boosted_spans.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
