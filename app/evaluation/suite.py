"""The question suite (`verbatim eval`, `--suite report`): ask the hand-written questions about the
bundled report and score the answers. ("Report" is the corpus; this is the suite of questions about it.)

One run asks every question with hybrid, BM25-only and dense-only retrieval (same quoting, one
loaded model), asks the second turn of every dialogue with the first as history, and returns one
dict of figures; `suite_output.write_suite` turns it into JSON, Markdown and two PNG plots and
`calibration.calibrate` chooses the verdict thresholds from it.

>>> import shutil, tempfile
>>> from app.answer.loading import assistant_over_texts
>>> folder = Path(tempfile.mkdtemp())
>>> assistant = assistant_over_texts(folder, {"review.txt": "The inspectors counted 212 prisoners in the cells."})
>>> asked = [Question("a1", "How many prisoners were counted?", True, ("212 prisoners",), ("212",))]
>>> result = run_suite(assistant, asked, [], methods=("hybrid",))
>>> result["counts"], result["methods"]["hybrid"]["faithfulness"], result["methods"]["hybrid"]["recall@1"]
({'questions': 1, 'answerable': 1, 'unanswerable': 0, 'dialogues': 0}, 1.0, 1.0)
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import VerbatimError
from app.evaluation.metrics import (
    RETRIEVAL_KS,
    abstention_scores,
    evidence_hit_at,
    fact_recall_at,
    faithfulness,
    latency_summary,
    locate_evidence,
    mean,
    mean_words_per_quote,
    quote_problems,
    retrieval_scores,
)
from app.evaluation.span_metrics import first_span, report_span_summary, span_matches_fact
from app.evaluation.uncertainty import f1_interval, mean_interval, paired_difference, rate_interval
from app.evaluation.verdicts import verdict_summary
from app.settings import PROJECT_ROOT, RETRIEVAL_MODES, bad_mode

if TYPE_CHECKING:
    from app.answer.assistant import Assistant

log = logging.getLogger(__name__)

EVAL_DIR = PROJECT_ROOT / "eval"
QUESTIONS_FILE = EVAL_DIR / "report_questions.jsonl"
DIALOGUES_FILE = EVAL_DIR / "report_dialogues.jsonl"
RESULTS_DIR = EVAL_DIR / "results"
HELDOUT_DIR = EVAL_DIR / "heldout"  # never tuned on: no --calibrate here
HIT_K = 3
RETRIEVAL_DEPTH = max(RETRIEVAL_KS)


class EvalDataError(VerbatimError):
    """An eval data file is missing, malformed, or names evidence the corpus does not contain."""


@dataclass(frozen=True)
class Question:
    """One hand-written question; answerable ones carry gold evidence strings and key facts."""

    id: str
    question: str
    answerable: bool
    evidence: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    why: str = ""  # for unanswerable ones: what the report lacks
    original: str = ""  # a paraphrase's question in the report's own words, asked too (issue 29)


@dataclass(frozen=True)
class Dialogue:
    """Two turns; the second leans on the first, and evidence/facts belong to the second."""

    id: str
    turns: tuple[str, str]
    evidence: tuple[str, ...]
    facts: tuple[str, ...]


# ---------------------------------------------------------------- data


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalDataError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise EvalDataError(f"{path}:{n} is not valid JSON") from None
        if not isinstance(row, dict):
            raise EvalDataError(f"{path}:{n} is not a JSON object")
        rows.append((n, row))
    return rows


def _strings(value: object, where: str, field: str, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value) \
            or (required and not value):
        raise EvalDataError(f"{where}: {field!r} must be a non-empty list of non-empty strings")
    return tuple(value)


def _check_facts(where: str, evidence: tuple[str, ...], facts: tuple[str, ...]) -> None:
    for fact in facts:
        if not any(fact.lower() in ev.lower() for ev in evidence):
            raise EvalDataError(f"{where}: fact {fact!r} occurs in none of its evidence strings")


def load_questions(path: Path = QUESTIONS_FILE) -> list[Question]:
    """Questions from JSON lines: id, question, answerable, and evidence + facts when answerable."""
    out, seen = [], set()
    for n, row in _read_rows(path):
        where = f"{path}:{n}"
        qid, text, answerable = row.get("id"), row.get("question"), row.get("answerable")
        if not isinstance(qid, str) or not qid or qid in seen:
            raise EvalDataError(f"{where}: 'id' must be a unique non-empty string (got {qid!r})")
        if not isinstance(text, str) or not text.strip():
            raise EvalDataError(f"{where}: 'question' must be a non-empty string")
        if not isinstance(answerable, bool):
            raise EvalDataError(f"{where}: 'answerable' must be true or false")
        evidence = _strings(row.get("evidence"), where, "evidence", answerable)
        facts = _strings(row.get("facts"), where, "facts", answerable)
        if not answerable and (evidence or facts):
            raise EvalDataError(f"{where}: an unanswerable question has no evidence or facts")
        _check_facts(where, evidence, facts)
        original = row.get("original", "")
        if not isinstance(original, str) or (original and not answerable):
            raise EvalDataError(f"{where}: 'original' is the wording of an answerable question, a string")
        seen.add(qid)
        out.append(Question(qid, text, answerable, evidence, facts, str(row.get("why", "")), original.strip()))
    if not out:
        raise EvalDataError(f"{path} holds no questions")
    return out


def load_dialogues(path: Path = DIALOGUES_FILE) -> list[Dialogue]:
    """Dialogues from JSON lines: id, turns (two questions), evidence and facts for the second turn."""
    out, seen = [], set()
    for n, row in _read_rows(path):
        where = f"{path}:{n}"
        did, turns = row.get("id"), row.get("turns")
        if not isinstance(did, str) or not did or did in seen:
            raise EvalDataError(f"{where}: 'id' must be a unique non-empty string (got {did!r})")
        turns = _strings(turns, where, "turns", True)
        if len(turns) != 2:
            raise EvalDataError(f"{where}: 'turns' must hold exactly two questions, not {len(turns)}")
        evidence = _strings(row.get("evidence"), where, "evidence", True)
        facts = _strings(row.get("facts"), where, "facts", True)
        _check_facts(where, evidence, facts)
        seen.add(did)
        out.append(Dialogue(did, (turns[0], turns[1]), evidence, facts))
    return out


def check_evidence(items: Sequence[Question | Dialogue], documents: Mapping[str, str]) -> None:
    """Refuse evidence that occurs nowhere in the documents: such a question could never be hit."""
    for item in items:
        for ev, spans in zip(item.evidence, locate_evidence(item.evidence, documents), strict=True):
            if not spans:
                raise EvalDataError(f"{item.id}: evidence {ev[:60]!r} occurs in no document of the corpus")


# ---------------------------------------------------------------- one method


def _quotes(answer) -> list[dict]:
    return answer.to_dict()["quotes"]


def _top_score(answer) -> float:
    """The score the answer's verdict read (what calibration chooses thresholds on); 0 for none."""
    return float(answer.score) if answer.score is not None else 0.0


