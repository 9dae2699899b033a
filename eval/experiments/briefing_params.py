"""Choose the briefing's ranking on SQuAD 2.0 dev (13 articles); XQuAD dev is held out and never run here.

Run: OMP_NUM_THREADS=1 nice python eval/experiments/briefing_params.py
Reads the cached index that `verbatim eval --suite brief --data ../shared/benchmarks/squad2/squad2.dev.json`
builds, re-ranks every article's candidate sentences under each setting, and prints QA coverage at
100 and 200 words (mean over articles) beside the lead and LexRank-over-TF-IDF baselines.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.answer.briefing import cut  # noqa: E402
from app.evaluation.beir import benchmark_index  # noqa: E402
from app.evaluation.brief import candidate_rows, covered, ranked_rows  # noqa: E402
from app.evaluation.squad import read_squad, squad_documents  # noqa: E402
from app.index.briefing import RankParams, rank_vectors, sentence_features  # noqa: E402
from app.index.embed import default_embedder  # noqa: E402
from app.settings import BuildSettings  # noqa: E402

DATA = ROOT.parent / "shared/benchmarks/squad2/squad2.dev.json"
BUDGETS = (100, 200)


def load():
    articles, questions = read_squad(DATA)
    index = benchmark_index(DATA.stem, DATA, squad_documents(articles), default_embedder(), BuildSettings())
    answers: dict[str, list[list[str]]] = {}
    for q in questions:
        if q.answerable:
            answers.setdefault(q.doc, []).append([a[2] for a in q.answers])
    cases = []
    for d, doc in enumerate(index.documents):
        rows = candidate_rows(index, d)
        texts = [doc.text[s:e] for s, e in index.sentences[rows, 1:3].tolist()]
        cases.append((index, d, rows, texts, [len(t.split()) for t in texts], answers[doc.doc]))
    return cases


def coverage(cases, order_of) -> dict[int, float]:
    out = {}
    for b in BUDGETS:
        vals = []
        for case in cases:
            _, _, rows, texts, words, answers = case
            order = order_of(case)
            kept = cut(order, [words[i] for i in order], b)
            vals.append(np.mean(covered(answers, [texts[i] for i in kept])))
        out[b] = round(float(np.mean(vals)), 4)
    return out


if __name__ == "__main__":
    cases = load()
    base = {m: coverage(cases, lambda c, m=m: [list(c[2]).index(r) for r in ranked_rows(c[0], m, c[1], c[2])])
            for m in ("lead", "lexrank-tfidf")}
    print("baselines", base)
    best = {b: max(v[b] for v in base.values()) for b in BUDGETS}
    # a first grid (position 0/0.25/0.5, scale 3/30, lambda 0.5/0.7/0.9, density 0/0.5/1, length 0/0.5/1) put
    # density 1 and length 0.5 on top; this one widens around them
    grid = itertools.product((0.0, 0.25), (30.0,), (0.3, 0.4, 0.5), (1.0, 2.0, 3.0, 5.0), (0.5, 0.75, 1.0),
                             (0.0, 0.25, 0.5))
    results = []
    for pw, ps, lam, dens, lenexp, lead in grid:
        p = RankParams(position_weight=pw, position_scale=ps, mmr_lambda=lam, density_weight=dens, length_power=lenexp,
                       lead_weight=lead)

        def order_of(case, p=p):
            index, d, rows, texts, words, _ = case
            feats = sentence_features(texts, index.sentences[rows, 3].tolist())
            return rank_vectors(np.asarray(index.sentence_vectors[rows]), p, features=feats)[0].tolist()
        cov = coverage(cases, order_of)
        results.append((cov[100] / best[100] + cov[200] / best[200], p, cov))
    results.sort(key=lambda r: -r[0])
    for score, p, cov in results[:15]:
        print(round(score, 3), cov, {k: getattr(p, k) for k in p.__dataclass_fields__})
