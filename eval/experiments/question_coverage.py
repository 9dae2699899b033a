"""Would damping the confidence when the quotes lack the question's names or numbers separate SQuAD 2.0's
unanswerable questions better? Reads a squad2 run's per-question output; prints ROC AUCs.

    python -m app.cli eval --suite squad2 --data ../shared/benchmarks/squad2/squad2.dev.json \\
        --span-folds .cache/spans/folds.json --out eval/results/squad2-cv
    python eval/experiments/question_coverage.py eval/results/squad2-cv/squad2-squad2.dev-items.jsonl

Words checked: "caps" = the question's capitalised words (but the first) and numbers; "all" = every
word outside a short stop list. A question misses when one of them is not among the tokens of its
first quote (or of all three). The confidence is multiplied by a factor when it misses.
"""

from __future__ import annotations

import json
import re
import sys

from sklearn.metrics import roc_auc_score

from app.index.lexical import tokenize

STOP = set("the a an of in on at to for from by with and or is are was were what which who whom when where why how "
           "did does do".split())


def missing(item: dict, quotes: int, kind: str) -> int:
    text = " ".join(q["text"] for q in item["quotes"][:quotes])
    tokens = set(tokenize(text))
    if kind == "caps":
        words = re.findall(r"\b[A-Z][\w'-]+|\b\d[\d,.]*", item["question"])[1:]
    else:
        words = [w for w in re.findall(r"[\w'-]+", item["question"]) if w.lower() not in STOP]
    return sum(1 for w in words if tokenize(w) and not set(tokenize(w)) <= tokens)


def main() -> None:
    items = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    answerable = [it["answerable"] for it in items]
    confidence = [it["confidence"] for it in items]
    print(f"confidence alone: AUC {roc_auc_score(answerable, confidence):.4f}")
    for quotes in (1, 3):
        for kind in ("caps", "all"):
            misses = [missing(it, quotes, kind) for it in items]
            for factor in (0.9, 0.8, 0.7, 0.5):
                damped = [c * (factor if m else 1.0) for c, m in zip(confidence, misses, strict=True)]
                print(f"{kind} missing from {quotes} quote(s), x{factor}: AUC {roc_auc_score(answerable, damped):.4f}")


if __name__ == "__main__":
    main()