def _score_question(assistant, q: Question, mode: str, documents: Mapping[str, str]) -> dict:
    t0 = time.perf_counter()
    answer = assistant.ask(q.question, mode=mode)
    seconds = time.perf_counter() - t0
    quotes = _quotes(answer)
    problems = [p for quote in quotes for p in quote_problems(quote, documents)]
    rec = {"id": q.id, "question": q.question, "answerable": q.answerable, "answered": answer.answered,
           "verdict": answer.verdict, "confidence": answer.confidence,
           "score": _top_score(answer), "seconds": seconds, "quotes": quotes, "problems": problems,
           "span": first_span(answer.quotes) if answer.verdict != "not_found" else None}
    if q.answerable:
        gold = locate_evidence(q.evidence, documents)
        shown = quotes if answer.answered else []  # a refusal answers nothing, whatever it shows
        offered = quotes if answer.verdict != "not_found" else []  # "uncertain" quotes are offered too
        hits = assistant.search(q.question, k=RETRIEVAL_DEPTH, mode=mode).hits
        passages = [(h.chunk.doc, h.chunk.start, h.chunk.end) for h in hits]
        rec.update({"evidence": list(q.evidence), "facts": list(q.facts),
                    "span_matches_fact": rec["span"] is not None and span_matches_fact(rec["span"], q.facts),
                    "hit@3_any": evidence_hit_at(offered, gold, HIT_K),
                    "hit@1": evidence_hit_at(shown, gold, 1), "hit@3": evidence_hit_at(shown, gold, HIT_K),
                    "fact_recall@3": fact_recall_at(shown, q.facts, HIT_K),
                    "retrieval": retrieval_scores(passages, gold)})
        if q.original:  # the same evidence asked in the report's words: what the paraphrase is held against
            again = assistant.ask(q.original, mode=mode)
            rec["original_hit@3_any"] = evidence_hit_at(_quotes(again) if again.verdict != "not_found" else [],
                                                        gold, HIT_K)
        rec["failed"] = bool(problems) or not (answer.answered and rec["hit@3"] and rec["fact_recall@3"] == 1.0)
    else:
        rec.update({"why": q.why, "failed": bool(problems) or answer.answered})
    return rec


