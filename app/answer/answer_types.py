"""What a question asks for, read from a spaCy parse of the question only.

Kinds: person, organisation, place, date, duration, count, money, percent, quantity, thing (a
"which/what X" or "what is ..." question: any noun phrase may answer; `head` is X when given) and
none (why, how, describe, explain, "who is <name>": no short span answers them). Each kind names the entity labels
(OntoNotes, as `app.index.ner.LABELS` spells them) that can answer it.

>>> from app.runtime import Runtime
>>> parse = Runtime().parse
>>> [asked(d).kind for d in parse(["Who wrote Hamlet?", "How many people were detained?", "Why did it fail?"])]
['person', 'count', 'none']
>>> q = asked(parse(["Which river flows through Paris?"])[0]); (q.kind, q.head)
('place', 'river')
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("person", "organisation", "place", "date", "duration", "count", "money", "percent", "quantity", "thing",
         "none")
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
    "thing": set(),
    "none": set(),
}
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
            return _how(words, lemmas, i, nxt)
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


def _how(words: list[str], lemmas: list[str], i: int, nxt: str) -> Asked:
    after = lemmas[i + 2] if i + 2 < len(lemmas) else ""
    if nxt == "many":
        return Asked("duration" if after in _TIME_UNITS else "count", after, "how many")
    if nxt == "much":
        return Asked("money" if _MONEY_WORDS & set(lemmas) or "$" in words else "quantity", wh="how much")
    if nxt == "long":  # a length when the verb is one of size ("can it grow") or there is none ("how long is X")
        verbs = {lemmas[j] for j in range(i + 2, len(lemmas))} & (_SIZE_VERBS | _DURATION_VERBS)
        be_only = len(words) > i + 2 and words[i + 2] in ("is", "are") and not _DURATION_VERBS & set(lemmas)
        return Asked("quantity" if verbs & _SIZE_VERBS or be_only else "duration", wh="how long")
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
