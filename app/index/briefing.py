"""Briefing ranks: each document's sentences ordered by how well they brief a reader, at build time.

A briefing is a document's key sentences, quoted verbatim. The ranking is computed once per build
and stored in the index (`briefing.npy`: sentence rows and words, `briefing_scores.npy`: their
relevance), so
cutting it at any word budget at ask time is a slice (`app.answer.briefing`).

The method (parameters chosen on SQuAD 2.0 dev by briefing_params.py, docs/experiments/README.md; XQuAD held out):

1. Candidates: the document's sentences (furniture is never a sentence) less headings, questions,
   every sentence of an interviewer's turn (`Document.prompts`, app/index/structure.py) and of any
   paragraph that asks a question ("RFE/RL: Kazakh authorities insist ... Do you find their
   response satisfactory?" is the interviewer's words, not the report's), and photo captions (a
   paragraph printed twice, whose second copy is furniture).
2. Centrality: LexRank (Erkan and Radev, 2004) over the sentence vectors the index holds: PageRank
   on the graph of cosine similarities (negative ones cut to 0), damping `DAMPING`. Above
   `MAX_GRAPH` candidates, degree centrality (the mean cosine to all others), which LexRank's
   authors found close to it, keeps the cost linear.
3. Relevance: centrality scaled to [0, 1], plus a position prior `POSITION_WEIGHT / (1 + i / POSITION_SCALE)`
   (i: the candidate's place in the document), plus `DENSITY_WEIGHT` x fact density (the share of
   words that are numbers or capitalised after the first), plus `LEAD_WEIGHT` when the sentence
   opens its paragraph; divided by `(words / 20) ** LENGTH_POWER`, so a budget goes to dense
   sentences. Density and length carry the gain over LexRank on QA coverage (briefing_params.py,
   docs/experiments/README.md).
4. Order: maximal marginal relevance (Carbonell and Goldstein, 1998): the next sentence maximises
   `MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * max cosine to those already chosen`, so the
   briefing covers the document instead of repeating its centre. Only the first `MAX_RANKED`
   are ranked: no budget reads further.

>>> import numpy as np
>>> v = np.array([[1, 0], [1, 0], [0, 1]], np.float32)  # two alike, one apart
>>> rank_vectors(v)[0].tolist()  # the first, then the one apart, then its twin
[0, 2, 1]
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from app.index.ingest import Document

DAMPING = 0.85
MAX_GRAPH = 2_000  # candidates above this use degree centrality (linear) instead of PageRank (quadratic)
MAX_RANKED = 256  # sentences ranked per document; a budget of ~2,000 words never reads further
# chosen on SQuAD 2.0 dev by briefing_params.py (docs/experiments/README.md; XQuAD dev held out)
POSITION_WEIGHT = 0.25
POSITION_SCALE = 30.0
MMR_LAMBDA = 0.4
DENSITY_WEIGHT = 2.0
LENGTH_POWER = 0.5
LEAD_WEIGHT = 0.5
# bump with any change to how sentences are ranked (2: captions left out; 3: interviewer turns by structure)
METHOD = "lexrank-density-lead-mmr/3"
CLOSING = re.compile(r"""[.!;:"'\u201d\u2019)\]]\s*$""")  # a paragraph ending without one is a heading


@dataclass(frozen=True)
class RankParams:
    """The method's parameters (defaults: the module constants)."""

    position_weight: float = POSITION_WEIGHT
    position_scale: float = POSITION_SCALE
    mmr_lambda: float = MMR_LAMBDA
    damping: float = DAMPING
    density_weight: float = DENSITY_WEIGHT
    length_power: float = LENGTH_POWER
    lead_weight: float = LEAD_WEIGHT


# what the stored ranking is computed with, recorded in the manifest: an index that records another is stale
RANKING_SETTINGS = {"method": METHOD, **asdict(RankParams())}


def is_heading(document: Document, start: int, end: int, paragraph: int) -> bool:
    """A sentence that is a whole paragraph of its own without closing punctuation: a title or heading."""
    whole = 0 < paragraph <= len(document.paragraphs) and tuple(document.paragraphs[paragraph - 1]) == (start, end)
    return whole and not CLOSING.search(document.text[start:end])


def candidates(document: Document, spans: np.ndarray) -> np.ndarray:
    """Indices into `spans` (rows of start, end, paragraph) of the sentences a briefing may quote.

    >>> from app.index.ingest import document_from_text
    >>> d = document_from_text("i.txt", "Old Habits\\n\\nQ: Is it so? Tell us.\\n\\nA: It is so, said the author here.")
    >>> candidates(d, np.array([[0, 10, 1], [12, 24, 2], [25, 33, 2], [35, 69, 3]])).tolist()
    [3]
    """
    text = document.text
    asking = {int(p) for s, e, p in spans.tolist() if text[s:e].rstrip().endswith("?")} | set(document.prompts)
    printed_twice = {" ".join(text[s:e].split()) for s, e in document.furniture}  # captions: their copy is furniture
    keep = [i for i, (s, e, p) in enumerate(spans.tolist())
            if p not in asking and not is_heading(document, s, e, p)
            and not (0 < p <= len(document.paragraphs)
                     and " ".join(text[slice(*document.paragraphs[p - 1])].split()) in printed_twice)]
    return np.array(keep, dtype=np.int64)


