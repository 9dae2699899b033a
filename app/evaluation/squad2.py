"""SQuAD 2.0 suite: does an answer know when its article holds no answer?

Each article is its own corpus (its own index, as one report is), and every question is asked of
its own article with the real `Assistant`, three quotes per answer. Each answer carries a
`verdict` ("answered", "uncertain" or "not_found") and a `confidence` in [0, 1]; scored:

- confidence ROC AUC (the no-answer AUC): how well `confidence` ranks answerable above
  unanswerable questions (ties count one half), with a bootstrap interval stratified by class;
- the verdict confusion: answerable x verdict and unanswerable x verdict, each cell a count and a
  share of its row with a Wilson interval; hard false refusals are answerable questions given
  "not_found", "unanswerable answered" those given "answered";
- answer-in-quote@1/@3 over the answerable questions: a gold span (any annotator's) lies inside
  one of the first k quotes shown as an answer or as uncertain passages (the closest passage
  shown with "not_found" is not an answer, so it never counts);
- plausible-in-quote@1 over the unanswerable questions: the first quote shown holds the span a
  careless reader would give, the trap SQuAD 2.0 sets;
- faithfulness: every quote, the closest passage of "not_found" too, equals its article's text.

    result = run_squad2(Path("../shared/benchmarks/squad2/squad2.dev.json"))   # figures: docs/figures.md
    result["confidence_auc"], result["markdown"]

(run on two articles by tests/evaluation/test_benchmarks.py, and on a tiny file by tests/evaluation/test_squad2.py)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Unpack

from app.answer.answer import VERDICTS, Answer
from app.answer.assistant import Assistant
from app.answer.spans import trained_articles
from app.evaluation.benchmark import BenchmarkRun, RunOptions
from app.evaluation.span_metrics import first_span, span_summary
from app.evaluation.squad import (
    QUOTES,
    Article,
    QueryMemo,
    Question,
    faithful,
    read_squad,
    span_cells,
    squad_documents,
)
from app.evaluation.uncertainty import auc_interval, bracket, rate_interval, roc_auc
from app.evaluation.verdicts import verdict_table

log = logging.getLogger(__name__)

CLASSES = ("answerable", "unanswerable")
TRAINED_ON: tuple[str, ...] = ()  # articles (doc names) any shipped model or threshold was fitted on
SHOW_EXAMPLES = 10


@dataclass(frozen=True)
class Judged:
    """One question's verdict and scores."""

    question: Question
    verdict: str
    confidence: float
    in_quote: tuple[bool, bool]  # answer-in-quote@1, @3 (answerable questions)
    plausible_in_quote: bool  # the first quote shown holds a plausible span (unanswerable questions)
    faithful: bool
    quotes: tuple[dict, ...]
    span: str | None = None  # the answer span shown (the first quote's that has one), None: no span


def _inside(span: tuple[int, int, str], quote, doc: str) -> bool:
    return quote.doc == doc and quote.start <= span[0] and span[1] <= quote.end


def judge(question: Question, article: Article, answer: Answer) -> Judged:
    """Score one answer to one question (see the module docstring)."""
    verdict, confidence = answer.verdict, float(answer.confidence)
    shown = answer.quotes if verdict != "not_found" else []

    def hit(spans, k: int) -> bool:
        return any(_inside(span, q, question.doc) for q in shown[:k] for span in spans)

    answerable = question.answerable
    return Judged(
        question, verdict, confidence,
        (answerable and hit(question.answers, 1), answerable and hit(question.answers, QUOTES)),
        not answerable and hit(question.plausible, 1),
        faithful(answer.quotes, {article.doc: article}),
        tuple(q.to_dict() for q in answer.quotes),
        first_span(shown),
    )


