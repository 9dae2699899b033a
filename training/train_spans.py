"""Train the answer-span scorer (app/answer/span_weights.json) on the SQuAD 2.0 dev half only.

Rows: every candidate (`app.answer.spans.candidates`) of every sentence of the question's gold
paragraph. A candidate whose normalised text equals a gold answer is positive; one that partly
overlaps a gold answer (F1 > 0) is left out; every other one, and every candidate of an
unanswerable question, is negative. Logistic regression (scikit-learn, standardised features).

Every figure printed comes from articles the scorer did not see: cross-validation by article
on SQuAD 2.0 (GroupKFold, 5 folds), then XQuAD dev (never trained on) with the final model, both
given the gold paragraph (the end-to-end figures come from `verbatim eval --suite squad|squad2`).
The threshold for showing a span is chosen on the SQuAD 2.0 cross-validation: the lowest
probability at which the spans given have F1 >= 0.70 and at most 35% of unanswerable questions get one.

    OMP_NUM_THREADS=1 nice -n 10 python -m training.train_spans [--write]      (make span-weights)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from spacy.tokens import Doc

from app.answer.answer_types import analysis_of
from app.answer.spans import FEATURES, WEIGHTS_FILE, SpanModel, candidates, features, sentence_from_doc
from app.evaluation.span_metrics import exact_match, f1_score, span_summary
from app.evaluation.squad import read_squad
from app.index.ner import load_pipeline
from app.settings import PROJECT_ROOT
from training.spacy_cache import CACHE, build_cache

ROOT = PROJECT_ROOT
BENCH = ROOT.parent / "shared" / "benchmarks"
SQUAD2 = BENCH / "squad2" / "squad2.dev.json"
XQUAD = BENCH / "xquad" / "xquad.en.dev.json"
TARGET_F1_WHEN_GIVEN, MAX_UNANSWERABLE_GIVEN = 0.70, 0.35
FOLDS = ROOT / ".cache" / "spans"


def load(data_file: Path, cache_dir: Path = CACHE) -> list[dict]:
    """Per question: its view, answerability, gold texts, article number, and candidate rows of its paragraph."""
    cache = build_cache(data_file, cache=cache_dir)
    vocab = load_pipeline().vocab
    articles, questions = read_squad(data_file)
    spans = {a.doc: a.paragraph_spans for a in articles}
    sentences = {doc: [sentence_from_doc(Doc(vocab).from_json(d), s) for s, _, d in rows]
                 for doc, rows in cache["sentences"].items()}
    article_no = {a.doc: i for i, a in enumerate(articles)}
    out = []
    for q in questions:
        lo, hi = spans[q.doc][q.paragraph - 1]
        view = analysis_of(Doc(vocab).from_json(cache["questions"][q.id]))
        golds = [t for *_, t in q.answers]
        cand_rows, texts, feats = [], [], []
        for sent in sentences[q.doc]:
            if lo <= sent.offset < hi:
                cands = candidates(sent)
                if cands:
                    feats.append(features(view, sent, cands))
                    texts.extend(sent.text[a:b] for a, b, _ in cands)
                    cand_rows.extend((sent.offset + a, sent.offset + b) for a, b, _ in cands)
        x = np.concatenate(feats) if feats else np.zeros((0, len(FEATURES)), np.float32)
        out.append({"id": q.id, "answerable": q.answerable, "golds": golds, "article": article_no[q.doc], "doc": q.doc,
                    "kind": view.asked.kind, "x": x, "texts": texts})
    return out


def labels(item: dict) -> tuple[np.ndarray, np.ndarray]:
    """Candidate labels (1 answer, 0 not) and a mask of the rows used for training (partial overlaps left out)."""
    if not item["answerable"]:
        return np.zeros(len(item["texts"])), np.ones(len(item["texts"]), bool)
    em = np.array([exact_match(t, item["golds"]) for t in item["texts"]])
    f1 = np.array([f1_score(t, item["golds"]) for t in item["texts"]])
    return em, (em == 1) | (f1 == 0)


def fit(items: list[dict]) -> SpanModel:
    xs, ys = [], []
    for it in items:
        y, mask = labels(it)
        xs.append(it["x"][mask])
        ys.append(y[mask])
    x, y = np.concatenate(xs), np.concatenate(ys)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
    return SpanModel(mean.astype(np.float32), scale.astype(np.float32), clf.coef_[0].astype(np.float32),
                     float(clf.intercept_[0]), 0.5)


def predict(model: SpanModel, items: list[dict]) -> list[tuple[str | None, float]]:
    """Per question: the best candidate's text and probability (None, 0 for no candidate or a why/how question)."""
    out = []
    for it in items:
        if it["kind"] == "none" or not len(it["x"]):
            out.append((None, 0.0))
            continue
        p = model.probabilities(it["x"])
        best = int(np.argmax(p))
        out.append((it["texts"][best], float(p[best])))
    return out


