"""The CPU budget of an answered request (app/bench/budget.py) and its place in the load section's
figures (app/bench/load.py): the arithmetic on hand-made figures, the CPU readings against psutil."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import psutil
import pytest

from app.bench import budget, load


def test_the_bound_is_the_cores_over_the_cpu_of_one_answer_over_the_capacity():
    # 2 cores, 6 ms server + 2 ms clients: at most 2 / 0.008 = 250 answers/s; capacity 2 / 11.6 ms = 172.4/s
    assert budget.efficiency_bound(2, 6.0, 2.0, 172.4) == round(250 / 172.4, 4) == 1.4501
    assert budget.efficiency_bound(2, 0.0, 0.0, 100.0) is None and budget.efficiency_bound(2, 5.0, 5.0, 0.0) is None
    assert budget.per_answer(0.9, 100) == 9.0 and budget.per_answer(1.0, 0) is None


def test_batch_counts_of_workers_are_summed_and_a_level_is_the_difference():
    one = {"encode": {"1": 10, "3": 2}, "parse": {"1": 12}}
    two = {"encode": {"1": 5, "2": 4}}
    assert budget.merged([one, two]) == {"encode": Counter({1: 15, 2: 4, 3: 2}), "parse": Counter({1: 12})}
    before = budget.merged([one, two])
    after = budget.merged([{"encode": {"1": 11, "3": 2, "16": 3}, "parse": {"1": 12, "2": 1}},
                           {"encode": {"1": 5, "2": 6}}])
    assert budget.formed(before, after) == {"encode": {1: 1, 2: 2, 16: 3}, "parse": {2: 1}}
    assert budget.formed({}, {"parse": Counter()}) == {"parse": {}}


def test_cost_per_question_weights_each_batch_by_how_often_it_ran():
    # 3 batches of 1 (4 ms each) and 1 of 16 (20 ms): 3 x 4 + 20 = 32 ms over 3 + 16 = 19 questions
    assert budget.per_question({1: 3, 16: 1}, {1: 4.0, 16: 20.0}) == round(32 / 19, 4) == 1.6842
    assert budget.mean_batch({1: 3, 16: 1}) == round(19 / 4, 3) == 4.75
    assert budget.per_question({}, {1: 4.0}) is None and budget.mean_batch({}) is None


def test_cpu_readings_agree_with_psutil_and_a_gone_process_reads_zero():
    sum(i * i for i in range(300_000))  # some CPU to read
    times = psutil.Process().cpu_times()
    assert budget.process_cpu(os.getpid()) == pytest.approx(times.user + times.system, abs=0.05)
    assert budget.own_cpu() == pytest.approx(times.user + times.system, abs=0.05)
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert budget.process_cpu(int(child.stdout)) == 0.0  # exited and reaped: nothing left to read


def test_batch_cpu_runs_a_batch_of_each_size_from_the_texts():
    seen: list[list[str]] = []
    costs = budget.batch_cpu(seen.append, ["a", "b", "c", "d"], [1, 3], rounds=1)
    assert set(costs) == {1, 3} and all(v >= 0 for v in costs.values())
    # a batch starts every max(size, 8) texts while a whole batch fits: 4 texts give one batch of each size
    assert seen == [["a"], ["a", "b", "c"]]


def test_a_charged_level_gets_its_bound_and_its_batched_costs_and_the_table_shows_them():
    level = {"clients": 20, "answered": 1000, "errors": 0, "throughput_per_s": 150.0, "p50_ms": 120.0,
             "p95_ms": 200.0, "server_cpu_ms_per_answer": 8.0, "client_cpu_ms_per_answer": 2.0,
             "batches": {"encode": {"1": 2, "4": 2}, "parse": {"1": 10}}}
    result = {"in_process": {"p50_ms": 11.0, "p95_ms": 13.0, "throughput_per_s_one_thread": 90.0,
                             "seconds_per_ask": 0.02, "cpu_seconds_per_ask": 0.0116, "cores": 2,
                             "capacity_per_s": 100.0},
              "runs": {"1": {"rest": [level], "chat": [], "memory": [], "total_pss_mb": 400.0,
                             "rss_per_worker_mb": []}},
              "batch_cpu_ms": {"encode": {"1": 3.0, "4": 6.0}, "parse": {"1": 2.5}}}
    load.derive(result)
    # 2 cores / 10 ms = 200/s over capacity 100/s; encode (2 x 3 + 2 x 6) / 10 questions; parse alone only
    assert level["efficiency"] == 1.5 and level["efficiency_bound"] == 2.0
    assert level["efficiency_bound_without_clients"] == 2.5  # 2 cores / 8 ms = 250/s over 100/s
    assert (level["encode_mean_batch"], level["encode_cpu_ms_per_question"], level["encode_cpu_ms_alone"]) == \
        (2.5, 1.8, 3.0)
    assert (level["parse_mean_batch"], level["parse_cpu_ms_per_question"], level["parse_cpu_ms_alone"]) == \
        (1.0, 2.5, 2.5)
    rows = load.load_rows(result)
    at = [r[0] for r in rows].index("rest 1w 20 clients p50 / p95 ms")
    assert rows[at + 1:at + 4] == [
        ("rest 1w 20 clients CPU ms per answer", "server 8.0 + clients 2.0", "in-process ask 11.60",
         "efficiency <= 2.0", "<= 2.5 with the clients elsewhere"),
        ("rest 1w 20 clients encode batches", "2.5 per batch", "CPU ms per question alone 3.0", "batched 1.8", ""),
        ("rest 1w 20 clients parse batches", "1.0 per batch", "CPU ms per question alone 2.5", "batched 2.5", "")]


def test_a_size_never_measured_leaves_the_batched_cost_out_and_an_uncharged_level_is_left_alone():
    level = {"clients": 20, "server_cpu_ms_per_answer": 5.0, "client_cpu_ms_per_answer": 5.0,
             "batches": {"encode": {"7": 1}}}
    load.budget(level, 2, 100.0, {"encode": {"1": 3.0}})
    assert level["efficiency_bound"] == 2.0 and level["encode_mean_batch"] == 7.0
    assert "encode_cpu_ms_per_question" not in level
    assert load.budget_rows("2", level, {"cpu_seconds_per_ask": 0.01})[1] == (
        "rest 2w 20 clients encode batches", "7.0 per batch", "CPU ms per question alone None", "batched None", "")
    plain = {"clients": 1, "throughput_per_s": 50.0}
    load.derive({"in_process": {"capacity_per_s": 100.0}, "runs": {"1": {"rest": [plain], "chat": [],
                                                                     "total_pss_mb": 1.0}}})
    assert plain == {"clients": 1, "throughput_per_s": 50.0, "efficiency": 0.5}
