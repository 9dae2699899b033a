"""The docs tell the truth: every `$ verbatim ask ...` block in docs/examples.md, run on the bundled report
with the default encoder, prints exactly the output written under it (marked `model`: one e5 build)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.conftest import REPO, build_report_index

pytestmark = pytest.mark.model

EXAMPLES = REPO / "docs" / "examples.md"
BLOCK = re.compile(r"```\n\$ (verbatim ask [^\n]+)\n(.*?)```", re.S)
# the confidence's last digit may move with the CPU's float rounding; the verdict, lines and quotes may not
CONFIDENCE = re.compile(r"\(confidence \d\.\d\d\)")


def examples() -> list[tuple[str, str]]:
    return BLOCK.findall(EXAMPLES.read_text(encoding="utf-8"))


def test_the_examples_are_there():
    assert len(examples()) >= 3


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    return build_report_index(tmp_path_factory)[0]


@pytest.mark.parametrize(("command", "expected"), examples(), ids=[c for c, _ in examples()])
def test_each_example_prints_what_the_docs_say(index: Path, command: str, expected: str):
    result = CliRunner().invoke(main, [*shlex.split(command)[1:], "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert CONFIDENCE.sub("(confidence …)", result.output) == CONFIDENCE.sub("(confidence …)", expected)
    assert CONFIDENCE.search(expected) is not None  # the docs show one
