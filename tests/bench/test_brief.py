"""The bench section "brief": a briefing read from the index against ranking it at ask time."""


def test_brief_section_times_every_document_and_budget(tiny_assistant):
    from app.bench.brief import BUDGETS, bench_brief, brief_rows

    figures = bench_brief(tiny_assistant.index, repeats=2)
    assert (figures["documents"], figures["budgets"], figures["goal_read_ms"]) == (3, list(BUDGETS), 5.0)
    assert figures["read"]["n"] == 2 * 3 * len(BUDGETS) and figures["ranked_at_ask_time"]["n"] == 2 * 3
    assert brief_rows(figures)[0][0] == "briefing read from the index, 3 doc(s) x 4 budgets, p50 / p95 ms"
