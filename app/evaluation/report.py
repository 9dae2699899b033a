"""The report suite: ask the hand-written questions about the bundled report and score the answers.

One run asks every question with hybrid, BM25-only and dense-only retrieval (same quoting, one
loaded model), asks the second turn of every dialogue with the first as history, and returns one
dict of figures; `write_report` turns it into JSON, Markdown and two PNG plots.

>>> import shutil, tempfile
>>> from app.answer import Assistant
>>> from app.embed import HashEmbedder  # a deterministic stand-in for the model
>>> from app.ingest import document_from_text
>>> from app.build import build_index
>>> folder = Path(tempfile.mkdtemp())
>>> text = "The inspectors counted 212 prisoners held in cells built for 150."
>>> _ = build_index(folder / "index", HashEmbedder(), documents=[document_from_text("review.txt", text)])
>>> assistant = Assistant.load(folder / "index", embedder=HashEmbedder())
>>> asked = [Question("a1", "How many prisoners were counted?", True, ("212 prisoners",), ("212",))]
>>> result = run_report(assistant, asked, [], methods=("hybrid",))
>>> result["counts"], result["methods"]["hybrid"]["faithfulness"], result["methods"]["hybrid"]["recall@1"]
({'questions': 1, 'answerable': 1, 'unanswerable': 0, 'dialogues': 0}, 1.0, 1.0)
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import VerbatimError
from ..settings import CALIBRATION_FILE, PROJECT_ROOT
from .metrics import (
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
from .uncertainty import bracket, f1_interval, mean_interval, paired_difference, rate_interval
from .verdicts import choose_verdict_thresholds, verdict_summary

log = logging.getLogger(__name__)

EVAL_DIR = PROJECT_ROOT / "eval"
QUESTIONS_FILE = EVAL_DIR / "report_questions.jsonl"
DIALOGUES_FILE = EVAL_DIR / "report_dialogues.jsonl"
RESULTS_DIR = EVAL_DIR / "results"
METHODS = ("hybrid", "bm25", "dense")
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
        seen.add(qid)
        out.append(Question(qid, text, answerable, evidence, facts, str(row.get("why", ""))))
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


def _top_score(quotes: list[dict]) -> float:
    return float(quotes[0]["score"]) if quotes else 0.0


def _score_question(assistant, q: Question, mode: str, documents: Mapping[str, str]) -> dict:
    t0 = time.perf_counter()
    answer = assistant.ask(q.question, mode=mode)
    seconds = time.perf_counter() - t0
    quotes = _quotes(answer)
    problems = [p for quote in quotes for p in quote_problems(quote, documents)]
    rec = {"id": q.id, "question": q.question, "answerable": q.answerable, "answered": answer.answered,
           "verdict": answer.verdict, "confidence": answer.confidence,
           "score": _top_score(quotes), "seconds": seconds, "quotes": quotes, "problems": problems}
    if q.answerable:
        gold = locate_evidence(q.evidence, documents)
        shown = quotes if answer.answered else []  # a refusal answers nothing, whatever it shows
        offered = quotes if answer.verdict != "not_found" else []  # "uncertain" quotes are offered too
        hits = assistant.search(q.question, k=RETRIEVAL_DEPTH, mode=mode).hits
        passages = [(h.chunk.doc, h.chunk.start, h.chunk.end) for h in hits]
        rec.update({"evidence": list(q.evidence), "facts": list(q.facts),
                    "hit@3_any": evidence_hit_at(offered, gold, HIT_K),
                    "hit@1": evidence_hit_at(shown, gold, 1), "hit@3": evidence_hit_at(shown, gold, HIT_K),
                    "fact_recall@3": fact_recall_at(shown, q.facts, HIT_K),
                    "retrieval": retrieval_scores(passages, gold)})
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
    rec = {"id": d.id, "turns": list(d.turns), "answered": with_history.answered, "score": _top_score(quotes),
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
    recorded = assistant.index.manifest.get("corpus_dir")
    folder = Path(corpus_dir) if corpus_dir else Path(recorded) if recorded else None
    if folder is not None and folder.is_dir():
        from ..ingest import load_corpus

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


def run_report(assistant, questions: Sequence[Question], dialogues: Sequence[Dialogue],
               methods: Sequence[str] = METHODS, corpus_dir: Path | None = None,
               data: Mapping[str, str] | None = None) -> dict:
    """Score every question and dialogue with each retrieval method; one dict of figures and records."""
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"method {m!r} is not one of {', '.join(METHODS)}")
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
        "model": assistant.index.manifest.get("model", {}).get("name", ""),
        "documents": sorted(documents),
        "checked_against": checked_against,
        "settings": {"k": s.k, "passages": s.passages, "candidates": s.candidates, "dense_weight": s.dense_weight,
                     "threshold": s.threshold, "max_quote_words": s.max_quote_words,
                     "min_relative_score": s.min_relative_score},
        "threshold": s.threshold,
        "methods": summaries,
        "differences": compare_methods(per_question, methods[0]),
        "threshold_source": threshold_source(s.threshold),
        "questions": per_question,
        "dialogues": per_dialogue,
        "seconds": round(time.perf_counter() - t0, 1),
    }


# ---------------------------------------------------------------- calibration


def threshold_source(threshold: float, path: Path = CALIBRATION_FILE) -> dict | None:
    """The calibration record behind `threshold`, when it came from `app/calibration.json`."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        return record if abs(float(record["threshold"]) - threshold) < 1e-9 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def calibrate(result: Mapping, method: str = "hybrid") -> dict:
    """The verdict thresholds (floor and threshold, see `verdicts`) chosen on this run's questions, the
    abstention F1 of the threshold, the figures at the threshold in use, and a leave-one-out estimate
    of how well the choice carries over (each question judged by thresholds chosen on the others)."""
    records = result["questions"][method]
    scores = [r["score"] for r in records]
    unanswerable = [not r["answerable"] for r in records]
    verdicts = choose_verdict_thresholds(scores, unanswerable)
    chosen = {**abstention_scores([s < verdicts["threshold"] for s in scores], unanswerable), **verdicts}
    current = abstention_scores([x < result["threshold"] for x in scores], unanswerable)
    loo_refused, loo_not_found = [], []
    for i in range(len(scores)):
        others = unanswerable[:i] + unanswerable[i + 1:]
        rest = (choose_verdict_thresholds(scores[:i] + scores[i + 1:], others)
                if any(others) and not all(others) else verdicts)  # a class left empty: keep the full choice
        loo_refused.append(scores[i] < rest["threshold"])
        loo_not_found.append(scores[i] < rest["floor"])
    held_out = abstention_scores(loo_refused, unanswerable)
    n_pos = sum(not u for u in unanswerable)
    return {**chosen, "method": method, "previous_threshold": result["threshold"],
            "previous_f1": current["f1"], "previous_false_refusal_rate": current["false_refusal_rate"],
            "leave_one_out_f1": held_out["f1"], "leave_one_out_false_refusal_rate": held_out["false_refusal_rate"],
            "leave_one_out_hard_false_refusal_rate":
                sum(nf and not u for nf, u in zip(loo_not_found, unanswerable, strict=True)) / n_pos}


