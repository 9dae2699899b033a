"""What the user reads: `--help` shows whole descriptions, and counts match what was typed."""

import pytest
from click.testing import CliRunner

from app.answer.question import validate_question
from app.cli import index, main
from app.errors import QuestionError


@pytest.mark.parametrize("args, group", [([], main), (["index"], index)])
def test_help_lists_every_command_with_its_whole_first_sentence(args: list[str], group):
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    commands = result.output.split("Commands:\n", 1)[1]
    assert "..." not in commands and "\u2026" not in commands
    flat = " ".join(commands.split())  # the second column wraps; compare with whitespace collapsed
    for name in group.list_commands(None):
        first_line = group.get_command(None, name).help.split("\n\n")[0]
        assert f"{name} {' '.join(first_line.split())}" in flat


def test_help_of_ask_names_the_interactive_mode():
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert ("  ask     Answer QUESTION by quoting the report (no QUESTION and no --batch: ask\n"
            "          interactively).\n") in result.output


@pytest.mark.parametrize("question, typed", [
    ("x" * 2_999 + " ", "3,000"),          # the case: a trailing space counts
    ("  " + "x" * 2_001 + "\n", "2,004"),
    ("x" * 2_001, "2,001"),
])
def test_an_over_long_question_is_reported_at_the_length_typed(question: str, typed: str):
    with pytest.raises(QuestionError) as caught:
        validate_question(question, 2_000)
    assert str(caught.value) == f"the question is {typed} characters; the limit is 2,000. Shorten it and ask again"


def test_surrounding_spaces_do_not_push_a_question_over_the_limit():
    assert validate_question(" " + "x" * 2_000 + " ", 2_000) == "x" * 2_000
