"""Files: write a file whole or not at all (temporary file in the same folder, then `os.replace`),
and JSON lines (one object a line) read and written in one place.

>>> import tempfile; from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> write_atomic(folder / "a" / "b.txt", "hello"); (folder / "a" / "b.txt").read_text()
'hello'
>>> write_jsonl(folder / "rows.jsonl", [{"n": 1}, {"n": 2}]); read_jsonl(folder / "rows.jsonl")
[{'n': 1}, {'n': 2}]
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path`, creating its folder; a crash leaves the old file or none,
    never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write one JSON object a line (UTF-8, not ASCII-escaped)."""
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path, error: type[Exception] = ValueError) -> list[dict]:
    """The objects of a JSON-lines file, blank lines skipped; a bad line raises `error` naming `path:line`."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{n}: not valid JSON ({exc.msg}); fix or remove that line") from None
    return rows
