"""Quote: pick the sentences inside the retrieved passages that best answer the question.

Sentences are scored, not only chunks. A sentence's score mixes three signals: its cosine to the
question (vectors computed at build time) less its mean cosine to every sentence of the corpus (so
a sentence that resembles the whole report, like "what Amnesty found in Zhanaozen is a pattern of
torture", does not win every question), the cosine of the passage holding it, and the
IDF-weighted share of the question's terms it contains.

Some sentences never answer: a question in the text is not quoted, and neither is a heading (a
paragraph of one line with no closing punctuation). In an interview, hearing or FAQ the
interviewer's turn, question or statement, is never quoted either (`Document.prompts`): it points
to the reply that follows. The turn is the reply's passage: every sentence of the reply, up to the
next turn, takes the turn's cosine to the question as its passage cosine when that is higher, so a
question that matches the turn finds the reply's sentences, which then compete on their own words.

When the question asks for a number, a date, a duration or a name ("how many", "when", "how long",
"which prison", "where": its `Analysis`, app/answer/answer_types.py), a sentence without one (among its
entities, stored at build time, and its numbers: answer_types' `holds`) is damped: it may be on topic,
but it cannot be the answer. So is a sentence in the question's language that does not mention the
relation a count question asks about ("How many protesters were killed?": "killed").

A quote is cut from the document text by offsets, so `quote.text == text[start:end]` always.

>>> lexical_coverage(["cat", "dog"], {"cat": 2.0, "dog": 1.0}, {"cat"})
0.6666666666666666
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.answer.answer_types import Analysis, answer_spans, holds
from app.index.briefing import is_heading
from app.index.lexical import tokenize, tokenize_each
from app.index.ner import LABELS
from app.index.search import Hit
from app.index.store import Index

W_SENTENCE, W_PASSAGE, W_LEXICAL = 0.4, 0.3, 0.3
SHORT_SENTENCE_WORDS = 15  # a quoted sentence shorter than this takes the next one along
TYPE_MISMATCH_FACTOR = 0.5  # chosen on eval/ by answer_focus.py (docs/experiments/README.md)
RELATION_MISS_FACTOR = 0.5  # a sentence that lacks the relation a count question asks about (answer_focus.py)
UNKNOWN_NAME_FACTOR = 0.7


def sentence_spans(index: Index, row: int, text: str) -> list[tuple[int, int, str]]:
    """answer_types' `answer_spans` of sentence `row` (`text`), its entities as stored at build time: what
    `holds` reads to tell whether it holds an answer of the kind asked, without a parse."""
    s = int(index.sentences[row, 1])
    return answer_spans(text, [(a - s, b - s, LABELS[lab]) for _, a, b, lab in index.sentence_entities(row).tolist()])


def unknown_names(names: tuple[str, ...] | list[str], known_tokens, language: str = "en") -> list[str]:
    """The question's names (`Analysis.names`) that the corpus never uses ("President Nazarbayev").

    A question about something the report never names is unlikely to be answered by it. The words are
    tokenized in the question's `language`, as the corpus's words in that language are.

    >>> unknown_names(("President", "Nazarbayev", "Zhanaozen"), {"zhanaozen"})
    ['President', 'Nazarbayev']
    """
    return [w for w in names if any(t not in known_tokens for t in tokenize(w, language))]


@dataclass(frozen=True)
class Quote:
    """One numbered quote: the exact text and where it lies."""

    n: int
    text: str
    doc: str
    start: int
    end: int
    paragraph: int
    page: int | None
    score: float
    answer: tuple[int, int] | None = None  # the answer span's document offsets, inside [start, end), when known

    def __post_init__(self) -> None:
        if self.answer is not None and not self.start <= self.answer[0] < self.answer[1] <= self.end:
            raise ValueError(f"answer span {self.answer} lies outside quote {self.start}:{self.end}")

    def to_dict(self) -> dict:
        """The contract's quote; "answer": {"text", "start", "end"} only when an answer span is known."""
        out = {"n": self.n, "text": self.text, "doc": self.doc, "start": self.start, "end": self.end,
               "paragraph": self.paragraph, "page": self.page, "score": round(self.score, 6)}
        if self.answer is not None:
            a, b = self.answer
            out["answer"] = {"text": self.text[a - self.start:b - self.start], "start": a, "end": b}
        return out

    def marked_text(self, left: str = "\u00bb", right: str = "\u00ab") -> str:
        """The quote with its answer span between markers (the text itself when no span is known).

        >>> Quote(1, "About 16 people were arrested.", "r.txt", 100, 130, 1, None, 0.5, (106, 108)).marked_text()
        'About \u00bb16\u00ab people were arrested.'
        """
        if self.answer is None:
            return self.text
        a, b = self.answer[0] - self.start, self.answer[1] - self.start
        return f"{self.text[:a]}{left}{self.text[a:b]}{right}{self.text[b:]}"


