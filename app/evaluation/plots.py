"""The report suite's two PNG plots, drawn with matplotlib's file-only Agg backend.

>>> import tempfile
>>> path = plot_recall_at_k({"hybrid": {"recall@1": 0.5, "recall@3": 0.9}}, Path(tempfile.mkdtemp()) / "r.png",
...                         ks=(1, 3))
>>> path.read_bytes()[:4]
b'\x89PNG'

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from app.evaluation.metrics import RETRIEVAL_KS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_recall_at_k(methods: Mapping[str, Mapping[str, float]], path: Path,
                     ks: Sequence[int] = RETRIEVAL_KS) -> Path:
    """Passage recall@k per retrieval method, one line each."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for name, figures in methods.items():
        ax.plot(list(ks), [figures[f"recall@{k}"] for k in ks], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xticks(list(ks), [str(k) for k in ks])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k (passages)")
    ax.set_ylabel("recall@k of gold evidence")
    ax.set_title("Passage recall@k before quoting")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_score_distribution(answerable: Sequence[float], unanswerable: Sequence[float], threshold: float,
                            path: Path, method: str = "hybrid") -> Path:
    """Best quote score of answerable vs unanswerable questions, with the abstention threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    values = list(answerable) + list(unanswerable) + [threshold]
    lo, hi = min(values), max(values)
    bins = [lo + (hi - lo) * i / 24 for i in range(25)] if hi > lo else 10
    ax.hist(answerable, bins=bins, alpha=0.6, label=f"answerable ({len(answerable)})", color="tab:blue")
    ax.hist(unanswerable, bins=bins, alpha=0.6, label=f"unanswerable ({len(unanswerable)})", color="tab:red")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("best sentence score")
    ax.set_ylabel("questions")
    ax.set_title(f"Score distribution ({method}): below the threshold the answerer abstains")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
