"""SQuAD 2.0 suite: parsing, the AUC, verdict counting, and a run on a tiny file with the hash embedder."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from app.answer.answer import Answer
from app.answer.quote import Quote
from app.cli import main
from app.errors import CorpusError
from app.evaluation import uncertainty
from app.evaluation.squad import read_squad, run_squad
from app.evaluation.squad2 import judge, run_squad2, summarize
from app.evaluation.uncertainty import auc_interval, roc_auc
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings
from tests.conftest import DATA

TINY = DATA / "squad2_tiny.json"
P1 = "The walrus colony lives on Wrangel Island. Its keeper is Olga Petrova."
P2 = "Narwhals carry a spiral tusk that can grow three metres long."
P3 = "The lighthouse at Cape Zorro was built in 1871 from granite."
P2_AT = len(P1) + 2  # the articles' paragraphs are joined by a blank line


def answer(verdict: str, confidence: float, quotes: list[Quote]) -> Answer:
    return Answer("?", "", quotes, {}, verdict, confidence)


def test_read_squad_reads_unanswerable_questions_and_plausible_answers():
    articles, questions = read_squad(TINY)
    assert [a.doc for a in articles] == ["Arctic_animals", "Lighthouses"]
    assert articles[0].text == P1 + "\n\n" + P2
    got = [(q.id, q.doc, q.paragraph, q.answerable, q.answers, q.plausible) for q in questions]
    assert got == [
        ("a1", "Arctic_animals", 1, True, ((57, 69, "Olga Petrova"), (62, 69, "Petrova")), ()),
        ("u1", "Arctic_animals", 1, False, (), ((57, 69, "Olga Petrova"),)),
        ("a2", "Arctic_animals", 2, True, ((P2_AT + 43, P2_AT + 55, "three metres"),), ()),
        ("u2", "Arctic_animals", 2, False, (), ((P2_AT + 43, P2_AT + 55, "three metres"),)),
        ("b1", "Lighthouses", 1, True, ((42, 46, "1871"),), ()),
        ("u3", "Lighthouses", 1, False, (), ((42, 46, "1871"),)),
        ("u4", "Lighthouses", 1, False, (), ()),  # is_impossible without plausible_answers
    ]
    assert articles[0].text[P2_AT + 43:P2_AT + 55] == "three metres"


def _write(tmp_path: Path, qa: dict) -> Path:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": P3, "qas": [qa]}]}]}))
    return path


def test_read_squad_rejects_contradictory_questions(tmp_path):
    with pytest.raises(CorpusError, match="question q has no answers and is not marked"):
        read_squad(_write(tmp_path, {"id": "q", "question": "When?", "answers": []}))
    with pytest.raises(CorpusError, match="question q is marked \"is_impossible\" but has answers"):
        read_squad(_write(tmp_path, {"id": "q", "question": "When?", "is_impossible": True,
                                     "answers": [{"text": "1871", "answer_start": 42}]}))
    with pytest.raises(CorpusError, match="answer 'granite!' of question q is not in its paragraph"):
        read_squad(_write(tmp_path, {"id": "q", "question": "Of what?", "is_impossible": True, "answers": [],
                                     "plausible_answers": [{"text": "granite!", "answer_start": 0}]}))


def test_the_squad_suite_sends_squad2_files_to_squad2():
    with pytest.raises(CorpusError, match="holds 4 unanswerable questions .*--suite squad2"):
        run_squad(TINY, embedder=HashEmbedder(512))


def test_roc_auc_exact_values():
    # positives 0.9, 0.5, 0.5 against negatives 0.5, 0.1: of the 6 pairs, 4 won and 2 tied -> 5/6
    assert roc_auc([0.9, 0.5, 0.5, 0.5, 0.1], [True, True, True, False, False]) == pytest.approx(5 / 6)
    assert roc_auc([0.1, 0.2, 0.3, 0.4], [False, False, True, True]) == 1.0
    assert roc_auc([0.1, 0.2, 0.3, 0.4], [True, True, False, False]) == 0.0
    assert roc_auc([0.7, 0.7, 0.7], [True, False, True]) == 0.5
    assert roc_auc([0.1, 0.2], [True, True]) is None and roc_auc([], []) is None
    with pytest.raises(ValueError, match="2 scores for 3 labels"):
        roc_auc([0.1, 0.2], [True, False, True])
    with pytest.raises(ValueError, match="finite"):
        roc_auc([float("nan"), 0.2], [True, False])


def test_roc_auc_equals_counting_every_pair():
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(2, 30)
        scores = [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]) for _ in range(n)]  # many ties
        labels = [rng.random() < 0.5 for _ in range(n)]
        pos = [s for s, y in zip(scores, labels, strict=True) if y]
        neg = [s for s, y in zip(scores, labels, strict=True) if not y]
        if not pos or not neg:
            continue
        pairs = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg))
        assert roc_auc(scores, labels) == pytest.approx(pairs / (len(pos) * len(neg)))


def test_auc_interval():
    assert auc_interval([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == (1.0, 1.0)
    assert auc_interval([0.9, 0.8], [True, True]) is None
    scores = [0.9, 0.5, 0.5, 0.5, 0.1, 0.6, 0.3, 0.4]
    labels = [True, True, True, False, False, False, True, False]
    low, high = auc_interval(scores, labels)
    assert low <= roc_auc(scores, labels) <= high and (low, high) == auc_interval(scores, labels)  # fixed seed


def test_auc_interval_equals_a_resample_by_resample_reference():
    """The vectorised bootstrap against `roc_auc` on each resample, drawn from the same generator."""
    rng = random.Random(3)
    scores = np.array([rng.choice([0.1, 0.2, 0.3, 0.5, 0.8]) for _ in range(40)])  # ties
    labels = np.array([rng.random() < 0.4 for _ in range(40)])
    gen = np.random.default_rng(uncertainty.SEED)
    pos, neg = scores[labels], scores[~labels]
    both = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    aucs = []
    for size in [uncertainty.BLOCK] * (uncertainty.RESAMPLES // uncertainty.BLOCK):
        sp, sn = gen.choice(pos, (size, len(pos))), gen.choice(neg, (size, len(neg)))
        aucs += [roc_auc(np.r_[a, b], both) for a, b in zip(sp, sn, strict=True)]
    expected = tuple(round(float(x), 3) for x in np.percentile(aucs, [2.5, 97.5]))
    assert auc_interval(scores, labels) == expected


def test_judge_and_count_verdicts():
    articles, questions = read_squad(TINY)
    by_doc = {a.doc: a for a in articles}
    q = {x.id: x for x in questions}
    arctic, lights = by_doc["Arctic_animals"].text, by_doc["Lighthouses"].text

    def quote(doc_text: str, doc: str, start: int, end: int, n: int = 1) -> Quote:
        return Quote(n, doc_text[start:end], doc, start, end, 1, None, 0.5)

    keeper = quote(arctic, "Arctic_animals", 43, 70)  # "Its keeper is Olga Petrova."
    keeper = Quote(keeper.n, keeper.text, keeper.doc, 43, 70, 1, None, 0.5, (57, 69))  # answer span "Olga Petrova"
    island = quote(arctic, "Arctic_animals", 0, 42, 2)  # "The walrus colony lives on Wrangel Island."
    tusk = quote(arctic, "Arctic_animals", P2_AT, P2_AT + len(P2))
    built = quote(lights, "Lighthouses", 0, len(P3))
    cases = [
        (q["a1"], answer("answered", 0.9, [island, keeper])),   # answer in the 2nd quote: @3 only
        (q["a2"], answer("uncertain", 0.5, [tusk])),            # uncertain passages count as shown
        (q["b1"], answer("not_found", 0.1, [built])),           # the closest passage is no answer
        (q["u1"], answer("answered", 0.8, [keeper])),           # the trap: plausible span quoted
        (q["u2"], answer("uncertain", 0.4, [island, tusk])),    # plausible span in the 2nd quote only
        (q["u3"], answer("not_found", 0.2, [built])),
        (q["u4"], answer("not_found", 0.0, [])),
    ]
    judged = [judge(question, by_doc[question.doc], answer) for question, answer in cases]
    assert [(j.question.id, j.verdict, j.in_quote, j.plausible_in_quote) for j in judged] == [
        ("a1", "answered", (False, True), False),
        ("a2", "uncertain", (True, True), False),
        ("b1", "not_found", (False, False), False),
        ("u1", "answered", (False, False), True),
        ("u2", "uncertain", (False, False), False),
        ("u3", "not_found", (False, False), False),
        ("u4", "not_found", (False, False), False),
    ]
    s = summarize(judged)
    assert s["verdicts"] == {"answerable": {"answered": 1, "uncertain": 1, "not_found": 1},
                             "unanswerable": {"answered": 1, "uncertain": 1, "not_found": 2}}
    assert (s["questions"], s["answerable"], s["unanswerable"]) == (7, 3, 4)
    # answerable 0.9, 0.5, 0.1 against unanswerable 0.8, 0.4, 0.2, 0.0: 4 + 3 + 1 of 12 pairs won
    assert s["confidence_auc"] == 0.6667
    assert s["counts"] == {"answer_in_quote@1": [1, 3], "answer_in_quote@3": [2, 3],
                           "hard_false_refusal_rate": [1, 3], "unanswerable_answered_rate": [1, 4],
                           "plausible_in_quote@1": [1, 4], "faithfulness": [7, 7],
                           "unanswerable_given_span_rate": [1, 4]}  # u1 is shown "Olga Petrova"
    # spans over the answerable: a1 "Olga Petrova" (exact), a2 none shown, b1 not_found (nothing shown)
    sp = s["spans"]
    assert (sp["n"], sp["given"], sp["em"], sp["f1"], sp["coverage"], sp["f1_when_given"]) == (
        3, 1, 1 / 3, 1 / 3, 1 / 3, 1.0)
    assert (s["answer_in_quote@3"], s["hard_false_refusal_rate"], s["unanswerable_answered_rate"]) == (
        0.6667, 0.3333, 0.25)
    assert s["verdict_rates"]["unanswerable"] == {"answered": 0.25, "uncertain": 0.25, "not_found": 0.5}
    assert s["intervals"]["unanswerable_answered_rate"] == [0.046, 0.699]  # Wilson, 1 of 4
    assert s["intervals"]["verdict_rates"]["answerable"]["answered"] == [0.061, 0.792]  # Wilson, 1 of 3

    # a quote that is not the article's text is caught
    forged = Quote(1, "Its keeper is Ivan.", "Arctic_animals", 43, 70, 1, None, 0.5)
    assert judge(q["a1"], by_doc["Arctic_animals"], answer("answered", 0.9, [forged])).faithful is False


@pytest.mark.parametrize(("threshold", "floor", "expected"), [
    # u4 "Who painted the lighthouse at Cape Zorro?" asks for a person; its article names none: at most uncertain.
    # A verdict reads a sentence's evidence, below 0 when it is less like the question than like its corpus:
    # -1 answers every question
    (-1.0, -1.0, {"answerable": {"answered": 3, "uncertain": 0, "not_found": 0},
                "unanswerable": {"answered": 3, "uncertain": 1, "not_found": 0}}),
    (5.0, -1.0, {"answerable": {"answered": 0, "uncertain": 3, "not_found": 0},
                "unanswerable": {"answered": 0, "uncertain": 4, "not_found": 0}}),
    (5.0, 5.0, {"answerable": {"answered": 0, "uncertain": 0, "not_found": 3},
                "unanswerable": {"answered": 0, "uncertain": 0, "not_found": 4}}),
])
def test_run_squad2_end_to_end(tmp_path, threshold, floor, expected):
    result = run_squad2(TINY, out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", embedder=HashEmbedder(512),
                        answer_settings=AnswerSettings(threshold=threshold, floor=floor))
    assert (result["articles"], result["paragraphs"], result["questions"]) == (2, 3, 7)
    assert result["verdicts"] == expected
    assert result["faithfulness"] == 1.0 and result["trained_on"] == []
    # the AUC against scikit-learn's, on the confidences the run wrote per question
    written = (tmp_path / "out" / "squad2-squad2_tiny-items.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in written]
    reference = roc_auc_score([i["answerable"] for i in items], [i["confidence"] for i in items])
    assert result["confidence_auc"] == pytest.approx(reference, abs=1e-4)
    # each answerable question shares its rare words with the one sentence that holds its answer;
    # quotes offered as "uncertain" count, the closest passage of "not_found" does not
    assert result["answer_in_quote@1"] == (0.0 if floor == 5.0 else 1.0)
    assert [(a["doc"], a["questions"], a["unanswerable"]) for a in result["per_article"]] == [
        ("Arctic_animals", 4, 2), ("Lighthouses", 3, 2)]
    for doc in ("Arctic_animals", "Lighthouses"):  # one index per article
        manifest = json.loads((tmp_path / "cache" / doc / "manifest.json").read_text())
        assert list(manifest["documents"]) == [doc]
    assert "every one of the 2 articles is unseen" in result["markdown"]
    assert "| answerable | " in result["markdown"] and "| unanswerable | " in result["markdown"]
    stem = tmp_path / "out" / "squad2-squad2_tiny"
    assert json.loads(stem.with_suffix(".json").read_text())["verdicts"] == expected
    rows = [json.loads(line) for line in Path(f"{stem}-items.jsonl").read_text().splitlines()]
    assert [(r["id"], r["answerable"]) for r in rows] == [
        ("a1", True), ("u1", False), ("a2", True), ("u2", False), ("b1", True), ("u3", False), ("u4", False)]
    assert rows[1]["plausible_answers"] == ["Olga Petrova"]


def test_run_squad2_keeps_the_first_articles_or_questions(tmp_path):
    kw = {"cache_dir": tmp_path / "cache", "embedder": HashEmbedder(512), "answer_settings": AnswerSettings()}
    one = run_squad2(TINY, articles=1, **kw)
    assert (one["articles"], one["questions"], one["answerable"]) == (1, 4, 2)
    three = run_squad2(TINY, limit=3, **kw)
    assert (three["articles"], three["questions"], three["unanswerable"]) == (1, 3, 1)


def test_eval_cli_squad2_json(tmp_path, monkeypatch):
    from app.evaluation import squad2

    seen = {}

    def fake_run(data, out_dir=None, span_weights=None):
        seen.update(data=data, out_dir=out_dir, span_weights=span_weights)
        return run_squad2(data, cache_dir=tmp_path / "cache", embedder=HashEmbedder(512),
                          answer_settings=AnswerSettings(threshold=0.0, floor=0.0))

    monkeypatch.setattr(squad2, "run_squad2", fake_run)
    runner = CliRunner()
    result = runner.invoke(main, ["eval", "--suite", "squad2", "--data", str(TINY), "--json",
                                  "--out", str(tmp_path / "out"), "--fail-under", "faithfulness=1.0"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["suite"] == "squad2" and figures["questions"] == 7 and "markdown" not in figures
    assert seen == {"data": TINY, "out_dir": tmp_path / "out", "span_weights": None}
    assert "all 1 gate(s) passed" in result.stderr
    folds = tmp_path / "folds.json"  # each article answered by the span weights of its fold
    folds.write_text(json.dumps({"Arctic_animals": "a.json", "Lighthouses": "b.json"}))
    result = runner.invoke(main, ["eval", "--suite", "squad2", "--data", str(TINY), "--json",
                                  "--span-folds", str(folds)])
    assert result.exit_code == 0 and seen["span_weights"] == {"Arctic_animals": "a.json", "Lighthouses": "b.json"}
    result = runner.invoke(main, ["eval", "--suite", "squad", "--data", str(TINY), "--span-folds", str(folds)])
    assert result.exit_code == 2 and "--span-folds works on the squad2 suite only" in result.output
    result = runner.invoke(main, ["eval", "--suite", "squad2"])
    assert result.exit_code == 2 and "--suite squad2 needs --data (a SQuAD 2.0 JSON file)" in result.output
    result = runner.invoke(main, ["eval", "--json"])
    assert result.exit_code == 2 and "--json works on the benchmark suites" in result.output
