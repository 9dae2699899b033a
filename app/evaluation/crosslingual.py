"""Cross-lingual SQuAD: paragraphs from one file, the same questions asked in other languages.

    verbatim eval --suite squad --data xquad.en.dev.json --questions xquad.ru.dev.json --questions xquad.de.dev.json

The paragraphs and gold answers come from `--data` (indexed as in the squad suite, one document per
article); each `--questions` file gives the question texts, matched to them by id (XQuAD's files in
every language share the English ids). Each language is asked in the product's hybrid mode and
scored as the squad suite scores (app/evaluation/squad.py): is the gold answer inside a quote at
its offsets, at 1 and at 3 quotes, is the first quote from the gold paragraph, was it `not_found`.
A language is named by its file (`xquad.ru.dev.json` -> ru), else by the file's stem.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Unpack

from app.answer.assistant import Assistant
from app.errors import CorpusError
from app.evaluation.benchmark import BenchmarkRun, RunOptions
from app.evaluation.squad import PASSAGES, QUOTES, QueryMemo, read_squad, score_answer, squad_documents
from app.evaluation.uncertainty import bracket, rate_interval

log = logging.getLogger(__name__)

KEYS = ("answer_in_quote@1", "answer_in_quote@3", "paragraph@1")


def language_of(path: Path) -> str:
    """The language a questions file is in, by its name.

    >>> language_of(Path("xquad.ru.dev.json")), language_of(Path("questions-de.json"))
    ('ru', 'questions-de')
    """
    found = re.search(r"(?:^|\.)([a-z]{2})\.[a-z]+\.json$", path.name)
    return found.group(1) if found else path.stem


def translated(questions: list, question_file: Path) -> list:
    """`questions` with their texts taken from `question_file`, matched by id (every id must be there)."""
    _, others = read_squad(question_file)
    texts = {q.id: q.question for q in others}
    missing = [q.id for q in questions if q.id not in texts]
    if missing:
        raise CorpusError(f"{question_file}: {len(missing)} question id(s) of the paragraphs' file are missing, "
                          f"first {missing[0]!r}")
    return [replace(q, question=texts[q.id]) for q in questions]


def summary(items: list[dict]) -> dict:
    """The rates of one language, with Wilson intervals."""
    n = len(items)
    out: dict = {"questions": n}
    for key in KEYS:
        k = sum(bool(it[key]) for it in items)
        out[key] = k / n
        out[f"{key}_interval"] = list(rate_interval(k, n))
    out["not_found_rate"] = sum(it["verdict"] == "not_found" for it in items) / n
    out["faithfulness"] = sum(bool(it["faithful"]) for it in items) / n
    return out


def run_crosslingual(data_file: Path, question_files: list[Path], **options: Unpack[RunOptions]) -> dict:
    """Answer-in-quote per language (see the module docstring); a "markdown" string and, with `out_dir`, files."""
    run = BenchmarkRun.open("squad", data_file, options)
    articles, questions = read_squad(run.data)
    if run.limit is not None:
        questions = questions[:run.limit]
    by_lang = {language_of(Path(f)): translated(questions, Path(f)) for f in question_files}
    by_doc = {a.doc: a for a in articles}
    index = run.index(run.dataset, squad_documents(articles))
    texts = [q.question.strip() for qs in by_lang.values() for q in qs]
    assistant = Assistant(index, QueryMemo(run.embedder, texts), run.answer_settings, run.runtime)
    t_index = run.seconds()
    languages, rows = {}, []
    for lang, asked in by_lang.items():
        items = []
        for q in asked:
            answer = assistant.ask(q.question, k=QUOTES)
            item = score_answer(q, by_doc, answer, assistant.search(q.question, k=PASSAGES).hits)
            items.append(item)
            rows.append({"id": q.id, "language": lang, "question": q.question, "verdict": item["verdict"],
                         **{k: item[k] for k in KEYS}, "quotes": [x.to_dict() for x in answer.quotes]})
        languages[lang] = summary(items)
        log.info("%s: answer in quote@3 %.3f", lang, languages[lang]["answer_in_quote@3"])
    result = {**run.header(), "model": run.embedder.name, "questions": len(questions),
              "question_files": [str(f) for f in question_files], "languages": languages,
              "answer_settings": {"threshold": assistant.settings.threshold, "floor": assistant.settings.floor},
              "seconds": {"index": t_index, "ask": run.seconds() - t_index}}
    return run.finish(result, crosslingual_markdown, f"crosslingual-{run.dataset}", rows)


def crosslingual_markdown(result: dict) -> str:
    lines = [f"## Cross-lingual: {result['dataset']}", "",
             f"{result['questions']} questions per language against the paragraphs of `{result['data']}`, model "
             f"`{result['model']}`, hybrid retrieval; brackets hold 95% Wilson intervals.", "",
             "| questions in | answer in quote@1 | answer in quote@3 | paragraph@1 | not_found | faithfulness |",
             "|---|---:|---:|---:|---:|---:|"]
    for lang, s in result["languages"].items():
        cells = [f"{s[k]:.3f}{bracket(s[k + '_interval'])}" for k in KEYS]
        lines.append(f"| {lang} | {' | '.join(cells)} | {s['not_found_rate']:.3f} | {s['faithfulness']:.3f} |")
    return "\n".join(lines) + "\n"