def report(name: str, items: list[dict], preds: list[tuple[str | None, float]], threshold: float) -> dict:
    ans = [i for i, it in enumerate(items) if it["answerable"]]
    top1 = span_summary([preds[i][0] for i in ans], [items[i]["golds"] for i in ans])
    shown = span_summary([preds[i][0] if preds[i][1] >= threshold else None for i in ans],
                         [items[i]["golds"] for i in ans])
    out = {"questions": len(items), "answerable": len(ans), "top1_em": top1["em"], "top1_f1": top1["f1"],
           "coverage": shown["coverage"], "f1_when_given": shown["f1_when_given"], "f1_overall": shown["f1"]}
    un = [i for i, it in enumerate(items) if not it["answerable"]]
    if un:
        out["unanswerable_given_span"] = sum(preds[i][1] >= threshold for i in un) / len(un)
        out["auc_span_prob"] = roc_auc_score([it["answerable"] for it in items], [p for _, p in preds])
    print(f"{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in out.items()))
    return out


def choose_threshold(items: list[dict], preds: list[tuple[str | None, float]]) -> float:
    """The lowest probability whose spans have F1 >= 0.70 and reach at most 35% of unanswerable questions."""
    for t in np.arange(0.05, 0.96, 0.01):
        given = [(it, p) for it, p in zip(items, preds, strict=True) if p[1] >= t]
        ans = [f1_score(p[0], it["golds"]) for it, p in given if it["answerable"]]
        n_un = sum(not it["answerable"] for it in items)
        un_given = sum(not it["answerable"] for it, _ in given) / max(n_un, 1)
        if ans and np.mean(ans) >= TARGET_F1_WHEN_GIVEN and un_given <= MAX_UNANSWERABLE_GIVEN:
            return round(float(t), 2)
    return 0.95


def write_folds(folds: list, threshold: float) -> None:
    """Each fold's weights (never trained on its articles) and {article: weights file} for `--span-folds`."""
    FOLDS.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for k, (model, docs) in enumerate(folds):
        path = FOLDS / f"fold-{k}.json"
        record = {**SpanModel(model.mean, model.scale, model.coef, model.intercept, threshold).to_dict(),
                  "articles_held_out": docs}
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        mapping.update({doc: str(path) for doc in docs})
    (FOLDS / "folds.json").write_text(json.dumps(mapping, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="write app/answer/span_weights.json")
    args = parser.parse_args()
    squad = load(SQUAD2)
    groups = np.array([it["article"] for it in squad])
    cv_preds: list = [None] * len(squad)
    folds = []
    for train, test in GroupKFold(n_splits=5).split(np.zeros(len(squad)), groups=groups):
        model = fit([squad[i] for i in train])
        folds.append((model, sorted({squad[i]["doc"] for i in test})))
        for i, p in zip(test, predict(model, [squad[i] for i in test]), strict=True):
            cv_preds[i] = p
    threshold = choose_threshold(squad, cv_preds)
    write_folds(folds, threshold)
    results = {"threshold": threshold, "squad2_cv": report("SQuAD 2.0 dev half, CV by article", squad, cv_preds,
                                                              threshold)}
    final = fit(squad)
    final = SpanModel(final.mean, final.scale, final.coef, final.intercept, threshold)
    xquad = load(XQUAD)
    results["xquad_dev"] = report("XQuAD dev (not trained on)", xquad, predict(final, xquad), threshold)
    print(f"threshold {threshold} (chosen on the SQuAD 2.0 cross-validation)")
    if args.write:
        record = {**final.to_dict(), "trained_on": "SQuAD 2.0 dev half (../shared/benchmarks/squad2/squad2.dev.json), "
                  "all 13 articles; unanswerable questions' candidates as negatives",
                  "script": "training/train_spans.py", "given_gold_paragraph": results,
                  "articles": sorted({it["doc"] for it in squad})}
        WEIGHTS_FILE.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
