"""`verbatim eval` end to end: a tiny corpus with the hash embedder, and the real report with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.evaluation.uncertainty import rate_interval
from app.index.build import build_index
from app.index.embed import SentenceTransformerEmbedder
from tests.conftest import REPORT

QUESTIONS = [
    {"id": "a1", "question": "How many prisoners were in the overcrowded cells?", "answerable": True,
     "evidence": ["They counted 212 prisoners held in cells built for 150."], "facts": ["212"]},
    {"id": "a2", "question": "How long did inmates wait for a doctor?", "answerable": True,
     "evidence": ["Prisoners waited an average of nine days to see a doctor."], "facts": ["nine days"]},
    {"id": "a3", "question": "How much was spent on prison food?", "answerable": True,
     "evidence": ["3.2 million dollars on prison food"], "facts": ["3.2 million"]},
    {"id": "u1", "question": "What is the name of the prison governor's deputy?", "answerable": False,
     "why": "no deputy is named"},
]
DIALOGUES = [
    {"id": "d1", "turns": ["How many prisoners were in solitary confinement?", "How long were they kept there?"],
     "evidence": ["some for more than six months"], "facts": ["six months"]},
]

# What the report suite gives on the tiny corpus with the hash embedder (deterministic), at the
# threshold in app/calibration.json (0.381: a1 scores 0.234 and a2 0.159, so neither is answered and
# both offer their evidence as "uncertain"; a3 0.385 is answered; u1 0.106 is "not_found"). Counting a
# refusal as an answer would make hit@3 1.0. Latencies are left out; keys added later are not pinned here.
_SHARED = {
    "faithfulness": 1.0, "hit@1": 1 / 3, "hit@3": 1 / 3, "fact_recall@3": 1 / 3, "failed": 3,
    "recall@3": 1.0, "recall@5": 1.0, "recall@10": 1.0,
    "abstention_precision": 1 / 3, "abstention_recall": 1.0, "abstention_f1": 0.5, "false_refusal_rate": 2 / 3,
    "followup_hit@3": 0.0, "followup_hit@3_without_history": 0.0, "followup_fact_recall@3": 0.0,
    "mean_words_per_quote": 11.0, "quotes_per_answer": 1.0,
}
EXPECTED = {
    "hybrid": {**_SHARED, "citations_checked": 8, "recall@1": 1.0, "mrr": 1.0, "ndcg@10": 1.0},
    "bm25": {**_SHARED, "citations_checked": 7, "recall@1": 1.0, "mrr": 1.0, "ndcg@10": 1.0},
    "dense": {**_SHARED, "citations_checked": 8, "recall@1": 2 / 3, "mrr": 5 / 6, "ndcg@10": 0.8769765845238192},
}
_SHARED_INTERVALS = {
    "hit@1": [0.061, 0.792], "hit@3": [0.061, 0.792], "fact_recall@3": [0.0, 1.0],
    "abstention_precision": [0.061, 0.792], "abstention_recall": [0.207, 1.0], "abstention_f1": [0.4, 1.0],
    "false_refusal_rate": [0.208, 0.939], "followup_hit@3": [0.0, 0.793],
}
EXPECTED_INTERVALS = {
    "hybrid": {**_SHARED_INTERVALS, "mrr": [1.0, 1.0], "ndcg@10": [1.0, 1.0]},
    "bm25": {**_SHARED_INTERVALS, "mrr": [1.0, 1.0], "ndcg@10": [1.0, 1.0]},
    "dense": {**_SHARED_INTERVALS, "mrr": [0.5, 1.0], "ndcg@10": [0.631, 1.0]},
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def cli(monkeypatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    monkeypatch.setattr("app.evaluation.cli.CALIBRATION_FILE", tmp_path / "calibration.json")
    return CliRunner()


@pytest.fixture
def eval_data(tmp_path: Path) -> Path:
    folder = tmp_path / "evalset"
    folder.mkdir()
    write_jsonl(folder / "report_questions.jsonl", QUESTIONS)
    write_jsonl(folder / "report_dialogues.jsonl", DIALOGUES)
    return folder


@pytest.fixture
def built(cli: CliRunner, tmp_path: Path, tiny_corpus: Path) -> Path:
    index_dir = tmp_path / "idx"
    result = cli.invoke(main, ["index", "build", "--corpus", str(tiny_corpus), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    return index_dir


def test_report_suite_writes_json_markdown_and_plots(cli, built, eval_data, tmp_path):
    out = tmp_path / "out"
    result = cli.invoke(main, ["eval", "--data", str(eval_data), "--index", str(built), "--out", str(out),
                               "--fail-under", "faithfulness=1.0"])
    assert result.exit_code == 0, result.output
    assert "all 1 gate(s) passed" in result.output
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "recall_at_k.png", "score_distribution.png"}
    report = json.loads((out / "report.json").read_text())
    assert list(report["methods"]) == ["hybrid", "bm25", "dense"]
    assert report["counts"] == {"questions": 4, "answerable": 3, "unanswerable": 1, "dialogues": 1}
    for method, expected in EXPECTED.items():  # exact figures: a wrong one fails, not only a lower one
        figures = report["methods"][method]
        assert {k: figures[k] for k in expected} == pytest.approx(expected, abs=1e-9), method
        assert {k: figures["intervals"][k] for k in EXPECTED_INTERVALS[method]} == EXPECTED_INTERVALS[method], method
    assert [(r["id"], r["answered"], r.get("hit@3"), r["failed"]) for r in report["questions"]["hybrid"]] == [
        ("a1", False, False, True), ("a2", False, False, True), ("a3", True, True, False), ("u1", False, None, False)]
    assert report["differences"] == {
        "hybrid_minus_bm25": {m: {"difference": 0.0, "low": 0.0, "high": 0.0}
                              for m in ("hit@3", "fact_recall@3", "ndcg@10")},
        "hybrid_minus_dense": {"hit@3": {"difference": 0.0, "low": 0.0, "high": 0.0},
                               "fact_recall@3": {"difference": 0.0, "low": 0.0, "high": 0.0},
                               "ndcg@10": {"difference": 0.123, "low": 0.0, "high": 0.369}}}
    assert (out / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert "| Evidence hit@3 |" in markdown and "## Failures (hybrid)" in markdown
    hybrid = report["methods"]["hybrid"]
    answerable = [r for r in report["questions"]["hybrid"] if r["answerable"]]
    assert hybrid["intervals"]["hit@3"] == list(rate_interval(sum(r["hit@3"] for r in answerable), 3))
    assert set(report["differences"]) == {"hybrid_minus_bm25", "hybrid_minus_dense"}
    assert "## Differences between methods" in markdown and "| hybrid minus bm25 |" in markdown


def test_a_question_set_without_dialogues_reports_no_follow_up_figures(cli, built, tmp_path):
    folder = tmp_path / "heldout"
    folder.mkdir()
    write_jsonl(folder / "report_questions.jsonl", QUESTIONS)
    out = tmp_path / "out"
    result = cli.invoke(main, ["eval", "--data", str(folder), "--index", str(built), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["dialogues"] == 0
    assert report["methods"]["hybrid"]["followup_hit@3"] is None
    assert "followup_hit@3" not in report["methods"]["hybrid"]["intervals"]
    assert "| Follow-up hit@3 (with history) | n/a | n/a | n/a |" in (out / "report.md").read_text()


def test_a_failed_gate_exits_1_and_names_the_gate(cli, built, eval_data, tmp_path):
    result = cli.invoke(main, ["eval", "--data", str(eval_data), "--index", str(built), "--out", str(tmp_path / "o"),
                               "--fail-under", "faithfulness=1.0", "--fail-under", "bm25.hit@3=1.01"])
    assert result.exit_code == 1
    assert "gate failed: bm25.hit@3 = " in result.output and "is below 1.01" in result.output
    assert "faithfulness" not in result.output.split("gate failed")[1]


def test_an_unknown_gate_is_a_usage_error_listing_the_metrics(cli, built, eval_data, tmp_path):
    result = cli.invoke(main, ["eval", "--data", str(eval_data), "--index", str(built), "--out", str(tmp_path / "o"),
                               "--fail-under", "hits=0.5"])
    assert result.exit_code == 2
    assert "no metric 'hits'" in result.output and "abstention_f1" in result.output
    result = cli.invoke(main, ["eval", "--fail-under", "hit@3"])
    assert result.exit_code == 2 and "is not METRIC=VALUE" in result.output


def test_calibrate_stores_the_threshold_and_reports_it(cli, built, eval_data, tmp_path):
    out = tmp_path / "out"
    result = cli.invoke(main, ["eval", "--data", str(eval_data), "--index", str(built), "--out", str(out),
                               "--calibrate"])
    assert result.exit_code == 0, result.output
    stored = json.loads((tmp_path / "calibration.json").read_text())
    assert set(stored) >= {"threshold", "floor", "objective", "hard_false_refusal_rate", "chosen_on", "f1",
                           "false_refusal_rate", "date"}
    assert stored["floor"] <= stored["threshold"]
    assert "report_questions.jsonl: 4 questions (3 answerable, 1 unanswerable)" in stored["chosen_on"]
    assert f"calibrated: floor {stored['floor']:.4f}, threshold {stored['threshold']:.4f}" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["threshold"] == stored["threshold"]  # the figures use the chosen threshold
    assert report["calibration"]["f1"] == pytest.approx(stored["f1"], abs=1e-6)
    assert "## Calibration" in (out / "report.md").read_text()


def test_evidence_missing_from_the_corpus_is_refused(cli, built, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    write_jsonl(folder / "report_questions.jsonl", [{**QUESTIONS[0], "evidence": ["212 prisoners held"],
                                                      "facts": ["212"]}, {**QUESTIONS[0], "id": "a9",
                                                      "evidence": ["not in the corpus"], "facts": ["corpus"]}])
    result = cli.invoke(main, ["eval", "--data", str(folder), "--index", str(built), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "a9: evidence 'not in the corpus' occurs in no document" in result.output


def test_benchmark_suites_need_data(cli):
    result = cli.invoke(main, ["eval", "--suite", "beir"])
    assert result.exit_code == 2 and "--suite beir needs --data" in result.output
    result = cli.invoke(main, ["eval", "--suite", "squad", "--calibrate"])
    assert result.exit_code == 2 and "--calibrate works on the report suite only" in result.output


@pytest.mark.model
def test_real_report_suite_is_faithful(tmp_path: Path, monkeypatch):
    """What CI runs: the report suite with all-MiniLM-L6-v2 and the faithfulness gate."""
    monkeypatch.setattr("app.evaluation.cli.CALIBRATION_FILE", tmp_path / "calibration.json")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / REPORT.name).write_bytes(REPORT.read_bytes())
    index_dir = tmp_path / "index"
    build_index(index_dir, SentenceTransformerEmbedder(), corpus_dir=corpus)
    out = tmp_path / "out"
    # issue 10's gates: faithfulness 1.0 and at most 2% of answerable questions refused (not_found);
    # the others are regression floors under what this commit measures (hit@3 over answered and
    # uncertain 0.941, nDCG@10 0.933, follow-up hit@3 0.833), so a change that loses answers fails CI.
    gates = ["faithfulness=1.0", "answerable_not_refused_rate=0.98", "hit@3_answered_or_uncertain=0.85",
             "ndcg@10=0.9", "followup_hit@3=0.7"]
    result = CliRunner().invoke(main, ["eval", "--index", str(index_dir), "--out", str(out),
                                       *[arg for g in gates for arg in ("--fail-under", g)]])
    assert result.exit_code == 0, result.output
    assert f"all {len(gates)} gate(s) passed" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["questions"] >= 60 and report["counts"]["dialogues"] >= 10
    assert all(m["faithfulness"] == 1.0 for m in report["methods"].values())
    assert report["checked_against"].startswith("corpus files")
