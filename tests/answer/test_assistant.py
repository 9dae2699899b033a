from dataclasses import replace
from pathlib import Path

import pytest

from app.answer.answer import Answer
from app.answer.assistant import Assistant
from app.answer.followup import contextual_query, leans_on_previous
from app.answer.messages import line
from app.answer.question import validate_question
from app.errors import IndexStaleError, QuestionError
from app.index.search import fuse_relative, fuse_rrf
from app.settings import AnswerSettings
from tests.conftest import assert_quotes_verbatim

CONTRACT_KEYS = ["question", "answered", "verdict", "confidence", "message", "quotes"]
QUOTE_KEYS = ["n", "text", "doc", "start", "end", "paragraph", "page", "score"]


def test_answer_quotes_the_sentence_with_exact_offsets(tiny_assistant: Assistant):
    answer = tiny_assistant.ask("How much was spent on prison food?").to_dict()
    assert list(answer) == CONTRACT_KEYS
    assert answer["answered"] is True
    first = answer["quotes"][0]
    assert list(first) == [*QUOTE_KEYS, "answer"]  # the answer span: "The ministry spent " is 19 characters
    assert tuple(first[key] for key in ("n", "text", "doc", "start", "end", "paragraph", "page", "answer")) == (
        1, "The ministry spent 3.2 million dollars on prison food in 2023.", "sub/budget.md", 16, 78, 2, None,
        {"text": "3.2 million dollars", "start": 16 + 19, "end": 16 + 19 + 19})
    assert answer["message"] == "[1] \u201cThe ministry spent 3.2 million dollars on prison food in 2023.\u201d"
    assert_quotes_verbatim(answer, tiny_assistant)


def test_a_question_in_the_text_is_never_quoted(tiny_assistant: Assistant):
    answer = tiny_assistant.ask("How many prisoners were in solitary confinement?").to_dict()
    assert answer["quotes"][0]["text"] == (
        "A: Yes. The inspectors found 14 prisoners in solitary confinement, some for more than six months.")
    assert all(not q["text"].endswith("?") for q in answer["quotes"])
    assert_quotes_verbatim(answer, tiny_assistant)


def test_unanswerable_question_says_so_and_shows_only_the_closest_passage(tiny_assistant: Assistant):
    answer = tiny_assistant.with_settings(threshold=0.3).ask("What is the capital of France?").to_dict()
    assert answer["answered"] is False
    assert answer["message"].startswith(line("en", "not_answered"))
    assert [q["text"] for q in answer["quotes"]] == [  # a sentence under 15 words takes the next along
        "The inspectors visited four prisons in the northern region during March. "
        "They counted 212 prisoners held in cells built for 150."]
    assert_quotes_verbatim(answer, tiny_assistant)


def test_document_filter_limits_the_search(tiny_assistant: Assistant):
    answer = tiny_assistant.ask("When did the visit take place?", docs=["prisons.txt"]).to_dict()
    assert {q["doc"] for q in answer["quotes"]} == {"prisons.txt"}
    assert tiny_assistant.ask("When did the visit take place?", docs=["nope.txt"]).to_dict()["quotes"] == []


def test_quotes_never_repeat_text(tiny_assistant: Assistant):
    answer = tiny_assistant.with_settings(min_relative_score=0.0).ask("guard tower at the northern prison", k=10)
    texts = [q.text for q in answer.quotes]
    assert len(texts) == len(set(texts))
    assert texts.count("Photo: a guard tower at the northern prison.") == 1


