"""The upload bench's repeats start from nothing (app/bench/upload.py)."""

from __future__ import annotations

from pathlib import Path

from app.bench.upload import _fresh


def test_every_repeat_gets_its_own_corpus_and_index_path(tmp_path: Path):
    """A repeat must not find the index, nor the `.builds` folder holding the embedding checkpoint,
    of the one before it: the bench once measured a reused build (5 s) against a real upload (95 s)."""
    first_corpus, first_index = _fresh(tmp_path, "cli")
    first_index.with_name("index.builds").mkdir()  # what a build leaves beside its index
    second_corpus, second_index = _fresh(tmp_path, "cli")
    assert first_corpus.is_dir() and second_corpus.is_dir()
    assert list(second_corpus.iterdir()) == []
    assert first_corpus.parent != second_corpus.parent
    assert not second_index.exists() and not second_index.with_name("index.builds").exists()
    assert (first_corpus.parent.name[:4], second_corpus.parent.name[:4]) == ("cli-", "cli-")