def summarize(judged: list[Judged]) -> dict:
    """The suite's figures over these questions: each rate as a number, its [k, n] under "counts"
    and its Wilson interval under "intervals" (the AUC's is a bootstrap)."""
    table = verdict_table([j.verdict for j in judged], [not j.question.answerable for j in judged])
    ans = [j for j in judged if j.question.answerable]
    una = [j for j in judged if not j.question.answerable]
    counts = {
        "answer_in_quote@1": [sum(j.in_quote[0] for j in ans), len(ans)],
        "answer_in_quote@3": [sum(j.in_quote[1] for j in ans), len(ans)],
        "hard_false_refusal_rate": [table["answerable"]["not_found"], len(ans)],
        "unanswerable_answered_rate": [table["unanswerable"]["answered"], len(una)],
        "plausible_in_quote@1": [sum(j.plausible_in_quote for j in una), len(una)],
        "faithfulness": [sum(j.faithful for j in judged), len(judged)],
    }
    counts["unanswerable_given_span_rate"] = [sum(j.span is not None for j in una), len(una)]
    scores, labels = [j.confidence for j in judged], [j.question.answerable for j in judged]
    auc = roc_auc(scores, labels)
    auc_ci = auc_interval(scores, labels)
    rows = {c: sum(table[c].values()) for c in CLASSES}
    return {
        "questions": len(judged),
        "answerable": len(ans),
        "unanswerable": len(una),
        "confidence_auc": round(auc, 4) if auc is not None else None,
        **{key: round(k / n, 4) if n else 0.0 for key, (k, n) in counts.items()},
        "verdicts": table,
        "verdict_rates": {c: {v: round(table[c][v] / rows[c], 4) if rows[c] else 0.0 for v in VERDICTS}
                          for c in CLASSES},
        "counts": counts,
        "spans": span_summary([j.span for j in ans], [[a[2] for a in j.question.answers] for j in ans]),
        "intervals": {"confidence_auc": list(auc_ci) if auc_ci else None,
                      **{key: list(rate_interval(k, n)) for key, (k, n) in counts.items()},
                      "verdict_rates": {c: {v: list(rate_interval(table[c][v], rows[c])) for v in VERDICTS}
                                        for c in CLASSES}},
    }


def run_squad2(data_file: Path, *, articles: int | None = None, span_weights: Mapping[str, str] | None = None,
               **options: Unpack[RunOptions]) -> dict:
    """Verdict, confidence and quote figures for every question of a SQuAD 2.0 file.

    `span_weights` maps an article (doc name) to the span scorer its questions are answered with
    (a cross-validation by article: each fold's weights never saw that article); without it, the
    shipped weights, and every article they were trained on is listed under "trained_on".

    `articles` keeps the first N articles; `options` (see `RunOptions`): `limit` the first N questions.
    Each article's index is cached (under `cache_dir/<article>` when given). Returns the figures and a
    "markdown" string; with `out_dir`, also writes `squad2-<file stem>.json`, `.md` and `-items.jsonl` there.
    """
    run = BenchmarkRun.open("squad2", data_file, options)
    data_file, answer_settings = run.data, run.answer_settings
    all_articles, questions = read_squad(data_file)
    kept = all_articles[:articles] if articles is not None else all_articles
    kept_docs = {a.doc for a in kept}
    questions = [q for q in questions if q.doc in kept_docs][:run.limit]
    asked = {q.doc for q in questions}
    kept = [a for a in kept if a.doc in asked]
    memo = QueryMemo(run.embedder, [q.question.strip() for q in questions])  # every question encoded once, in batches
    t_encode = run.seconds()
    assistants = {}
    for article, document in zip(kept, squad_documents(kept), strict=True):
        cache = Path(run.cache_dir) / article.doc if run.cache_dir else None
        index = run.index(f"{run.dataset}-{article.doc}", [document], cache)
        weights = (span_weights or {}).get(article.doc, answer_settings.span_weights)
        assistants[article.doc] = Assistant(index, memo, replace(answer_settings, span_weights=weights), run.runtime)
    t_index = run.seconds()

    by_doc = {a.doc: a for a in kept}
    judged = [judge(q, by_doc[q.doc], assistants[q.doc].ask(q.question, k=QUOTES)) for q in questions]
    t_ask = run.seconds()

    fitted = set(TRAINED_ON) | (set() if span_weights else set(trained_articles(answer_settings.span_weights)))
    trained = sorted(fitted & asked)
    result = {
        **run.header(),
        "articles": len(kept),
        "paragraphs": sum(len(a.paragraph_spans) for a in kept),
        "model": run.embedder.name,
        "build_settings": run.build_settings.to_dict(),
        "answer_settings": {k: getattr(next(iter(assistants.values())).settings, k, None) for k in
                            ("k", "mode", "candidates", "passages", "dense_weight", "threshold", "floor")},
        "trained_on": trained,
        "span_folds": bool(span_weights),  # each article's spans from weights trained without it
        **summarize(judged),
        "per_article": [{"doc": a.doc, **_brief([j for j in judged if j.question.doc == a.doc])}
                        for a in kept],
        "examples": _examples(judged),
        "seconds": {"encode_questions": t_encode, "index": round(t_index - t_encode, 1),
                    "ask": round(t_ask - t_index, 1),
                    "per_question_ms": round(1000 * (t_ask - t_index) / max(1, len(judged)), 2)},
    }
    if trained:
        result["unseen"] = summarize([j for j in judged if j.question.doc not in trained])
    return run.finish(result, squad2_markdown, f"squad2-{run.dataset}", [_row(j) for j in judged])


