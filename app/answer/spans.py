"""Answer spans: the short answer inside a quoted sentence, scored by a learned logistic regression.

Candidates of a sentence are its named entities (stored in the index at build time), the noun
phrases of a parse of the sentence (made at ask time, for the few sentences that can be quoted)
and the numbers a regular expression finds. Each candidate gets plain features (does its label fit
what the question asks, how near it lies to the question's words, whether the question already
holds it, its length and place) and a probability from a logistic regression whose weights ship
in `span_weights.json`, trained by `training/train_spans.py` (`make span-weights`) on the SQuAD 2.0 dev half only.

The question is read as its `Analysis` (app/answer/answer_types.py, which owns answer types).

>>> from app.answer.answer_types import analysis_of
>>> from app.runtime import Runtime
>>> parse = Runtime().parse
>>> q = analysis_of(parse(["How many people were detained?"], ner=False)[0])
>>> s = "Police said as many as 700 people were detained in Almaty."
>>> sent = sentence_from_doc(parse([s])[0], 0)
>>> best = best_span(q, sent, load_model())
>>> s[best.start:best.end]
'as many as 700'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.answer.answer_types import NUMBER, TYPED, Analysis, fits
from app.errors import VerbatimError
from app.index.lexical import stem

WEIGHTS_FILE = Path(__file__).resolve().parent / "span_weights.json"
MAX_CANDIDATE_WORDS = 8
_WORD = re.compile(r"\w+(?:[.,'’-]\w+)*|[$%€£]")
ENTITY_LABELS = ("PERSON", "ORG", "NORP", "GPE", "LOC", "FAC", "DATE", "TIME", "CARDINAL", "QUANTITY", "MONEY",
                 "PERCENT", "ORDINAL", "OTHER_ENT", "NP", "NUM")
KINDS_ONE_HOT = ("person", "organisation", "place", "date", "duration", "count", "money", "percent", "quantity",
                 "thing")


def _norm(word: str) -> str:
    return stem(word.lower())


@dataclass(frozen=True)
class Sentence:
    """A sentence as the scorer sees it: text, document offset, entities and noun phrases (document offsets)."""

    text: str
    offset: int
    entities: tuple[tuple[int, int, str], ...]
    phrases: tuple[tuple[int, int], ...] = ()
    tokens: tuple[tuple[int, int, str, str, int, str], ...] = ()  # (start, end in the sentence, POS, dependency,
    # head token, lemma) from the parse


@dataclass(frozen=True)
class Span:
    start: int  # document offsets
    end: int
    label: str
    score: float


def sentence_from_doc(doc, offset: int) -> Sentence:
    """A `Sentence` from a spaCy parse of its text (entities and noun phrases from the parse)."""
    ents = tuple((offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents)
    parsed = doc.has_annotation("DEP")
    phrases = tuple((offset + c.start_char, offset + c.end_char) for c in doc.noun_chunks) if parsed else ()
    tokens = tuple((t.idx, t.idx + len(t.text), t.pos_, t.dep_, t.head.i, t.lemma_.lower()) for t in doc) \
        if parsed else ()
    return Sentence(doc.text, offset, ents, phrases, tokens)


def candidates(sentence: Sentence) -> list[tuple[int, int, str]]:
    """(start, end, label) in sentence offsets: entities, noun phrases and numbers, each span once."""
    out: dict[tuple[int, int], str] = {}
    off = sentence.offset
    for s, e, label in sentence.entities:
        out[(s - off, e - off)] = label if label in ENTITY_LABELS else "OTHER_ENT"
    for m in NUMBER.finditer(sentence.text):
        out.setdefault((m.start(), m.end()), "NUM")
    for s, e in sentence.phrases:
        a, b = _trim_determiner(sentence.text, s - off, e - off)
        if b > a:
            out.setdefault((a, b), "NP")
    return [(a, b, lab) for (a, b), lab in sorted(out.items())
            if sentence.text[a:b].strip() and len(sentence.text[a:b].split()) <= MAX_CANDIDATE_WORDS]


def _trim_determiner(text: str, a: int, b: int) -> tuple[int, int]:
    m = re.match(r"(?:the|a|an|this|that|these|those|his|her|its|their|our)\s+", text[a:b], re.I)
    return (a + m.end(), b) if m and a + m.end() < b else (a, b)


ROOT_POS = ("NOUN", "PROPN", "NUM", "ADJ", "VERB", "PRON", "OTHER")
ROOT_DEP = ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj", "compound", "npadvmod", "ROOT", "OTHER")
WH = ("what", "which", "who", "when", "where", "how many", "how much", "how long", "other")
FEATURES = (("bias_typed", "type_match", "typed_mismatch", "in_question", "partly_in_question", "near_1", "near_3",
             "near_8", "window_overlap", "sentence_overlap", "words_1", "words_2_3", "words_4plus", "position",
             "head_near", "head_inside", "is_entity", "number_inside", "left_in_question", "right_in_question",
             "governor_in_question", "governor2_in_question", "has_propn", "parsed")
            + tuple(f"label_{x}" for x in ENTITY_LABELS) + tuple(f"kind_{k}" for k in KINDS_ONE_HOT)
            + tuple(f"root_pos_{x}" for x in ROOT_POS) + tuple(f"root_dep_{x}" for x in ROOT_DEP)
            + tuple(f"wh_{x}" for x in WH)
            + tuple(f"kind_{k}_x_{lab}" for k in KINDS_ONE_HOT for lab in ENTITY_LABELS)
            + tuple(f"wh_{w}_x_dep_{d}" for w in ("what", "which", "who") for d in ROOT_DEP))


def features(q: Analysis, sentence: Sentence, cands: list[tuple[int, int, str]]) -> np.ndarray:
    """One row of `FEATURES` per candidate."""
    text = sentence.text
    toks = [(m.start(), m.end(), _norm(m.group())) for m in _WORD.finditer(text)]
    qpos = [i for i, (_, _, w) in enumerate(toks) if w in q.words]
    overlap = len({w for *_, w in toks} & q.words) / max(len(q.words), 1)
    head = _norm(q.asked.head) if q.asked.head else ""
    hpos = [i for i, (_, _, w) in enumerate(toks) if head and w == head]
    qtext = q.text.lower()
    rows = np.zeros((len(cands), len(FEATURES)), np.float32)
    for r, (a, b, label) in enumerate(cands):
        inside = [i for i, (s, e, _) in enumerate(toks) if s >= a and e <= b]
        lo, hi = (inside[0], inside[-1]) if inside else (0, 0)
        words = [toks[i][2] for i in inside]
        outside_q = [i for i in qpos if i < lo or i > hi]
        dist = min((lo - i if i < lo else i - hi for i in outside_q), default=99)
        win = {toks[i][2] for i in range(max(0, lo - 6), min(len(toks), hi + 7)) if i < lo or i > hi}
        f = dict.fromkeys(FEATURES, 0.0)
        typed = q.asked.kind in TYPED
        match = fits(q.asked.kind, label)
        f["bias_typed"] = float(typed)
        f["type_match"] = float(match)
        f["typed_mismatch"] = float(typed and not match)
        f["in_question"] = float(text[a:b].lower() in qtext or (bool(words) and all(w in q.words for w in words)))
        f["partly_in_question"] = sum(w in q.words for w in words) / max(len(words), 1)
        f["near_1"], f["near_3"], f["near_8"] = float(dist <= 1), float(dist <= 3), float(dist <= 8)
        f["window_overlap"] = len(win & q.words) / max(len(q.words), 1)
        f["sentence_overlap"] = overlap
        n = max(len(words), 1)
        f["words_1"], f["words_2_3"], f["words_4plus"] = float(n == 1), float(2 <= n <= 3), float(n >= 4)
        f["position"] = a / max(len(text), 1)
        f["head_near"] = float(any(0 < lo - i <= 3 or 0 < i - hi <= 3 for i in hpos))
        f["head_inside"] = float(bool(head) and head in words)
        f["is_entity"] = float(label not in ("NP", "NUM"))
        f["number_inside"] = float(bool(re.search(r"\d", text[a:b])))
        f["left_in_question"] = float(lo > 0 and toks[lo - 1][2] in q.words)
        f["right_in_question"] = float(hi + 1 < len(toks) and toks[hi + 1][2] in q.words)
        f[f"label_{label}"] = 1.0
        if q.asked.kind in KINDS_ONE_HOT:
            f[f"kind_{q.asked.kind}"] = 1.0
            f[f"kind_{q.asked.kind}_x_{label}"] = 1.0
        wh = q.asked.wh if q.asked.wh in WH else "other"
        f[f"wh_{wh}"] = 1.0
        _syntax(f, sentence.tokens, a, b, q.words, wh)
        rows[r] = [f[name] for name in FEATURES]
    return rows


def _syntax(f: dict, tokens: tuple, a: int, b: int, qwords: frozenset[str], wh: str) -> None:
    """Features of the candidate's place in the parse: its root's POS and dependency, and whether the
    word governing it (or the one above that, past a preposition) is one of the question's words."""
    inside = [i for i, t in enumerate(tokens) if t[0] >= a and t[1] <= b]
    if not inside:
        return
    f["parsed"] = 1.0
    root = next((i for i in inside if tokens[i][4] not in inside or tokens[i][4] == i), inside[0])
    pos, dep, head = tokens[root][2], tokens[root][3], tokens[root][4]
    f[f"root_pos_{pos if pos in ROOT_POS else 'OTHER'}"] = 1.0
    dep = dep if dep in ROOT_DEP else "OTHER"
    f[f"root_dep_{dep}"] = 1.0
    if wh in ("what", "which", "who"):
        f[f"wh_{wh}_x_dep_{dep}"] = 1.0
    f["has_propn"] = float(any(tokens[i][2] == "PROPN" for i in inside))
    f["governor_in_question"] = float(head != root and _norm(tokens[head][5]) in qwords)
    up = tokens[head][4]
    f["governor2_in_question"] = float(up != head and _norm(tokens[up][5]) in qwords)


