"""Shared fixtures: a tiny corpus, a deterministic fake embedder, and indexes built in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.answer import Assistant
from app.build import build_index
from app.embed import HashEmbedder
from app.settings import AnswerSettings, BuildSettings

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "corpus" / "old-habits-kazakhstan-torture-rferl-interview.txt"


class CountingEmbedder(HashEmbedder):
    """A hash embedder that records every text it embeds."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.seen: list[str] = []

    def encode(self, texts, batch_size=32, progress=False):
        self.seen.extend(texts)
        return super().encode(texts, batch_size, progress)


def assert_quotes_verbatim(answer_dict: dict, assistant: Assistant) -> None:
    """Every quote equals its document's text at its offsets."""
    for q in answer_dict["quotes"]:
        assert assistant.index.document(q["doc"]).text[q["start"]:q["end"]] == q["text"]


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(DATA / "tiny", dest)
    return dest


@pytest.fixture
def tiny_index(tmp_path: Path, tiny_corpus: Path) -> Path:
    index_dir = tmp_path / "index" / "tiny"
    build_index(index_dir, HashEmbedder(), BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus)
    return index_dir


@pytest.fixture
def tiny_assistant(tiny_index: Path, tiny_corpus: Path) -> Assistant:
    # floor == threshold: two verdicts (answered / not_found); tests of "uncertain" set a floor below
    return Assistant.load(tiny_index, settings=AnswerSettings(threshold=0.2, floor=0.2), corpus_dir=tiny_corpus)
