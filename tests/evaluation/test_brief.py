"""The brief suite: QA coverage of the briefing and its two baselines, each figure worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from app.cli import main
from app.evaluation.brief import covered, lexrank_tfidf, pagerank, run_brief, summarise
from app.index.embed import HashEmbedder

FIRST = "The inspectors counted 212 prisoners held in cells built for 150."  # 11 words
SECOND = "Medical care was the main complaint of the prisoners in every prison."  # 12
THIRD = "Prisoners waited nine days to see a doctor in the northern prison."  # 12


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    article = {"title": "Prisons", "paragraphs": [
        {"context": f"{FIRST} {SECOND}", "qas": [
            {"id": "q1", "question": "How many?", "answers": [{"text": "212", "answer_start": 23}]},
            {"id": "q2", "question": "What was the complaint?",
             "answers": [{"text": "Medical care", "answer_start": len(FIRST) + 1}]}]},
        {"context": THIRD, "qas": [
            {"id": "q3", "question": "How long?", "answers": [{"text": "nine days", "answer_start": 16}]},
            {"id": "q4", "question": "Was it fair?", "is_impossible": True, "answers": [],
             "plausible_answers": []}]}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"data": [article]}), encoding="utf-8")
    return path


def test_pagerank_of_a_path_by_hand():
    # 0 - 1 - 2: rows 0 -> 1, 1 -> 0 and 2 halves, 2 -> 1. c1 = 0.05 + 0.85 (c0 + c2) = 0.05 + 0.85 (1 - c1),
    # so c1 = 0.9 / 1.85 = 0.48649 and c0 = c2 = (1 - c1) / 2 = 0.25676
    scores = pagerank(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], float))
    assert scores.round(5).tolist() == [0.25676, 0.48649, 0.25676]


def test_lexrank_over_tfidf_puts_the_sentence_sharing_terms_first():
    # "prison"/"prisoners" share no token; SECOND and THIRD share "prison" (TF-IDF cosine above 0.1),
    # FIRST shares only stop words: an isolated node, last
    assert lexrank_tfidf([FIRST, SECOND, THIRD]) == [1, 2, 0]


def test_coverage_counts_gold_text_case_insensitively():
    assert covered([["212"], ["MEDICAL care"], ["ten days", "nine days"]], [FIRST.upper(), THIRD]) == [True, False,
                                                                                                       True]


def test_run_on_a_tiny_article(squad_file: Path, tmp_path: Path):
    result = run_brief(squad_file, cache_dir=tmp_path / "cache", embedder=HashEmbedder(), budgets=(12, 24, 35))
    lead = result["methods"]["lead"]
    # lead at 12: FIRST (11) -> q1; at 24: FIRST + SECOND (23) -> q1, q2; at 35: all three (35) -> every question
    assert (lead["coverage@12"], lead["coverage@24"], lead["coverage@35"]) == (0.3333, 0.6667, 1.0)
    lexrank = result["methods"]["lexrank-tfidf"]
    # LexRank order SECOND, THIRD, FIRST: at 12 SECOND -> q2; at 24 SECOND + THIRD -> q2, q3; at 35 all
    assert (lexrank["coverage@12"], lexrank["coverage@24"], lexrank["coverage@35"]) == (0.3333, 0.6667, 1.0)
    assert result["methods"]["briefing"]["coverage@35"] == 1.0
    assert (result["articles"], result["questions"]) == (1, 3)  # the unanswerable question is not counted


def test_summarise_compares_with_the_better_baseline():
    rows = [{"briefing@100": 0.5, "lead@100": 0.4, "lexrank-tfidf@100": 0.2},
            {"briefing@100": 0.3, "lead@100": 0.2, "lexrank-tfidf@100": 0.3}]
    out = summarise(rows, [100])
    versus = out["versus_best_baseline"]["100"]
    assert (versus["baseline"], versus["ratio"], versus["goal"]) == ("lead", 1.333, 1.25)
    assert versus["difference"]["difference"] == 0.1


def test_eval_cli_runs_the_brief_suite(squad_file: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    result = CliRunner().invoke(main, ["eval", "--suite", "brief", "--data", str(squad_file), "--out",
                                       str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["suite"] == "brief" and set(figures["methods"]) == {"briefing", "lead", "lexrank-tfidf"}
    assert (tmp_path / "out" / "brief-tiny.json").is_file() and (tmp_path / "out" / "brief-tiny.md").is_file()
