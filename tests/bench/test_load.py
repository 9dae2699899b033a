"""The load section's server bookkeeping (app/bench/load.py); its figures are tested in test_budget.py."""

from pathlib import Path

from app.bench.load import worker_restarts


def test_worker_restarts_count_what_the_servers_logged(tmp_path: Path):
    (tmp_path / "serve-4001.log").write_text(
        "worker 2 exited (status -9) after 3.1 s; starting it again after 0.5 s\n"
        "GET /api/v1/health 200\n"
        "worker 2 exited (status -9) after 12.0 s; starting it again\n")
    (tmp_path / "serve-4002.log").write_text("worker 1 exited (status 1) after 40.2 s; starting it again\n")
    (tmp_path / "client.log").write_text("starting it again\n")  # not a server's log
    assert worker_restarts(tmp_path) == 3


def test_no_log_no_restart(tmp_path: Path):
    assert worker_restarts(tmp_path) == 0
