"""Answering from an index: retrieve → quote (and about: questions on the report itself) → follow-ups → the `Assistant`.

Before any retrieval, app.answer.intents routes what is not a search: summary questions to the
briefing (app.answer.briefing, the stored ranking cut at a word budget), greetings to a help text
(with app.answer.examples), and questions in another language (their language read by app.index.language).

The public face: `Assistant` (with `Assistant.load`) and `Answer` (app.answer.assistant), `Quote`
(app.answer.quote), and what the CLI and `verbatim serve` load through (app.answer.loading). Import
them from their modules; this package imports nothing at import time.
"""