def lexical_coverage(query_tokens: list[str], idf: dict[str, float], sentence_tokens: set[str]) -> float:
    """IDF-weighted share of the (known) query terms that the sentence contains."""
    total = sum(idf.get(t, 0.0) for t in set(query_tokens))
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 0.0) for t in set(query_tokens) if t in sentence_tokens) / total


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence's ranking `score`, and its `evidence`: the dense share of that score alone (the sentence's
    and its passage's cosines, on the score's scale, without the shared words), damped alike. The verdict
    reads the evidence: it told answerable from unanswerable questions better than the ranking score
    (report suite, eval/: ROC AUC 0.837 against 0.815; SQuAD 2.0 dev: 0.649 against 0.591), and it reads a
    paraphrase or another language as it reads the report's own words (docs/experiments/README.md)."""

    row: int
    score: float
    evidence: float


def is_quotable(index: Index, row: int) -> bool:
    """False for questions, headings and interviewers' turns: they never answer a question."""
    d, s, e, p, _ = (int(x) for x in index.sentences[row])
    doc = index.documents[d]
    return not (doc.text[s:e].rstrip().endswith("?") or p in doc.prompts or is_heading(doc, s, e, p))


def score_sentences(index: Index, hits: list[Hit], query_vec: np.ndarray, query_tokens: list[str],
                    question: Analysis | None = None, factor: float = 1.0,
                    lexical: frozenset[str] | None = None) -> list[ScoredSentence]:
    """Every sentence inside the hits, scored, best first (ties by document order).

    `question`: what it asks for and the relation it counts (None: nothing is checked); `factor` scales every
    score (below 1 when the question names something the corpus never mentions). `lexical`: the
    documents written in the question's language (None: all); in the others a shared word means
    nothing, so a sentence's lexical share goes to its two vector scores instead."""
    passage_cos: dict[int, float] = {}
    for hit in hits:
        lo, hi = index.chunk_sentences[hit.row]
        for row in range(lo, hi):
            passage_cos[row] = max(passage_cos.get(row, -1.0), hit.dense)
    for row in list(passage_cos):  # an interviewer's turn is the passage of the reply after it
        block = reply_rows(index, row)
        if len(block):
            lift = (float(index.sentence_vectors[row] @ query_vec) if index.sentence_vectors is not None
                    else passage_cos[row])
            for r in block:
                passage_cos[r] = max(passage_cos.get(r, -1.0), lift)
    if not passage_cos:
        return []
    rows = sorted(passage_cos)
    texts = [_sentence_text(index, r) for r in rows]
    if index.sentence_vectors is not None:
        sent_cos = np.maximum(index.sentence_vectors[rows] @ query_vec, 0.0) - index.sentence_hubness[rows]
    else:
        sent_cos = np.array([max(passage_cos[r], 0.0) for r in rows])
    idf = index.bm25.idf(query_tokens)
    tokens = tokenize_each(texts, [index.documents[int(index.sentences[r, 0])].language for r in rows])
    damped = question is not None and question.damped
    relation = question.relation if question is not None and RELATION_MISS_FACTOR < 1.0 else ""
    # a relation word the corpus never uses ("locked up" for "detained") tells no sentence from another
    relation_tokens = set(tokenize(relation)) & index.bm25.vocabulary.keys() if relation else set()
    base: dict[int, float] = {}
    evidence: dict[int, float] = {}
    focus: dict[int, float] = {}  # how far the answer type and the relation asked for fit each sentence
    for i, row in enumerate(rows):
        dense = W_SENTENCE * float(sent_cos[i]) + W_PASSAGE * max(passage_cos[row], 0.0)
        evidence[row] = dense / (W_SENTENCE + W_PASSAGE)
        same = lexical is None or index.documents[int(index.sentences[row, 0])].doc in lexical
        if same:
            base[row] = dense + W_LEXICAL * lexical_coverage(query_tokens, idf, set(tokens[i]))
        else:
            base[row] = evidence[row]  # the lexical share goes to the two vector scores
        fits = not damped or holds(question.asked, texts[i], sentence_spans(index, row, texts[i]), question.text,
                                   loose=True)
        focus[row] = ((1.0 if fits else TYPE_MISMATCH_FACTOR) * factor
                      * (RELATION_MISS_FACTOR if same and relation_tokens and not relation_tokens & set(tokens[i])
                      else 1.0))  # the relation is a word of the question's language, as shared words are
    best = {row: base[row] * focus[row] for row in rows if is_quotable(index, row)}
    scored = [ScoredSentence(row, float(score), float(evidence[row] * focus[row])) for row, score in best.items()]
    scored.sort(key=lambda s: (-s.score, s.row))
    return scored


