"""`verbatim eval` end to end: a tiny corpus with the hash embedder, and the real report with the real model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.evaluation.calibration import calibrate
from app.index.build import build_index
from app.index.encoders import DEFAULT_MODEL, encoder
from app.index.store import calibration_path
from tests.conftest import REPORT

# A report small enough to count by hand: four one-sentence paragraphs (one chunk), each with words
# no other sentence and no unanswerable question uses.
ZOO = ("Inspectors counted 212 walruses inside cramped enclosures.\n\n"
       "Veterinarians waited nine days before examining sick penguins.\n\n"
       "Zookeepers spent 3.2 million dollars on herring rations.\n\n"
       "Visitors photographed colourful parrots beside tropical fountains.\n")
QUESTIONS = [
    {"id": "a1", "question": "How many walruses did inspectors count?", "answerable": True,
     "evidence": ["Inspectors counted 212 walruses inside cramped enclosures."], "facts": ["212"]},
    {"id": "a2", "question": "How long did veterinarians wait before examining penguins?", "answerable": True,
     "evidence": ["Veterinarians waited nine days before examining sick penguins."], "facts": ["nine days"]},
    {"id": "a3", "question": "How much did zookeepers spend on herring rations?", "answerable": True,
     "evidence": ["Zookeepers spent 3.2 million dollars on herring rations."], "facts": ["3.2 million"]},
    {"id": "u1", "question": "Who directs aquarium finances nowadays?", "answerable": False, "why": "nobody is named"},
    {"id": "u2", "question": "Which architect designed llama stables?", "answerable": False, "why": "no llamas"},
]
# "How many of them were there?" shares no word with the report: alone it finds nothing; after the first
# turn (it refers back: "them") it is asked with it and finds the walruses. History must help.
DIALOGUES = [
    {"id": "d1", "turns": ["How many walruses did inspectors count?", "How many of them were there?"],
     "evidence": ["Inspectors counted 212 walruses inside cramped enclosures."], "facts": ["212"]},
]
# Explicit verdict thresholds, not the index's calibration: answered at or above 0.03, not_found below.
# The verdict reads a sentence's dense evidence (app/answer/quote.py): the answerable questions share
# their content words with their evidence and score above it (0.04 to 0.35 with the hash embedder),
# the unanswerable ones share none and score below 0; `test_report_suite_figures_counted_by_hand`
# checks these verdicts and quotes first, then every figure that follows from them by counting.
THRESHOLDS = ["--threshold", "0.03", "--floor", "0.03"]
WORDS = {"a1": 7, "a2": 8, "a3": 8}  # words of each answer's one quote: its evidence sentence
# every figure of one method, counted from the verdicts: 3 of 3 answerable answered with their evidence
# first (hit@1, hit@3, facts 1.0), 2 of 2 unanswerable refused and nothing else (abstention 1.0, no false
# refusal), one chunk holding every sentence (every retrieval figure 1.0), the dialogue found with its
# history and not without, one quote per answer.
COUNTED = {
    "faithfulness": 1.0, "hit@1": 1.0, "hit@3": 1.0, "fact_recall@3": 1.0,
    "recall@1": 1.0, "recall@3": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr": 1.0, "ndcg@10": 1.0,
    "abstention_precision": 1.0, "abstention_recall": 1.0, "abstention_f1": 1.0, "false_refusal_rate": 0.0,
    "followup_hit@3": 1.0, "followup_hit@3_without_history": 0.0, "followup_fact_recall@3": 1.0,
    "mean_words_per_quote": (7 + 8 + 8) / 3, "quotes_per_answer": 1.0, "failed": 0,
}
# quotes checked: hybrid and dense show a closest passage for each refusal (3 answers + 2 closest
# passages + the dialogue asked with and without history); BM25 finds no passage for a question
# sharing no word with the report, so it shows none (3 answers + the dialogue with history).
CITATIONS = {"hybrid": 3 + 2 + 1 + 1, "bm25": 3 + 0 + 1 + 0, "dense": 3 + 2 + 1 + 1}


def wilson(k: int, n: int, z: float = 1.959963984540054) -> list[float]:
    """The Wilson score interval, written out (an independent reference for `rate_interval`)."""
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [round((centre - half) / (1 + z * z / n), 3), round((centre + half) / (1 + z * z / n), 3)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def cli(monkeypatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    return CliRunner()


@pytest.fixture
def eval_data(tmp_path: Path) -> Path:
    folder = tmp_path / "evalset"
    folder.mkdir()
    write_jsonl(folder / "report_questions.jsonl", QUESTIONS)
    write_jsonl(folder / "report_dialogues.jsonl", DIALOGUES)
    return folder


@pytest.fixture
def built(cli: CliRunner, tmp_path: Path) -> Path:
    corpus, index_dir = tmp_path / "zoo", tmp_path / "idx"
    corpus.mkdir()
    (corpus / "zoo.txt").write_text(ZOO, encoding="utf-8")
    result = cli.invoke(main, ["index", "build", "--corpus", str(corpus), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    return index_dir


def test_report_suite_figures_counted_by_hand(cli, built, eval_data, tmp_path):
    out = tmp_path / "out"
    result = cli.invoke(main, ["eval", "--data", str(eval_data), "--index", str(built), "--out", str(out),
                               *THRESHOLDS, "--fail-under", "faithfulness=1.0"])
    assert result.exit_code == 0, result.output
    assert "all 1 gate(s) passed" in result.output
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "recall_at_k.png", "score_distribution.png"}
    report = json.loads((out / "report.json").read_text())
    assert report["threshold"] == 0.03
    assert list(report["methods"]) == ["hybrid", "bm25", "dense"]
    assert report["counts"] == {"questions": 5, "answerable": 3, "unanswerable": 2, "dialogues": 1}
    evidence = {q["id"]: q.get("evidence", [None])[0] for q in QUESTIONS}
    for method in report["methods"]:
        rows = report["questions"][method]  # the premises: verdicts, and each answer quotes its evidence alone
        assert [(r["id"], r["verdict"]) for r in rows] == [
            ("a1", "answered"), ("a2", "answered"), ("a3", "answered"), ("u1", "not_found"), ("u2", "not_found")]
        assert [[q["text"] for q in r["quotes"]] for r in rows[:3]] == [[evidence[i]] for i in ("a1", "a2", "a3")]
        assert [len(r["quotes"][0]["text"].split()) for r in rows[:3]] == list(WORDS.values())
        figures = report["methods"][method]
        assert {k: figures[k] for k in COUNTED} == pytest.approx(COUNTED, abs=1e-9), method
        assert figures["citations_checked"] == CITATIONS[method], method
        assert {k: figures["intervals"][k] for k in ("hit@1", "hit@3", "abstention_precision", "abstention_recall",
                                                     "false_refusal_rate", "followup_hit@3")} == {
            "hit@1": wilson(3, 3), "hit@3": wilson(3, 3), "abstention_precision": wilson(2, 2),
            "abstention_recall": wilson(2, 2), "false_refusal_rate": wilson(0, 3), "followup_hit@3": wilson(1, 1)}
        assert {k: figures["intervals"][k] for k in ("fact_recall@3", "mrr", "ndcg@10")} == {
            "fact_recall@3": [1.0, 1.0], "mrr": [1.0, 1.0], "ndcg@10": [1.0, 1.0]}  # a mean of equal values
    zero = {"difference": 0.0, "low": 0.0, "high": 0.0}  # the methods agree on every question
    assert report["differences"] == {f"hybrid_minus_{m}": {k: zero for k in ("hit@3", "fact_recall@3", "ndcg@10")}
                                     for m in ("bm25", "dense")}
    assert (out / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert "| Evidence hit@3 |" in markdown and "## Failures (hybrid)" in markdown
    assert "## Differences between methods" in markdown and "| hybrid minus bm25 |" in markdown


def test_history_is_what_finds_the_follow_up(cli, built, eval_data, tmp_path):
    """Without the first turn the second finds nothing; the figure says so, and drops when history is lost."""
    out = tmp_path / "out"
    assert cli.invoke(main, ["eval", "--data", str(eval_data), "--index", str(built), "--out", str(out),
                             *THRESHOLDS]).exit_code == 0
    [dialogue] = json.loads((out / "report.json").read_text())["dialogues"]["hybrid"]
    assert (dialogue["hit@3"], dialogue["hit@3_without_history"]) == (True, False)
    assert [q["text"] for q in dialogue["quotes"]] == [DIALOGUES[0]["evidence"][0]]


def test_explicit_thresholds_are_checked(cli, built, eval_data, tmp_path):
    result = cli.invoke(main, ["eval", "--suite", "beir", "--data", str(eval_data), "--threshold", "0.5"])
    assert result.exit_code == 2 and "--threshold and --floor work on the report suite" in result.output


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
    stored = json.loads(calibration_path(built).read_text())
    assert stored["model"] == "test/hash-embedder-64"
    assert set(stored) >= {"threshold", "floor", "objective", "hard_false_refusal_rate", "chosen_on", "f1",
                           "false_refusal_rate", "date"}
    assert "report_questions.jsonl: 5 questions (3 answerable, 2 unanswerable)" in stored["chosen_on"]
    assert f"calibrated: floor {stored['floor']:.4f}, threshold {stored['threshold']:.4f}" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["threshold"] == stored["threshold"]  # the figures use the chosen threshold
    # the two classes are separated (every answerable question scores above every unanswerable one), so
    # the chosen thresholds separate them: all answerable answered, all unanswerable not_found
    rows = report["questions"]["hybrid"]
    top_unanswerable = max(r["score"] for r in rows if not r["answerable"])
    assert top_unanswerable < stored["floor"] <= stored["threshold"] <= min(r["score"] for r in rows if r["answerable"])
    assert [r["verdict"] for r in rows] == ["answered"] * 3 + ["not_found"] * 2
    assert (stored["f1"], stored["hard_false_refusal_rate"]) == (1.0, 0.0)
    assert report["calibration"]["f1"] == pytest.approx(stored["f1"], abs=1e-6)
    assert "## Calibration" in (out / "report.md").read_text()


def test_evidence_missing_from_the_corpus_is_refused(cli, built, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    write_jsonl(folder / "report_questions.jsonl", [{**QUESTIONS[0], "evidence": ["212 walruses inside"],
                                                      "facts": ["212"]}, {**QUESTIONS[0], "id": "a9",
                                                      "evidence": ["not in the corpus"], "facts": ["corpus"]}])
    result = cli.invoke(main, ["eval", "--data", str(folder), "--index", str(built), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "a9: evidence 'not in the corpus' occurs in no document" in result.output


def test_calibrating_on_held_out_questions_is_refused(cli, built, tmp_path):
    folder = tmp_path / "heldout"
    folder.mkdir()
    write_jsonl(folder / "report_questions.jsonl", QUESTIONS)
    result = cli.invoke(main, ["eval", "--data", str(folder), "--index", str(built), "--calibrate"])
    assert result.exit_code == 2
    assert f"{folder / 'report_questions.jsonl'} is held out: thresholds are never chosen on it" in result.output
    assert not calibration_path(built).exists()


def test_benchmark_suites_need_data(cli):
    result = cli.invoke(main, ["eval", "--suite", "beir"])
    assert result.exit_code == 2 and "--suite beir needs --data" in result.output
    result = cli.invoke(main, ["eval", "--suite", "squad", "--calibrate"])
    assert result.exit_code == 2 and "--calibrate works on the report suite only" in result.output


@pytest.mark.model
def test_real_report_suite_is_faithful(tmp_path: Path):
    """What CI runs: the report suite with the default encoder and the faithfulness gate."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / REPORT.name).write_bytes(REPORT.read_bytes())
    index_dir = tmp_path / "index"
    build_index(index_dir, encoder(DEFAULT_MODEL, "build"), corpus_dir=corpus)
    out = tmp_path / "out"
    # The gate is exact: every quote equals the corpus at its offsets. Quality figures are benchmarks
    # (`verbatim eval`, docs/figures.md), not floors recorded at a commit.
    gates = ["faithfulness=1.0"]
    result = CliRunner().invoke(main, ["eval", "--index", str(index_dir), "--out", str(out),
                                       *[arg for g in gates for arg in ("--fail-under", g)]])
    assert result.exit_code == 0, result.output
    assert f"all {len(gates)} gate(s) passed" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["questions"] >= 60 and report["counts"]["dialogues"] >= 10
    assert all(m["faithfulness"] == 1.0 for m in report["methods"].values())
    # Issue 10's refusal bar where it can fail: each answerable question judged by thresholds chosen on
    # the others (leave-one-out); measured 1 of 51 refused (0.0196) at this commit, the bar is 2.
    choice = calibrate(report)
    answerable = report["counts"]["answerable"]
    assert round(choice["leave_one_out_hard_false_refusal_rate"] * answerable) <= 2, choice
    assert report["checked_against"].startswith("corpus files")