def _brief(judged: list[Judged]) -> dict:
    """One article's headline figures, without intervals."""
    ans = [j for j in judged if j.question.answerable]
    una = [j for j in judged if not j.question.answerable]
    auc = roc_auc([j.confidence for j in judged], [j.question.answerable for j in judged])

    def share(k: int, n: int) -> float:
        return round(k / n, 4) if n else 0.0

    return {"questions": len(judged), "unanswerable": len(una),
            "confidence_auc": round(auc, 4) if auc is not None else None,
            "answer_in_quote@3": share(sum(j.in_quote[1] for j in ans), len(ans)),
            "hard_false_refusal_rate": share(sum(j.verdict == "not_found" for j in ans), len(ans)),
            "unanswerable_answered_rate": share(sum(j.verdict == "answered" for j in una), len(una))}


def _row(j: Judged) -> dict:
    q = j.question
    return {"id": q.id, "question": q.question, "doc": q.doc, "paragraph": q.paragraph, "answerable": q.answerable,
            "answers": [a[2] for a in q.answers], "plausible_answers": [a[2] for a in q.plausible],
            "verdict": j.verdict, "confidence": round(j.confidence, 6), "answer_in_quote@1": j.in_quote[0],
            "answer_in_quote@3": j.in_quote[1], "plausible_in_quote@1": j.plausible_in_quote,
            "faithful": j.faithful, "span": j.span, "quotes": list(j.quotes)}


def _examples(judged: list[Judged]) -> dict[str, list[dict]]:
    """The worst mistakes: unanswerable questions answered most confidently, answerable ones refused."""
    def brief(j: Judged) -> dict:
        q = j.question
        return {"id": q.id, "question": q.question, "confidence": round(j.confidence, 4),
                "expected": [a[2] for a in (q.answers or q.plausible)],
                "quote": j.quotes[0]["text"] if j.quotes else ""}

    confident = sorted((j for j in judged if not j.question.answerable and j.verdict == "answered"),
                       key=lambda j: -j.confidence)
    refused = sorted((j for j in judged if j.question.answerable and j.verdict == "not_found"),
                     key=lambda j: j.confidence)
    return {"unanswerable_answered": [brief(j) for j in confident[:SHOW_EXAMPLES]],
            "hard_false_refusals": [brief(j) for j in refused[:SHOW_EXAMPLES]]}


def _cell(rate: float, interval: list[float], count: list[int]) -> str:
    return f"{rate:.3f}" + bracket(interval) + f" ({count[0]}/{count[1]})"


LABELS = {"answer_in_quote@1": "answer-in-quote@1 (answerable)",
          "answer_in_quote@3": "answer-in-quote@3 (answerable)",
          "hard_false_refusal_rate": "hard false refusals (answerable given not_found)",
          "unanswerable_answered_rate": "unanswerable given \"answered\"",
          "plausible_in_quote@1": "plausible span in the first quote (unanswerable)",
          "unanswerable_given_span_rate": "unanswerable given an answer span",
          "faithfulness": "faithfulness (every quote equals the article text)"}


