"""The docs tell the truth and stay short: every `$ verbatim ask ...` block in docs/examples.md, run on the
bundled report with the default encoder, prints exactly the output written under it (marked `model`: one e5
build); the README's JSON contract table names exactly the keys an answer and its quotes have; the README and
docs/ keep within issue 28's sizes; every relative link points at a file (and heading) that exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.conftest import REPO, build_report_index

DOCS = REPO / "docs"
EXAMPLES = DOCS / "examples.md"
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


@pytest.mark.model
@pytest.mark.parametrize(("command", "expected"), examples(), ids=[c for c, _ in examples()])
def test_each_example_prints_what_the_docs_say(index: Path, command: str, expected: str):
    result = CliRunner().invoke(main, [*shlex.split(command)[1:], "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert CONFIDENCE.sub("(confidence …)", result.output) == CONFIDENCE.sub("(confidence …)", expected)
    assert CONFIDENCE.search(expected) is not None  # the docs show one


# issue 28: "README <= 10 KB; docs/ text <= 60 KB" (every .md under docs/, the generated figures.md included)
README_MAX_BYTES = 10_000
DOCS_MAX_BYTES = 60_000
LINK = re.compile(r"!?\[(?:[^\[\]\n]|\[[^\]\n]*\])*\]\(([^)\s]+)\)")  # link text may hold "[n]"


def test_the_readme_and_the_docs_keep_within_their_sizes():
    readme = (REPO / "README.md").stat().st_size
    docs = {str(p.relative_to(REPO)): p.stat().st_size for p in sorted(DOCS.rglob("*.md"))}
    assert readme <= README_MAX_BYTES, f"README.md is {readme:,} bytes, over {README_MAX_BYTES:,}"
    assert sum(docs.values()) <= DOCS_MAX_BYTES, f"docs/ holds {sum(docs.values()):,} bytes of text: {docs}"


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it.

    >>> slug("## What holds, and the test that shows it"), slug("## `verbatim bench`")
    ('what-holds-and-the-test-that-shows-it', 'verbatim-bench')
    """
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def local_links(page: Path) -> list[str]:
    """The links of a Markdown page that point into the repository (not URLs, not a page's own anchors)."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code is not prose
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:|#", t)]


PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_relative_link_points_at_a_file_that_exists(page: Path):
    broken = []
    for target in local_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve()
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ .+$", file.read_text(encoding="utf-8"), flags=re.M)
            if anchor not in {slug(h) for h in headings}:
                broken.append(target)
    assert not broken, f"{page.relative_to(REPO)} links to what does not exist: {broken}"


def test_the_link_check_sees_links():
    links = local_links(REPO / "README.md")
    assert "docs/design.md" in links and "docs/screenshot.png" in links


# the README's JSON contract table against what `ask` returns
CONTRACT_ROW = re.compile(r"^\| `([a-z_]+)(?:\[\]\.([a-z_]+))?`((?:, `?\.[a-z_]+`?)*) \| ([^|]+) \|", re.M)


def contract() -> tuple[dict[str, bool], dict[str, bool]]:
    """The README's keys of an answer and of a quote, each with whether the table calls it optional."""
    top: dict[str, bool] = {}
    quote: dict[str, bool] = {}
    for key, sub, more, kind in CONTRACT_ROW.findall((REPO / "README.md").read_text(encoding="utf-8")):
        optional = "optional" in kind
        if sub:
            quote.update(dict.fromkeys([sub, *re.findall(r"\.([a-z_]+)", more)], optional))
        else:
            top[key] = optional
    return top, quote


def test_the_readmes_contract_names_every_key_an_answer_has(tmp_path):
    from app.answer.loading import assistant_over_texts
    from tests.conftest import REPORT

    top, quote = contract()
    assert set(top) == {"question", "answered", "verdict", "confidence", "message", "quotes", "language",
                        "resolved_question", "per_document"}
    assert set(quote) == {"n", "text", "doc", "start", "end", "paragraph", "page", "score", "answer"}
    assistant = assistant_over_texts(tmp_path, {REPORT.name: REPORT.read_text(encoding="utf-8")})
    answers = [assistant.ask("How many people were arrested on charges of organizing the violence?"),
               assistant.ask("Сколько человек было арестовано?"),
               assistant.ask("What happened to them?", history=["How many people were arrested?"])]
    for answer in (a.to_dict() for a in answers):
        assert {k for k, optional in top.items() if not optional} <= set(answer) <= set(top), answer.keys()
        for q in answer["quotes"]:
            assert {k for k, optional in quote.items() if not optional} <= set(q) <= set(quote), q.keys()
    assert {"language", "resolved_question"} <= {k for a in answers for k in a.to_dict()}
