"""Builds in a child process: the same index as a build in this process, refusals and errors handed back,
and a build process that is killed, stopped or orphaned leaves the previous index as it was."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from app.errors import DocumentRefused, IndexBuildError
from app.index.build import build_index
from app.index.build_process import ChildBuild, build_request
from app.index.embed import HashEmbedder
from app.index.store import load_index

from . import build_jobs

HASH = HashEmbedder().name  # made again by name in the build process (app/index/encoders.py)
FIRST = "The first report found that prisoners waited six weeks to see a doctor.\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "first.txt").write_text(FIRST)
    return tmp_path / "corpus"


def test_a_build_in_another_process_equals_one_in_this_process(corpus: Path, tmp_path: Path):
    report = ChildBuild(build_request(tmp_path / "child", corpus, HASH)).result()
    assert report["pid"] != os.getpid()
    assert (report["documents"], report["embedded_documents"], report["reused_documents"]) == (1, 1, 0)
    assert report["path"] == str(tmp_path / "child")
    build_index(tmp_path / "here", HashEmbedder(), corpus_dir=corpus)
    child, here = load_index(tmp_path / "child"), load_index(tmp_path / "here")
    assert child.manifest.model == here.manifest.model
    assert [c.text for c in child.chunks] == [c.text for c in here.chunks] == [FIRST.strip()]
    assert np.array_equal(child.chunk_vectors, here.chunk_vectors)
    assert np.array_equal(child.entities, here.entities)


def test_a_refusal_and_an_error_come_back_as_they_were_raised(corpus: Path, tmp_path: Path):
    (corpus / "big.txt").write_text(" ".join(f"Sentence {i} is about the harbour." for i in range(60)))
    with pytest.raises(DocumentRefused) as refused:
        ChildBuild(build_request(tmp_path / "index", corpus, HASH), build_jobs.tight_ner_budget).result()
    assert refused.value.doc == "big.txt"
    assert str(refused.value) == ("big.txt: named-entity recognition took over its -1 s budget; "
                                  "the document is refused (remove or split it)")
    with pytest.raises(IndexBuildError) as failed:
        ChildBuild(build_request(tmp_path / "index", tmp_path / "nowhere", HASH)).result()
    assert str(failed.value) == (f"corpus folder {tmp_path / 'nowhere'} does not exist; "
                                 "pass --corpus DIR with your reports")
    assert not (tmp_path / "index").exists()


def test_a_build_process_killed_midway_leaves_the_previous_index(corpus: Path, tmp_path: Path):
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=corpus)
    before = os.path.realpath(tmp_path / "index")
    (corpus / "second.txt").write_text("The second report counted 212 prisoners.\n")
    build = ChildBuild(build_request(tmp_path / "index", corpus, HASH), build_jobs.pause)
    pid = build_jobs.paused_pid(tmp_path)
    assert pid == build.process.pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(IndexBuildError) as killed:
        build.result()
    assert str(killed.value) == "the build process was killed by SIGKILL before it finished; the index is unchanged"
    assert os.path.realpath(tmp_path / "index") == before
    assert [d.doc for d in load_index(tmp_path / "index").documents] == ["first.txt"]


def test_stop_ends_the_build_process(corpus: Path, tmp_path: Path):
    build = ChildBuild(build_request(tmp_path / "index", corpus, HASH), build_jobs.pause)
    pid = build_jobs.paused_pid(tmp_path)
    build.stop()
    assert build.process.exitcode == -signal.SIGTERM and not build_jobs.running(pid)
    with pytest.raises(IndexBuildError, match="^the build process was killed by SIGTERM before it finished"):
        build.result()


def test_a_build_process_ends_when_the_process_that_started_it_dies(corpus: Path, tmp_path: Path):
    parent = multiprocessing.get_context("spawn").Process(
        target=build_jobs.start_a_paused_build, args=(build_request(tmp_path / "index", corpus, HASH),))
    parent.start()
    try:
        pid = build_jobs.paused_pid(tmp_path)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.join()
    assert build_jobs.wait_for(lambda: not build_jobs.running(pid), 30), f"build process {pid} outlived its parent"
    assert not (tmp_path / "index").exists()
