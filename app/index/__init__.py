"""Building an index: ingest → furniture, structure (turns, title) → chunk → invariants → embed → briefing → store.

The public face: `build_index` and `ensure_index` (app.index.build), `load_index` and
`read_manifest` (app.index.store, the format) with the `Manifest` it returns (app.index.manifest),
`verify_index`, `ensure_fresh` and `open_index`, the answer layer's one way in (app.index.verify),
`Searcher`, its search of one opened index (app.index.search),
the embedders (app.index.embed), `load_corpus` and `Document` (app.index.ingest), a document's
language (app.index.language), `Chunk` (app.index.chunk); writing a build and swapping it in is
app.index.store_write. Import them from their modules; this package imports nothing at import time,
so a command pays only for what it uses.
"""
