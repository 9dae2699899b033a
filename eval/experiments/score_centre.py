"""Experiment: one calibration for questions in the documents' language and across languages?

Sentence scores centred (app/answer/quote.py, patch centering.patch) on a fixed cosine, or on each
question's own mean cosine to the corpus's sentences (centre -1 here). For each: ranking with the
floor off on eval/ (English), eval/multilingual (dev) and eval/paraphrase (dev); the pooled ROC AUC
of answerable against unanswerable; then floor and threshold chosen on eval/ alone (the product's
objective) and applied to the others: not_found and answered rates. Held-out files are not read.

    python eval/experiments/score_centre.py '[0, 0.75, -1]'
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import app.answer.quote as quote
from app.answer.loading import load_assistant
from app.evaluation.verdicts import choose_verdict_thresholds
from eval.experiments.paraphrase import auc, run

SETS = {"en": "eval/report_questions.jsonl", "ml": "eval/multilingual/report_questions.jsonl",
        "para": "eval/paraphrase/report_questions.jsonl"}


def main() -> None:
    assistant = load_assistant(Path("index/default"), Path("corpus"))
    assistant.settings = replace(assistant.settings, floor=-1e9)
    text = next(Path("corpus").glob("*.txt")).read_text()
    import app.answer.pipeline as pipeline

    pipeline.EVIDENCE_CONFIDENCE = len(sys.argv) > 2 and sys.argv[2] == "evidence"
    if len(sys.argv) > 2 and sys.argv[2] == "dense-confidence":  # every document read as another language's
        assistant.lexical = lambda language: frozenset()
    for center in json.loads(sys.argv[1]):
        quote.cosine_center = lambda model, c=center: c
        res = {name: run(assistant, [json.loads(x) for x in open(p)], text) for name, p in SETS.items()}
        pos = [x["score"] for n in ("en", "ml") for x in res[n] if x["answerable"]]
        neg = [x["score"] for n in ("en", "ml") for x in res[n] if not x["answerable"]]
        en = res["en"]
        chosen = choose_verdict_thresholds([x["score"] for x in en], [not x["answerable"] for x in en])
        line = {"center": center, "pooled_auc": round(auc(pos, neg), 3), "floor": round(chosen["floor"], 3),
                "threshold": round(chosen["threshold"], 3)}
        for name, rows in res.items():
            ans = [x for x in rows if x["answerable"]]
            una = [x for x in rows if not x["answerable"]]
            line[name] = {"hit@1": round(sum(x["hit@1"] for x in ans) / len(ans), 3),
                          "hit@3": round(sum(x["hit@3"] for x in ans) / len(ans), 3),
                          "auc": round(auc([x["score"] for x in ans], [x["score"] for x in una]), 3) if una else None,
                          "answerable_not_found": round(sum(x["score"] < chosen["floor"] for x in ans) / len(ans), 3),
                          "unanswerable_answered": round(sum(x["score"] >= chosen["threshold"] for x in una) / len(una), 3)
                          if una else None}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