def write_calibration(choice: Mapping, path: Path, chosen_on: str) -> dict:
    """Store the threshold where the answerer reads it (`app/calibration.json`), atomically."""
    record = {"threshold": choice["threshold"], "floor": choice["floor"],
              "objective": f"floor: at most {choice['max_false_refusal']:.0%} of answerable questions not_found; "
                           "threshold: most answerable minus unanswerable answered, with at most "
                           f"{choice['max_unanswerable_answered']:.0%} of unanswerable answered",
              "hard_false_refusal_rate": round(choice["hard_false_refusal_rate"], 6),
              "unanswerable_answered_rate": round(choice["unanswerable_answered_rate"], 6),
              "answerable_answered_rate": round(choice["answerable_answered_rate"], 6),
              "chosen_on": chosen_on, "f1": round(choice["f1"], 6),
              "false_refusal_rate": round(choice["false_refusal_rate"], 6),
              "leave_one_out_f1": round(choice["leave_one_out_f1"], 6),
              "date": dt.date.today().isoformat()}
    _write_atomic(Path(path), json.dumps(record, indent=2) + "\n")
    return record


# ---------------------------------------------------------------- output


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _f(x: float) -> str:
    return f"{x:.3f}"


METRIC_ROWS = [
    ("faithfulness", "Faithfulness (quote == text at its offsets)", _pct),
    ("hit@1", "Evidence hit@1", _f), ("hit@3", "Evidence hit@3", _f),
    ("fact_recall@3", "Fact recall@3", _f),
    *[(f"recall@{k}", f"Passage recall@{k}", _f) for k in RETRIEVAL_KS],
    ("mrr", "Passage MRR", _f), ("ndcg@10", "Passage nDCG@10", _f),
    ("abstention_precision", "Abstention precision", _f), ("abstention_recall", "Abstention recall", _f),
    ("abstention_f1", "Abstention F1", _f), ("false_refusal_rate", "False-refusal rate", _f),
    ("followup_hit@3", "Follow-up hit@3 (with history)", _f),
    ("followup_hit@3_without_history", "Follow-up hit@3 (second turn alone)", _f),
    ("latency_p50_ms", "Latency p50 (ms)", lambda x: f"{x:.1f}"),
    ("latency_p95_ms", "Latency p95 (ms)", lambda x: f"{x:.1f}"),
    ("mean_words_per_quote", "Mean words per quote", lambda x: f"{x:.1f}"),
    ("quotes_per_answer", "Quotes per answer", lambda x: f"{x:.2f}"),
    ("failed", "Failed items", str),
]


