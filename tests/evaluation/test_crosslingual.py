"""The cross-lingual squad suite (app/evaluation/crosslingual.py) on a tiny XQuAD-like pair, hash embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import CorpusError
from app.evaluation.crosslingual import run_crosslingual
from app.evaluation.squad import run_squad
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings

TINY = Path(__file__).resolve().parent.parent / "data" / "xquad_tiny"
OPTIONS = {"embedder": HashEmbedder(), "answer_settings": AnswerSettings(threshold=0.0)}


def test_english_questions_score_exactly_as_the_squad_suite(tmp_path: Path):
    """Asked in the paragraphs' own language, the per-language figures equal the squad suite's (the reference)."""
    data = TINY / "xquad.en.dev.json"
    crossed = run_crosslingual(data, [data], cache_dir=tmp_path / "a", **OPTIONS)["languages"]["en"]
    plain = run_squad(data, modes=("hybrid",), cache_dir=tmp_path / "b", **OPTIONS)["modes"]["hybrid"]
    for key in ("answer_in_quote@1", "answer_in_quote@3", "paragraph@1"):
        assert crossed[key] == plain[key], key
    assert (crossed["questions"], crossed["faithfulness"]) == (3, 1.0)


def test_each_language_asks_its_own_texts_against_the_english_gold(tmp_path: Path):
    out = tmp_path / "out"
    result = run_crosslingual(TINY / "xquad.en.dev.json", [TINY / "xquad.ru.dev.json"], out_dir=out,
                              cache_dir=tmp_path / "c", **OPTIONS)
    assert list(result["languages"]) == ["ru"] and result["languages"]["ru"]["questions"] == 3
    rows = [json.loads(line) for line in (out / "crosslingual-xquad.en.dev-items.jsonl").read_text().splitlines()]
    assert [(r["id"], r["question"]) for r in rows] == [("q1", "Кто смотрит за колонией моржей?"),
                                                        ("q2", "Какой длины может вырасти бивень нарвала?"),
                                                        ("q3", "Когда построили маяк на мысе Зорро?")]
    assert "| ru |" in result["markdown"]


def test_a_questions_file_missing_an_id_is_refused_naming_it(tmp_path: Path):
    with pytest.raises(CorpusError, match="1 question id\\(s\\) of the paragraphs' file are missing, first 'q3'"):
        run_crosslingual(TINY / "xquad.en.dev.json", [TINY / "xquad.de.dev.json"], cache_dir=tmp_path, **OPTIONS)