def _score_dialogue(assistant, d: Dialogue, mode: str, documents: Mapping[str, str]) -> dict:
    gold = locate_evidence(d.evidence, documents)
    with_history = assistant.ask(d.turns[1], history=[d.turns[0]], mode=mode)
    alone = assistant.ask(d.turns[1], mode=mode)
    quotes = _quotes(with_history)
    shown = quotes if with_history.verdict != "not_found" else []  # answered or uncertain: quotes offered
    alone_quotes = _quotes(alone) if alone.verdict != "not_found" else []
    problems = [p for quote in quotes + _quotes(alone) for p in quote_problems(quote, documents)]
    rec = {"id": d.id, "turns": list(d.turns), "answered": with_history.answered, "score": _top_score(with_history),
           "quotes": quotes, "evidence": list(d.evidence), "facts": list(d.facts), "problems": problems,
           "hit@3": evidence_hit_at(shown, gold, HIT_K), "fact_recall@3": fact_recall_at(shown, d.facts, HIT_K),
           "hit@3_without_history": evidence_hit_at(alone_quotes, gold, HIT_K),
           "all_quotes": quotes + _quotes(alone)}
    rec["failed"] = bool(problems) or not rec["hit@3"]
    return rec


def summarise(questions: list[dict], dialogues: list[dict], documents: Mapping[str, str]) -> dict:
    """The figures of one method from its per-question and per-dialogue records."""
    answerable = [r for r in questions if r["answerable"]]
    all_quotes = [q for r in questions for q in r["quotes"]] + [q for r in dialogues for q in r["all_quotes"]]
    answer_quotes = [q for r in questions if r["answered"] for q in r["quotes"]]
    abst = abstention_scores([not r["answered"] for r in questions], [not r["answerable"] for r in questions])
    out = {
        "faithfulness": faithfulness(all_quotes, documents),
        "citations_checked": len(all_quotes),
        "hit@1": mean([r["hit@1"] for r in answerable]),
        "hit@3": mean([r["hit@3"] for r in answerable]),
        "fact_recall@3": mean([r["fact_recall@3"] for r in answerable]),
    }
    for key in [f"recall@{k}" for k in RETRIEVAL_KS] + ["mrr", "ndcg@10"]:
        out[key] = mean([r["retrieval"][key] for r in answerable])
    out.update({f"abstention_{k}" if k != "false_refusal_rate" else k: v for k, v in abst.items()})
    for key, field in (("followup_hit@3", "hit@3"), ("followup_hit@3_without_history", "hit@3_without_history"),
                       ("followup_fact_recall@3", "fact_recall@3")):  # None: no dialogues, nothing measured
        out[key] = mean([r[field] for r in dialogues]) if dialogues else None
    out.update({f"latency_{k}": v for k, v in latency_summary([r["seconds"] for r in questions]).items()})
    out["mean_words_per_quote"] = mean_words_per_quote(answer_quotes)
    out["quotes_per_answer"] = len(answer_quotes) / max(1, sum(r["answered"] for r in questions))
    out["failed"] = sum(r["failed"] for r in questions) + sum(r["failed"] for r in dialogues)
    out.update(report_span_summary(questions))
    out["intervals"] = intervals(questions, dialogues)
    out.update(verdict_summary(questions))
    return out


def intervals(questions: list[dict], dialogues: list[dict]) -> dict[str, list[float]]:
    """95% intervals of the figures that rest on a few dozen questions (see `uncertainty`)."""
    answerable = [r for r in questions if r["answerable"]]
    unanswerable = [r for r in questions if not r["answerable"]]
    refused = [r for r in questions if not r["answered"]]
    caught = sum(not r["answerable"] for r in refused)
    out = {
        "hit@1": rate_interval(sum(r["hit@1"] for r in answerable), len(answerable)),
        "hit@3": rate_interval(sum(r["hit@3"] for r in answerable), len(answerable)),
        "fact_recall@3": mean_interval([r["fact_recall@3"] for r in answerable]),
        "mrr": mean_interval([r["retrieval"]["mrr"] for r in answerable]),
        "ndcg@10": mean_interval([r["retrieval"]["ndcg@10"] for r in answerable]),
        "abstention_precision": rate_interval(caught, len(refused)),
        "abstention_recall": rate_interval(caught, len(unanswerable)),
        "abstention_f1": f1_interval([not r["answered"] for r in questions], [not r["answerable"] for r in questions]),
        "false_refusal_rate": rate_interval(len(refused) - caught, len(answerable)),
    }
    if dialogues:
        out["followup_hit@3"] = rate_interval(sum(r["hit@3"] for r in dialogues), len(dialogues))
    return {k: list(v) for k, v in out.items()}


