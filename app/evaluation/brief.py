"""`verbatim eval --suite brief`: QA coverage of the briefing on a SQuAD-format file.

Question-based summary evaluation (as in APES, Eyal et al. 2019): each article is one document
(its paragraphs joined by a blank line, as in `app.evaluation.squad`); a briefing at a word budget
covers a question when a gold answer's text occurs (case-insensitively) inside one of its points.
An article's coverage is the share of its answerable questions covered; the figure is the mean
over articles, with a percentile-bootstrap 95% interval over articles.

Three methods cut by the same budget (`app.answer.briefing.cut`) over the same candidate sentences
(the index's sentences less headings and question turns, `app.index.briefing.candidates`):

- briefing: the ranking stored in the index (LexRank over the sentence vectors, position, MMR);
- lead: the candidates in document order;
- lexrank-tfidf: LexRank (Erkan and Radev 2004, threshold 0.1, damping 0.85) over TF-IDF vectors of
  the article's candidate sentences, most central first.

>>> import json, shutil, tempfile
>>> from app.index.embed import HashEmbedder
>>> folder = Path(tempfile.mkdtemp())
>>> first = "The inspectors counted 212 prisoners held in cells built for 150."
>>> second = "Medical care was the main complaint. Prisoners waited nine days to see a doctor."
>>> qa = [{"id": "q1", "question": "How many?", "answers": [{"text": "212", "answer_start": 23}]},
...       {"id": "q2", "question": "How long?", "answers": [{"text": "nine days", "answer_start": 52}]}]
>>> article = {"title": "Prisons", "paragraphs": [{"context": first, "qas": qa[:1]},
...                                               {"context": second, "qas": qa[1:]}]}
>>> _ = (folder / "tiny.json").write_text(json.dumps({"data": [article]}), encoding="utf-8")
>>> result = run_brief(folder / "tiny.json", cache_dir=folder / "cache", embedder=HashEmbedder(), budgets=(12,))
>>> result["methods"]["lead"]["coverage@12"]  # the first sentence (11 words) fits, the rest does not
0.5
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.answer.briefing import briefing, cut
from app.evaluation.benchmark import benchmark_index, write_outputs
from app.evaluation.squad import read_squad, squad_documents
from app.evaluation.uncertainty import bracket, mean_interval, paired_difference
from app.index.briefing import DAMPING, candidates
from app.index.embed import Embedder
from app.index.encoders import default_model, encoder
from app.index.store import Index
from app.settings import BuildSettings

log = logging.getLogger(__name__)

BUDGETS = (100, 200)
METHODS = ("briefing", "lead", "lexrank-tfidf")
BASELINES = ("lead", "lexrank-tfidf")
LEXRANK_THRESHOLD = 0.1  # Erkan and Radev's threshold for an edge of the TF-IDF cosine graph
GOALS = {100: 1.25, 200: 1.15}  # issue 22: the briefing's coverage over the better baseline

Ranker = Callable[[Index, int, np.ndarray], list[int]]  # (index, doc row, candidate rows) -> rows best first


def pagerank(adjacency: np.ndarray, damping: float = DAMPING) -> np.ndarray:
    """PageRank of a non-negative adjacency matrix (rows without edges jump uniformly).

    >>> pagerank(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], float)).round(3).tolist()
    [0.486, 0.257, 0.257]
    """
    n = len(adjacency)
    sums = adjacency.sum(axis=1, keepdims=True)
    walk = np.where(sums > 0, adjacency / np.where(sums > 0, sums, 1.0), 1.0 / n)
    score = np.full(n, 1.0 / n)
    for _ in range(200):
        nxt = (1 - damping) / n + damping * (score @ walk)
        if np.abs(nxt - score).sum() < 1e-12:
            return nxt
        score = nxt
    return score


def lexrank_tfidf(texts: Sequence[str]) -> list[int]:
    """Positions of `texts`, most central first, by thresholded LexRank over TF-IDF (ties: document order)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return list(range(len(texts)))
    tfidf = TfidfVectorizer(stop_words="english").fit_transform(texts)
    sim = (tfidf @ tfidf.T).toarray()
    np.fill_diagonal(sim, 0.0)
    score = pagerank((sim > LEXRANK_THRESHOLD).astype(float))
    return sorted(range(len(texts)), key=lambda i: (-round(float(score[i]), 12), i))


def _texts(index: Index, rows: Sequence[int]) -> list[str]:
    return [index.documents[d].text[s:e] for d, s, e in index.sentences[list(rows), :3].tolist()]


def candidate_rows(index: Index, d: int) -> np.ndarray:
    """The sentence rows of document row `d` a briefing may quote."""
    rows = np.flatnonzero(index.sentences[:, 0] == d)
    return rows[candidates(index.documents[d], index.sentences[rows, 1:4])] if len(rows) else rows


def ranked_rows(index: Index, method: str, d: int, cands: np.ndarray) -> list[int]:
    if method == "lead":
        return cands.tolist()
    if method == "lexrank-tfidf":
        return [int(cands[i]) for i in lexrank_tfidf(_texts(index, cands))]
    raise ValueError(f"method {method!r} is not one of {', '.join(BASELINES)}")


