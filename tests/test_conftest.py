"""The shared test helpers of tests/conftest.py."""

import pytest


def test_a_missing_benchmark_skips_locally_and_fails_under_ci(monkeypatch):
    from _pytest.outcomes import Failed, Skipped

    from tests.conftest import need_benchmark

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped, match="no nowhere/at-all.json under"):
        need_benchmark("nowhere/at-all.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="CI needs ../shared/benchmarks beside the checkout"):
        need_benchmark("nowhere/at-all.json")
