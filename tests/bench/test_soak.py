"""The soak's figures from its records (app/bench/soak.py), computed by hand on a 100-second run."""

from __future__ import annotations

from app.bench.soak import soak_figures


def test_windows_rss_growth_and_p95_drift():
    # 100 s: windows of a fifth, 20 s. Window 0 holds four answers, window 4 four slower ones; 1-3 none.
    done = [(1.0, 0.010), (5.0, 0.020), (9.0, 0.030), (19.9, 0.040),
            (81.0, 0.020), (85.0, 0.040), (90.0, 0.060), (99.0, 0.080)]
    errors = [(85.0, "ReadError"), (5.0, "ConnectError")]
    rss = [(5.0, {1: 100.0, 2: 200.0}), (25.0, {1: 110.0, 2: 200.0}), (95.0, {1: 121.0, 2: 210.0})]
    out = soak_figures(done, errors, rss, seconds=100.0)
    assert out["window_s"] == 20.0
    # p50 / p95 by linear interpolation: 10, 20, 30, 40 ms -> 25.0 / 38.5; 20, 40, 60, 80 ms -> 50.0 / 77.0
    assert out["windows"] == [
        {"from_s": 0, "answered": 4, "per_s": 0.2, "p50_ms": 25.0, "p95_ms": 38.5, "errors": 1},
        {"from_s": 80, "answered": 4, "per_s": 0.2, "p50_ms": 50.0, "p95_ms": 77.0, "errors": 1},
    ]
    assert (out["answered"], out["errors"], out["first_errors"]) == (8, 2, ["ConnectError", "ReadError"])
    # growth from the first sample after the first window (310 MB at 25 s) to the last (331 MB): 21 / 310
    assert (out["rss_mb_after_first_window"], out["rss_mb_at_end"], out["rss_growth"]) == (310.0, 331.0, 0.0677)
    assert out["rss_per_process_at_end"] == [121.0, 210.0]
    assert out["p95_last_over_first"] == 2.0  # 77 / 38.5


def test_a_run_with_one_window_of_answers_has_no_drift():
    out = soak_figures([(1.0, 0.01)], [], [(1.0, {7: 50.0})], seconds=100.0)
    assert "p95_last_over_first" not in out
    assert (out["rss_mb_after_first_window"], out["rss_growth"]) == (50.0, 0.0)  # no sample after 20 s: the first