def test_search_returns_ranked_passages(tiny_assistant: Assistant):
    result = tiny_assistant.search("prison food budget", k=2).to_dict()
    assert [(h["doc"], h["start"], h["end"], h["paragraph"]) for h in result["hits"]] == [
        ("sub/budget.md", 0, 164, 1), ("sub/budget.md", 124, 217, 4)]
    assert list(result["hits"][0]) == ["doc", "start", "end", "paragraph", "score"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_quotes_verbatim(tiny_assistant: Assistant, mode: str):
    answer = tiny_assistant.ask("insulin for diabetes", mode=mode).to_dict()
    assert answer["quotes"][0]["text"] == "Two prisoners with diabetes received no insulin for a week."
    assert_quotes_verbatim(answer, tiny_assistant)


@pytest.mark.parametrize("question, message", [
    ("", "the question is empty"),
    ("   \n\t ", "the question is empty"),
    ("x" * 100_000, "the question is 100,000 characters; the limit is 2,000"),
    ("why\x00not", r"control characters \(U\+0000\)"),
    ("bell\x07", r"control characters \(U\+0007\)"),
    (None, "a question must be text, not NoneType"),
])
def test_bad_questions_get_a_one_line_reason(question, message):
    with pytest.raises(QuestionError, match=message):
        validate_question(question, 2_000)


def test_question_is_stripped_but_otherwise_kept():
    assert validate_question("  Who is he?\n", 100) == "Who is he?"


def test_stale_index_is_refused_when_the_corpus_is_given(tiny_index: Path, tiny_corpus: Path):
    (tiny_corpus / "prisons.txt").write_text("Edited.\n")
    with pytest.raises(IndexStaleError, match="prisons.txt has changed"):
        Assistant.load(tiny_index, corpus_dir=tiny_corpus)


def test_follow_up_folds_in_the_previous_question():
    assert leans_on_previous("How long was he there?") is True
    assert leans_on_previous("What did Amnesty International find in Zhanaozen prisons?") is False
    assert leans_on_previous("What are the conditions and rights of prisoners in Kazakh jails?") is False
    assert leans_on_previous("Also, who wrote the report on Kazakh prisons?") is True
    assert leans_on_previous("How long exactly?") is True  # too short to stand alone
    assert leans_on_previous("Built for how many?") is True
    assert leans_on_previous("How were detainees mistreated?") is False  # short, but whole: verb and subject
    folded = contextual_query("And the budget?", ["Who visited?", "What about food?"])
    assert folded == "What about food? And the budget?"
    assert contextual_query("Why?", []) == "Why?"


def test_follow_up_changes_what_is_retrieved(tiny_assistant: Assistant):
    plain = tiny_assistant.ask("How long were they held there?").to_dict()
    history = ["Who was in solitary confinement?"]
    followed = tiny_assistant.ask("How long were they held there?", history=history).to_dict()
    assert followed["quotes"][0]["text"] == (
        "A: Yes. The inspectors found 14 prisoners in solitary confinement, some for more than six months.")
    assert plain["quotes"][0]["text"] != followed["quotes"][0]["text"]


def test_fusion_functions_on_hand_computed_cases():
    assert fuse_relative([0.8, 0.4, 0.6], [2.0, 0.0, 4.0], 0.5) == [0.75, 0.0, 0.75]
    assert fuse_rrf([0.8, 0.4], [0.0, 1.0]) == [1 / 61 + 1 / 62, 1 / 62 + 1 / 61]


def test_settings_reject_bad_values_and_name_the_choices():
    with pytest.raises(ValueError, match="mode 'fast' is not one of hybrid, bm25, dense"):
        AnswerSettings(mode="fast")
    with pytest.raises(ValueError, match=r"k 0 is not a whole number in 1\.\.50"):
        AnswerSettings(k=0)


@pytest.mark.parametrize("options, message", [
    ({"k": 0}, "k 0 is not a whole number in 1..50"),
    ({"k": 51}, "k 51 is not a whole number in 1..50"),
    ({"k": True}, "k True is not a whole number in 1..50"),
    ({"k": "3"}, "k '3' is not a whole number in 1..50"),
    ({"mode": "fast"}, "mode 'fast' is not one of hybrid, bm25, dense"),
    ({"history": ["q"] * 11}, "the history holds 11 questions; the limit is 10"),
])
def test_a_question_is_checked_by_the_one_owner_with_the_settings_rules(options, message):
    """`Question.of` checks k and the mode by the rules `AnswerSettings` uses (app/settings.py `bad_k`,
    `bad_mode`): the k range is written once (the CLI's -k and the API's schema declare the same MIN_K..MAX_K:
    tests/test_cli.py, tests/web/test_schema.py)."""
    from app.answer.question import Question
    from app.settings import MAX_K

    with pytest.raises(QuestionError) as caught:
        Question.of("Who?", **options)
    assert str(caught.value) == message
    assert Question.of("Who?", k=MAX_K, mode="bm25").k == MAX_K


def test_three_verdicts_follow_the_two_thresholds(tiny_assistant):
    question = "How many prisoners were held in the cells?"
    top = tiny_assistant.ask(question).score
    answered = tiny_assistant.with_settings(threshold=top, floor=top).ask(question)
    uncertain = tiny_assistant.with_settings(threshold=top + 0.01, floor=top - 0.01).ask(question)
    refused = tiny_assistant.with_settings(threshold=top + 0.02, floor=top + 0.01).ask(question)
    assert [a.verdict for a in (answered, uncertain, refused)] == ["answered", "uncertain", "not_found"]
    assert [a.answered for a in (answered, uncertain, refused)] == [True, False, False]
    assert [len(a.quotes) for a in (answered, uncertain, refused)] == [len(answered.quotes), len(answered.quotes), 1]
    # the same best passages, offered, not asserted: without the bold "212" (app/answer/span_precision.json
    # measures spans under "uncertain" more than 0.05 F1 below those under "answered")
    assert answered.quotes[0].answer == (112, 115)
    assert uncertain.quotes == [replace(answered.quotes[0], answer=None), *answered.quotes[1:]]
    assert uncertain.message.splitlines()[0] == "The report mentions this, but may not answer it exactly:"
    assert refused.message == ("The report does not appear to answer this question. "
                               "The closest passage is shown below; it is not an answer.")
    assert answered.confidence == pytest.approx(2 / 3) and refused.confidence < 1 / 3 < uncertain.confidence < 2 / 3


def test_answered_follows_the_verdict_and_an_unknown_verdict_is_refused():
    assert [Answer("q", "m", [], verdict=v).to_dict()["answered"] for v in ("answered", "uncertain", "not_found")] \
        == [True, False, False]
    assert Answer("q", "m", []).to_dict()["verdict"] == "not_found"
    with pytest.raises(ValueError, match="verdict 'maybe' is not one of answered, uncertain, not_found"):
        Answer("q", "m", [], verdict="maybe")


ZHANAOZEN_RU = ("В декабре 2011 г. полиция задержала в Жанаозене шестнадцать активистов. "
                "Их держали в изоляторе на ул. Ленина три дня.")


def test_a_russian_question_finds_another_form_of_its_words_by_bm25(tmp_path: Path):
    from app.answer.loading import assistant_over_texts
    from app.index.lexical import tokenize

    assistant = assistant_over_texts(tmp_path, {
        "zhanaozen.txt": ZHANAOZEN_RU,
        "budget.txt": "Министерство потратило на питание заключённых три миллиона тенге в 2023 году.",
        "harbour.txt": "The police detained sixteen activists in Zhanaozen in December 2011. They were held for "
                       "three days."})
    assert assistant.languages() == {"zhanaozen.txt": "ru", "budget.txt": "ru", "harbour.txt": "en"}
    question = "Где держат задержанного активиста?"  # no word of it in the form the document uses
    # Russian stems meet ("задержанного"/"задержала", "активиста"/"активистов"); English's keep words whole
    assert set(tokenize(question, "ru")) & set(tokenize(ZHANAOZEN_RU, "ru")) == {"задержа", "активист"}
    assert set(tokenize(question)) & set(tokenize(ZHANAOZEN_RU)) == set()
    assert [h.chunk.doc for h in assistant.search(question, k=3, mode="bm25").hits] == ["zhanaozen.txt"]
    # the sentence holding those stems is quoted first (quoting counts them in Russian too)
    assert assistant.ask(question, mode="bm25").to_dict()["quotes"][0]["start"] == 0
    # English: BM25 counts only the English document, with English stems, as before
    hits = assistant.search("How many activists were detained?", k=3, mode="bm25").hits
    assert [h.chunk.doc for h in hits] == ["harbour.txt"]


def test_an_answer_read_across_languages_has_its_own_floor_and_is_at_most_uncertain(tmp_path: Path):
    """An English report asked in Russian: neither shared words nor the English answer-type checks vouch
    for an English sentence, so it is never "answered"; its floor is the calibration's `across_floor`."""
    from app.answer.loading import assistant_over_texts

    assistant = assistant_over_texts(tmp_path, {"harbour.txt": "The police detained sixteen activists in "
                                                               "Zhanaozen in December 2011."})
    question = "Сколько активистов задержала полиция?"
    everything = assistant.with_settings(threshold=-1.0, floor=-1.0, across_floor=-1.0)
    assert (everything.ask(question).verdict, everything.ask("How many activists were detained?").verdict) == (
        "uncertain", "answered")
    refused = assistant.with_settings(threshold=-1.0, floor=-1.0, across_floor=5.0).ask(question)
    assert (refused.verdict, [q.doc for q in refused.quotes]) == ("not_found", ["harbour.txt"])
    assert assistant.with_settings(threshold=-1.0, floor=-1.0, across_floor=5.0).ask(
        "How many activists were detained?").verdict == "answered"  # the English question keeps the floor


def test_the_verdict_reads_the_best_evidence_not_the_ranking_score(tiny_assistant: Assistant):
    """`Answer.score` (what calibration reads) is the best dense evidence among the sentences scored, which
    shared words do not raise: it sits below the first quote's ranking score, which they do."""
    from app.answer.quote import score_sentences
    from app.index.lexical import tokenize

    question = "How many prisoners were held in the cells?"
    answer = tiny_assistant.ask(question)
    vector = tiny_assistant.embedder.encode([question])[0]
    hits = tiny_assistant.retrieve(vector, tokenize(question), 3, None, None)
    with_words = score_sentences(tiny_assistant.index, hits, vector, tokenize(question))
    without = score_sentences(tiny_assistant.index, hits, vector, [])
    assert {x.row: x.evidence for x in with_words} == {x.row: x.evidence for x in without}
    assert max(x.score for x in with_words) > max(x.score for x in without)
    assert answer.score == pytest.approx(max(x.evidence for x in with_words), abs=1e-12)
    assert answer.score < answer.quotes[0].score