@dataclass(frozen=True)
class SpanModel:
    """Logistic regression weights over `FEATURES` (standardised), and the probability to show a span at."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))  # clipped: no overflow for extreme rows

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "threshold": self.threshold}


def load_model(path: Path | str = "") -> SpanModel:
    """The span scorer at `path` (default: the shipped one), read anew (a `Runtime` keeps the one in use); a
    missing file or one for other features is a one-line error."""
    path = Path(path) if path else WEIGHTS_FILE
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data["features"] != list(FEATURES):
            raise ValueError("its features differ from this Verbatim's")
        return SpanModel(np.array(data["mean"], np.float32), np.array(data["scale"], np.float32),
                         np.array(data["coef"], np.float32), float(data["intercept"]), float(data["threshold"]))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise VerbatimError(f"{path} is missing or unusable ({exc}); restore it from git or run "
                            "`make span-weights`") from None


def trained_articles(path: Path | str = "") -> list[str]:
    """The articles (SQuAD document names) the weights at `path` were trained on, as their file records."""
    try:
        return list(json.loads((Path(path) if path else WEIGHTS_FILE).read_text(encoding="utf-8")).get("articles", []))
    except (OSError, ValueError, AttributeError):
        return []


def scored_spans(q: Analysis, sentence: Sentence, model: SpanModel) -> list[Span]:
    """Every candidate of the sentence with its probability, best first (no span for why/how questions)."""
    if q.asked.kind == "none":
        return []
    cands = candidates(sentence)
    if not cands:
        return []
    probs = model.probabilities(features(q, sentence, cands))
    spans = [Span(sentence.offset + a, sentence.offset + b, lab, float(p)) for (a, b, lab), p in zip(cands, probs,
                                                                                                       strict=True)]
    return sorted(spans, key=lambda s: (-s.score, s.start))


def best_span(q: Analysis, sentence: Sentence, model: SpanModel) -> Span | None:
    spans = scored_spans(q, sentence, model)
    return spans[0] if spans else None