def reply_rows(index: Index, row: int) -> range:
    """For a sentence of an interviewer's turn, the rows of the reply after it, up to the next turn
    (empty for any other sentence)."""
    d, _, _, p, _ = (int(x) for x in index.sentences[row])
    prompts = index.documents[d].prompts
    first = reply_row(index, row)
    if first is None:
        return range(0)
    end, rows = first, index.sentences
    while end < len(rows) and int(rows[end, 0]) == d and int(rows[end, 3]) not in prompts:
        end += 1
    return range(first, end)


def reply_row(index: Index, row: int) -> int | None:
    """For a sentence of an interviewer's turn, the row of the reply's first sentence (else None)."""
    d, _, _, p, _ = (int(x) for x in index.sentences[row])
    reply = index.documents[d].prompts.get(p)
    n = len(index.sentences)
    r = row + 1
    while reply is not None and r < n and int(index.sentences[r, 0]) == d and int(index.sentences[r, 3]) < reply:
        r += 1
    if reply is not None and r < n and int(index.sentences[r, 0]) == d and int(index.sentences[r, 3]) == reply:
        return r
    return None


def _sentence_text(index: Index, row: int) -> str:
    d, s, e = (int(x) for x in index.sentences[row, :3])
    return index.documents[d].text[s:e]


def _extend(index: Index, row: int, max_words: int) -> tuple[int, int]:
    """A very short sentence ("Not really.") takes the next one of its paragraph along."""
    d, s, e, p, _ = (int(x) for x in index.sentences[row])
    text = index.documents[d].text
    nxt = row + 1
    if (len(text[s:e].split()) < SHORT_SENTENCE_WORDS and nxt < len(index.sentences)
            and int(index.sentences[nxt, 0]) == d and int(index.sentences[nxt, 3]) == p
            and not text[e:int(index.sentences[nxt, 1])].strip()
            and len(text[s:int(index.sentences[nxt, 2])].split()) <= max_words):
        return s, int(index.sentences[nxt, 2])
    return s, e


def select_quotes(index: Index, scored: list[ScoredSentence], k: int, max_words: int = 60,
                  min_relative_score: float = 0.0, exempt: frozenset[int] = frozenset()) -> list[Quote]:
    """The k best sentences as quotes: no repeated text, no overlapping spans, none far below the best but
    those whose rows are `exempt` (a follow-up's: the text right after the previous answer)."""
    quotes: list[Quote] = []
    floor = scored[0].score * min_relative_score if scored else 0.0
    seen: set[str] = set()
    taken: list[tuple[int, int, int]] = []
    for cand in scored:
        if quotes and cand.score < floor and cand.row not in exempt:
            continue
        d = int(index.sentences[cand.row, 0])
        start, end = _extend(index, cand.row, max_words)
        doc = index.documents[d]
        text = doc.text[start:end]
        key = " ".join(text.lower().split())
        if key in seen or any(td == d and start < te and ts < end for td, ts, te in taken):
            continue
        seen.add(key)
        taken.append((d, start, end))
        quotes.append(Quote(len(quotes) + 1, text, doc.doc, start, end, doc.paragraph_at(start),
                            doc.page_at(start), cand.score))
        if len(quotes) == k:
            break
    return quotes
