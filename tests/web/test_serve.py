"""`verbatim serve`'s settings for Gradio: per-event analytics off, matplotlib's backend chosen up front."""

from __future__ import annotations


def test_settle_gradio_turns_the_queues_per_event_summary_off(monkeypatch):
    import gradio as gr
    import matplotlib

    from app.web.serve import GRADIO_QUEUE_ENV, settle_gradio

    for name in GRADIO_QUEUE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_MAX_EVENTS", "5")  # an operator's own choice is kept
    settle_gradio()
    with gr.Blocks() as blocks:
        gr.Textbox()
    blocks.queue()
    queue = blocks._queue
    assert queue.ANALYTICS_MAX_EVENTS == 5 and queue.ANAYLTICS_CACHE_FREQUENCY == 10**9
    assert matplotlib.get_backend().lower() == "agg"
    monkeypatch.delenv("GRADIO_ANALYTICS_MAX_EVENTS")
    settle_gradio()
    with gr.Blocks() as fresh:
        gr.Textbox()
    fresh.queue()
    assert fresh._queue.ANALYTICS_MAX_EVENTS == 1
