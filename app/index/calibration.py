"""An index's verdict calibration: the scores at which an answer is "answered" and below which "not_found".

Calibration belongs to the index, because scores mean different things under different encoders
(multilingual-e5-small's cosines of unrelated sentences sit near 0.8, all-MiniLM-L6-v2's near 0).

- Every build records its model's defaults in the manifest (`model.calibration`, from the model's
  card in app/index/encoders.py).
- `verbatim eval --calibrate --index DIR` chooses them on that index and writes them beside its
  builds, in `<DIR>.builds/calibration.json` (with the model it was chosen for): rebuilds keep it.
- `index_calibration` gives the index's own when it was made for the index's model, else the
  model's defaults; `source` says which (`verbatim index status` prints it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.errors import VerbatimError
from app.files import write_atomic
from app.index.manifest import Manifest
from app.index.store import builds_dir

FILE_NAME = "calibration.json"
# the tests' hash embedder has no card: it answers with thresholds of its own (its bag-of-hashed-words
# cosines are no model's; these keep the test corpora's answers answered and off-topic questions out)
STAND_IN = {"threshold": 0.25, "floor": 0.05, "chosen_on": "a stand-in for the tests' hash embedder"}


@dataclass(frozen=True)
class Calibration:
    """`threshold`: a top score at or above it is "answered"; `floor`: below it, "not_found"; between, "uncertain"."""

    threshold: float
    floor: float
    source: str  # "index" (chosen on this index) or "model default"
    chosen_on: str = ""
    # below it, "not_found" for an answer whose best sentence is in another language than the question
    # (cross-lingual cosines run lower); None: `floor`. Only the model's card sets it today.
    across_floor: float | None = None

    def __post_init__(self) -> None:
        if not self.floor <= self.threshold:
            raise VerbatimError(f"calibration floor {self.floor} is above its threshold {self.threshold}; "
                                "run `verbatim eval --calibrate`")


def calibration_path(index_dir: Path) -> Path:
    return builds_dir(index_dir) / FILE_NAME


def index_calibration(index_dir: Path, manifest: Manifest) -> Calibration:
    """The calibration an index answers with: its own, else its model's defaults (see the module docstring)."""
    model = manifest.model
    path = calibration_path(index_dir)
    if path.exists():
        try:
            own = json.loads(path.read_text(encoding="utf-8"))
            if own.get("model") == model.get("name"):
                return Calibration(float(own["threshold"]), float(own["floor"]), "index", str(own.get("chosen_on", "")),
                                   _across(model.get("calibration") or {}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerbatimError(f"{path} is unreadable ({type(exc).__name__}); delete it or run "
                                "`verbatim eval --calibrate`") from None
    default = model.get("calibration") or STAND_IN
    return Calibration(float(default["threshold"]), float(default["floor"]), "model default",
                       str(default.get("chosen_on", "")), _across(default))


def _across(record: dict) -> float | None:
    value = record.get("across_floor")
    return None if value is None else float(value)


def write_calibration(index_dir: Path, model: str, record: dict) -> Path:
    """Store `record` (threshold, floor, how they were chosen) as the index's own calibration, atomically."""
    path = calibration_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({**record, "model": model}, indent=2, ensure_ascii=False) + "\n")
    return path
