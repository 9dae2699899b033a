import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main


@pytest.fixture
def cli(monkeypatch) -> CliRunner:
    monkeypatch.setenv("VERBATIM_MODEL", "test/hash-embedder-64")
    return CliRunner()


@pytest.fixture
def built(cli: CliRunner, tmp_path: Path, tiny_corpus: Path) -> Path:
    index_dir = tmp_path / "idx"
    result = cli.invoke(main, ["index", "build", "--corpus", str(tiny_corpus), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "indexed 3 document(s), 4 chunks, 19 sentences" in result.output
    assert "embedded 3, reused 0 unchanged document(s)" in result.output
    return index_dir


def test_rebuild_says_how_many_documents_it_reused(cli, built: Path, tiny_corpus: Path):
    result = cli.invoke(main, ["index", "build", "--corpus", str(tiny_corpus), "--index", str(built)])
    assert "embedded 0, reused 3 unchanged document(s)" in result.output


def test_status_and_verify(cli, built: Path, tiny_corpus: Path):
    status = cli.invoke(main, ["index", "status", "--index", str(built)])
    assert status.exit_code == 0 and f"up to date with {tiny_corpus.resolve()}" in status.output
    verify = cli.invoke(main, ["index", "verify", "--index", str(built)])
    assert verify.exit_code == 0 and "ok: 4 chunks and 19 sentences match their documents" in verify.output
    (tiny_corpus / "prisons.txt").write_text("Edited.\n")
    stale = cli.invoke(main, ["index", "status", "--index", str(built)])
    assert stale.exit_code == 1
    assert "prisons.txt has changed" in stale.output and "verbatim index build" in stale.output


def test_ask_json_honours_the_contract(cli, built: Path):
    result = cli.invoke(main, ["ask", "How much was spent on prison food?", "--index", str(built), "--json", "-k", "2"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert list(answer) == ["question", "answered", "verdict", "confidence", "message", "quotes"]
    assert answer["quotes"][0]["text"] == "The ministry spent 3.2 million dollars on prison food in 2023."
    assert len(answer["quotes"]) <= 2


@pytest.mark.parametrize("k", ["0", "51"])
def test_k_out_of_the_one_range_is_a_usage_error(cli, k: str):
    from app.settings import MAX_K, MIN_K

    result = cli.invoke(main, ["ask", "Who?", "-k", k])  # refused before any index is read
    assert result.exit_code == 2 and f"{k} is not in the range {MIN_K}<=x<={MAX_K}" in result.output


def test_ask_readable(cli, built: Path):
    result = cli.invoke(main, ["ask", "How much was spent on prison food?", "--index", str(built)])
    # the answer span between » and «
    assert "[1] \u201cThe ministry spent \u00bb3.2 million dollars\u00ab on prison food in 2023.\u201d" in result.output
    assert "sub/budget.md, paragraph 2, characters 16\u201378" in result.output


def test_batch_keeps_order_echoes_ids_and_reports_bad_lines(cli, built: Path, tmp_path: Path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "How much was spent on prison food?"}\n'
                     "When did the visit take place?\n\n"
                     '{"id": 7, "question": "   "}\n', encoding="utf-8")
    result = cli.invoke(main, ["ask", "--batch", str(batch), "--index", str(built)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, 7]
    assert [r["question"] for r in rows[:2]] == ["How much was spent on prison food?", "When did the visit take place?"]
    assert rows[2]["error"].startswith("the question is empty") and rows[2]["quotes"] == []


def test_search_batch(cli, built: Path, tmp_path: Path):
    batch = tmp_path / "q.txt"
    batch.write_text("prison food budget\ninsulin\n")
    result = cli.invoke(main, ["search", "--batch", str(batch), "--index", str(built), "-k", "1"])
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["hits"][0]["doc"] for r in rows] == ["sub/budget.md", "prisons.txt"]


@pytest.mark.parametrize("args, message", [
    (["ask", ""], "Error: the question is empty"),
    (["ask", "x" * 100_000], "Error: the question is 100,000 characters; the limit is 2,000"),
    (["ask", "a\x00b"], "Error: the question contains control characters (U+0000)"),
])
def test_bad_questions_exit_1_with_one_line(cli, built: Path, args, message):
    result = cli.invoke(main, args + ["--index", str(built)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message)


def test_missing_index_and_missing_corpus(cli, tmp_path: Path):
    missing = cli.invoke(main, ["ask", "hello", "--index", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no index at" in missing.output and "verbatim index build" in missing.output
    args = ["index", "build", "--corpus", str(tmp_path / "nocorpus"), "--index", str(tmp_path / "i")]
    no_corpus = cli.invoke(main, args)
    assert no_corpus.exit_code == 1 and "does not exist" in no_corpus.output
    assert not (tmp_path / "i").exists()


def test_non_utf8_corpus_file_fails_the_build_naming_it(cli, tmp_path: Path, tiny_corpus: Path):
    (tiny_corpus / "latin.txt").write_bytes(b"caf\xe9")
    result = cli.invoke(main, ["index", "build", "--corpus", str(tiny_corpus), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1 and "latin.txt: not valid UTF-8" in result.output
    assert "Traceback" not in result.output


def test_print_answer_marks_the_answer_span_inside_the_quote(capsys):
    from app.answer.answer import Answer
    from app.answer.quote import Quote
    from app.cli import print_answer

    quote = Quote(1, "there were about 16 people who were arrested", "r.txt", 900, 944, 8, None, 0.6, (917, 919))
    assert quote.to_dict()["answer"] == {"text": "16", "start": 917, "end": 919}
    print_answer(Answer("How many were arrested?", "[1] x", [quote], verdict="answered", confidence=0.8))
    out = capsys.readouterr().out
    assert "[1] \u201cthere were about \u00bb16\u00ab people who were arrested\u201d" in out
    assert "verdict: answered (confidence 0.80)" in out
    with pytest.raises(ValueError, match="outside quote"):
        Quote(1, "x", "r.txt", 10, 11, 1, None, 0.1, (5, 12))


def test_brief_json_is_the_briefing_of_the_index(cli, built: Path):
    from app.answer.briefing import briefing
    from app.index.store import load_index

    result = cli.invoke(main, ["brief", "--index", str(built), "--doc", "prisons.txt", "--words", "40", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out == briefing(load_index(built), "prisons.txt", 40).to_dict()
    assert (out["doc"], out["words"]) == ("prisons.txt", 40) and out["points"]
    assert sum(len(p["text"].split()) for p in out["points"]) <= 40
    whole = json.loads(cli.invoke(main, ["brief", "--index", str(built), "--json"]).output)
    assert (whole["doc"], whole["words"]) == (None, 120)
    assert {p["doc"] for p in whole["points"]} == {"prisons.txt", "sub/budget.md", "page.html"}


def test_brief_readable_and_its_errors(cli, built: Path):
    result = cli.invoke(main, ["brief", "--index", str(built), "--doc", "sub/budget.md", "--words", "30"])
    assert result.exit_code == 0 and "[1] \u201cThe ministry spent 3.2 million dollars on prison food in 2023.\u201d" \
        in result.output
    bad = cli.invoke(main, ["brief", "--index", str(built), "--words", "5"])
    assert bad.exit_code == 2 and "words 5 is out of range; give one from 10 to 2000" in bad.output
    unknown = cli.invoke(main, ["brief", "--index", str(built), "--doc", "nope.txt"])
    assert unknown.exit_code == 2 and "no document 'nope.txt' in the index" in unknown.output


def test_ask_summarize_answers_with_the_briefing(cli, built: Path):
    brief = json.loads(cli.invoke(main, ["brief", "--index", str(built), "--json"]).output)
    result = cli.invoke(main, ["ask", "Summarize the report", "--index", str(built), "--json"])
    answer = json.loads(result.output)
    assert (answer["verdict"], answer["quotes"]) == ("answered", brief["points"])
    text = cli.invoke(main, ["ask", "Summarize the report", "--index", str(built)]).output
    assert text.splitlines()[:4] == ["Q: Summarize the report", "verdict: answered (confidence 1.00)", "",
                                     "These are the report's key passages, quoted verbatim in the order they appear:"]


def test_ask_history_file_makes_each_question_a_follow_up(cli, built: Path, tmp_path: Path):
    history = tmp_path / "history.txt"
    history.write_text("How many prisoners were held in the cells?\n\n", encoding="utf-8")  # blank lines skipped
    batch = tmp_path / "q.txt"
    batch.write_text("And their capacity?\nHow much was spent on prison food?\n", encoding="utf-8")
    result = cli.invoke(main, ["ask", "--batch", str(batch), "--history", str(history), "--index", str(built)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    # "their": the prisoners the earlier question asked about; a question that stands alone is not resolved
    assert [r.get("resolved_question") for r in rows] == ["And the prisoners' capacity?", None]
    assert rows[0]["message"].startswith("Understood as: And the prisoners' capacity?\n")
    one = cli.invoke(main, ["ask", "And their capacity?", "--json", "--history", str(history), "--index", str(built)])
    assert json.loads(one.output) == rows[0]  # a batch row is the single question's answer
    readable = cli.invoke(main, ["ask", "And their capacity?", "--history", str(history), "--index", str(built)])
    assert "\nUnderstood as: And the prisoners' capacity?\n" in readable.output
    alone = cli.invoke(main, ["ask", "And their capacity?", "--json", "--index", str(built)])
    assert "resolved_question" not in json.loads(alone.output)


def test_a_bad_history_file_is_refused_in_one_line(cli, built: Path, tmp_path: Path):
    long, binary = tmp_path / "long.txt", tmp_path / "binary.txt"
    long.write_text("Who visited?\n" * 11, encoding="utf-8")
    binary.write_bytes(b"\xff\xfe prisons\n")
    one = cli.invoke(main, ["ask", "Why?", "--history", str(long), "--index", str(built)])
    assert (one.exit_code, one.output.strip()) == (1, "Error: the history holds 11 questions; the limit is 10")
    batch = tmp_path / "q.txt"
    batch.write_text("Why?\n", encoding="utf-8")
    rows = cli.invoke(main, ["ask", "--batch", str(batch), "--history", str(long), "--index", str(built)])
    assert json.loads(rows.output)["error"] == "the history holds 11 questions; the limit is 10"
    bad = cli.invoke(main, ["ask", "Why?", "--history", str(binary), "--index", str(built)])
    assert (bad.exit_code, bad.output.strip()) == (1, f"Error: {binary} is not UTF-8 text")
