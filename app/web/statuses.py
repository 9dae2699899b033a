"""Upload statuses that survive a restart: a small JSON file beside the index, written atomically.

`<index>.uploads.json` (beside `<index>.builds/`, whose cleaner removes what it does not know) holds
`{"format": 1, "documents": {name: status}}`, where a status is one of `STATES` or "failed: <reason>":
"indexing" (stored, not yet answerable), "ready" (answerable: the build that holds it is swapped in),
"removed" (out of the corpus, and out of the index once its build lands). An unreadable file is logged
and read as empty: statuses are a report, never a reason not to serve.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from app.files import write_atomic

log = logging.getLogger(__name__)

STATES = ("indexing", "ready", "removed")
FORMAT = 1


def statuses_path(index_dir: Path) -> Path:
    """Where the statuses of the uploads to `index_dir` are kept.

    >>> statuses_path(Path("index/default")).as_posix()
    'index/default.uploads.json'
    """
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.uploads.json"


def read_statuses(path: Path) -> dict[str, str]:
    """The statuses kept at `path` (none when it is missing or unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        documents = data["documents"] if data.get("format") == FORMAT else None
        if isinstance(documents, dict) and all(isinstance(v, str) for v in documents.values()):
            return {str(k): v for k, v in documents.items()}
        log.warning("upload statuses at %s are not format %d; starting with none", path, FORMAT)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError, KeyError) as exc:
        log.warning("cannot read upload statuses at %s (%s); starting with none", path, exc)
    return {}


def write_statuses(path: Path, documents: dict[str, str]) -> None:
    write_atomic(path, json.dumps({"format": FORMAT, "documents": documents}, ensure_ascii=False, indent=1))
