"""Checking an index: freshness against the corpus and the full verify (app/index/verify.py)."""

from pathlib import Path

import pytest

from app.errors import IndexCorruptError, IndexStaleError
from app.index.store import load_index, read_manifest
from app.index.verify import ensure_fresh, stale_reasons, verify_index


def test_verify_passes_on_a_fresh_build(tiny_index: Path):
    assert verify_index(tiny_index) == []


def test_changed_corpus_makes_the_index_stale_with_the_fix_named(tiny_index: Path, tiny_corpus: Path):
    (tiny_corpus / "prisons.txt").write_text("Changed.\n")
    (tiny_corpus / "new.txt").write_text("New.\n")
    assert stale_reasons(read_manifest(tiny_index), tiny_corpus) == ["new.txt is new", "prisons.txt has changed"]
    with pytest.raises(IndexStaleError, match=r"run `verbatim index build --corpus .* --index .*` to rebuild it"):
        ensure_fresh(tiny_index, tiny_corpus)


def test_flipped_bytes_are_caught_by_checksums(tiny_index: Path):
    target = tiny_index.resolve() / "chunks.jsonl"
    data = bytearray(target.read_bytes())
    data[20] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="chunks.jsonl does not match its SHA-256"):
        load_index(tiny_index)
    assert verify_index(tiny_index) == ["chunks.jsonl does not match its SHA-256"]
