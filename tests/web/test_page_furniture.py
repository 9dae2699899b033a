"""Two hundred questions to the bundled report (the eval questions and dialogues, reworded ones, off-topic
ones): no answer, supporting quote or closest passage it shows is page furniture (`-m model`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index

OFF_TOPIC = [
    "What is the capital of France?", "Who won the 2018 World Cup?", "How do I bake sourdough bread?",
    "What is the population of Kazakhstan?", "What is the boiling point of water?", "Who wrote Hamlet?",
    "How tall is Mount Everest?", "What does a cookie policy say?", "Where can I subscribe to the newsletter?",
    "Is RFE/RL banned in Russia?", "How do I share this article?", "What are the breaking news today?",
    "Where are the accessibility links?", "How do I find out more?", "Can I click here for more?",
    "What is the exchange rate of the tenge?", "Who is the president of the United States?",
    "What is the weather in Almaty?", "How many moons does Jupiter have?", "What is machine learning?",
    "What is the recipe for plov?", "Who painted the Mona Lisa?", "What does HTTP stand for?",
    "Which football club plays in Zhanaozen?", "What is the GDP of Kazakhstan?", "How do I reset my password?",
    "What time is it in Astana?", "Who founded Amazon?", "What could happen to readers in Russia?",
    "Is sharing or liking this content a crime?",
]
REWORDINGS = ["According to the report, {q}", "{q} Please quote the report.", "tell me: {l}",
              "{l}", "In the interview, {q}"]


def two_hundred_questions() -> list[tuple[str, list[str]]]:
    """(question, history) pairs: the eval questions and dialogues (both files), reworded ones, off-topic ones."""
    from app.evaluation.suite import load_dialogues, load_questions

    repo = Path(__file__).resolve().parents[2] / "eval"
    questions = [q.question for f in (repo / "report_questions.jsonl", repo / "heldout" / "report_questions.jsonl")
                 for q in load_questions(f)]
    dialogues = [d.turns for f in (repo / "report_dialogues.jsonl", repo / "heldout" / "report_dialogues.jsonl")
                 for d in load_dialogues(f)]
    asked = [(q, []) for q in questions] + [(a, []) for a, _ in dialogues] + [(b, [a]) for a, b in dialogues]
    asked += [("What were the findings?", []), ("What happened to them?", [
        "How many people were arrested on charges of organizing the violence?"])]
    asked += [(q, []) for q in OFF_TOPIC]
    for i, q in enumerate(questions[: 200 - len(asked)]):
        lowered = q[0].lower() + q[1:].rstrip("?")
        asked.append((REWORDINGS[i % len(REWORDINGS)].format(q=q, l=lowered), []))
    return asked


@pytest.mark.model
def test_two_hundred_questions_never_quote_page_furniture(tmp_path):
    """No answer, supporting quote or closest passage from the bundled report is page furniture."""
    from app.index.embed import SentenceTransformerEmbedder
    from app.web.render import answer_html, esc

    report = Path(__file__).resolve().parents[2] / "corpus" / "old-habits-kazakhstan-torture-rferl-interview.txt"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / report.name).write_bytes(report.read_bytes())
    build_index(tmp_path / "index", SentenceTransformerEmbedder(), corpus_dir=corpus)
    assistant = Assistant.load(tmp_path / "index", corpus_dir=corpus)
    doc = assistant.index.document(report.name)
    assert len(doc.furniture) >= 4  # the notices, navigation and the printed-twice captions
    kept = [doc.text[s:e] for s, e in doc.paragraphs if (s, e) not in set(doc.furniture)]
    only_furniture = [esc(doc.text[s:e]) for s, e in doc.furniture if doc.text[s:e] not in kept]
    assert "To find out more, click here." in only_furniture and len(only_furniture) == len(doc.furniture) - 2
    asked = two_hundred_questions()
    assert len(asked) == 200 and len({q for q, _ in asked}) >= 190
    verdicts: dict[str, int] = {}
    for question, history in asked:
        answer = assistant.ask(question, history=history).to_dict()
        verdicts[answer["verdict"]] = verdicts.get(answer["verdict"], 0) + 1
        for q in answer["quotes"]:
            assert not any(q["start"] < e and s < q["end"] for s, e in doc.furniture), (question, q["text"])
        html = answer_html(answer, {doc.doc: doc})
        assert not any(text in html for text in only_furniture), question
    assert set(verdicts) == {"answered", "uncertain", "not_found"}  # all three kinds were checked
