"""Building an index: reuse by content hash, build when missing (app/index/build.py)."""

from pathlib import Path

import numpy as np

from app.index.build import build_index, ensure_index
from app.index.embed import HashEmbedder
from app.index.store import load_index
from app.index.verify import verify_index
from app.settings import BuildSettings
from tests.conftest import CountingEmbedder


def test_rebuild_embeds_only_the_changed_document(tmp_path: Path, tiny_corpus: Path):
    index_dir = tmp_path / "idx"
    first = CountingEmbedder()
    build_index(index_dir, first, BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus)
    (tiny_corpus / "sub" / "budget.md").write_text("# Budget notes\n\nThe ministry spent nothing.\n")
    second = CountingEmbedder()
    built = build_index(index_dir, second, BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus)
    assert (built.embedded_documents, built.reused_documents) == (1, 2)
    assert second.seen == ["# Budget notes\n\nThe ministry spent nothing.", "# Budget notes",
                           "The ministry spent nothing."]
    assert verify_index(index_dir) == []
    # reused vectors equal freshly computed ones
    fresh_dir = tmp_path / "fresh"
    build_index(fresh_dir, HashEmbedder(), BuildSettings(chunk_max_words=30), corpus_dir=tiny_corpus)
    np.testing.assert_array_equal(load_index(index_dir).chunk_vectors, load_index(fresh_dir).chunk_vectors)


def test_ensure_index_builds_when_missing_and_skips_when_fresh(tmp_path: Path, tiny_corpus: Path):
    index_dir = tmp_path / "idx"
    assert ensure_index(index_dir, tiny_corpus, HashEmbedder()).chunks == 4
    assert ensure_index(index_dir, tiny_corpus, HashEmbedder()) is None


def test_ensure_index_can_leave_corpus_changes_to_a_background_build(tmp_path: Path, tiny_corpus: Path):
    index_dir = tmp_path / "idx"
    ensure_index(index_dir, tiny_corpus, HashEmbedder())
    (tiny_corpus / "late.txt").write_text("An upload stored before the server was killed.\n")
    assert ensure_index(index_dir, tiny_corpus, HashEmbedder(), defer_corpus_changes=True) is None
    assert ensure_index(index_dir, tiny_corpus, HashEmbedder(), BuildSettings(chunk_max_words=30),
                        defer_corpus_changes=True) is not None  # other settings: built before serving
