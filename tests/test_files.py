"""Writing whole files and JSON lines (app/files.py)."""

from pathlib import Path

import pytest

from app.files import atomic_path, read_jsonl, write_atomic, write_jsonl


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    target = tmp_path / "a.txt"
    write_atomic(target, "old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_json_lines_round_trip_and_a_bad_line_is_named(tmp_path: Path):
    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"text": "naïve"}, {"n": 2}])
    assert path.read_text(encoding="utf-8") == '{"text": "naïve"}\n{"n": 2}\n'  # UTF-8, not escaped
    assert read_jsonl(path) == [{"text": "naïve"}, {"n": 2}]
    path.write_text('{"n": 1}\n\n{"n": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"rows.jsonl:3: not valid JSON \(Expecting value\); fix or remove that line"):
        read_jsonl(path)