def _cell(figures: Mapping, key: str, fmt) -> str:
    if figures[key] is None:
        return "n/a"
    return fmt(figures[key]) + bracket(figures.get("intervals", {}).get(key), 2)


def _quote_lines(quotes: list[dict], limit: int = 3) -> list[str]:
    if not quotes:
        return ["  - quoted: nothing"]
    return [f"  - [{q['n']}] ({q['score']:.3f}, {q['doc']} [{q['start']}:{q['end']}]) \u201c{q['text']}\u201d"
            for q in quotes[:limit]]


def _failure_lines(r: dict, threshold: float) -> list[str]:
    if "turns" in r:
        head = f"- **{r['id']}** (dialogue) \u201c{r['turns'][0]}\u201d \u2192 \u201c{r['turns'][1]}\u201d"
    else:
        head = f"- **{r['id']}** \u201c{r['question']}\u201d"
    lines = [head]
    if r["problems"]:
        lines.append(f"  - citation problems: {'; '.join(r['problems'])}")
    if r.get("answerable", True):
        reason = ("refused" if not r["answered"] else "no quote overlaps the evidence" if not r["hit@3"]
                  else "a key fact is missing")
        lines.append(f"  - {reason} (best score {r['score']:.3f}, threshold {threshold:.3f})")
        lines.append("  - expected: " + " | ".join(f"\u201c{e}\u201d" for e in r["evidence"])
                     + f"; facts: {', '.join(r['facts'])}")
        lines += _quote_lines(r["quotes"])
    else:
        lines.append(f"  - answered an unanswerable question (best score {r['score']:.3f}, threshold "
                     f"{threshold:.3f}); the report lacks it: {r['why']}")
        lines += _quote_lines(r["quotes"])
    return lines


def _code_note(code: Mapping) -> str:
    if not code.get("commit"):
        return "outside git"
    return code["commit"] + (" with uncommitted changes in app/" if code.get("app_modified") else "")


