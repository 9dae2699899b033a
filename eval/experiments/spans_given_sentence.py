"""The shipped logistic-regression span scorer on XQuAD dev given only the gold sentence (the sentence of the
paragraph that holds the answer's start, as eval/experiments/train_reader.py cuts it), to compare with the
reader's figures given the same sentence. XQuAD was never trained on.

    OMP_NUM_THREADS=1 nice -n 10 python eval/experiments/spans_given_sentence.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval" / "experiments"))

from spacy.tokens import Doc  # noqa: E402
from spacy_cache import build_cache  # noqa: E402
from train_reader import XQUAD, gold_sentence, read  # noqa: E402

from app.answer.spans import best_span, load_model, question_view, sentence_from_doc  # noqa: E402
from app.evaluation.span_metrics import span_summary  # noqa: E402
from app.index.ner import load_pipeline  # noqa: E402


def main() -> None:
    cache, nlp, model = build_cache(XQUAD), load_pipeline(), load_model()
    items = read(XQUAD)
    preds, golds, probs = [], [], []
    for it in items:
        sent = gold_sentence(it)["context"]
        view = question_view(Doc(nlp.vocab).from_json(cache["questions"][it["id"]]))
        span = best_span(view, sentence_from_doc(nlp(sent), 0), model)
        preds.append(sent[span.start:span.end] if span else None)
        probs.append(span.score if span else 0.0)
        golds.append(it["golds"])
    top1 = span_summary(preds, golds)
    print(f"LR, XQuAD dev given the gold sentence: questions {len(items)}, top1_em {top1['em']:.3f}, "
          f"top1_f1 {top1['f1']:.3f}")
    for t in (0.1, 0.19, 0.3, 0.4, 0.5):
        s = span_summary([p if q >= t else None for p, q in zip(preds, probs, strict=True)], golds)
        print(f"  {t:.2f} coverage {s['coverage']:.3f} f1_when_given {s['f1_when_given'] or 0:.3f} "
              f"f1_overall {s['f1']:.3f}")


if __name__ == "__main__":
    main()
