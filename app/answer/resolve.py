"""Follow-ups resolved, not concatenated: a vague follow-up's pronouns replaced by what they stand for.

"What happened to them?" after "How many people were arrested on charges of organizing the violence?"
is asked as "What happened to the people arrested on charges of organizing the violence?": the
pronoun is replaced by a phrase from the previous question (the noun it is about, with the passive
verb phrase that says which ones), or, for a person, by a name from the previous answer's first quote
when the previous question asked who ("Who did Farangis Najibullah speak to?" then "Where does he
work?": he is the one named in the answer, not in the question). The question parses come from the
assistant's spaCy (`Runtime.parse`).

A follow-up with nothing to replace and no noun of its own ("Why?", "Why not?", "What else?") stays
elided: it is shown with the question it follows, and retrieved with it folded in
(app/answer/followup.py `contextual_query`).

>>> from app.runtime import Runtime
>>> resolve(Runtime(), "What happened to them?", "How many people were arrested on charges of organizing the violence?",
...         []).text
'What happened to the people arrested on charges of organizing the violence?'
>>> r = resolve(Runtime(), "Why not?", "Does Amnesty think the investigation was thorough?", [])
>>> (r.text, r.elided)
('Why not? (after: "Does Amnesty think the investigation was thorough?")', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.answer.followup import leans_on_previous
from app.runtime import Runtime

_PERSON = {"he", "him", "his", "she", "her", "hers", "himself", "herself"}
_PLURAL = {"they", "them", "their", "theirs", "those", "these", "themselves"}
_THING = {"it", "its"}  # "that", "this": mostly the previous answer's fact, not a noun: left to folding
_POSSESSIVE = {"his", "her", "their", "its"}
_WH = {"how", "many", "much", "which", "what", "whose", "who", "whom"}


@dataclass(frozen=True)
class Resolved:
    """A question as understood: `text`; `changed` when it differs from the question as asked; `elided`
    when it cannot stand alone (retrieved with the previous question folded in)."""

    text: str
    changed: bool = False
    elided: bool = False


def _phrase(token) -> str:
    """The words naming what `token` (a noun of the previous question) stands for: "the people arrested on
    charges of ..." for the subject of a passive verb, else its noun phrase without the question words."""
    head = token.head
    if token.dep_ == "nsubjpass" and head.tag_ == "VBN":
        words = [token, *[t for t in token.subtree if t.i > token.i], head,
                 *[t for t in head.subtree if t.i > head.i]]
    else:
        words = list(token.subtree) if token.dep_ != "poss" else [t for t in token.subtree if t.i <= token.i]
    words = [t for t in words if t.lower_ not in _WH and t.dep_ not in ("punct", "auxpass", "aux")]
    while words and words[-1].tag_ == "IN" and not list(words[-1].children):  # "... subjected to" (to what?)
        words.pop()
        if words and words[-1].tag_ == "VBN":  # "subjected (to what?)": its object was the question word
            words.pop()
    text = "".join(t.text_with_ws for t in sorted(set(words), key=lambda t: t.i)).strip()
    first = min(words, key=lambda t: t.i) if words else token
    return text if first.tag_ in ("DT", "PRP$", "NNP", "NNPS") or first.dep_ == "poss" else f"the {text}"


def _antecedents(runtime: Runtime, previous: str, quotes: Sequence[str]) -> dict[str, str]:
    """The phrase each kind of pronoun ("person", "plural", "thing") stands for after `previous`."""
    question, *answer = runtime.parse([previous, *quotes])
    asked_who = any(t.lower_ in ("who", "whom") or (t.lower_ == "which" and t.head.tag_ == "NN") for t in question)
    named = [e.text for e in question.ents if e.label_ == "PERSON"]
    answered = [e.text for doc in answer for e in doc.ents if e.label_ == "PERSON" and e.text not in previous
                and not doc.text[e.end_char:e.end_char + 1] == ":"]  # "Diaz-Jogeix: ..." is who speaks
    people = (answered + named) if asked_who else (named + answered)
    nouns = [t for t in question if t.pos_ in ("NOUN", "PROPN") and t.lower_ not in _WH and t.dep_ != "compound"
             and not (t.dep_ == "pobj" and t.head.head.dep_ == "ROOT")]  # "in court": a circumstance, not a topic
    out = {}
    if people:
        out["person"] = people[0]
    plural = [t for t in nouns if t.tag_ in ("NNS", "NNPS")]
    if plural:
        out["plural"], out["plural's"] = _phrase(plural[0]), _owner(plural[0])
    singular = [t for t in nouns if t.tag_ in ("NN", "NNP") and t.ent_type_ != "PERSON"]
    if singular:
        out["thing"], out["thing's"] = _phrase(singular[0]), _owner(singular[0])
    if people:
        out["person's"] = _owner_name(people[0])
    return out


def _owner(token) -> str:
    """The possessive of the noun alone ("their capacity": "the prisoners' capacity", not the whole phrase's)."""
    name = token.text if token.tag_ in ("NNP", "NNPS") else f"the {token.text}"
    return _owner_name(name)


def _owner_name(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def resolve(runtime: Runtime, question: str, previous: str, quotes: Sequence[str]) -> Resolved:
    """`question` as understood after `previous` (the last question) and its answer's `quotes` (texts)."""
    if not previous or not leans_on_previous(question):
        return Resolved(question)
    parsed = runtime.parse([question], ner=False)[0]
    pronouns = [t for t in parsed if t.lower_ in _PERSON | _PLURAL | _THING and t.dep_ != "det"
                and t.tag_ in ("PRP", "PRP$", "DT")]
    found = _antecedents(runtime, previous, quotes) if pronouns else {}
    out, changed = [], False
    for t in parsed:
        kind = "person" if t.lower_ in _PERSON else "plural" if t.lower_ in _PLURAL else "thing"
        possessive = t.tag_ == "PRP$" or (t.lower_ in _POSSESSIVE and t.dep_ == "poss")
        choice = found.get(f"{kind}'s" if possessive else kind) if t in pronouns else None
        if choice is None:
            out.append(t.text_with_ws)
            continue
        out.append(choice + t.whitespace_)
        changed = True
    text = "".join(out)
    if changed:
        return Resolved(text[0].upper() + text[1:], True)
    if any(t.pos_ in ("NOUN", "PROPN") for t in parsed):
        return Resolved(question, False, True)  # leans back, but names its own subject: folded in, not rewritten
    return Resolved(f'{question} (after: "{previous}")', True, True)
