"""Direct answers at ask time: the best span of the sentences that can be quoted, and the check of what was asked.

The question comes analysed (`Analysis`, app/answer/answer_types.py: its parse is made once, through the
runtime's batching queue). When it asks for a span, the best `RERANK` sentences are parsed, each once
per process (their entities come from the index, their noun phrases and tokens from the parse), and
each sentence gets its best span. A sentence's score then becomes `score + W_SPAN * p` (p: its best
span's probability), so the sentence is chosen by its best span as well as by its topicality. A typed
question (who, when, how many, ...) whose candidates hold no answer of the asked type outside the
question cannot be `answered` (`typed_miss`; the check is answer_types' `holds`).

A span is shown under "uncertain" only where spans there are as good as under "answered": within
`MARGIN` F1 of them on every set measured (`span_precision.json`, written by
eval/experiments/span_by_verdict.py; `spans_under_uncertain`). Without the file, only "answered" shows one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from app.answer.answer_types import Analysis, holds
from app.answer.quote import Quote, ScoredSentence
from app.answer.spans import (
    Sentence,
    Span,
    SpanModel,
    best_span,
    candidates,
    load_model,
    sentence_from_doc,
)
from app.index.guard import Guarded, guard
from app.index.ner import LABELS
from app.index.store import Index
from app.runtime import Runtime

RERANK = 3  # sentences parsed for noun phrases and scored for spans (each parse costs a few ms)
W_SPAN = 0.2  # weight of the best span's probability in a sentence's score
PRECISION_FILE = Path(__file__).with_name("span_precision.json")
MARGIN = 0.05  # a span under "uncertain" is shown when its F1 there is at most this far below "answered"'s


def spans_under_uncertain(figures: Mapping[str, object]) -> bool:
    """Whether spans may be shown under "uncertain": on every measured set ({"answered": {"spans", "f1"},
    "uncertain": {...}}), some spans were shown under "uncertain" and their F1 is within `MARGIN` of "answered"'s.

    >>> fig = lambda a, u, n=9: {"answered": {"spans": 9, "f1": a}, "uncertain": {"spans": n, "f1": u}}
    >>> [spans_under_uncertain({"report": fig(0.8, 0.75)}), spans_under_uncertain({"report": fig(0.8, 0.74)}),
    ...  spans_under_uncertain({"report": fig(0.8, 0.9), "squad": fig(0.7, 0.6)}),
    ...  spans_under_uncertain({"report": fig(0.8, 0.8, n=0)}), spans_under_uncertain({})]
    [True, False, False, False, False]
    """
    sets = [v for v in figures.values() if isinstance(v, Mapping)]
    return bool(sets) and all(s["uncertain"]["spans"] > 0 and round(s["answered"]["f1"] - s["uncertain"]["f1"], 6)
                              <= MARGIN for s in sets)


def uncertain_spans(runtime: Runtime, path: str = "") -> bool:
    """`spans_under_uncertain` of the figures at `path` ("": `PRECISION_FILE`), read once per runtime."""
    file = Path(path) if path else PRECISION_FILE

    def read() -> bool:
        return file.exists() and spans_under_uncertain(json.loads(file.read_text(encoding="utf-8")))
    return runtime.memo(("span-precision", str(file)), read)


@dataclass(frozen=True)
class Direct:
    """What span scoring found: rescored sentences, each one's best span, and whether a typed question failed."""

    scored: list[ScoredSentence]
    spans: dict[int, tuple[str, Span]]  # sentence row -> its document and best span
    question: Analysis
    typed_miss: bool  # the question asks for a type that no candidate sentence holds outside the question
    threshold: float = 1.0  # the span probability at which a span is shown


def index_sentence(index: Index, row: int, parsed: Sentence) -> Sentence:
    """A `Sentence` of the index: entities as stored, noun phrases and tokens from `parsed` (its text parsed
    without NER, at offset 0), moved to the sentence's document offset."""
    d, s, _ = (int(x) for x in index.sentences[row, :3])
    ents = tuple((int(a), int(b), LABELS[int(lab)]) for _, a, b, lab in index.sentence_entities(row).tolist())
    return replace(parsed, offset=s, entities=ents, phrases=tuple((a + s, b + s) for a, b in parsed.phrases))


