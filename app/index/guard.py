"""Text a parser handles badly, made safe in the copy the parser sees, with a map back to the original.

spaCy's tokenizer is quadratic on a long unbroken run of symbols (`"=" * 3000`: 1.7 s; 12 KB of
`!?.,;:`: minutes) and superlinear on long tokens that mix letters and symbols (`"a-" * 16000`: 4 s).
`guard` cuts such runs with spaces in a copy: a run of non-alphanumeric characters after
`SYMBOL_RUN` of them, any non-space run after `LONG_RUN` characters. Offsets found in the copy
map back to the original exactly (`Guarded.span`), so quotes cut by offsets stay verbatim.

>>> g = guard("Paris " + "=" * 70 + " Rome")
>>> g.text.count(" "), g.inserted
(4, (36, 67))
>>> s = g.text.index("Rome"); g.span(s, s + 4)
(77, 81)
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

SYMBOL_RUN = 30  # symbols in a row the parser is given (measured: 30 cost about what 30 letters do)
LONG_RUN = 100  # characters without a space the parser is given (URLs and paths are shorter)
_LONG = re.compile(rf"\S{{{SYMBOL_RUN + 1},}}")


@dataclass(frozen=True)
class Guarded:
    """The parser's copy of a text: `inserted` lists the copy's positions of the spaces added, ascending."""

    text: str
    inserted: tuple[int, ...] = ()

    def start(self, i: int) -> int:
        """The original offset of the copy's character `i` (an added space: the character after it)."""
        return i - bisect_left(self.inserted, i)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the copy's span [start, end), which starts and ends on original characters."""
        return (self.start(start), self.start(end - 1) + 1) if end > start else (self.start(start),) * 2


def guard(text: str, symbols: int = SYMBOL_RUN, longest: int = LONG_RUN) -> Guarded:
    """`text` with a space added inside each run longer than the bounds (see the module docstring)."""
    if not _LONG.search(text):
        return Guarded(text)
    parts: list[str] = []
    inserted: list[int] = []
    last = 0
    for m in _LONG.finditer(text):
        parts.append(text[last:m.start()])
        size = sym = 0
        for i, ch in enumerate(m.group(), m.start()):
            is_sym = not ch.isalnum()
            if size >= longest or (is_sym and sym >= symbols):
                inserted.append(i + len(inserted))
                parts.append(" ")
                size = sym = 0
            parts.append(ch)
            size += 1
            sym = sym + 1 if is_sym else 0
        last = m.end()
    parts.append(text[last:])
    return Guarded("".join(parts), tuple(inserted))