def squad2_markdown(result: dict) -> str:
    """The setup, the headline figures, the verdict confusion, one row per article, the worst mistakes."""
    s = result["answer_settings"]
    trained = result["trained_on"]
    seen = (f"Articles used to fit a model or threshold: {', '.join(trained)}; the other articles' figures are "
            "in the JSON under \"unseen\"." if trained else
            "Nothing has been trained or tuned on this file: every one of the "
            f"{result['articles']} articles is unseen.")
    if result.get("span_folds"):
        seen += (" Answer spans: each article is answered by the span weights of its cross-validation fold, "
                 "trained without it (the span threshold was chosen on all folds' held-out predictions).")
    auc, ci = result["confidence_auc"], result["intervals"]
    lines = [
        f"## SQuAD 2.0: {result['dataset']}",
        "",
        f"{result['questions']} questions ({result['answerable']} answerable, {result['unanswerable']} "
        f"unanswerable) over {result['articles']} articles ({result['paragraphs']} paragraphs); each article is "
        f"its own corpus and every question is asked of its own article. Model `{result['model']}`, "
        f"{s['mode']} retrieval, {s['k']} quotes per answer; \"answered\" at a top score of {s['threshold']:g} "
        f"or more, \"not_found\" below {s['floor']:g}, \"uncertain\" between; the confidence is the answer's "
        f"own. {seen} Brackets hold 95% intervals (Wilson for rates, a class-stratified bootstrap for the AUC).",
        "",
        "| figure | value |",
        "|---|---:|",
        "| no-answer ROC AUC of confidence (answerable vs unanswerable) | "
        + (f"{auc:.3f}" + bracket(ci["confidence_auc"]) if auc is not None else "n/a (one class)") + " |",
    ]
    lines += [f"| {label} | {_cell(result[key], ci[key], result['counts'][key])} |" for key, label in LABELS.items()]
    lines += ["", "Answer spans over the answerable questions (official SQuAD normalisation, no span counts 0):", "",
              "| span EM | span F1 | coverage | EM when given | F1 when given |", "|---:|---:|---:|---:|---:|",
              f"| {span_cells(result['spans'])} |"]
    lines += [
        "",
        "### Verdicts (share of the row)",
        "",
        "| question | " + " | ".join(VERDICTS) + " | total |",
        "|---|" + "---:|" * (len(VERDICTS) + 1),
    ]
    for c in CLASSES:
        total = sum(result["verdicts"][c].values())
        lines.append(f"| {c} | " + " | ".join(_cell(result["verdict_rates"][c][v], ci["verdict_rates"][c][v],
                                                     [result["verdicts"][c][v], total]) for v in VERDICTS)
                     + f" | {total} |")
    lines += ["", "### Per article", "",
              "| article | questions | unanswerable | AUC | answer-in-quote@3 | hard false refusals | "
              "unanswerable answered |", "|---|---:|---:|---:|---:|---:|---:|"]
    for a in result["per_article"]:
        a_auc = f"{a['confidence_auc']:.3f}" if a["confidence_auc"] is not None else "n/a"
        lines.append(f"| {a['doc']} | {a['questions']} | {a['unanswerable']} | {a_auc} | "
                     f"{a['answer_in_quote@3']:.3f} | {a['hard_false_refusal_rate']:.3f} | "
                     f"{a['unanswerable_answered_rate']:.3f} |")
    lines += example_lines(result["examples"])
    lines.append("")
    return "\n".join(lines)


def example_lines(examples: dict) -> list[str]:
    """The unanswerable questions answered most confidently and the answerable ones refused, as Markdown."""
    titles = {"unanswerable_answered": "Unanswerable questions answered most confidently",
              "hard_false_refusals": "Answerable questions refused (lowest confidence first)"}
    lines: list[str] = []
    for key, title in titles.items():
        if examples[key]:
            lines += ["", f"### {title}", ""]
            lines += [f"- {e['question']} (confidence {e['confidence']:.3f}; expected "
                      f"{' | '.join(dict.fromkeys(e['expected']))!r}) quoted \u201c{e['quote']}\u201d"
                      for e in examples[key]]
    return lines
