"""What a question asks for, and whether a sentence holds it: the one owner of answer types.

A question is analysed once (`analyse`, in the retrieve stage of app/answer/pipeline.py), from the
runtime's batched spaCy parse of it (tags and dependencies, no NER), and every later stage reads that
`Analysis`: the scoring stage damps the sentences that lack what it asks, the span scorer
(app/answer/spans.py) reads its kind, head, wh word and words, and the verdict reads whether any
candidate sentence holds its kind. The parse is English: a question in another language is not parsed,
and asks for no kind.

Kinds: person, organisation, place, date, duration, count, money, percent, quantity, length (a length or
a span of time: "How long was the list?", "How long is his sentence?"), thing (a
"which/what X" or "what is ..." question: any noun phrase may answer; `head` is X when given) and
none (why, how, describe, explain, "who is <name>": no short span answers them). Each kind names the entity labels
(OntoNotes, as `app.index.ner.LABELS` spells them) that can answer it. A count question also names
the relation it counts ("How many protesters were killed?": "killed"), which the sentence must mention.

A sentence holds an answer of the asked kind when one of its entities or numbers fits the kind and is
not already in the question (`holds`): one family of checks, for the scoring stage's damping and for
the verdict's. The damping reads every candidate sentence, by the entities stored in the index at
build time and its numbers (`answer_spans`), and `loose`ly: any name for a name, any number for a
number, a span of time for a duration ("seven years", "for life"; not "2011"); "who" questions,
answered by a description as often as by a name, are not damped. The verdict reads the few sentences
parsed for spans, by the span scorer's candidates and the kind's own labels.

>>> from app.runtime import Runtime
>>> parse = Runtime().parse
>>> [asked(d).kind for d in parse(["Who wrote Hamlet?", "How many people were detained?", "Why did it fail?"])]
['person', 'count', 'none']
>>> q = asked(parse(["Which river flows through Paris?"])[0]); (q.kind, q.head)
('place', 'river')
>>> a = analysis_of(parse(["How many protesters were killed in Zhanaozen?"], ner=False)[0])
>>> (a.asked.kind, a.relation, a.names)
('count', 'killed', ('Zhanaozen',))
>>> [holds(a.asked, s, answer_spans(s, []), a.text) for s in ("Police killed 14 people.", "Police killed many.")]
[True, False]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.index.lexical import stem
from app.runtime import Runtime

KINDS = ("person", "organisation", "place", "date", "duration", "count", "money", "percent", "quantity", "length",
         "thing", "none")
TYPED = frozenset(KINDS) - {"thing", "none"}  # kinds a verdict can check: the quote must hold one
LABELS_FOR = {
    "person": {"PERSON"},
    "organisation": {"ORG", "NORP"},
    "place": {"GPE", "LOC", "FAC"},
    "date": {"DATE", "TIME"},
    "duration": {"DATE", "TIME", "QUANTITY"},
    "count": {"CARDINAL", "QUANTITY", "NUM"},
    "money": {"MONEY"},
    "percent": {"PERCENT"},
    "quantity": {"QUANTITY", "CARDINAL", "MONEY", "PERCENT", "NUM"},
    "length": {"QUANTITY", "CARDINAL", "DATE", "TIME", "NUM"},
    "thing": set(),
    "none": set(),
}
NUMERIC = frozenset({"count", "quantity", "duration", "length"})  # kinds a bare number ("NUM") answers
# the labels that answer each kind: its entity labels, and a number ("NUM") for a numeric kind
ANSWERED_BY = {kind: LABELS_FOR[kind] | ({"NUM"} if kind in NUMERIC else set()) for kind in KINDS}
_NAME_LABELS = LABELS_FOR["person"] | LABELS_FOR["organisation"] | LABELS_FOR["place"]
# what the scoring stage's damping accepts (`fits(..., loose=True)`): any name for a name, any number for a
# number ("How much of his term has he spent in solitary?" reads as money), and for a duration a "DURATION"
# (`answer_spans`): NER's DATE holds "2011" as well as "seven years"
LOOSE_LABELS = {
    **dict.fromkeys(("person", "organisation", "place"), _NAME_LABELS),
    "date": ANSWERED_BY["date"],
    "duration": {"DURATION"},
    **dict.fromkeys(("count", "money", "percent", "quantity"), ANSWERED_BY["quantity"]),
    "length": ANSWERED_BY["quantity"] | {"DURATION"},
}
UNDAMPED_WH = ("who", "whom", "whose")  # answered by a description as often as by a name ("witnesses of ...")
_HEAD_KINDS = {
    "person": {"person", "man", "woman", "people", "king", "queen", "president", "leader", "author", "writer",
               "scientist", "player", "artist", "emperor", "minister", "official", "director", "founder", "actor",
               "singer", "composer", "pope", "general", "son", "daughter", "wife", "husband", "father", "mother"},
    "organisation": {"company", "organization", "organisation", "university", "team", "group", "party", "agency",
                     "institution", "firm", "club", "band", "school", "college", "court", "ministry", "newspaper",
                     "network", "corporation", "church", "government", "body"},
    "place": {"city", "country", "state", "place", "region", "river", "town", "continent", "area", "island",
              "location", "province", "nation", "county", "prison", "village", "mountain", "ocean", "sea", "lake",
              "street", "building", "site", "capital", "district"},
    "date": {"year", "date", "day", "month", "century", "decade", "time", "period", "era", "season", "week"},
    "percent": {"percentage", "percent", "proportion", "share", "fraction"},
    "money": {"price", "cost", "amount", "salary", "fee", "budget"},
}
_TIME_UNITS = {"year", "month", "week", "day", "hour", "minute", "second", "decade", "century"}
_MONEY_WORDS = {"cost", "pay", "paid", "spend", "spent", "worth", "money", "price", "earn", "dollar", "fund", "raise"}
_MEASURE = {"far", "high", "tall", "big", "large", "deep", "wide", "heavy", "fast", "hot", "cold", "long"}
_OPEN = {"why", "describe", "explain"}
_SIZE_VERBS = {"grow", "measure", "stretch", "extend", "span", "reach"}
_DURATION_VERBS = {"last", "take", "serve", "wait", "stay", "remain", "live", "reign", "rule", "spend", "keep", "hold"}
_COUNTED = ("how many", "how much")  # the questions whose relation a sentence must mention (not durations)
_NOT_RELATIONS = {"be", "have", "do", "get"}
_POLAR = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "can", "could", "will", "would",
          "should", "may", "might", "must"}  # a question opening with one of these asks yes or no
_LIGHT_VERBS = _NOT_RELATIONS | {"make", "go", "take", "give", "let", "happen"}  # they ask nothing of a quote
_STOP = frozenset("""a an the of in on at to for from by with and or but is are was were be been being do does did
has have had what which who whom whose when where why how that this these those it its as into than then there their
they he she his her him them we our you your i me my not no so if about after before during over under between
many much long old""".split())
_STOP_STEMS = frozenset(stem(w) for w in _STOP)
# a capitalised word inside the question (not its first): a name, in any language written with Latin capitals
_CAPITALISED = re.compile(r"(?<=[\w,;:] )[A-Z][\w'-]{2,}")
NUMBER = re.compile(r"(?:[$€£]\s?)?\d(?:[\d,.]*\d)?(?:\s?(?:%|percent|per cent|million|billion|thousand))?")
# a span of time NER does not mark, and the unit that makes a DATE, TIME or QUANTITY entity a duration
TERM = re.compile(r"\bfor life\b|\blife sentences?\b|\b(?:half|third|quarter)s? of (?:his|her|their|its|the) time\b",
                  re.I)
_TIME_UNIT = re.compile(r"\b(?:years?|months?|weeks?|days?|hours?|minutes?|decades?|centur(?:y|ies))\b", re.I)


@dataclass(frozen=True)
class Asked:
    """The answer a question expects: its kind, the X of "which/what X" (lemma), and the wh word."""

    kind: str
    head: str = ""
    wh: str = ""

    @property
    def labels(self) -> set[str]:
        return LABELS_FOR[self.kind]


def asked(doc) -> Asked:
    """The expected answer of a parsed question (a spaCy `Doc`)."""
    words = [t.lower_ for t in doc]
    lemmas = [t.lemma_.lower() for t in doc]
    if _OPEN & set(words):
        return Asked("none", wh=next(w for w in words if w in _OPEN))
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w == "how":
            return _how(words, lemmas, [t.pos_ for t in doc], i, nxt)
        if w in ("who", "whom", "whose"):
            rest = [t for t in doc[i + 2:] if not t.is_punct]
            if nxt in ("is", "was", "are", "were") and rest and all(t.pos_ == "PROPN" for t in rest):
                return Asked("none", wh="who is")  # "Who is Aron Atabek?" asks for a description, not a name
            return Asked("person", wh=w)
        if w == "when":
            return Asked("date", wh=w)
        if w == "where":
            return Asked("place", wh=w)
        if w in ("which", "what"):
            return _which(doc, i, w)
    return Asked("thing")


def _how(words: list[str], lemmas: list[str], tags: list[str], i: int, nxt: str) -> Asked:
    after = lemmas[i + 2] if i + 2 < len(lemmas) else ""
    if nxt == "many":
        return Asked("duration" if after in _TIME_UNITS else "count", after, "how many")
    if nxt == "much":
        return Asked("money" if _MONEY_WORDS & set(lemmas) or "$" in words else "quantity", wh="how much")
    if nxt == "long":  # a length for a verb of size ("can it grow"), a span of time for one of duration or any
        # other verb ("how long was he held"); with none ("how long was the list / his sentence") either
        verbs = {lemmas[j] for j in range(i + 2, len(lemmas))} & (_SIZE_VERBS | _DURATION_VERBS)
        be_only = len(words) > i + 2 and lemmas[i + 2] == "be" and "VERB" not in tags[i + 3:]
        kind = "quantity" if verbs & _SIZE_VERBS else "length" if be_only else "duration"
        return Asked(kind, wh="how long")
    if nxt == "old":
        return Asked("count", wh="how old")
    if nxt == "often":
        return Asked("quantity", wh="how often")
    if nxt in _MEASURE:
        return Asked("quantity", wh=f"how {nxt}")
    return Asked("none", wh="how")


def _which(doc, i: int, wh: str) -> Asked:
    """ "which/what X ...": X is the noun the wh word determines (or "the name of X", "what kind of X")."""
    token = doc[i]
    head = None
    if token.dep_ in ("det", "attr", "nsubj", "dobj", "pobj", "nsubjpass") and token.head.pos_ in ("NOUN", "PROPN") \
            and token.head.i > i:
        head = token.head
    elif i + 1 < len(doc) and doc[i + 1].pos_ in ("NOUN", "PROPN"):
        head = doc[i + 1]
    if head is None and i + 1 < len(doc) and doc[i + 1].lemma_ == "be":  # "what is the name of the river"
        nouns = [t for t in doc[i + 2:] if t.pos_ == "NOUN"]
        head = nouns[0] if nouns else None
    if head is not None and head.lemma_.lower() in ("name", "kind", "type", "sort", "form"):
        of = [c for c in head.children if c.lower_ == "of"]
        objs = [g for c in of for g in c.children if g.pos_ in ("NOUN", "PROPN")]
        if objs:
            head = objs[0]
    lemma = head.lemma_.lower() if head is not None else ""
    for kind, nouns in _HEAD_KINDS.items():
        if lemma in nouns:
            return Asked(kind, lemma, wh)
    return Asked("thing", lemma, wh)


def relation(doc, wanted: Asked) -> str:
    """The verb a count question asks about, as written: "How many protesters were killed?" -> "killed" (a
    past participle, not an auxiliary nor a noun's modifier, nor be/have/do/get); "" for any other question.

    A sentence can hold the right kind of answer (a number) about the wrong relation (detentions, not
    deaths); this names the relation the sentence must also mention. A duration's answer seldom repeats
    its verb ("How long was he held?": "one-third of his time in prison"), so it names none.
    """
    if wanted.wh not in _COUNTED or wanted.kind == "duration":
        return ""
    return next((t.lower_ for t in doc if t.tag_ == "VBN" and t.dep_ not in ("aux", "auxpass", "amod")
                 and t.lemma_.lower() not in _NOT_RELATIONS), "")


def names(question: str) -> tuple[str, ...]:
    """The capitalised words inside the question (its first word aside): the names it holds, in any language.

    >>> names("What did President Nazarbayev say about Zhanaozen?")
    ('President', 'Nazarbayev', 'Zhanaozen')
    """
    return tuple(_CAPITALISED.findall(question))


@dataclass(frozen=True)
class Analysis:
    """A question as every stage reads it: its `text` and `language`, what it asks for (`asked`), the relation
    a count question asks about, the names it holds, and its content words (stemmed, for the span scorer)."""

    text: str
    language: str
    asked: Asked
    relation: str = ""
    names: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    predicate: frozenset[str] = frozenset()  # a yes/no question's asked predicate, stemmed (`predicate`)

    @property
    def typed(self) -> bool:
        """Whether an answer of the asked kind can be checked for (`TYPED`)."""
        return self.asked.kind in TYPED

    @property
    def damped(self) -> bool:
        """Whether the scoring stage damps the sentences without an answer of the asked kind (`holds`, loose):
        a typed question, except "who" ones."""
        return self.typed and self.asked.wh not in UNDAMPED_WH


def analysis_of(doc, language: str = "en") -> Analysis:
    """The analysis of a parsed English question (a spaCy `Doc`, with or without NER)."""
    wanted = asked(doc)
    words = frozenset(stem(t.text.lower()) for t in doc if t.is_alpha or t.like_num) - _STOP_STEMS
    return Analysis(doc.text, language, wanted, relation(doc, wanted), names(doc.text), words, predicate(doc))


def predicate(doc) -> frozenset[str]:
    """What a yes/no question asks of its subject, as stems (of each word and of its lemma): its common nouns,
    verbs and adjectives outside the subject, light verbs aside. "Is torture legal in Kazakhstan?" ->
    {"legal"}; empty for any other question. A quote that mentions none of them cannot say yes or no.

    >>> from app.runtime import Runtime
    >>> sorted(predicate(Runtime().parse(["Was water thrown on the detainees?"], ner=False)[0]))
    ['detaine', 'throw', 'thrown']
    """
    first = next((t for t in doc if not t.is_punct), None)
    if first is None or first.lower_ not in _POLAR:
        return frozenset()
    subject = {x.i for t in doc if t.dep_ in ("nsubj", "nsubjpass", "expl") and t.head.dep_ == "ROOT"
               for x in t.subtree}
    asked_of = [t for t in doc if t.i not in subject and t.pos_ in ("NOUN", "VERB", "ADJ")
                and t.lemma_.lower() not in _LIGHT_VERBS]
    return frozenset(stem(w) for t in asked_of for w in (t.lower_, t.lemma_.lower())) - _STOP_STEMS


def speaks_to(analysis: Analysis, tokens: Iterable[str]) -> bool:
    """Whether quoted text (its BM25 tokens: lower-case English stems) mentions what a yes/no question asks
    (always True for another question). A stem of four letters or more also matches the words it begins,
    as a verb its noun ("treated": "ill-treatment").

    >>> a = Analysis("Is he ill-treated?", "en", Asked("thing"), predicate=frozenset({"treat"}))
    >>> speaks_to(a, ["ill", "treatment"]), speaks_to(a, ["beat"])
    (True, False)
    """
    if not analysis.predicate:
        return True
    words = set(tokens)
    return bool(analysis.predicate & words) or any(w.startswith(p) for p in analysis.predicate if len(p) >= 4
                                                   for w in words)


def analyse(runtime: Runtime, text: str, language: str) -> Analysis:
    """The question's analysis, made once per question: an English question parsed through the runtime's
    batching queue (`Runtime.question_parses`, no NER); a question in another language is not parsed (the
    parse is English) and asks for no kind ("none"), as it asks for no answer span."""
    if language != "en":
        return Analysis(text, language, Asked("none"), names=names(text))
    return analysis_of(runtime.question_parses.submit(text), language)


def numbers(text: str) -> list[tuple[int, int, str]]:
    """The numbers of a text, as (start, end, "NUM").

    >>> numbers("It cost $2 million in 1998.")
    [(8, 18, 'NUM'), (22, 26, 'NUM')]
    """
    return [(m.start(), m.end(), "NUM") for m in NUMBER.finditer(text)]


def answer_spans(text: str, entities: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """What a sentence may answer with, as the scoring stage's damping reads it (`holds`, loose): its
    `entities` ((start, end, label) in the sentence), its numbers (a year is a number too, as it was to the
    regular expressions this replaced) and its durations ("DURATION"): a DATE, TIME or QUANTITY entity
    naming a unit of time, or a span of time NER leaves out ("for life", "one-third of his time"). (The
    verdict reads the span scorer's candidates instead: app/answer/spans.py `candidates`.)

    >>> text = "In 2011 he got 2 years; he spent a third of his time in solitary."
    >>> text[3:7], text[15:22], text[35:52]
    ('2011', '2 years', 'third of his time')
    >>> answer_spans(text, [(3, 7, "DATE"), (15, 22, "DATE")])
    [(3, 7, 'DATE'), (15, 22, 'DATE'), (3, 7, 'NUM'), (15, 16, 'NUM'), (15, 22, 'DURATION'), (35, 52, 'DURATION')]
    """
    ents = list(entities)
    durations = [(a, b, "DURATION") for a, b, label in ents if label in LABELS_FOR["duration"]
                 and _TIME_UNIT.search(text[a:b])]
    return [*ents, *numbers(text), *durations, *((m.start(), m.end(), "DURATION") for m in TERM.finditer(text))]


def fits(kind: str, label: str, loose: bool = False) -> bool:
    """Whether a span labelled `label` (an entity label, or "NUM" for a number) answers a question of `kind`;
    `loose`: as the scoring stage's damping reads it (`LOOSE_LABELS`).

    >>> fits("count", "NUM"), fits("count", "CARDINAL"), fits("person", "ORG"), fits("money", "CARDINAL")
    (True, True, False, False)
    >>> fits("person", "ORG", loose=True), fits("money", "CARDINAL", loose=True), fits("date", "CARDINAL", loose=True)
    (True, True, False)
    """
    return label in (LOOSE_LABELS if loose else ANSWERED_BY).get(kind, ())


def holds(wanted: Asked, text: str, spans: Iterable[tuple[int, int, str]], question: str, loose: bool = False) -> bool:
    """Whether a sentence (`text`) holds an answer of the kind asked: one of its `spans` ((start, end, label)
    in the sentence: its entities and numbers) `fits` the kind and is not already in the question. Always
    True for a kind that cannot be checked (thing, none).

    >>> who = Asked("person", wh="who")
    >>> holds(who, "They met Roza Tuletaeva.", [(8, 23, "PERSON")], "Who did they meet?")
    True
    >>> holds(who, "They met Roza Tuletaeva.", [(8, 23, "PERSON")], "Did they meet Roza Tuletaeva?")
    False
    >>> holds(who, "Officials were convicted.", [], "Who was convicted?"), holds(Asked("thing"), "Anything.", [], "")
    (False, True)
    """
    if wanted.kind not in TYPED:
        return True
    q = question.lower()
    return any(fits(wanted.kind, label, loose) and text[a:b].lower() not in q for a, b, label in spans)