COMPARED = ("hit@3", "fact_recall@3", "ndcg@10")


def compare_methods(per_question: Mapping[str, list[dict]], head: str) -> dict[str, dict[str, dict]]:
    """Paired differences, head minus each other method, over the same answerable questions."""
    def values(mode: str, key: str) -> list[float]:
        rows = [r for r in per_question[mode] if r["answerable"]]
        return [float(r["retrieval"][key] if key in r["retrieval"] else r[key]) for r in rows]

    return {f"{head}_minus_{m}": {key: paired_difference(values(head, key), values(m, key)) for key in COMPARED}
            for m in per_question if m != head}


# ---------------------------------------------------------------- the run


def corpus_texts(assistant, corpus_dir: Path | None = None) -> tuple[dict[str, str], str]:
    """The text quotes are checked against: the corpus files re-read from disk when they are at hand,
    else the index's stored copy. Returns the texts and a note saying which."""
    from app.index.verify import resolve_corpus

    folder = resolve_corpus(assistant.index.manifest, Path(corpus_dir) if corpus_dir else None)
    if folder is not None and folder.is_dir():
        from app.index.ingest import load_corpus

        docs = {d.doc: d.text for d in load_corpus(folder)}
        if set(docs) == {d.doc for d in assistant.index.documents}:
            return docs, f"corpus files in {folder}"
    return {d.doc: d.text for d in assistant.index.documents}, "the index's stored document text"


def code_version(root: Path = PROJECT_ROOT) -> dict[str, object]:
    """The commit the figures came from, and whether app/ had uncommitted changes (None outside git)."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "--short", "HEAD")
    status = git("status", "--porcelain", "--", "app")
    return {"commit": commit, "app_modified": None if status is None else bool(status)}


def threshold_source(assistant: Assistant) -> dict | None:
    """Where the verdict thresholds in use came from, when they are the index's calibration."""
    c, s = assistant.calibration, assistant.settings
    if (c.threshold, c.floor) != (s.threshold, s.floor):
        return None  # given by hand (--threshold, --floor)
    return {"source": c.source, "chosen_on": c.chosen_on}


def run_suite(assistant, questions: Sequence[Question], dialogues: Sequence[Dialogue],
               methods: Sequence[str] = RETRIEVAL_MODES, corpus_dir: Path | None = None,
               data: Mapping[str, str] | None = None) -> dict:
    """Score every question and dialogue with each retrieval method; one dict of figures and records."""
    problem = next(filter(None, (bad_mode(m, "method") for m in methods)), None)
    if problem:
        raise ValueError(problem)
    documents, checked_against = corpus_texts(assistant, corpus_dir)
    check_evidence([*questions, *dialogues], documents)
    t0 = time.perf_counter()
    assistant.ask(questions[0].question)  # warm-up: the first call pays for lazy loading, not latency
    per_question, per_dialogue, summaries = {}, {}, {}
    for mode in methods:
        per_question[mode] = [_score_question(assistant, q, mode, documents) for q in questions]
        per_dialogue[mode] = [_score_dialogue(assistant, d, mode, documents) for d in dialogues]
        summaries[mode] = summarise(per_question[mode], per_dialogue[mode], documents)
        log.info("%s: hit@3 %.3f, abstention F1 %.3f", mode, summaries[mode]["hit@3"],
                 summaries[mode]["abstention_f1"])
    s = assistant.settings
    return {
        "suite": "report",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": dict(data or {}),
        "counts": {"questions": len(questions), "answerable": sum(q.answerable for q in questions),
                   "unanswerable": sum(not q.answerable for q in questions), "dialogues": len(dialogues)},
        "index": str(assistant.index.path),
        "code": code_version(),
        "model": assistant.index.manifest.model_name,
        "documents": sorted(documents),
        "checked_against": checked_against,
        "settings": {"k": s.k, "passages": s.passages, "candidates": s.candidates, "dense_weight": s.dense_weight,
                     "threshold": s.threshold, "floor": s.floor, "max_quote_words": s.max_quote_words,
                     "min_relative_score": s.min_relative_score},
        "threshold": s.threshold,
        "floor": s.floor,
        "methods": summaries,
        "differences": compare_methods(per_question, methods[0]),
        "threshold_source": threshold_source(assistant),
        "questions": per_question,
        "dialogues": per_dialogue,
        "seconds": round(time.perf_counter() - t0, 1),
    }