def to_markdown(result: Mapping, calibration: Mapping | None = None, plots: Sequence[str] = ()) -> str:
    """Tables first, then every failed question with what was expected and what was quoted."""
    methods = list(result["methods"])
    c = result["counts"]
    lines = ["# Report suite", "",
             f"{c['questions']} questions ({c['answerable']} answerable, {c['unanswerable']} unanswerable) and "
             f"{c['dialogues']} two-turn dialogues on {', '.join(result['documents'])}; model {result['model']}; "
             f"abstention threshold {result['threshold']:.4f}; quotes checked against {result['checked_against']}; "
             f"code {_code_note(result.get('code', {}))}.",
             "", "| Metric | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for key, label, fmt in METRIC_ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(result["methods"][m], key, fmt) for m in methods) + " |")
    lines += ["", "Hits and fact recall count only answered questions (a refusal quotes nothing). "
              "Passage metrics judge the top-10 passages before quoting, one unit per gold evidence string. "
              "Latency is wall time per `ask` on this machine. Brackets hold 95% intervals: Wilson for rates, "
              "a bootstrap over questions for means and F1 (stratified by answerability for F1)."]
    source = result.get("threshold_source")
    if source:
        lines += ["", f"The abstention threshold was chosen on {source.get('chosen_on', 'these questions')} "
                  f"(`verbatim eval --calibrate`, {source.get('date', '')}): abstention figures on those "
                  "questions are in-sample; its leave-one-out estimate there was F1 "
                  f"{source.get('leave_one_out_f1', 0):.3f}."]
    if result.get("differences"):
        lines += ["", "## Differences between methods", "",
                  "Paired over the same answerable questions; an interval that holds 0 means these questions "
                  "do not tell the two apart.", "", "| | " + " | ".join(COMPARED) + " |",
                  "|---|" + "---:|" * len(COMPARED)]
        for pair, figures in result["differences"].items():
            lines.append(f"| {pair.replace('_minus_', ' minus ')} | " + " | ".join(
                f"{d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]" for d in
                (figures[k] for k in COMPARED)) + " |")
    if calibration:
        lines += ["", "## Calibration", "",
                  f"Chosen threshold {calibration['threshold']:.4f} on {calibration['method']}: abstention F1 "
                  f"{calibration['f1']:.3f}, false-refusal rate {calibration['false_refusal_rate']:.3f} "
                  f"(was {calibration['previous_threshold']:.4f}: F1 {calibration['previous_f1']:.3f}, "
                  f"false refusals {calibration['previous_false_refusal_rate']:.3f}). Leave-one-out estimate: "
                  f"F1 {calibration['leave_one_out_f1']:.3f}, false refusals "
                  f"{calibration['leave_one_out_false_refusal_rate']:.3f}. The figures above use the chosen threshold."]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    head = methods[0]
    failures = [r for r in result["questions"][head] if r["failed"]] + \
               [r for r in result["dialogues"][head] if r["failed"]]
    lines += ["", f"## Failures ({head}): {len(failures)}", ""]
    for r in failures:
        lines += _failure_lines(r, result["threshold"])
    if not failures:
        lines.append("None.")
    for m in methods[1:]:
        failed = [r["id"] for r in result["questions"][m] + result["dialogues"][m] if r["failed"]]
        lines += ["", f"Failed with {m}: {', '.join(failed) if failed else 'none'}."]
    return "\n".join(lines) + "\n"


def _jsonable(result: Mapping) -> dict:
    out = dict(result)
    out["dialogues"] = {m: [{k: v for k, v in r.items() if k != "all_quotes"} for r in rs]
                        for m, rs in result["dialogues"].items()}
    return out


def write_report(result: Mapping, out_dir: Path = RESULTS_DIR, calibration: Mapping | None = None) -> list[Path]:
    """Write report.json, report.md, recall_at_k.png and score_distribution.png into `out_dir`."""
    from .plots import plot_recall_at_k, plot_score_distribution

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recall_png = plot_recall_at_k(result["methods"], out_dir / "recall_at_k.png")
    head = next(iter(result["methods"]))
    records = result["questions"][head]
    score_png = plot_score_distribution([r["score"] for r in records if r["answerable"]],
                                        [r["score"] for r in records if not r["answerable"]],
                                        result["threshold"], out_dir / "score_distribution.png", method=head)
    data = _jsonable(result)
    if calibration:
        data["calibration"] = dict(calibration)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    _write_atomic(json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(md_path, to_markdown(result, calibration, [recall_png.name, score_png.name]))
    return [json_path, md_path, recall_png, score_png]
