"""A damaged index is set aside and rebuilt from the corpus by `ensure_index`, and so by `verbatim serve`.

A stale index (the corpus changed) is rebuilt in place with reuse; only damage is moved aside.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from click.testing import CliRunner

from app.index.build import build_index, ensure_index
from app.index.embed import HashEmbedder
from app.index.ingest import file_hashes
from app.index.store import load_index
from app.index.verify import verify_index
from tests.conftest import DATA, REPO


def _tiny(tmp_path: Path) -> tuple[Path, Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(DATA / "tiny", corpus)
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    return corpus, index, index.resolve()


def _aside(index: Path) -> list[Path]:
    return sorted(index.parent.glob(f"{index.name}.damaged-*"))


def test_cut_manifest_is_set_aside_with_one_log_line_and_rebuilt(tmp_path: Path, caplog):
    corpus, index, build = _tiny(tmp_path)
    cut = '{"format_version": '  # a manifest cut short, as by a full disk
    (build / "manifest.json").write_text(cut, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="app.index.build")

    built = ensure_index(index, corpus, HashEmbedder())

    assert built is not None and (built.documents, built.embedded_documents, built.reused_documents) == (3, 3, 0)
    [aside] = _aside(index)
    assert not build.exists() and (aside / "manifest.json").read_text(encoding="utf-8") == cut  # kept as found
    assert verify_index(index) == [] and load_index(index).manifest.documents == file_hashes(corpus)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"the index at {index} is damaged ({index}/manifest.json is unreadable "
                        "(Expecting value: line 1 column 20 (char 19))): "
                        f"moved it to {aside} and rebuilding from {corpus}"]


def test_a_flipped_byte_is_set_aside_and_nothing_of_it_is_reused(tmp_path: Path, caplog):
    corpus, index, build = _tiny(tmp_path)
    chunks = build / "chunks.jsonl"
    data = bytearray(chunks.read_bytes())
    data[40] ^= 1
    chunks.write_bytes(bytes(data))

    built = ensure_index(index, corpus, HashEmbedder())

    assert (built.embedded_documents, built.reused_documents) == (3, 0)
    [aside] = _aside(index)
    assert (aside / "chunks.jsonl").read_bytes() == bytes(data)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"the index at {index} is damaged (chunks.jsonl does not match its SHA-256): "
        f"moved it to {aside} and rebuilding from {corpus}"]
    assert verify_index(index) == []


def test_a_plain_folder_index_is_moved_aside_whole(tmp_path: Path):
    corpus, index, build = _tiny(tmp_path)
    index.unlink()
    shutil.move(build, index)  # an index that is a real folder, not a link to a build
    (index / "manifest.json").write_text("{", encoding="utf-8")

    ensure_index(index, corpus, HashEmbedder())

    [aside] = _aside(index)
    assert (aside / "manifest.json").read_text(encoding="utf-8") == "{" and (aside / "chunks.jsonl").is_file()
    assert index.is_symlink() and verify_index(index) == []


def test_a_stale_index_is_rebuilt_in_place_not_set_aside(tmp_path: Path, caplog):
    corpus, index, _ = _tiny(tmp_path)
    (corpus / "prisons.txt").write_text("Changed.\n", encoding="utf-8")

    built = ensure_index(index, corpus, HashEmbedder())

    assert (built.embedded_documents, built.reused_documents) == (1, 2)
    assert _aside(index) == [] and not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_fresh_index_is_left_alone(tmp_path: Path):
    corpus, index, build = _tiny(tmp_path)
    assert ensure_index(index, corpus, HashEmbedder()) is None
    assert index.resolve() == build and _aside(index) == []


def test_serve_without_corpus_rebuilds_a_cut_manifest_from_the_bundled_report(tmp_path: Path, recorded_serve):
    """`make serve` passes no --corpus: the corpus the manifest recorded cannot be read, so ./corpus is used."""
    from app.cli import main

    index = tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=REPO / "corpus")
    build = index.resolve()
    (build / "manifest.json").write_text((build / "manifest.json").read_text(encoding="utf-8")[:150],
                                         encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--index", str(index), "--feedback", str(tmp_path / "f.jsonl")])
    assert result.exit_code == 0, result.output
    assert "unreadable" not in result.output and result.output.startswith("indexed 1 document(s), ")
    [aside] = _aside(index)
    assert (aside / "manifest.json").stat().st_size == 150
    assistant = recorded_serve["assistant"].current()
    assert assistant.index.manifest.documents == file_hashes(REPO / "corpus")
    assert verify_index(index) == []
