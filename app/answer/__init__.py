"""Answering from an index: retrieve → quote (and about: questions on the report itself) → follow-ups → the `Assistant`.

The public face: `Assistant` (with `Assistant.load`) and `Answer` (app.answer.assistant), `Quote`
(app.answer.quote), and what the CLI and `verbatim serve` load through (app.answer.loading). Import
them from their modules; this package imports nothing at import time.
"""