def parsed_sentences(runtime: Runtime, texts: list[str]) -> list[Sentence]:
    """Each text parsed without NER, as a `Sentence` at offset 0, once per runtime: only those not seen yet
    go to spaCy, in one batch, as guarded copies (app/index/guard.py) whose offsets are mapped back."""
    def parse(missing: list[str]) -> list[Sentence]:
        guarded = [guard(t) for t in missing]
        docs = runtime.parse([g.text for g in guarded], ner=False)
        return [unguarded(sentence_from_doc(doc, 0), g, t) for doc, g, t in zip(docs, guarded, missing, strict=True)]

    return runtime.parsed(texts, parse)


def unguarded(parsed: Sentence, g: Guarded, text: str) -> Sentence:
    """`parsed`, a parse of the guarded copy `g` of `text`, with every offset moved back onto `text`."""
    if not g.inserted:
        return parsed
    return replace(parsed, text=text, entities=tuple((*g.span(a, b), lab) for a, b, lab in parsed.entities),
                   phrases=tuple(g.span(a, b) for a, b in parsed.phrases),
                   tokens=tuple((*g.span(a, b), *rest) for a, b, *rest in parsed.tokens))


def span_model(runtime: Runtime, weights: str = "") -> SpanModel:
    """The span scorer at `weights` (default: the shipped one), read once per runtime."""
    return runtime.memo(("span-model", weights), lambda: load_model(weights))


def with_spans(runtime: Runtime, index: Index, scored: list[ScoredSentence], view: Analysis, enabled: bool = True,
               weights: str = "") -> Direct:
    """Rescore the best sentences with their best spans (see the module docstring); nothing when not `enabled`."""
    # the sentences are parsed (no NER: their entities are stored) only when the question asks for a span
    # (why/how/yes-no questions do not)
    if not enabled or view.asked.kind == "none" or not scored:
        return Direct(scored, {}, view, False)
    top = scored[:RERANK]
    texts = []
    for cand in top:
        d, s, e = (int(x) for x in index.sentences[cand.row, :3])
        texts.append(index.documents[d].text[s:e])
    model = span_model(runtime, weights)
    sentences = [index_sentence(index, c.row, p) for c, p in zip(top, parsed_sentences(runtime, texts), strict=True)]
    spans: dict[int, tuple[str, Span]] = {}
    rescored = []
    for cand, sent in zip(top, sentences, strict=True):
        span = best_span(view, sent, model)
        if span is not None:
            spans[cand.row] = (index.documents[int(index.sentences[cand.row, 0])].doc, span)
        rescored.append(replace(cand, score=cand.score + W_SPAN * (span.score if span else 0.0)))
    rescored.sort(key=lambda c: (-c.score, c.row))
    typed_miss = view.typed and not any(holds(view.asked, s.text, candidates(s), view.text) for s in sentences)
    return Direct(rescored + scored[RERANK:], spans, view, typed_miss, model.threshold)


def mark_answers(quotes: list[Quote], direct: Direct, per_document: bool = False) -> list[Quote]:
    """The first quote with its sentence's best span as `answer` when the scorer is confident enough.

    Only the first quote may carry one (with `per_document`, the first of each document: each is its
    document's best): the quotes are ranked with their spans counted, so a confident span in a later
    quote that the first lacks answers a neighbouring question ("about 16" arrested, beside "as many
    as 700" detained), and a wrong bold answer is worse than none."""
    out, past = [], set()  # the documents whose first quote is past (a plain answer: one key, None)
    for q in quotes:
        key = q.doc if per_document else None
        first = key not in past
        past.add(key)
        span = next((s for doc, s in direct.spans.values() if doc == q.doc and q.start <= s.start and s.end <= q.end),
                    None) if first else None
        if span is not None and span.score >= direct.threshold:
            q = replace(q, answer=(span.start, span.end))
        out.append(q)
    return out