def test_figures_go_to_their_own_section_of_the_generated_page(cli, built, eval_data, tmp_path):
    page = tmp_path / "figures.md"
    page.write_text("# Figures\n\n<!-- begin bench ask -->\n## Bench\nkept\n<!-- end bench ask -->\n", encoding="utf-8")
    args = ["eval", "--data", str(eval_data), "--index", str(built), "--out", str(tmp_path / "o"),
            "--figures", str(page)]
    for _ in range(2):  # a second run replaces its section, it does not add one
        assert cli.invoke(main, args).exit_code == 0
    text = page.read_text(encoding="utf-8")
    begin = f"<!-- begin eval report {eval_data} test/hash-embedder-64 -->"  # not the default encoder: named
    assert text.count(begin) == 1 and "## Bench\nkept" in text
    section = text.split(begin + "\n", 1)[1]
    assert section.startswith("`verbatim ") and ", code " in section.splitlines()[0]  # the command, date and code
    assert "\n## Report suite\n" in section and "| Faithfulness (quote == text at its offsets) | 100.0% |" in section


def test_a_benchmarks_per_article_tables_stay_in_its_report_not_the_page(tmp_path):
    from app.evaluation.cli import publish_figures

    page = tmp_path / "figures.md"
    page.write_text("# Figures\n", encoding="utf-8")
    markdown = "### SQuAD 2.0: dev\n\n| figure | value |\n|---|---:|\n| AUC | 0.659 |\n\n### Per article\n\n| a | 1 |\n"
    publish_figures(page, "squad2", Path("dev.json"), (), {"markdown": markdown}, tmp_path)
    section = page.read_text(encoding="utf-8").split("<!-- begin eval squad2 dev.json -->\n", 1)[1]
    assert "\n#### SQuAD 2.0: dev\n\n| figure | value |\n|---|---:|\n| AUC | 0.659 |\n" in section
    assert "Per article" not in section and "| a | 1 |" not in section


def test_another_encoders_figures_get_their_own_section(tmp_path):
    from app.evaluation.cli import publish_figures
    from app.index.encoders import DEFAULT_MODEL

    page = tmp_path / "figures.md"
    page.write_text("# Figures\n", encoding="utf-8")
    for model in (DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"):
        publish_figures(page, "squad", Path("en.json"), (), {"markdown": f"### {model}\n", "model": model}, tmp_path)
    text = page.read_text(encoding="utf-8")
    assert text.count("<!-- begin eval squad en.json -->") == 1
    assert text.count("<!-- begin eval squad en.json sentence-transformers/all-MiniLM-L6-v2 -->") == 1
