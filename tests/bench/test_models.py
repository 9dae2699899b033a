"""The models section (app/bench/models.py): its figures and goal lines computed by hand from made-up
measurements, and one real run of the section (`-m model`: both real encoders, under a minute)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.bench import models as bench_models
from app.bench import run as bench
from app.bench.common import read_questions

BUILDS = {"a": [3.0, 5.0, 4.0], "b": [2.0, 1.0, 3.0]}  # medians 4.0 and 2.0
ASKS = {"a": [0.010, 0.020, 0.030, 0.040], "b": [0.010, 0.010, 0.020, 0.020]}
MEMORY = {"a": [{"rss_mb": 500.0, "pss_mb": 400.0, "private_mb": 300.0},
                {"rss_mb": 520.0, "pss_mb": None, "private_mb": None},  # no smaps_rollup: skipped
                {"rss_mb": 510.0, "pss_mb": 420.0, "private_mb": 320.0}],
          "b": [{"rss_mb": 500.0, "pss_mb": 450.0, "private_mb": 350.0},
                {"rss_mb": 490.0, "pss_mb": 440.0, "private_mb": 340.0},
                {"rss_mb": 505.0, "pss_mb": 455.0, "private_mb": 355.0}]}


def test_figures_and_goal_lines_by_hand():
    out = bench_models.model_figures(BUILDS, ASKS, MEMORY, candidate="a", baseline="b")
    a, b = out["models"]["a"], out["models"]["b"]
    assert (a["build_seconds"], b["build_seconds"]) == (4.0, 2.0)
    # p50 / p95 by linear interpolation: 10, 20, 30, 40 ms -> 25.0 / 38.5; 10, 10, 20, 20 ms -> 15.0 / 20.0
    assert (a["ask"]["p50_ms"], a["ask"]["p95_ms"], b["ask"]["p50_ms"], b["ask"]["p95_ms"]) == (25.0, 38.5, 15.0, 20.0)
    # medians: RSS 510 (of 500, 520, 510) and 500 (of 500, 490, 505); PSS 410 (of 400, 420) and 450
    assert (a["serve_rss_mb"], a["serve_pss_mb"], a["serve_private_mb"]) == (510.0, 410.0, 310.0)
    assert (b["serve_rss_mb"], b["serve_pss_mb"], b["serve_private_mb"]) == (500.0, 450.0, 350.0)
    assert out["goals"] == [
        {"figure": "build_seconds", "candidate": 4.0, "baseline": 2.0, "ratio": 2.0, "goal": 2.0, "met": True},
        {"figure": "ask_p50_ms", "candidate": 25.0, "baseline": 15.0, "ratio": 1.6667, "goal": 2.0, "met": True},
        {"figure": "serve_rss_mb", "candidate": 510.0, "baseline": 500.0, "ratio": 1.02, "goal": 1.0, "met": False},
    ]


def test_a_goal_missed_by_a_hair_is_missed():
    out = bench_models.model_figures({"a": [2.0002], "b": [1.0]}, {}, {}, candidate="a", baseline="b")
    assert out["goals"] == [{"figure": "build_seconds", "candidate": 2.0, "baseline": 1.0, "ratio": 2.0,
                             "goal": 2.0, "met": True}]  # build seconds are rounded to the millisecond first
    out = bench_models.model_figures({"a": [2.002], "b": [1.0]}, {}, {}, candidate="a", baseline="b")
    assert [(g["ratio"], g["met"]) for g in out["goals"]] == [(2.002, False)]


def test_table_rows_say_which_goals_are_met():
    out = bench_models.model_figures(BUILDS, ASKS, MEMORY, candidate="a", baseline="b")
    out["questions"] = 2
    for m, (embed, load) in {"a": (3.0, 0.5), "b": (1.0, 2.0)}.items():
        out["models"][m].update(embed_seconds=embed, encoder_load_seconds=load)
    rows = bench_models.model_rows(out)
    assert rows[0] == ("models build s (a vs b)", "4.0", "b 2.0", "2.0x", "<= 2.0x: met")
    assert rows[1] == ("  of which embedding s", "3.0", "b 1.0", "3.0x", "")
    assert rows[3] == ("models ask p50 / p95 ms (2 q)", "25.0 / 38.5", "b 15.0 / 20.0", "1.6667x", "<= 2.0x: met")
    assert rows[4] == ("models serve RSS MB (1 worker)", "510.0", "b 500.0", "1.02x", "<= 1.0x: NOT met")


@pytest.mark.model
def test_the_section_runs_both_models_once(tiny_index: Path, tmp_path: Path):
    out_path = tmp_path / "bench.json"
    result = CliRunner().invoke(bench.bench, ["--sections", "models", "--repeats", "1", "--index", str(tiny_index),
                                              "--out", str(out_path)])
    assert result.exit_code == 0, result.output
    m = json.loads(out_path.read_text())["models"]
    e5, minilm = m["models"][bench_models.CANDIDATE], m["models"][bench_models.BASELINE]
    assert m["questions"] == len(read_questions()) and m["repeats"] == 1
    for entry in (e5, minilm):
        assert entry["ask"]["n"] == m["questions"]
        assert len(entry["build_runs"]) == 1 and len(entry["serve_runs"]) == 1
        assert entry["serve_runs"][0]["processes"] == 1  # one worker: the server process alone
        assert entry["texts_embedded"] == entry["chunks"] + entry["sentences"]
    assert (e5["chunks"], e5["sentences"]) == (minilm["chunks"], minilm["sentences"])  # one corpus, one chunker
    assert [g["figure"] for g in m["goals"]] == list(bench_models.GOALS)
    for g in m["goals"]:
        assert g["ratio"] == round(g["candidate"] / g["baseline"], 4) and g["met"] == (g["ratio"] <= g["goal"])
    assert "models build s" in result.output and "models serve RSS MB" in result.output