def covered(answers: Sequence[Sequence[str]], points: Sequence[str]) -> list[bool]:
    """For each question (its gold answer texts), whether one of them occurs in a point.

    >>> covered([["212"], ["nine days", "9 days"], ["a doctor"]], ["Held 212 men.", "After 9 Days."])
    [True, True, False]
    """
    low = [p.lower() for p in points]
    return [any(a.lower() in p for a in golds for p in low) for golds in answers]


def _points(index: Index, method: str, d: int, cands: np.ndarray, budget: int) -> list[str]:
    if method == "briefing":
        return [q.text for q in briefing(index, index.documents[d].doc, budget).points]
    ranked = ranked_rows(index, method, d, cands)
    lengths = [len(t.split()) for t in _texts(index, ranked)]
    return _texts(index, cut(ranked, lengths, budget))


def article_coverage(index: Index, questions_by_doc: dict[str, list[list[str]]], budgets: Sequence[int],
                     methods: Sequence[str] = METHODS) -> list[dict]:
    """One row per article with questions: its coverage by every method at every budget."""
    rows = []
    for d, doc in enumerate(index.documents):
        answers = questions_by_doc.get(doc.doc)
        if not answers:
            continue
        cands = candidate_rows(index, d)
        row: dict = {"doc": doc.doc, "questions": len(answers), "candidates": len(cands)}
        for method in methods:
            for budget in budgets:
                row[f"{method}@{budget}"] = float(np.mean(covered(answers, _points(index, method, d, cands, budget))))
        rows.append(row)
    return rows


def summarise(rows: list[dict], budgets: Sequence[int], methods: Sequence[str] = METHODS) -> dict:
    """Mean coverage per method and budget with intervals; the briefing against the better baseline."""
    out: dict = {"methods": {}, "versus_best_baseline": {}}
    for method in methods:
        figures = out["methods"].setdefault(method, {})
        for b in budgets:
            values = [r[f"{method}@{b}"] for r in rows]
            figures[f"coverage@{b}"] = round(float(np.mean(values)), 4) if values else 0.0
            figures[f"coverage@{b}_ci"] = list(mean_interval(values))
    if "briefing" in methods:
        for b in budgets:
            best = max((m for m in methods if m != "briefing"), key=lambda m: out["methods"][m][f"coverage@{b}"],
                       default=None)
            if best is None:
                continue
            mine, theirs = out["methods"]["briefing"][f"coverage@{b}"], out["methods"][best][f"coverage@{b}"]
            out["versus_best_baseline"][str(b)] = {
                "baseline": best, "ratio": round(mine / theirs, 3) if theirs else None, "goal": GOALS.get(b),
                "difference": paired_difference([r[f"briefing@{b}"] for r in rows], [r[f"{best}@{b}"] for r in rows])}
    return out


def run_brief(data_file: Path, out_dir: Path | None = None, cache_dir: Path | None = None, *,
              embedder: Embedder | None = None, budgets: Sequence[int] = BUDGETS) -> dict:
    """QA coverage of the briefing and both baselines on every article of a SQuAD-format file."""
    t0 = time.perf_counter()
    data_file = Path(data_file)
    embedder = embedder or encoder(default_model(), "build")
    articles, questions = read_squad(data_file)
    index = benchmark_index(data_file.stem, data_file, squad_documents(articles), embedder, BuildSettings(),
                            cache_dir)
    by_doc: dict[str, list[list[str]]] = {}
    for q in questions:
        if q.answerable:
            by_doc.setdefault(q.doc, []).append([a[2] for a in q.answers])
    rows = article_coverage(index, by_doc, budgets)
    result = {"suite": "brief", "data": str(data_file), "model": embedder.name, "articles": len(rows),
              "questions": sum(r["questions"] for r in rows), "budgets": list(budgets), **summarise(rows, budgets),
              "seconds": round(time.perf_counter() - t0, 1)}
    result["markdown"] = brief_markdown(result)
    if out_dir is not None:
        write_outputs(out_dir, f"brief-{data_file.stem}", result, rows)
    return result


def brief_markdown(result: dict) -> str:
    budgets = result["budgets"]
    lines = [f"## Briefing QA coverage: {Path(result['data']).name}", "",
             f"{result['articles']} articles, {result['questions']} answerable questions, model {result['model']}. "
             "Coverage: share of an article's questions whose gold answer text lies in a briefing point, "
             "mean over articles [95% bootstrap interval].", "",
             "| method | " + " | ".join(f"{b} words" for b in budgets) + " |",
             "|---|" + "---|" * len(budgets)]
    for method, figures in result["methods"].items():
        cells = [f"{figures[f'coverage@{b}']:.3f}{bracket(figures[f'coverage@{b}_ci'])}" for b in budgets]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    for b, v in result["versus_best_baseline"].items():
        diff = v["difference"]
        goal = f" (goal {v['goal']}x)" if v["goal"] else ""
        lines.append(f"\nAt {b} words: briefing / {v['baseline']} = {v['ratio']}x{goal}; difference "
                     f"{diff['difference']:+.3f} [{diff['low']:+.3f}, {diff['high']:+.3f}]")
    return "\n".join(lines) + "\n"
