"""Experiment: do questions worded away from the report reach its sentence, and what do they score?

Evidence hit@1/@3 with the verdict floor off (ranking alone), and each question's top score, for the
paraphrase dev set against eval/report_questions.jsonl (answerable and unanswerable): ROC AUC of the
top score. Held-out files are not read.

    python eval/experiments/paraphrase.py
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from app.answer.loading import load_assistant

CORPUS = Path("corpus")


def evidence_spans(text: str, evidence: list[str]) -> list[tuple[int, int]]:
    return [(text.index(e), text.index(e) + len(e)) for e in evidence]


def run(assistant, rows: list[dict], text: str) -> list[dict]:
    out = []
    for r in rows:
        answer = assistant.ask(r["question"], k=3)
        spans = evidence_spans(text, r.get("evidence") or []) if r["answerable"] else []
        hits = [any(q.start < b and a < q.end for a, b in spans) for q in answer.quotes]
        out.append({"id": r["id"], "answerable": r["answerable"], "score": answer.score or 0.0,
                    "hit@1": bool(hits[:1] and hits[0]), "hit@3": any(hits), "verdict": answer.verdict})
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def main() -> None:
    assistant = load_assistant(Path("index/default"), CORPUS)
    assistant.settings = replace(assistant.settings, floor=-1e9)
    text = next(CORPUS.glob("*.txt")).read_text()
    sets = {"paraphrase": "eval/paraphrase/report_questions.jsonl", "report": "eval/report_questions.jsonl"}
    import sys

    import app.answer.quote as quote

    for center in json.loads(sys.argv[1]) if len(sys.argv) > 1 else [0.0]:  # the model card's cosine_center
        quote.cosine_center = lambda name, c=center: c
        print("cosine_center", center)
        report_variant(assistant, sets, text)
    import app.answer.pipeline as pipeline

    for min_cosine in json.loads(sys.argv[2]) if len(sys.argv) > 2 else []:
        pipeline.tokenize = expansion_tokens(assistant, min_cosine)
        print("expansion at cosine", min_cosine)
        report_variant(assistant, sets, text)


def report_variant(assistant, sets: dict, text: str) -> None:
    results = {name: run(assistant, [json.loads(x) for x in open(path)], text) for name, path in sets.items()}
    para, report = results["paraphrase"], results["report"]
    neg = [x["score"] for x in report if not x["answerable"]]
    for name, rows in results.items():
        ans = [x for x in rows if x["answerable"]]
        print(name, "hit@1 %.3f hit@3 %.3f" % (sum(x["hit@1"] for x in ans) / len(ans), sum(x["hit@3"] for x in ans) / len(ans)),
              "AUC vs unanswerable %.3f" % auc([x["score"] for x in ans], neg),
              "median score %.3f" % sorted(x["score"] for x in ans)[len(ans) // 2])
    print("unanswerable median score %.3f" % sorted(neg)[len(neg) // 2])
    print(json.dumps([(x["id"], x["hit@3"], round(x["score"], 3)) for x in para]))


def expansion_tokens(assistant, min_cosine: float, per_word: int = 2):
    """A tokenizer that adds, for each question word the corpus never uses, the corpus words whose e5
    vectors lie nearest it (at least `min_cosine`): "cops" -> "police"."""
    import re

    import numpy as np

    from app.index.lexical import tokenize

    text = " ".join(d.text for d in assistant.index.documents)
    vocab = sorted({w for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", text.lower()) if tokenize(w)})
    known = {t for w in vocab for t in tokenize(w)}
    vectors = assistant.embedder.encode([w for w in vocab])
    memo: dict[str, list[str]] = {}

    def near(word: str) -> list[str]:
        if word not in memo:
            v = assistant.embedder.encode([word])[0]
            cos = vectors @ v
            best = np.argsort(-cos)[:per_word]
            memo[word] = [t for i in best if cos[i] >= min_cosine for t in tokenize(vocab[i])]
        return memo[word]

    def tokens(query: str) -> list[str]:
        out = tokenize(query)
        for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", query.lower()):
            if tokenize(w) and not set(tokenize(w)) & known:
                out += near(w)
        return out

    return tokens


if __name__ == "__main__":
    main()

