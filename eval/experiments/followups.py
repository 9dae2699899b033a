"""Follow-up success on two-turn dialogues: the second turn, asked with the first as history, reaches its
evidence in its first three quotes with a verdict other than not_found (issue 29's goal: >= 85%).

    python eval/experiments/followups.py --index /tmp/x/index                                  # dev half
    python eval/experiments/followups.py --index /tmp/x/index --dialogues eval/heldout/followup_dialogues.jsonl

Each dialogue prints its verdict, hit, and the resolved question (when there is one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.answer.assistant import Assistant  # noqa: E402
from app.evaluation.metrics import evidence_hit_at, locate_evidence  # noqa: E402
from app.evaluation.suite import load_dialogues  # noqa: E402
from app.evaluation.uncertainty import rate_interval  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--dialogues", type=Path, default=REPO / "eval" / "followup_dialogues.jsonl")
    args = ap.parse_args()
    assistant = Assistant.load(args.index)
    documents = {d.doc: d.text for d in assistant.index.documents}
    hits = 0
    dialogues = load_dialogues(args.dialogues)
    for d in dialogues:
        out = assistant.ask(d.turns[1], history=[d.turns[0]]).to_dict()
        hit = out["verdict"] != "not_found" and evidence_hit_at(out["quotes"], locate_evidence(d.evidence, documents),
                                                                3)
        hits += hit
        resolved = out.get("resolved_question", "")
        print(f"{d.id}\t{'HIT ' if hit else 'miss'}\t{out['verdict']}\t{d.turns[1]}\t{resolved}")
    low, high = rate_interval(hits, len(dialogues))
    print(f"follow-up success: {hits}/{len(dialogues)} = {hits / len(dialogues):.3f} [{low:.2f}, {high:.2f}]")


if __name__ == "__main__":
    main()
