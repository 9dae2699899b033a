"""The shelf: 21 freely licensed documents from Debian packages (PDF, HTML, Markdown, text; two
PDFs of 148 and 196 pages), built with a real model, verified, and asked the questions of
tests/data/shelf/questions.jsonl, written before the first run: each answer's first quote must
come from the document the question names. `make shelf-docs` installs the packages (CI does); without
them the tests skip and say why, except under CI, where they fail.

The shelf is English, and it is built with all-MiniLM-L6-v2 (the encoder for English-only corpora that
want its speed): multilingual-e5-small embeds passages about 4x slower, which would take this one build
past a quarter of CI's time."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.encoders import encoder
from app.index.verify import verify_index
from app.settings import MODEL_NAME, PROJECT_ROOT
from tests.conftest import assert_quotes_verbatim

# The shelf's index is kept here between runs: a rebuild re-embeds only documents whose bytes changed.
CACHE = PROJECT_ROOT / ".cache" / "shelf"

SHELF = Path(__file__).resolve().parent.parent / "data" / "shelf"
DOCUMENTS = json.loads((SHELF / "documents.json").read_text(encoding="utf-8"))["documents"]
QUESTIONS = [json.loads(line) for line in (SHELF / "questions.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
MISSING = sorted({d["package"] for d in DOCUMENTS if not Path(d["source"]).exists()})

pytestmark = [pytest.mark.model, pytest.mark.shelf, pytest.mark.timeout(3600)]


@pytest.fixture(autouse=True)
def shelf_packages() -> None:
    if MISSING:
        why = f"needs Debian packages {', '.join(MISSING)}: make shelf-docs"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)


def test_the_shelf_is_mixed_and_every_question_names_one_of_its_documents():
    names = [d["name"] for d in DOCUMENTS]
    assert len(names) == len(set(names)) >= 20
    assert {Path(n).suffix for n in names} == {".pdf", ".html", ".md", ".txt"}
    assert {q["doc"] for q in QUESTIONS} <= set(names)


def copy_shelf(corpus: Path) -> None:
    """The shelf's documents in `corpus` (emptied first), .gz sources unpacked."""
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for d in DOCUMENTS:
        source = Path(d["source"])
        if source.suffix == ".gz":
            (corpus / d["name"]).write_bytes(gzip.decompress(source.read_bytes()))
        else:
            shutil.copyfile(source, corpus / d["name"])


@pytest.fixture(scope="module")
def shelf() -> Assistant:
    corpus = CACHE / "corpus"
    copy_shelf(corpus)
    build_index(CACHE / "index", encoder(MODEL_NAME, "build"), corpus_dir=corpus)
    return Assistant.load(CACHE / "index", corpus_dir=corpus)


def test_the_shelf_builds_and_verifies(shelf: Assistant):
    assert sorted(d.doc for d in shelf.index.documents) == sorted(d["name"] for d in DOCUMENTS)
    assert verify_index(shelf.index.path) == []
    pages = {d.doc: len(d.pages or ()) for d in shelf.index.documents}
    assert pages["bash-reference-manual.pdf"] == 196 and pages["libgcrypt-reference-manual.pdf"] == 148


# Known misses, recorded after the first run (the questions were written before it); strict, so a fix shows.
# s17 ("Under the Apache License, what is a Contributor?", the GPL's definitions outranked Apache's) was
# fixed by mixing each passage with its whole document's BM25 (AnswerSettings.doc_weight, chosen on SciFact).
KNOWN_MISSES: dict[str, str] = {}


@pytest.mark.parametrize("q", [pytest.param(q, id=q["id"], marks=[pytest.mark.xfail(reason=KNOWN_MISSES[q["id"]],
                                                                                    strict=True)]
                                            if q["id"] in KNOWN_MISSES else []) for q in QUESTIONS])
def test_each_answer_quotes_the_document_that_answers(shelf: Assistant, q: dict):
    answer = shelf.ask(q["question"]).to_dict()
    assert_quotes_verbatim(answer, shelf)
    assert answer["quotes"] and answer["quotes"][0]["doc"] == q["doc"], answer["quotes"][:1]
