"""Building an index: reuse by content hash, build when missing (app/index/build.py)."""

from pathlib import Path

import numpy as np

from app.index.build import build_index, ensure_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
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


def test_each_document_language_is_read_once_recorded_and_followed(tmp_path: Path, monkeypatch):
    first = "В декабре 2011 г. полиция задержала в Жанаозене шестнадцать активистов."
    ru = document_from_text("ru.txt", f"{first} Их держали в изоляторе на ул. Ленина три дня.")
    en = document_from_text("en.txt", "The police detained sixteen activists in Zhanaozen in December 2011.")
    build_index(tmp_path / "idx", HashEmbedder(), documents=[ru, en])
    index = load_index(tmp_path / "idx")
    assert {d.doc: d.language for d in index.documents} == {"ru.txt": "ru", "en.txt": "en"}
    assert index.manifest.raw["bm25"]["stemmers"] == {"en": "snowball-english", "ru": "snowball-russian"}
    assert index.sentences[0, :3].tolist() == [0, 0, len(first)]  # Russian rules: "г." ends no sentence
    read: list[str] = []
    monkeypatch.setattr("app.index.build.text_language", lambda runtime, text: read.append(text) or "en")
    new = document_from_text("new.txt", "Sixteen activists were held for three days.")
    build_index(tmp_path / "idx", HashEmbedder(), documents=[ru, en, new])
    assert read == [new.text]  # unchanged documents keep the language their first build read
    assert [d.language for d in load_index(tmp_path / "idx").documents] == ["ru", "en", "en"]
