"""The question suite's figures as Markdown, JSON and two plots (files still named report.json and report.md).

`to_markdown` turns a `run_suite` result into the page `write_suite` writes beside the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.evaluation.metrics import RETRIEVAL_KS
from app.evaluation.suite import COMPARED, RESULTS_DIR, code_version
from app.evaluation.uncertainty import bracket
from app.files import write_atomic


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _f(x: float) -> str:
    return f"{x:.3f}"


METRIC_ROWS = [
    ("faithfulness", "Faithfulness (quote == text at its offsets)", _pct),
    ("hit@3_answered_or_uncertain", "Evidence hit@3 (answered or uncertain)", _f),
    ("original_hit@3_answered_or_uncertain", "The same in the report's own words (paraphrase sets)", _f),
    ("paraphrase_ratio", "Paraphrase over own words, hit@3 (answered or uncertain)", _f),
    ("hard_false_refusal_rate", "Hard false refusals (answerable -> not_found)", _f),
    ("unanswerable_answered_rate", "Unanswerable given \"answered\"", _f),
    ("confidence_auc", "Confidence ROC AUC (answerable vs unanswerable)", _f),
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
    if figures.get(key) is None:
        return "n/a"
    interval = figures.get("intervals", {}).get(key) or figures.get(f"{key}_interval")
    return fmt(figures[key]) + bracket(interval, 2)


def verdict_lines(figures: Mapping) -> list[str]:
    """The verdict confusion table of one method: answerable and unanswerable x the three verdicts."""
    table = figures.get("verdicts")
    if not table:
        return []
    lines = ["| | answered | uncertain | not_found |", "|---|---:|---:|---:|"]
    lines += [f"| {kind} | " + " | ".join(str(table[kind][v]) for v in ("answered", "uncertain", "not_found")) + " |"
              for kind in ("answerable", "unanswerable")]
    return lines


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


def provenance() -> str:
    """The line a section of the generated figures page opens with: the command, the date and the code."""
    import datetime as dt
    import sys

    return f"`verbatim {' '.join(sys.argv[1:])}` ({dt.date.today().isoformat()}, code {code_note(code_version())})"


def code_note(code: Mapping) -> str:
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
             f"verdict floor {result.get('floor', result['threshold']):.4f} and threshold {result['threshold']:.4f}; "
             f"quotes checked against {result['checked_against']}; "
             f"code {code_note(result.get('code', {}))}.",
             "", "| Metric | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for key, label, fmt in METRIC_ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(result["methods"][m], key, fmt) for m in methods) + " |")
    lines += ["", f"## Verdicts ({methods[0]})", "", *verdict_lines(result["methods"][methods[0]])]
    lines += ["", "Evidence hit@1/@3 and fact recall count only \"answered\" questions; hit@3 (answered or "
              "uncertain) counts the quotes offered under either verdict. "
              "Passage metrics judge the top-10 passages before quoting, one unit per gold evidence string. "
              "Latency is wall time per `ask` on this machine. Brackets hold 95% intervals: Wilson for rates, "
              "a bootstrap over questions for means and F1 (stratified by answerability for F1)."]
    source = result.get("threshold_source")
    if source:
        lines += ["", f"The verdict thresholds are the index's {source['source']}, chosen by `verbatim eval "
                  f"--calibrate` on {source['chosen_on'] or 'questions not recorded'}: abstention figures on "
                  "those questions are in-sample."]
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
                  f"Chosen floor {calibration['floor']:.4f} (hard false refusals "
                  f"{calibration['hard_false_refusal_rate']:.3f}, leave-one-out "
                  f"{calibration['leave_one_out_hard_false_refusal_rate']:.3f}) and "
                  f"threshold {calibration['threshold']:.4f} on {calibration['method']}: abstention F1 "
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


def write_suite(result: Mapping, out_dir: Path = RESULTS_DIR, calibration: Mapping | None = None) -> list[Path]:
    """Write report.json, report.md, recall_at_k.png and score_distribution.png into `out_dir`."""
    from app.evaluation.plots import plot_recall_at_k, plot_score_distribution

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
    write_atomic(json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    write_atomic(md_path, to_markdown(result, calibration, [recall_png.name, score_png.name]))
    return [json_path, md_path, recall_png, score_png]
