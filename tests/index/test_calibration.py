"""An index's calibration (`Calibration`, app/index/store.py): its model's defaults until one is chosen for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.errors import VerbatimError
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.index.store import STAND_IN, calibration_path, index_calibration, manifest_of, read_manifest
from app.index.store_write import write_calibration
from app.settings import AnswerSettings


@pytest.fixture
def index(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    build_index(folder, HashEmbedder(), documents=[document_from_text("a.txt", "The inspectors counted 212 men.")])
    return folder


def test_without_its_own_an_index_answers_with_its_models_defaults(index: Path):
    c = index_calibration(index, read_manifest(index))
    assert (c.source, c.threshold, c.floor) == ("model default", STAND_IN["threshold"], STAND_IN["floor"])
    s = Assistant.load(index, HashEmbedder()).settings
    assert (s.threshold, s.floor) == (STAND_IN["threshold"], STAND_IN["floor"])


def test_its_own_calibration_wins_and_survives_a_rebuild(index: Path):
    write_calibration(index, "test/hash-embedder-64", {"threshold": 0.5, "floor": 0.25, "chosen_on": "q.jsonl"})
    assert json.loads(calibration_path(index).read_text())["model"] == "test/hash-embedder-64"
    build_index(index, HashEmbedder(), documents=[document_from_text("a.txt", "The inspectors counted 300 men.")])
    assistant = Assistant.load(index, HashEmbedder())
    assert (assistant.calibration.source, assistant.settings.threshold, assistant.settings.floor) == ("index", 0.5,
                                                                                                      0.25)
    # settings given by hand win over the calibration; a floor is never above the threshold
    s = Assistant.load(index, HashEmbedder(), AnswerSettings(threshold=0.2)).settings
    assert (s.threshold, s.floor) == (0.2, 0.2)


def test_a_calibration_chosen_for_another_model_is_not_used(index: Path):
    write_calibration(index, "sentence-transformers/all-MiniLM-L6-v2", {"threshold": 0.5, "floor": 0.25})
    assert index_calibration(index, read_manifest(index)).source == "model default"


@pytest.mark.parametrize("content", ["", "{", '{"floor": 0.1, "model": "test/hash-embedder-64"}',
                                     '{"threshold": "high", "floor": 0.1, "model": "test/hash-embedder-64"}',
                                     '{"threshold": 0.2, "floor": 0.3, "model": "test/hash-embedder-64"}'])
def test_a_broken_calibration_is_an_error_not_a_default(index: Path, content: str):
    calibration_path(index).write_text(content, encoding="utf-8")
    with pytest.raises(VerbatimError, match="calibration"):
        index_calibration(index, read_manifest(index))


def test_an_index_built_with_another_encoder_is_stale_and_rebuilt(tmp_path: Path):
    """What `make serve` does when the default encoder changed: ensure_index rebuilds with the new one."""
    from app.index.build import ensure_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The inspectors counted 212 men.\n", encoding="utf-8")
    assert ensure_index(tmp_path / "i", corpus, HashEmbedder(64)) is not None
    assert ensure_index(tmp_path / "i", corpus, HashEmbedder(64)) is None  # fresh: nothing to do
    assert ensure_index(tmp_path / "i", corpus, HashEmbedder(32)) is not None  # another encoder: stale
    assert read_manifest(tmp_path / "i").model_name == "test/hash-embedder-32"


def test_an_index_recorded_with_other_default_calibration_is_stale(index: Path, tmp_path: Path):
    """The verdict's score or a model's defaults changed since the build: the index is rebuilt (its
    vectors reused), so it never answers with thresholds chosen for another score."""
    from app.index.e5 import E5_NAME
    from app.index.encoders import MODELS, default_calibration
    from app.index.verify import stale_reasons

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The inspectors counted 212 men.", encoding="utf-8")
    raw = read_manifest(index).raw
    old = {"threshold": 0.403001, "floor": 0.30034}
    manifest = manifest_of({**raw, "model": {"name": E5_NAME, "calibration": old}})
    assert stale_reasons(manifest, corpus) == [f"{E5_NAME}'s default calibration changed"]
    manifest = manifest_of({**raw, "model": {"name": E5_NAME, "calibration": default_calibration(MODELS[E5_NAME])}})
    assert stale_reasons(manifest, corpus) == []
    assert index_calibration(index, manifest).across_floor == MODELS[E5_NAME].across_floor
