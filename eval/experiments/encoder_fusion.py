"""Do e5-small and all-MiniLM-L6-v2 together rank answer sentences better than e5 alone, for questions
worded away from the text (dev paraphrases) and in its words (eval/report_questions, XQuAD en)?

Sentence level, dense only: every sentence of the corpus is a candidate; a question hits@k when one of its
k best sentences overlaps a gold evidence string (report) or holds the gold answer (XQuAD, sentences of the
120 paragraphs). Fusion: each model's cosines z-scored over the candidates, then w*e5 + (1-w)*MiniLM.
Also the no-answer separation (ROC AUC of the best fused score, answerable vs unanswerable, eval/).

    python eval/experiments/encoder_fusion.py   # dev data only: never eval/heldout
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from app.evaluation.verdicts import roc_auc  # noqa: E402
from app.index.chunk import sentence_spans  # noqa: E402
from app.index.encoders import DEFAULT_MODEL, encoder  # noqa: E402
from app.settings import MODEL_NAME  # noqa: E402

WEIGHTS = (1.0, 0.8, 0.7, 0.6, 0.5, 0.0)


def report_sentences(root: Path) -> tuple[str, list[tuple[int, int]]]:
    text = next((root / "corpus").glob("*.txt")).read_text(encoding="utf-8")
    return text, sentence_spans(text, 0, len(text))


def z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-9)


def ranks(e5: np.ndarray, mini: np.ndarray, w: float) -> np.ndarray:
    fused = w * z(e5) + (1 - w) * z(mini)
    return np.argsort(-fused, axis=1), fused


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    q5, p5 = encoder(DEFAULT_MODEL, "query"), encoder(DEFAULT_MODEL, "build")
    qm, pm = encoder(MODEL_NAME, "query"), encoder(MODEL_NAME, "build")
    text, spans = report_sentences(root)
    sents = [text[s:e] for s, e in spans]
    v5, vm = p5.encode(sents), pm.encode(sents)
    out = {}
    for name, path in (("report", root / "eval/report_questions.jsonl"),
                       ("paraphrase", root / "eval/paraphrase/report_questions.jsonl")):
        rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        qs = [r["question"] for r in rows]
        s5, sm = q5.encode(qs) @ v5.T, qm.encode(qs) @ vm.T
        gold = []
        for r in rows:
            g = set()
            for ev in r.get("evidence", []):
                at = text.find(ev)
                g |= {i for i, (s, e) in enumerate(spans) if s < at + len(ev) and at < e}
            gold.append(g)
        for w in WEIGHTS:
            order, fused = ranks(s5, sm, w)
            ans = [i for i, r in enumerate(rows) if r["answerable"]]
            h1 = np.mean([bool(set(order[i, :1]) & gold[i]) for i in ans])
            h3 = np.mean([bool(set(order[i, :3]) & gold[i]) for i in ans])
            # raw-score separation: the best cosine (e5 and MiniLM each on their own scale, mixed by w)
            best = w * s5.max(axis=1) + (1 - w) * sm.max(axis=1)
            unans = [not r["answerable"] for r in rows]
            auc = roc_auc(list(best), unans) if any(unans) else None
            out[f"{name} w={w}"] = {"hit@1": round(float(h1), 3), "hit@3": round(float(h3), 3),
                                    "auc_best_score": None if auc is None else round(auc, 3)}
            print(name, f"w={w}", out[f"{name} w={w}"], flush=True)
    xquad(root, q5, p5, qm, pm, out)
    Path("/tmp/encoder_fusion.json").write_text(json.dumps(out, indent=1))


def xquad(root: Path, q5, p5, qm, pm, out: dict) -> None:
    data = json.loads((root.parent / "shared/benchmarks/xquad/xquad.en.dev.json").read_text())
    sents, owner, qs, answers = [], [], [], []
    for art in data["data"]:
        for p in art["paragraphs"]:
            ctx = p["context"]
            base = len(sents)
            for s, e in sentence_spans(ctx, 0, len(ctx)):
                sents.append(ctx[s:e]); owner.append((s, e))
            for qa in p["qas"]:
                a = qa["answers"][0]
                lo, hi = a["answer_start"], a["answer_start"] + len(a["text"])
                gold = {base + j for j, (s, e) in enumerate(owner[base:]) if s <= lo and hi <= e}
                qs.append(qa["question"]); answers.append(gold)
    v5, vm = p5.encode(sents), pm.encode(sents)
    s5, sm = q5.encode(qs) @ v5.T, qm.encode(qs) @ vm.T
    for w in WEIGHTS:
        order, _ = ranks(s5, sm, w)
        h1 = np.mean([bool(set(order[i, :1]) & answers[i]) for i in range(len(qs))])
        h3 = np.mean([bool(set(order[i, :3]) & answers[i]) for i in range(len(qs))])
        out[f"xquad-en w={w}"] = {"hit@1": round(float(h1), 3), "hit@3": round(float(h3), 3)}
        print("xquad-en", f"w={w}", out[f"xquad-en w={w}"], flush=True)


if __name__ == "__main__":
    main()
