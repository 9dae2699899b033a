"""Evaluation suite: metrics, datasets and the `verbatim eval` command."""