def centrality(vectors: np.ndarray, damping: float = DAMPING) -> np.ndarray:
    """LexRank: the stationary distribution of a random walk on the cosine graph (max-scaled to 1).

    >>> centrality(np.array([[1, 0], [1, 0], [0.6, 0.8]], np.float32)).round(3).tolist()  # b/a = 0.95/2.6375 / a
    [1.0, 1.0, 0.776]
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0)
    if n > MAX_GRAPH:
        score = vectors @ vectors.mean(axis=0)
    else:
        sim = np.clip(vectors @ vectors.T, 0.0, None).astype(np.float64)
        np.fill_diagonal(sim, 0.0)
        sums = sim.sum(axis=1, keepdims=True)
        walk = np.where(sums > 0, sim / np.where(sums > 0, sums, 1.0), 1.0 / n)  # an isolated node jumps anywhere
        score = np.full(n, 1.0 / n)
        for _ in range(100):
            nxt = (1 - damping) / n + damping * (score @ walk)
            done = np.abs(nxt - score).sum() < 1e-9
            score = nxt
            if done:
                break
    top = float(score.max())
    return score / top if top > 0 else np.zeros(n)


_TOKEN = re.compile(r"\S+")


def sentence_features(texts: list[str], paragraphs: list[int] | None = None) -> dict[str, np.ndarray]:
    """Per sentence: words, fact density (share of words that are numbers or capitalised after the
    first), and whether it opens its paragraph.

    >>> f = sentence_features(["In 2011 police fired on strikers in Zhanaozen.", "It was cold."], [1, 1])
    >>> f["words"].tolist(), f["density"].round(3).tolist(), f["lead"].tolist()
    ([8, 3], [0.25, 0.0], [1.0, 0.0])
    """
    words, density = [], []
    for t in texts:
        tokens = _TOKEN.findall(t)
        facts = sum(1 for i, w in enumerate(tokens) if any(c.isdigit() for c in w) or (i > 0 and w[:1].isupper()))
        words.append(len(tokens))
        density.append(facts / max(len(tokens), 1))
    paragraphs = paragraphs if paragraphs is not None else list(range(len(texts)))
    lead = [1.0 if i == 0 or paragraphs[i] != paragraphs[i - 1] else 0.0 for i in range(len(texts))]
    return {"words": np.array(words, np.int64), "density": np.array(density), "lead": np.array(lead)}


def rank_vectors(vectors: np.ndarray, params: RankParams | None = None, limit: int = MAX_RANKED,
                 features: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(order, relevance): candidate indices (in document order) best first by MMR, and each one's relevance."""
    p = params or RankParams()
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    vectors = np.asarray(vectors, np.float32)
    relevance = centrality(vectors, p.damping) + p.position_weight / (1.0 + np.arange(n) / p.position_scale)
    if features is not None:
        relevance = relevance + p.density_weight * features["density"] + p.lead_weight * features["lead"]
        relevance = relevance / (np.maximum(features["words"], 1) / 20.0) ** p.length_power
    chosen: list[int] = []
    closest = np.zeros(n)  # each sentence's max cosine to those chosen
    open_ = np.ones(n, bool)
    for _ in range(min(n, limit)):
        gain = np.where(open_, p.mmr_lambda * relevance - (1 - p.mmr_lambda) * closest, -np.inf)
        i = int(np.argmax(gain))
        chosen.append(i)
        open_[i] = False
        closest = np.maximum(closest, vectors @ vectors[i])
    order = np.array(chosen, np.int64)
    return order, relevance[order].astype(np.float32)


def rank_documents(documents: list[Document], sentences: np.ndarray, vectors: np.ndarray | None,
                   params: RankParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(table, scores) for the whole index: per document in document order, its ranked sentences as
    int64 rows of (sentence row, words), and float32 scores (relevance) beside them.

    Without sentence vectors (an index built with `embed_sentences=False`), the ranking is the lead:
    candidates in document order, scored by the position prior alone."""
    p = params or RankParams()
    rows: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    doc_col = sentences[:, 0] if len(sentences) else np.zeros(0, np.int64)
    bounds = np.searchsorted(doc_col, np.arange(len(documents) + 1))
    for d, doc in enumerate(documents):
        lo, hi = int(bounds[d]), int(bounds[d + 1])
        keep = candidates(doc, sentences[lo:hi, 1:4]) + lo
        if not len(keep):
            continue
        if vectors is None:
            order = np.arange(min(len(keep), MAX_RANKED))
            score = (p.position_weight / (1.0 + order / p.position_scale)).astype(np.float32)
        else:
            texts = [doc.text[s:e] for s, e in sentences[keep, 1:3].tolist()]
            features = sentence_features(texts, sentences[keep, 3].tolist())
            order, score = rank_vectors(np.asarray(vectors[keep]), p, features=features)
        ranked = keep[order]
        words = [len(doc.text[s:e].split()) for s, e in sentences[ranked, 1:3].tolist()]
        rows.append(np.stack([ranked, np.array(words, np.int64)], axis=1))
        scores.append(score)
    if not rows:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    return np.concatenate(rows).astype(np.int64), np.concatenate(scores).astype(np.float32)
