"""Experiment: do the sentence score's weights, tuned for MiniLM's cosines, fit e5's?

e5's cosines sit in a narrow band (unrelated sentences 0.71-0.82), so the dense terms of a sentence's
score (app/answer/quote.py) hardly vary while its lexical share spans 0..1. Variants rescale the dense
terms, c -> (c - center) / spread, and reweigh. XQuAD dev only (English paragraphs; questions in en
and other languages); held-out articles are not read.

    python eval/experiments/e5_scoring.py --langs en ru de es --limit 612
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import app.answer.pipeline as pipeline
import app.answer.quote as quote
from app.answer.assistant import Assistant
from app.evaluation.benchmark import BenchmarkRun
from app.evaluation.crosslingual import translated
from app.settings import BuildSettings
from app.evaluation.squad import QueryMemo, read_squad, score_answer, squad_documents

XQ = Path("../shared/benchmarks/xquad")


def variant_scorer(center: float, spread: float, ws: float, wp: float, wl: float, hub: float = 1.0):
    original = quote.score_sentences

    def scorer(index, hits, query_vec, query_tokens, kind=None, question="", factor=1.0, lexical=None):
        saved = (quote.W_SENTENCE, quote.W_PASSAGE, quote.W_LEXICAL, index.sentence_hubness)
        quote.W_SENTENCE, quote.W_PASSAGE, quote.W_LEXICAL = ws, wp, wl
        scaled = [h.__class__(h.row, h.chunk, h.score, (h.dense - center) / spread, h.bm25) for h in hits]
        # sentence: (max(c,0) - hub) / spread; done by scaling the query vector and hubness alike
        index.sentence_hubness = (hub * saved[3] + (1 - hub) * center) / spread
        try:
            return original(index, scaled, query_vec / spread, query_tokens, kind, question, factor, lexical)
        finally:
            quote.W_SENTENCE, quote.W_PASSAGE, quote.W_LEXICAL, index.sentence_hubness = saved

    return scorer


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--langs", nargs="+", default=["en", "ru"])
    p.add_argument("--limit", type=int, default=612)
    p.add_argument("--variants", default="")
    p.add_argument("--chunk-words", type=int, default=100)
    p.add_argument("--bound", action="store_true")
    p.add_argument("--passages", action="store_true")
    p.add_argument("--no-threshold", action="store_true")
    p.add_argument("--out", default="/tmp/e5_scoring.json")
    a = p.parse_args()
    data = XQ / "xquad.en.dev.json"
    run = BenchmarkRun.open("squad", data, {"build_settings": BuildSettings(chunk_max_words=a.chunk_words)})
    articles, questions = read_squad(data)
    questions = questions[:a.limit]
    by_lang = {lang: translated(questions, XQ / f"xquad.{lang}.dev.json") for lang in a.langs}
    index = run.index(run.dataset, squad_documents(articles))
    by_doc = {x.doc: x for x in articles}
    texts = [q.question.strip() for qs in by_lang.values() for q in qs]
    # the floor off: ranking alone is compared here (a rescaled score needs its own calibration)
    settings = replace(run.answer_settings, floor=-1e9, threshold=-1e9 if a.no_threshold else run.answer_settings.threshold)
    assistant = Assistant(index, QueryMemo(run.embedder, texts), settings)
    if a.bound:
        print(json.dumps({"bound": sentence_bound(run, index, by_lang, by_doc), "hubness_mean": float(index.sentence_hubness.mean())}))
        return
    if a.passages:
        print(json.dumps({"passages": passage_hits(assistant, by_lang, by_doc)}))
        return
    variants = json.loads(a.variants) if a.variants else [[0.0, 1.0, 0.4, 0.3, 0.3]]
    results = []
    for v in variants:
        pipeline.score_sentences = variant_scorer(*v)
        row = {"variant": v}
        t = time.perf_counter()
        for lang, asked in by_lang.items():
            items = [score_answer(q, by_doc, assistant.ask(q.question, k=3), []) for q in asked]
            n = len(items)
            row[lang] = [round(sum(it[k] for it in items) / n, 3)
                         for k in ("answer_in_quote@1", "answer_in_quote@3", "paragraph@1")] + \
                [round(sum(it["verdict"] == "not_found" for it in items) / n, 3)]
        row["seconds"] = round(time.perf_counter() - t, 1)
        print(json.dumps(row), flush=True)
        results.append(row)
    Path(a.out).write_text(json.dumps(results, indent=1))


def passage_hits(assistant, by_lang, by_doc) -> dict:
    """Dense passage hit@1/@3: the first (three) retrieved chunks overlap the gold paragraph."""
    out = {}
    for lang, asked in by_lang.items():
        h1 = h3 = 0
        for q in asked:
            gold = by_doc[q.doc].paragraph_spans[q.paragraph - 1]
            hits = assistant.search(q.question, k=3, mode="dense").hits
            ok = [h.chunk.doc == q.doc and h.chunk.start < gold[1] and gold[0] < h.chunk.end for h in hits]
            h1 += bool(ok[:1] and ok[0])
            h3 += any(ok)
        out[lang] = [round(h1 / len(asked), 3), round(h3 / len(asked), 3)]
    return out


def sentence_bound(run, index, by_lang, by_doc) -> dict:
    """Dense sentence ranking alone over every sentence of the corpus: is the answer inside one of the
    top 1 / 3 sentences, by raw cosine and by cosine less hubness."""
    from app.index.encoders import encoder

    query = encoder(run.embedder.name, "query")
    docs = [d.doc for d in index.documents]
    out = {}
    for lang, asked in by_lang.items():
        vectors = np.stack([query.encode([q.question])[0] for q in asked])
        raw = vectors @ index.sentence_vectors.T
        for name, scores in (("raw", raw), ("hub", raw - index.sentence_hubness[None, :])):
            top = np.argsort(-scores, axis=1)[:, :3]
            ok = [[docs[int(index.sentences[r, 0])] == q.doc
                   and any(int(index.sentences[r, 1]) <= x[0] and x[1] <= int(index.sentences[r, 2]) for x in q.answers)
                   for r in top[i]] for i, q in enumerate(asked)]
            out[f"{lang}-{name}"] = [round(sum(o[0] for o in ok) / len(ok), 3), round(sum(any(o) for o in ok) / len(ok), 3)]
    return out


if __name__ == "__main__":
    main()

