"""The parser's guarded copy: bounded runs, and offsets that map back to the original exactly."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from app.index.guard import LONG_RUN, SYMBOL_RUN, guard

# letters, digits, spaces and the symbols of the upload, so long runs of each kind are drawn
_TEXT = st.text(st.sampled_from("aZ9 =!?.,;:_-é\n"), max_size=400)


@given(_TEXT)
def test_every_span_of_the_copy_maps_to_the_same_characters_of_the_original(text: str):
    g = guard(text)
    assert g.text.replace(" ", "") == text.replace(" ", "")
    assert all(g.text[i] == " " for i in g.inserted)
    real = [i for i in range(len(g.text)) if i not in set(g.inserted)]
    assert "".join(text[g.start(i)] for i in real) == text
    for a in real[::7]:
        for b in real[::5]:
            if b >= a:
                s, e = g.span(a, b + 1)
                assert text[s:e] == "".join(g.text[i] for i in range(a, b + 1) if i not in g.inserted)


@given(_TEXT)
def test_the_copy_has_no_run_over_the_bounds(text: str):
    copy = guard(text).text
    assert all(len(run) <= SYMBOL_RUN for run in re.findall(r"(?:[^\w\s]|_)+", copy))
    assert all(len(run) <= LONG_RUN for run in copy.split())


def test_runs_are_cut_after_thirty_symbols_and_a_hundred_characters():
    assert guard("=" * 61).text == f"{'=' * 30} {'=' * 30} ="
    assert guard("=" * 61).inserted == (30, 61)
    assert guard("a" * 250).inserted == (100, 201)
    assert guard("a-" * 20).text == "a-" * 20  # 40 characters, no symbol run: unchanged
    assert guard("!?.,;:" * 2000).text.split() == ["!?.,;:" * 5] * 400  # the 12 KB upload
    text = "The " + "=" * 31 + " end"
    assert guard(text).inserted == (34,) and guard(text).span(37, 40) == (36, 39)  # "end"
