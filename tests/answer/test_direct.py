"""Direct answers at ask time (app/answer/direct.py): sentences parsed once per runtime, questions parsed
in batches across callers, each as alone."""

from __future__ import annotations

import threading
import time

from app.answer import direct
from app.answer.spans import sentence_from_doc
from app.batching import Batcher
from app.index.ner import load_pipeline
from app.runtime import Runtime

NLP = load_pipeline()


def parse(texts, ner=True):
    return list(NLP.pipe(texts, disable=[] if ner else ["ner"]))


class CountingRuntime(Runtime):
    """A runtime on the shared pipeline that records every batch it parses."""

    def __init__(self, parsed_max: int = 4096) -> None:
        super().__init__(nlp=lambda: NLP, parsed_max=parsed_max)
        self.batches: list[list[str]] = []

    def parse(self, texts, ner=True):
        self.batches.append(list(texts))
        return super().parse(texts, ner=ner)


def test_a_sentence_is_parsed_once_and_only_the_new_ones_go_to_spacy():
    runtime = CountingRuntime()
    first = "Police said as many as 700 people were detained in Almaty."
    second = "The siege lasted eleven months before the city fell."
    one = direct.parsed_sentences(runtime, [first, second])
    two = direct.parsed_sentences(runtime, [second, "The bridge cost $2 million.", first])
    assert runtime.batches == [[first, second], ["The bridge cost $2 million."]]
    assert two[0] is one[1] and two[2] is one[0]
    # what is kept is what a fresh parse gives
    assert one[0] == sentence_from_doc(parse([first], ner=False)[0], 0)


def test_the_store_keeps_at_most_its_size_oldest_out_first():
    runtime = CountingRuntime(parsed_max=2)
    direct.parsed_sentences(runtime, ["One cat sat.", "Two dogs ran.", "Three birds sang."])
    assert runtime.parsed_texts() == ["Two dogs ran.", "Three birds sang."]
    direct.parsed_sentences(runtime, ["One cat sat."])
    assert runtime.batches[-1] == ["One cat sat."]
    assert runtime.parsed_texts() == ["Three birds sang.", "One cat sat."]


def test_a_sentence_with_a_long_symbol_run_is_parsed_guarded_with_offsets_on_its_own_text():
    runtime = CountingRuntime()
    text = "The " + "=" * 3000 + " bridge at Almaty cost two million tenge."
    sentence = direct.parsed_sentences(runtime, [text])[0]
    assert runtime.batches[0][0].split()[:3] == ["The", "=" * 30, "=" * 30]  # spaCy sees the guarded copy
    assert sentence.text == text
    words = [text[a:b] for a, b, *_ in sentence.tokens]
    assert words == [t.text for t in parse(runtime.batches[0], ner=False)[0]]  # each token, cut from the original
    assert words[-8:] == "bridge at Almaty cost two million tenge .".split()
    assert "Almaty" in [text[a:b] for a, b in sentence.phrases]


# ---------------------------------------------------------------- the question parse, batched across callers


def signature(doc) -> list:
    """What a parse says of each token (and its noun phrases): what `analysis_of` reads."""
    return [(t.text, t.tag_, t.pos_, t.dep_, t.head.i, t.lemma_, t.is_sent_start, str(t.morph)) for t in doc] + \
        [[(c.start, c.end) for c in doc.noun_chunks]]


class GatedParse:
    """`parse_questions` whose first call waits for `release`; records every batch it is given."""

    def __init__(self) -> None:
        self.calls: list[list] = []
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, questions: list) -> list:
        self.calls.append(list(questions))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(30), "the test never released the first batch"
        return parse(questions, ner=False)


def parse_behind_a_blocked_batch(batcher: Batcher, gate: GatedParse, first, rest: list, call=None) -> dict:
    """`call` (default `batcher.submit`) of `first` (blocked inside the parse), then of each of `rest`, queued
    behind it; {position: result or exception}."""
    out: dict = {}
    call = call or batcher.submit

    def one(i: int, x) -> None:
        try:
            out[i] = call(x)
        except Exception as exc:  # noqa: BLE001 - the caller's own error is the result checked
            out[i] = exc

    leader = threading.Thread(target=one, args=(0, first))
    leader.start()
    assert gate.entered.wait(30)
    followers = [threading.Thread(target=one, args=(i + 1, x)) for i, x in enumerate(rest)]
    for t in followers:
        t.start()
    deadline = time.monotonic() + 30
    while batcher.waiting < len(rest):
        assert time.monotonic() < deadline, "the callers never queued"
        time.sleep(0.005)
    gate.release.set()
    for t in [leader, *followers]:
        t.join(30)
    return out


def test_questions_queued_together_are_parsed_in_one_batch_each_as_alone():
    questions = ["Who is Aron Atabek?", "How many people were detained in Almaty?", "When did the siege end?",
                 "What did the inspectors count in the cells?", "Is the prison overcrowded?"]
    gate = GatedParse()
    batcher = Batcher(gate)
    out = parse_behind_a_blocked_batch(batcher, gate, questions[0], questions[1:])
    assert [len(c) for c in gate.calls] == [1, 4] and sorted(gate.calls[1]) == sorted(questions[1:])
    assert dict(batcher.stats.sizes) == {1: 1, 4: 1}
    for i, q in enumerate(questions):
        assert out[i].text == q
        assert signature(out[i]) == signature(parse([q], ner=False)[0])  # the caller's own parse, as alone


