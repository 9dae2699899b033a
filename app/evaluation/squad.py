"""SQuAD benchmark: ask every question of a SQuAD-format file and check the quotes against the gold answers.

Each article becomes one document: its paragraphs (the SQuAD contexts, unchanged) joined by a blank
line, so the N-th SQuAD paragraph is the N-th paragraph of the document and a gold answer's
`answer_start` maps to an exact offset in the document text. Every question is asked with the
real `Assistant` (product settings unless told otherwise), three quotes per answer, and scored:

- answer-in-quote@k: the quotes are offered (verdict "answered" or "uncertain"; the closest
  passage shown with "not_found" is no answer) and a gold answer span [start, start + len) lies
  inside one of the first k (same document, by character offsets); the `paragraph`
  variant accepts any place the answer's text occurs in the gold paragraph (a short answer such
  as "four" can occur twice there, and the annotated offset names only one); the `text` variant
  only asks that a gold answer's text occurs in a quote, case-insensitively;
- paragraph@1: the first quote lies in the gold paragraph;
- passage recall@5: a retrieved passage (before quoting) overlaps the gold paragraph;
- faithfulness: every quote equals the article text at its offsets;
- quote words: mean words per offered quote; abstention: the share given "not_found", uncertain:
  the share given "uncertain" (all the questions are answerable).

>>> import shutil, tempfile
>>> from app.index.embed import HashEmbedder  # a deterministic stand-in for the model
>>> from app.settings import AnswerSettings
>>> folder = Path(tempfile.mkdtemp())
>>> first = "The inspectors counted 212 prisoners held in cells built for 150."
>>> second = "Medical care was the main complaint. Prisoners waited nine days to see a doctor."
>>> qa = {"id": "q1", "question": "How many prisoners were counted in the cells?",
...       "answers": [{"text": "212", "answer_start": 23}]}
>>> article = {"title": "Prisons", "paragraphs": [{"context": first, "qas": [qa]}, {"context": second, "qas": []}]}
>>> _ = (folder / "tiny.json").write_text(json.dumps({"data": [article]}), encoding="utf-8")
>>> result = run_squad(folder / "tiny.json", cache_dir=folder / "cache", embedder=HashEmbedder(), modes=("hybrid",),
...                    answer_settings=AnswerSettings(threshold=0.0))  # never abstain
>>> figures = result["modes"]["hybrid"]
>>> figures["answer_in_quote@1"], figures["paragraph@1"], figures["faithfulness"], figures["mean_quote_words"]
(1.0, 1.0, 1.0, 11.0)
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import numpy as np

from app.answer.assistant import Assistant
from app.errors import CorpusError
from app.evaluation.benchmark import BenchmarkRun, RunOptions
from app.evaluation.span_metrics import first_span, span_summary
from app.evaluation.uncertainty import bracket, rate_interval
from app.index.embed import Embedder
from app.index.ingest import Document, document_from_text
from app.settings import RETRIEVAL_MODES, bad_mode

log = logging.getLogger(__name__)

QUOTES = 3
PASSAGES = 5
SEPARATOR = "\n\n"
SHOW_FAILURES = 25

Span = tuple[int, int, str]  # (start, end, text) in the article text


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    doc: str
    paragraph: int  # 1-based SQuAD paragraph of the article
    answers: tuple[Span, ...]
    occurrences: tuple[tuple[int, int], ...] = ()  # every place a gold answer's text occurs in the gold paragraph
    answerable: bool = True  # SQuAD 2.0: False for "is_impossible" questions, whose `answers` are empty
    plausible: tuple[Span, ...] = ()  # SQuAD 2.0: the span a careless reader would give


@dataclass(frozen=True)
class Article:
    doc: str
    title: str
    text: str
    paragraph_spans: tuple[tuple[int, int], ...]  # each SQuAD context's span in `text`


def _doc_name(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^\w.-]+", "_", title).strip("_") or "article"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _spans(answers: list[dict], context: str, pos: int, data_file: Path, qid: object) -> tuple[Span, ...]:
    """SQuAD answers (`text`, `answer_start` in the paragraph) as (start, end, text) in the article text."""
    spans = []
    for ans in answers:
        start, text = int(ans["answer_start"]), ans["text"]
        if context[start:start + len(text)] != text:  # a drifted offset: take the nearest match
            found = [m.start() for m in re.finditer(re.escape(text), context)]
            if not found:
                raise CorpusError(f"{data_file}: answer {text!r} of question {qid} is not in its paragraph")
            start = min(found, key=lambda s, a=start: abs(s - a))
        spans.append((pos + start, pos + start + len(text), text))
    return tuple(spans)


def read_squad(data_file: Path) -> tuple[list[Article], list[Question]]:
    """Articles and questions of a SQuAD v1.1 or v2.0 file, gold offsets moved into the article text.

    SQuAD 2.0 questions marked `"is_impossible"` come back with `answerable=False`, no answers, and
    their `plausible_answers` as `plausible`.
    """
    data_file = Path(data_file)
    try:
        data = json.loads(data_file.read_text(encoding="utf-8"))["data"]
    except OSError as exc:
        raise CorpusError(f"{data_file}: cannot read ({exc.strerror}); pass a SQuAD-format JSON file") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CorpusError(f"{data_file}: not SQuAD-format JSON (expected {{'data': [articles]}})") from None
    articles: list[Article] = []
    questions: list[Question] = []
    taken: set[str] = set()
    for a_no, article in enumerate(data, start=1):
        doc = _doc_name(str(article.get("title") or f"article-{a_no}"), taken)
        parts, spans, pos = [], [], 0
        for p_no, para in enumerate(article["paragraphs"], start=1):
            context = para["context"]
            if parts:
                parts.append(SEPARATOR)
                pos += len(SEPARATOR)
            spans.append((pos, pos + len(context)))
            parts.append(context)
            for qa in para["qas"]:
                answerable = not qa.get("is_impossible", False)
                answers = _spans(qa.get("answers") or [], context, pos, data_file, qa["id"])
                if answerable and not answers:
                    raise CorpusError(f"{data_file}: question {qa['id']} has no answers and is not marked "
                                      "\"is_impossible\"")
                if not answerable and answers:
                    raise CorpusError(f"{data_file}: question {qa['id']} is marked \"is_impossible\" "
                                      "but has answers")
                plausible = _spans(qa.get("plausible_answers") or [], context, pos, data_file, qa["id"])
                seen = sorted({(pos + m.start(), pos + m.end()) for _, _, text in answers
                               for m in re.finditer(re.escape(text), context)})
                questions.append(Question(str(qa["id"]), qa["question"], doc, p_no, answers, tuple(seen),
                                          answerable, plausible))
            pos += len(context)
        articles.append(Article(doc, str(article.get("title", "")), "".join(parts), tuple(spans)))
    if not questions:
        raise CorpusError(f"{data_file} holds no questions")
    return articles, questions


def squad_documents(articles: list[Article]) -> list[Document]:
    return [document_from_text(a.doc, a.text, title=a.title) for a in articles]


def _inside(span: tuple[int, int], quote) -> bool:
    return quote.start <= span[0] and span[1] <= quote.end


def faithful(quotes, articles: dict[str, Article]) -> bool:
    """Every quote names a known article, lies in bounds, and equals the article text at its offsets."""
    for q in quotes:
        article = articles.get(q.doc)
        if article is None or not 0 <= q.start <= q.end <= len(article.text) or article.text[q.start:q.end] != q.text:
            return False
    return True


def score_answer(question: Question, articles: dict[str, Article], answer, hits) -> dict:
    """The per-question figures for one answer (see the module docstring)."""
    quotes = answer.quotes
    offered = answer.verdict != "not_found"
    shown = quotes if offered else []
    gold_para = articles[question.doc].paragraph_spans[question.paragraph - 1]

    def offset_hit(k: int) -> bool:
        return any(q.doc == question.doc and _inside(a[:2], q) for q in shown[:k] for a in question.answers)

    def occurrence_hit(k: int) -> bool:
        spans = question.occurrences or tuple(a[:2] for a in question.answers)
        return any(q.doc == question.doc and _inside(span, q) for q in shown[:k] for span in spans)

    def text_hit(k: int) -> bool:
        return any(a[2].lower() in q.text.lower() for q in shown[:k] for a in question.answers)

    return {
        "answered": answer.answered,
        "verdict": answer.verdict,
        "offered": offered,
        "answer_in_quote@1": offset_hit(1),
        "answer_in_quote@3": offset_hit(QUOTES),
        "answer_in_paragraph_quote@1": occurrence_hit(1),
        "answer_in_paragraph_quote@3": occurrence_hit(QUOTES),
        "answer_text_in_quote@1": text_hit(1),
        "answer_text_in_quote@3": text_hit(QUOTES),
        "paragraph@1": bool(shown) and shown[0].doc == question.doc
        and shown[0].start < gold_para[1] and gold_para[0] < shown[0].end,
        "passage_recall@5": any(h.chunk.doc == question.doc and h.chunk.start < gold_para[1]
                                and gold_para[0] < h.chunk.end for h in hits),
        "faithful": faithful(quotes, articles),
        "quote_words": [len(q.text.split()) for q in shown],
        "span": first_span(shown),
        "golds": [a[2] for a in question.answers],
    }


class QueryMemo:
    """An embedder wrapper that encodes the questions once, in batches, then answers from memory.

    Asking 600 questions in three modes would otherwise encode each question six times, one at a
    time. Texts it has not seen go to the wrapped embedder, so results are the same either way.
    """

    def __init__(self, embedder: Embedder, texts: list[str]) -> None:
        self.embedder, self.name, self.dim = embedder, embedder.name, embedder.dim
        unique = list(dict.fromkeys(texts))
        vectors = embedder.encode(unique, batch_size=64) if unique else np.zeros((0, embedder.dim), np.float32)
        self._memo = {t: vectors[i] for i, t in enumerate(unique)}

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if texts and all(t in self._memo for t in texts):
            return np.stack([self._memo[t] for t in texts])
        return self.embedder.encode(texts, batch_size=batch_size, progress=progress)


def _summary(items: list[dict]) -> dict:
    n = len(items)

    def rate(key: str) -> float:
        return sum(bool(it[key]) for it in items) / n

    words = [w for it in items for w in it["quote_words"]]
    return {
        "questions": n,
        "answer_in_quote@1": rate("answer_in_quote@1"),
        "answer_in_quote@3": rate("answer_in_quote@3"),
        "answer_in_paragraph_quote@1": rate("answer_in_paragraph_quote@1"),
        "answer_in_paragraph_quote@3": rate("answer_in_paragraph_quote@3"),
        "answer_text_in_quote@1": rate("answer_text_in_quote@1"),
        "answer_text_in_quote@3": rate("answer_text_in_quote@3"),
        "paragraph@1": rate("paragraph@1"),
        "passage_recall@5": rate("passage_recall@5"),
        "faithfulness": rate("faithful"),
        "mean_quote_words": float(np.mean(words)) if words else 0.0,
        "quotes_per_answer": len(words) / max(1, sum(bool(it["offered"]) for it in items)),
        "abstention_rate": 1.0 - rate("offered"),
        "uncertain_rate": sum(it["verdict"] == "uncertain" for it in items) / n,
        "intervals": {key: list(rate_interval(sum(bool(it[key]) for it in items), n))
                      for key in ("answer_in_quote@1", "answer_in_quote@3", "paragraph@1")},
        "spans": span_summary([it["span"] for it in items], [it["golds"] for it in items]),
    }


def run_squad(data_file: Path, *, modes: Sequence[str] = RETRIEVAL_MODES, **options: Unpack[RunOptions]) -> dict:
    """Answer-in-quote, paragraph and faithfulness figures for every question of a SQuAD-format file.

    The first of `modes` is the headline (hybrid: the product). `options` (see `RunOptions`): `limit` keeps
    the first N questions, `out_dir` receives the files, `cache_dir` the index.
    Returns the figures and a "markdown" string; with `out_dir`, also writes them there.
    """
    problem = next(filter(None, map(bad_mode, modes)), None)
    if problem:
        raise ValueError(problem)
    run = BenchmarkRun.open("squad", data_file, options)
    data_file, answer_settings = run.data, run.answer_settings
    articles, questions = read_squad(data_file)
    unanswerable = sum(not q.answerable for q in questions)
    if unanswerable:
        raise CorpusError(f"{data_file} holds {unanswerable} unanswerable questions (SQuAD 2.0); "
                          "use `verbatim eval --suite squad2`")
    if run.limit is not None:
        questions = questions[:run.limit]
    by_doc = {a.doc: a for a in articles}
    documents = squad_documents(articles)
    index = run.index(run.dataset, documents)
    assistant = Assistant(index, QueryMemo(run.embedder, [q.question.strip() for q in questions]), answer_settings,
                          run.runtime)
    t_index = run.seconds()

    modes_out: dict[str, dict] = {}
    rows: list[dict] = [{"id": q.id, "question": q.question, "doc": q.doc, "paragraph": q.paragraph,
                         "answers": [a[2] for a in q.answers]} for q in questions]
    for mode in modes:
        items = []
        for q, row in zip(questions, rows, strict=True):
            answer = assistant.ask(q.question, k=QUOTES, mode=mode)
            hits = assistant.search(q.question, k=PASSAGES, mode=mode).hits
            item = score_answer(q, by_doc, answer, hits)
            items.append(item)
            row[mode] = {**item, "quotes": [x.to_dict() for x in answer.quotes]}
        modes_out[mode] = _summary(items)

    head = modes[0]
    result = {
        **run.header(),
        "articles": len(articles),
        "paragraphs": sum(len(a.paragraph_spans) for a in articles),
        "questions": len(questions),
        "model": run.embedder.name,
        "build_settings": run.build_settings.to_dict(),
        "answer_settings": {k: getattr(assistant.settings, k) for k in
                            ("k", "candidates", "passages", "dense_weight", "threshold", "floor",
                             "max_quote_words", "min_relative_score")},
        "headline_mode": head,
        "modes": modes_out,
        "failures": [_failure(r, head) for r in rows if not r[head]["answer_in_quote@3"]],
        "index": str(index.path),
        "seconds": {"index": t_index},
    }
    return run.finish(result, squad_markdown, f"squad-{run.dataset}", rows)


def _failure(row: dict, mode: str) -> dict:
    r = row[mode]
    return {"id": row["id"], "question": row["question"], "expected": row["answers"], "verdict": r["verdict"],
            "quotes": [q["text"] for q in r["quotes"]]}


COLUMNS = [("answer_in_quote@1", "answer-in-quote@1"), ("answer_in_quote@3", "answer-in-quote@3"),
           ("answer_in_paragraph_quote@3", "answer anywhere in gold paragraph@3"),
           ("answer_text_in_quote@1", "text in quote@1"), ("answer_text_in_quote@3", "text in quote@3"),
           ("paragraph@1", "paragraph@1"), ("passage_recall@5", "passage recall@5"),
           ("faithfulness", "faithfulness"), ("uncertain_rate", "uncertain"), ("abstention_rate", "not_found")]


def span_cells(sp: dict) -> str:
    """EM, F1, coverage, EM and F1 when given, as markdown cells with their intervals."""
    given = "n/a | n/a" if sp["given"] == 0 else (f"{sp['em_when_given']:.3f} | {sp['f1_when_given']:.3f}"
                                                   + bracket(sp["f1_when_given_interval"]))
    return (f"{sp['em']:.3f}{bracket(sp['em_interval'])} | {sp['f1']:.3f}{bracket(sp['f1_interval'])} | "
            f"{sp['coverage']:.3f}{bracket(sp['coverage_interval'])} | {given}")


def squad_markdown(result: dict) -> str:
    """The setup, one table row per retrieval mode, then the headline mode's misses."""
    s = result["answer_settings"]
    lines = [
        f"## SQuAD-format: {result['dataset']}",
        "",
        f"{result['questions']} questions over {result['articles']} articles ({result['paragraphs']} paragraphs), "
        f"one document per article; model `{result['model']}`; {s['k']} quotes per answer, \"answered\" at a "
        f"top score of {s['threshold']:g}, \"not_found\" below {s['floor']:g}, dense weight "
        f"{s['dense_weight']:g}. All questions are answerable: quotes offered as \"answered\" or \"uncertain\" "
        "count, a \"not_found\" is a miss. Brackets hold 95% Wilson intervals.",
        "",
        "| mode | " + " | ".join(label for _, label in COLUMNS) + " | words/quote |",
        "|---|" + "---:|" * (len(COLUMNS) + 1),
    ]
    for mode, m in result["modes"].items():
        label = f"**{mode}**" if mode == result["headline_mode"] else mode
        cells = [f"{m[key]:.3f}" + bracket(m.get("intervals", {}).get(key)) for key, _ in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {m['mean_quote_words']:.1f} |")
    lines += ["", "Answer spans (official SQuAD normalisation; no span counts 0 in EM and F1; 95% intervals):", "",
              "| mode | span EM | span F1 | coverage | EM when given | F1 when given |",
              "|---|---:|---:|---:|---:|---:|"]
    for mode, m in result["modes"].items():
        lines.append(f"| {mode} | {span_cells(m['spans'])} |")
    failures = result["failures"]
    lines += ["", f"### Misses of {result['headline_mode']} at 3 quotes ({len(failures)})", ""]
    for f in failures[:SHOW_FAILURES]:
        quoted = " / ".join(f"\u201c{t}\u201d" for t in f["quotes"]) or "(nothing)"
        state = "" if f["verdict"] == "answered" else f" ({f['verdict']})"
        lines.append(f"- {f['question']} expected {' | '.join(f['expected'])!r}{state}; quoted {quoted}")
    if len(failures) > SHOW_FAILURES:
        lines.append(f"- ... and {len(failures) - SHOW_FAILURES} more in the JSON output")
    lines.append("")
    return "\n".join(lines)
