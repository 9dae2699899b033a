"""SQuAD benchmark on a tiny SQuAD-format file written into tmp_path, with the hash embedder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.answer.answer import Answer
from app.answer.quote import Quote
from app.errors import CorpusError
from app.evaluation.squad import QueryMemo, faithful, read_squad, run_squad, score_answer
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings
from tests.conftest import CountingEmbedder as _CountingEmbedder

P1 = "The walrus colony lives on Wrangel Island. Its keeper is Olga Petrova."
P2 = "Narwhals carry a spiral tusk that can grow three metres long."
P3 = "The lighthouse at Cape Zorro was built in 1871 from granite."


def qa(qid: str, question: str, context: str, answer: str) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


SQUAD = {"version": "1.1", "data": [
    {"title": "Arctic animals", "paragraphs": [
        {"context": P1, "qas": [qa("a1", "Who is the keeper of the walrus colony?", P1, "Olga Petrova")]},
        {"context": P2, "qas": [qa("a2", "How long can the spiral tusk of narwhals grow?", P2, "three metres")]},
    ]},
    {"title": "Lighthouses", "paragraphs": [
        {"context": P3, "qas": [qa("b1", "When was the lighthouse at Cape Zorro built?", P3, "1871")]},
    ]},
]}


def write_squad(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(SQUAD))
    return path


def test_read_squad_maps_answers_into_the_article_text(tmp_path):
    articles, questions = read_squad(write_squad(tmp_path))
    assert [a.doc for a in articles] == ["Arctic_animals", "Lighthouses"]
    assert articles[0].text == P1 + "\n\n" + P2
    assert articles[0].paragraph_spans == ((0, len(P1)), (len(P1) + 2, len(P1) + 2 + len(P2)))
    by_doc = {a.doc: a for a in articles}
    for q in questions:
        for start, end, text in q.answers:
            assert by_doc[q.doc].text[start:end] == text
    assert questions[1].occurrences == (questions[1].answers[0][:2],)
    assert [(q.id, q.doc, q.paragraph) for q in questions] == [
        ("a1", "Arctic_animals", 1), ("a2", "Arctic_animals", 2), ("b1", "Lighthouses", 1)]


def test_score_answer_by_offsets_and_by_text(tmp_path):
    articles, questions = read_squad(write_squad(tmp_path))
    by_doc = {a.doc: a for a in articles}
    text = by_doc["Arctic_animals"].text
    q2 = questions[1]  # "three metres", in paragraph 2

    def quote(n, start, end, doc="Arctic_animals"):
        return Quote(n, by_doc[doc].text[start:end], doc, start, end, 1, None, 0.5)

    p2 = text.index(P2)
    gold = quote(1, p2, p2 + len(P2))
    other = quote(2, 0, len(P1))
    answer = Answer(q2.question, "", [other, gold], verdict="answered")
    item = score_answer(q2, by_doc, answer, hits=[])
    assert (item["answer_in_quote@1"], item["answer_in_quote@3"]) == (False, True)
    assert (item["answer_text_in_quote@1"], item["answer_text_in_quote@3"]) == (False, True)
    assert item["paragraph@1"] is False and item["faithful"] is True
    assert item["quote_words"] == [len(P1.split()), len(P2.split())]

    # the gold span lies outside the quote, though its text occurs inside it: counts by text only
    shifted = replace(q2, answers=((len(text) - 1, len(text), "."),))  # the "." ending P2; P1 has one too
    item = score_answer(shifted, by_doc, Answer(q2.question, "", [other], verdict="answered"), hits=[])
    assert item["answer_in_quote@1"] is False and item["answer_text_in_quote@1"] is True

    # the annotated span is outside the quote, but the same answer text also occurs in the gold
    # paragraph inside the quote: a miss by the annotated offset, a hit by paragraph occurrence
    twice = replace(q2, answers=((0, 3, "The"),), occurrences=((0, 3), (p2 + 10, p2 + 13)))
    item = score_answer(twice, by_doc, Answer(q2.question, "", [gold], verdict="answered"), hits=[])
    assert item["answer_in_quote@1"] is False and item["answer_in_paragraph_quote@1"] is True

    # "not_found" shows nothing: no hit, no paragraph, and its closest quote adds no words
    item = score_answer(q2, by_doc, Answer(q2.question, "", [gold]), hits=[])
    assert not any(item[k] for k in ("answer_in_quote@1", "answer_in_quote@3", "paragraph@1", "answered", "offered"))
    assert item["verdict"] == "not_found" and item["quote_words"] == [] and item["faithful"] is True

    # "uncertain" offers its quotes: they count, though the answer is not "answered"
    item = score_answer(q2, by_doc, Answer(q2.question, "", [gold], {}, "uncertain", 0.5), hits=[])
    assert item["answer_in_quote@1"] and item["offered"] and not item["answered"]
    assert item["quote_words"] == [len(P2.split())]


def test_faithful_rejects_a_changed_quote(tmp_path):
    articles, _ = read_squad(write_squad(tmp_path))
    by_doc = {a.doc: a for a in articles}
    good = Quote(1, P3[:15], "Lighthouses", 0, 15, 1, None, 1.0)
    assert faithful([good], by_doc)
    assert not faithful([Quote(1, "The lighthouse!", "Lighthouses", 0, 15, 1, None, 1.0)], by_doc)
    assert not faithful([Quote(1, P3[:15], "Nowhere", 0, 15, 1, None, 1.0)], by_doc)
    assert not faithful([Quote(1, "", "Lighthouses", 5, 400, 1, None, 1.0)], by_doc)


def test_run_squad_end_to_end(tmp_path):
    data = write_squad(tmp_path)
    result = run_squad(data, out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", embedder=HashEmbedder(512),
                       answer_settings=AnswerSettings(threshold=0.0))
    assert (result["articles"], result["paragraphs"], result["questions"]) == (2, 3, 3)
    assert list(result["modes"]) == ["hybrid", "bm25", "dense"]
    for mode, m in result["modes"].items():
        # each question shares its rare words with exactly one sentence, which holds the answer
        assert m["answer_in_quote@1"] == 1.0, mode
        assert m["answer_text_in_quote@3"] == 1.0 and m["paragraph@1"] == 1.0, mode
        assert m["faithfulness"] == 1.0 and m["abstention_rate"] == 0.0, mode
    assert result["failures"] == []
    # the answer spans: "Olga Petrova" (a person), "three metres" (a length), "1871" (a date), each exact
    items = Path(tmp_path / "out" / "squad-tiny-squad-items.jsonl").read_text().splitlines()
    assert [json.loads(line)["hybrid"]["span"] for line in items] == ["Olga Petrova", "three metres", "1871"]
    sp = result["modes"]["hybrid"]["spans"]
    assert (sp["em"], sp["f1"], sp["coverage"], sp["em_when_given"], sp["f1_when_given"]) == (1.0, 1.0, 1.0, 1.0, 1.0)
    assert "| hybrid | 1.000 [1.000, 1.000] | 1.000 [1.000, 1.000] |" in result["markdown"]
    # 3 of 3: the Wilson interval is (0.439, 1.0), shown beside the rate
    assert result["modes"]["hybrid"]["intervals"]["answer_in_quote@1"] == [0.439, 1.0]
    assert "| **hybrid** | 1.000 [0.439, 1.000] |" in result["markdown"]
    stem = tmp_path / "out" / "squad-tiny-squad"
    assert json.loads(stem.with_suffix(".json").read_text())["modes"] == result["modes"]
    rows = [json.loads(line) for line in Path(f"{stem}-items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "b1"] and rows[0]["hybrid"]["quotes"]


def test_run_squad_counts_abstentions_as_misses(tmp_path):
    result = run_squad(write_squad(tmp_path), cache_dir=tmp_path / "cache", embedder=HashEmbedder(512),
                       answer_settings=AnswerSettings(threshold=5.0, floor=5.0), modes=["hybrid"], limit=2)
    m = result["modes"]["hybrid"]
    assert result["questions"] == 2 and m["abstention_rate"] == 1.0
    assert m["answer_in_quote@3"] == 0.0 and m["paragraph@1"] == 0.0 and m["mean_quote_words"] == 0.0
    assert m["faithfulness"] == 1.0  # the closest passage shown on abstention is still checked
    assert len(result["failures"]) == 2 and "(not_found)" in result["markdown"]


def test_run_squad_counts_uncertain_quotes(tmp_path):
    result = run_squad(write_squad(tmp_path), cache_dir=tmp_path / "cache", embedder=HashEmbedder(512),
                       answer_settings=AnswerSettings(threshold=5.0, floor=0.0), modes=["hybrid"])
    m = result["modes"]["hybrid"]
    assert (m["uncertain_rate"], m["abstention_rate"], m["answer_in_quote@1"]) == (1.0, 0.0, 1.0)
    assert "| **hybrid** | 1.000 [0.439, 1.000] |" in result["markdown"]


def test_bad_input(tmp_path):
    with pytest.raises(CorpusError, match="cannot read"):
        run_squad(tmp_path / "missing.json", embedder=HashEmbedder(512))
    bad = tmp_path / "bad.json"
    bad.write_text('{"no": 1}')
    with pytest.raises(CorpusError, match="SQuAD"):
        read_squad(bad)
    with pytest.raises(ValueError, match="mode"):
        run_squad(write_squad(tmp_path), modes=["sparse"], embedder=HashEmbedder(512))


class CountingEmbedder(_CountingEmbedder):
    """The shared counting embedder, at the 512 dimensions these expected values were computed with."""

    def __init__(self, dim: int = 512) -> None:
        super().__init__(dim)


def test_questions_are_encoded_once(tmp_path):
    data = write_squad(tmp_path)
    run_squad(data, cache_dir=tmp_path / "cache", embedder=HashEmbedder(512))  # builds the index
    counting = CountingEmbedder()
    run_squad(data, cache_dir=tmp_path / "cache", embedder=counting, answer_settings=AnswerSettings(threshold=0.0))
    assert sorted(counting.seen) == sorted(q["question"] for a in SQUAD["data"] for p in a["paragraphs"]
                                           for q in p["qas"])
    memo = QueryMemo(HashEmbedder(512), ["known question"])
    for texts in (["known question"], ["an unknown one"], ["known question", "an unknown one"]):
        np.testing.assert_array_equal(memo.encode(texts), HashEmbedder(512).encode(texts))
