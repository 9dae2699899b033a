"""The briefing ranking: candidates, LexRank, MMR order, stored in the index and recomputed per build."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.errors import IndexStaleError
from app.index.briefing import RANKING_SETTINGS, RankParams, candidates, centrality, rank_vectors
from app.index.build import build_index, ensure_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.index.store import load_index, manifest_of
from app.index.verify import ensure_fresh, stale_reasons

INTERVIEW = ("Prison Review\n\n"
             "Interviewer: The ministry says all is well. Is that true?\n\n"
             "Inspectors counted 212 prisoners in Karaganda in March 2024.")


def test_candidates_leave_out_headings_and_every_sentence_of_a_question_turn():
    doc = document_from_text("i.txt", INTERVIEW)
    spans = np.array([[0, 13, 1], [15, 58, 2], [59, 72, 2], [74, 134, 3]])
    assert [doc.text[s:e] for s, e, _ in spans.tolist()] == [
        "Prison Review", "Interviewer: The ministry says all is well.", "Is that true?",
        "Inspectors counted 212 prisoners in Karaganda in March 2024."]
    assert candidates(doc, spans).tolist() == [3]


def test_lexrank_of_a_star_graph_by_hand():
    # centre 0 linked to 1 and 2 (cosine 0.7071 each), 1 and 2 orthogonal. Walk rows: 0 -> 1, 2 halves;
    # 1 -> 0, 2 -> 0. With damping d = 0.85: c1 = c2 = 0.05 + 0.85 * c0 / 2 and c0 = 1 - 2 c1,
    # c0 = 0.05 + 0.85 (c1 + c2) and c0 + 2 c1 = 1, so c1 = 0.95 / 3.7 = 0.25676, c0 = 0.48649;
    # scaled to the maximum: [1, 0.52778, 0.52778]
    v = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    v[0] /= np.linalg.norm(v[0])
    sims = v @ v.T
    assert sims[0, 1] == pytest.approx(0.7071, abs=1e-4) and sims[0, 2] == sims[0, 1] and sims[1, 2] == 0.0
    assert centrality(v).round(4).tolist() == [1.0, 0.5278, 0.5278]


def test_mmr_takes_the_sentence_apart_before_the_twin():
    v = np.array([[1, 0], [1, 0], [0, 1]], np.float32)
    # relevance (no features): [1.25, 1.2419, 0.3844]; after 0, the twin's gain 0.4 * 1.2419 - 0.6 = -0.10
    # loses to the one apart: 0.4 * 0.3844 = 0.154
    order, relevance = rank_vectors(v)
    assert order.tolist() == [0, 2, 1]
    assert [round(x, 4) for x in relevance.tolist()] == [1.25, 0.3844, 1.2419]
    assert rank_vectors(v, RankParams(mmr_lambda=1.0))[0].tolist() == [0, 1, 2]  # relevance alone


def test_the_ranking_is_stored_and_recomputed_when_a_document_is_added(tmp_path: Path):
    first = document_from_text("a.txt", "Guards beat several men in the yard that winter. "
                                        "Nobody was ever punished for it later.")
    second = document_from_text("b.txt", "The new prison in Pavlodar opened in 2020 with 300 cells.")
    build_index(tmp_path / "i", HashEmbedder(), documents=[first])
    index = load_index(tmp_path / "i")
    assert sorted(index.briefing[:, 0].tolist()) == [0, 1] and index.briefing[:, 1].tolist() in ([9, 7], [7, 9])
    assert index.manifest.briefing == RANKING_SETTINGS
    build_index(tmp_path / "i", HashEmbedder(), documents=[first, second])
    index = load_index(tmp_path / "i")
    assert index.manifest.counts["reused_documents"] == 1
    assert index.briefing_bounds.tolist() == [0, 2, 3]
    assert index.briefing[2].tolist() == [2, 11]
    assert (tmp_path / "i" / "briefing.npy").is_file() and (tmp_path / "i" / "briefing_scores.npy").is_file()


def test_an_index_ranked_by_another_method_is_stale_and_a_rebuild_reuses_its_vectors(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Guards beat several men in the yard that winter.", encoding="utf-8")
    build_index(tmp_path / "i", HashEmbedder(), corpus_dir=corpus)
    manifest_path = (tmp_path / "i").resolve() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["briefing"] = {**manifest["briefing"], "mmr_lambda": 0.9}
    manifest_path.write_text(json.dumps(manifest))
    assert stale_reasons(manifest_of(manifest), corpus) == ["the briefing ranking changed"]
    with pytest.raises(IndexStaleError, match="briefing ranking changed"):
        ensure_fresh(tmp_path / "i", corpus)
    report = ensure_index(tmp_path / "i", corpus, HashEmbedder())
    assert report is not None and (report.embedded_documents, report.reused_documents) == (0, 1)
    assert load_index(tmp_path / "i").manifest.briefing == RANKING_SETTINGS


def test_without_sentence_vectors_the_ranking_is_the_lead(tmp_path: Path):
    from app.settings import BuildSettings

    text = ("Guards beat several men in the yard that winter. Nobody was ever punished for it later.\n\n"
            "The new prison in Pavlodar opened in 2020 with 300 cells.")
    build_index(tmp_path / "i", HashEmbedder(), BuildSettings(embed_sentences=False),
                documents=[document_from_text("a.txt", text)])
    index = load_index(tmp_path / "i")
    assert index.sentence_vectors is None
    assert index.briefing.tolist() == [[0, 9], [1, 7], [2, 11]]  # document order
    # scores: the position prior alone, 0.25 / (1 + i / 30)
    assert [round(x, 4) for x in index.briefing_scores.tolist()] == [0.25, 0.2419, 0.2344]
