"""Answering from an index: retrieve → quote → follow-ups → the `Assistant`.

The public face: `Assistant` and `Answer` (app.answer.assistant), `Quote` (app.answer.quote), and the
loaders every command shares (app.answer.loading). Import them from their modules; this package
imports nothing at import time.
"""