def test_a_bad_question_in_a_parse_batch_gets_spacys_error_and_the_others_their_parses():
    gate = GatedParse()
    batcher = Batcher(gate)
    rest = ["Who wrote the report?", 42, "Where were the cells?"]  # 42: not text, which spaCy refuses
    out = parse_behind_a_blocked_batch(batcher, gate, "How long did they wait?", rest)
    assert isinstance(out[2], ValueError) and "[E1041] Expected a string" in str(out[2])
    for i, q in ((0, "How long did they wait?"), (1, rest[0]), (3, rest[2])):
        assert signature(out[i]) == signature(parse([q], ner=False)[0])
    assert batcher.stats.retried_alone == 3  # the batch of three failed, then each ran alone


def test_the_question_is_analysed_through_the_runtimes_queue_and_the_spans_parse_no_more():
    from app.answer.answer_types import analyse, analysis_of

    runtime = CountingRuntime()
    question = analyse(runtime, "Who wrote the report?", "en")
    assert runtime.batches == [["Who wrote the report?"]] and dict(runtime.question_parses.stats.sizes) == {1: 1}
    assert question == analysis_of(parse(["Who wrote the report?"], ner=False)[0])
    found = direct.with_spans(runtime, None, [], question)  # no candidates: nothing more is parsed
    assert runtime.batches == [["Who wrote the report?"]] and found.question is question


# ---------------------------------------------------------------- the answer span on the first quote


def _quote(n: int, doc: str, start: int, end: int):
    from app.answer.quote import Quote

    return Quote(n, "x" * (end - start), doc, start, end, 1, None, 0.5)


def _direct(spans: dict, threshold: float = 0.3):
    from app.answer.answer_types import Analysis, Asked

    return direct.Direct([], spans, Analysis("How many?", "en", Asked("count")), False, threshold)


def test_only_the_first_quote_carries_an_answer():
    # both quotes hold a confident span; the second answers a neighbouring question
    quotes = [_quote(1, "a.txt", 0, 50), _quote(2, "a.txt", 60, 120)]
    found = _direct({0: ("a.txt", direct.Span(10, 20, "CARDINAL", 0.4)),
                     1: ("a.txt", direct.Span(70, 78, "CARDINAL", 0.9))})
    assert [q.answer for q in direct.mark_answers(quotes, found)] == [(10, 20), None]


def test_a_later_quote_never_answers_for_a_first_without_a_confident_span():
    quotes = [_quote(1, "a.txt", 0, 50), _quote(2, "a.txt", 60, 120)]
    found = _direct({0: ("a.txt", direct.Span(10, 20, "CARDINAL", 0.2)),
                     1: ("a.txt", direct.Span(70, 78, "CARDINAL", 0.9))})
    assert [q.answer for q in direct.mark_answers(quotes, found)] == [None, None]


def test_per_document_answers_carry_one_answer_per_document():
    quotes = [_quote(1, "a.txt", 0, 50), _quote(2, "b.txt", 0, 40), _quote(3, "b.txt", 60, 90)]
    found = _direct({0: ("a.txt", direct.Span(5, 9, "DATE", 0.5)), 1: ("b.txt", direct.Span(30, 35, "DATE", 0.6)),
                     2: ("b.txt", direct.Span(61, 70, "DATE", 0.8))})
    assert [q.answer for q in direct.mark_answers(quotes, found, per_document=True)] == [(5, 9), (30, 35), None]


def test_a_span_under_uncertain_is_shown_only_when_the_figures_say_it_is_as_good(tmp_path):
    """The rule of issue 29: bold under "uncertain" only within `MARGIN` F1 of "answered" (span_precision.json)."""
    import json

    from app.answer.loading import assistant_over_texts

    text = ("Prison Review\n\nThe inspectors counted 212 prisoners held in cells built for 150.\n\n"
            "Guards beat detainees.")
    assistant = assistant_over_texts(tmp_path, {"r.txt": text})
    within, apart = tmp_path / "within.json", tmp_path / "apart.json"
    for path, f1 in ((within, 0.75), (apart, 0.74)):  # 0.80 - 0.75 = 0.05: within; 0.06: apart
        figures = {"answered": {"spans": 5, "f1": 0.80}, "uncertain": {"spans": 2, "f1": f1}}
        path.write_text(json.dumps({"report": figures}))
    question = "How many prisoners did the inspectors count?"
    bold = {"text": "212", "start": text.index("212"), "end": text.index("212") + 3}
    # answered: always bold, whatever the figures; uncertain: only with figures within the margin
    for threshold, figures, verdict, answer in [(0.1, str(apart), "answered", bold),
                                                (0.99, str(tmp_path / "absent.json"), "uncertain", None),
                                                (0.99, str(apart), "uncertain", None),
                                                (0.99, str(within), "uncertain", bold)]:
        out = assistant.with_settings(threshold=threshold, floor=0.01, span_precision=figures).ask(question).to_dict()
        assert (out["verdict"], out["quotes"][0].get("answer")) == (verdict, answer), figures
