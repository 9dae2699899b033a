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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` (its folder created) for a writer that wants a file name; when
    the block ends it replaces `path` in one `os.replace`, and when the block raises it is removed.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "model.onnx"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_bytes(b"weights")
    >>> target.read_bytes(), [p.name for p in target.parent.iterdir()]
    (b'weights', ['model.onnx'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path`, creating its folder; a crash leaves the old file or none,
    never half of one."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


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


FIGURES_HEADER = ("# Figures\n\nGenerated: each section is written by the command named in it (with "
                  "`--figures docs/figures.md`), on the machine and at the commit it names. Do not edit by hand.\n")


def publish_section(path: Path, name: str, markdown: str) -> None:
    """Write `markdown` as the section `name` of the generated page at `path`, replacing that section
    and keeping the others, atomically.

    >>> import tempfile
    >>> page = Path(tempfile.mkdtemp()) / "figures.md"
    >>> publish_section(page, "eval report", "## Report\\n1")
    >>> publish_section(page, "bench", "## Bench\\n2")
    >>> publish_section(page, "eval report", "## Report\\n3")
    >>> [line for line in page.read_text().splitlines() if line.startswith("## ") or line.isdigit()]
    ['## Report', '3', '## Bench', '2']
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else FIGURES_HEADER
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = old.rstrip("\n") + "\n\n" + block + "\n"
    write_atomic(path, text)
