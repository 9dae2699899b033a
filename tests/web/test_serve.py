"""`verbatim serve`: a missing index built before serving, the warning off loopback, and its settings for
Gradio (per-event analytics off, matplotlib's backend chosen up front)."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from app.index.embed import HashEmbedder

from .test_chat import write_corpus


def test_settle_gradio_sets_the_analytics_variables_and_keeps_an_operators_choice(monkeypatch):
    import matplotlib

    from app.web.serve import GRADIO_QUEUE_ENV, settle_gradio

    for name in GRADIO_QUEUE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_MAX_EVENTS", "5")  # an operator's own choice is kept
    settle_gradio()
    assert {name: os.environ[name] for name in GRADIO_QUEUE_ENV} == {
        "GRADIO_ANALYTICS_MAX_EVENTS": "5", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000000000"}
    assert matplotlib.get_backend().lower() == "agg"
    monkeypatch.delenv("GRADIO_ANALYTICS_MAX_EVENTS")
    settle_gradio()
    assert os.environ["GRADIO_ANALYTICS_MAX_EVENTS"] == "1"


def test_gradios_queue_takes_the_analytics_variables(monkeypatch):
    """That Gradio reads these two variables (gradio/queueing.py, when `queue()` makes its queue) is seen only
    on its private `_queue`: no public call or route reads back how many events the queue keeps, and the one
    route showing the summary's refresh (/monitoring/summary, with monitoring on) shows a summary that was not
    refreshed only as one that has not been refreshed yet, which is no condition a test can wait for."""
    import gradio as gr

    monkeypatch.setenv("GRADIO_ANALYTICS_MAX_EVENTS", "5")
    monkeypatch.setenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
    with gr.Blocks() as blocks:
        gr.Textbox()
    blocks.queue()
    assert (blocks._queue.ANALYTICS_MAX_EVENTS, blocks._queue.ANAYLTICS_CACHE_FREQUENCY) == (5, 10**9)


def test_serve_builds_a_missing_index_and_warns_off_loopback(tmp_path, monkeypatch):
    import app.index.embed
    import app.web.chat
    import app.web.server
    from app.cli import main

    launched = {}
    monkeypatch.setattr(app.index.embed, "SentenceTransformerEmbedder", HashEmbedder)
    monkeypatch.setattr(app.web.server, "launch",
                        lambda ui, host, port, **kw: launched.update(host=host, port=port, ui=ui))
    corpus = write_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "7999", "--index", str(index),
                                       "--corpus", str(corpus), "--feedback", str(tmp_path / "f.jsonl")])
    assert result.exit_code == 0, result.output
    assert "Warning: listening on 0.0.0.0, not loopback" in result.output
    assert (index / "manifest.json").exists()
    assert (launched["host"], launched["port"]) == ("0.0.0.0", 7999)
    launched["ui"].close()
    quiet = CliRunner().invoke(main, ["serve", "--index", str(index), "--corpus", str(corpus),
                                      "--feedback", str(tmp_path / "f.jsonl")])
    assert quiet.exit_code == 0, quiet.output
    assert "Warning" not in quiet.output and launched["host"] == "127.0.0.1"
    launched["ui"].close()


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("192.168.1.4", False),
                                            ("example.org", False)])
def test_is_loopback(host, loopback):
    from app.web.serve import is_loopback

    assert is_loopback(host) is loopback
