from dataclasses import replace
from pathlib import Path

from app.index.chunk import chunk_document, sentence_spans, split_sentences
from app.index.ingest import document_from_text, read_document
from app.settings import BuildSettings


def test_chunks_are_exact_slices_with_sentence_overlap(tiny_corpus: Path):
    doc = read_document(tiny_corpus / "prisons.txt", tiny_corpus)
    chunks, _ = chunk_document(doc, BuildSettings(chunk_max_words=30))
    assert [(c.start, c.end, c.paragraph) for c in chunks] == [
        (0, 154, 1), (99, 200, 2), (247, 401, 5), (342, 454, 5), (403, 553, 6)]
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
    # the last sentence of one chunk opens the next
    assert chunks[0].text.endswith("They counted 212 prisoners held in cells built for 150.")
    assert chunks[1].text.startswith("They counted 212 prisoners held in cells built for 150.")


def test_repeated_caption_is_left_out(tiny_corpus: Path):
    doc = read_document(tiny_corpus / "prisons.txt", tiny_corpus)
    chunks, sentences = chunk_document(doc, BuildSettings(chunk_max_words=30))
    caption = "Photo: a guard tower at the northern prison."
    assert doc.text.count(caption) == 2  # the second copy is furniture, the first is quoted once
    assert sum(doc.text[s.start:s.end] == caption for s in sentences) == 1
    assert sum(caption in c.text for c in chunks) == 1


def test_sentence_spans_follow_pysbd_and_trim_whitespace():
    text = "  Dr. Smith arrived. He left at 5 p.m. on Monday.  "
    assert [text[s:e] for s, e in sentence_spans(text, 0, len(text))] == [
        "Dr. Smith arrived.", "He left at 5 p.m. on Monday."]


def test_no_chunk_exceeds_the_word_budget_even_for_a_run_on_sentence():
    doc = document_from_text("long.txt", " ".join(f"w{i}" for i in range(250)) + ".")
    chunks, sentences = chunk_document(doc, BuildSettings(chunk_max_words=100, chunk_overlap_sentences=0))
    assert [len(c.text.split()) for c in chunks] == [100, 100, 50]
    assert len(sentences) == 3
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)


def test_sentences_never_cross_paragraphs():
    text = "Heading without stop\n\nThe first body sentence is here. The second body sentence follows it closely."
    doc = document_from_text("p.txt", text)
    assert [(doc.text[s.start:s.end], s.paragraph) for s in split_sentences(doc, 100)] == [
        ("Heading without stop", 1), ("The first body sentence is here.", 2),
        ("The second body sentence follows it closely.", 2)]


def test_short_sentences_join_a_neighbour():
    text = "Diaz: Not really. We call for an independent international inquiry. That includes Roza."
    doc = document_from_text("s.txt", text)
    assert [doc.text[s.start:s.end] for s in split_sentences(doc, 100)] == [
        "Diaz: Not really. We call for an independent international inquiry. That includes Roza."]
    doc = document_from_text("t.txt", "It was long ago, in the first days. We know the exact number of people held.")
    assert [doc.text[s.start:s.end] for s in split_sentences(doc, 100)] == [
        "It was long ago, in the first days.", "We know the exact number of people held."]


def test_a_sentence_repeated_inside_prose_is_quoted_once():
    text = ("The guards left the prison at night. Nobody ever checked the cells after that.\n\n"
            "Later that week the same thing happened again. The guards left the prison at night.")
    doc = document_from_text("r.txt", text)
    assert doc.furniture == ()
    assert [doc.text[s.start:s.end] for s in split_sentences(doc, 100)] == [
        "The guards left the prison at night.", "Nobody ever checked the cells after that.",
        "Later that week the same thing happened again."]


def test_a_line_break_inside_a_sentence_is_a_space_to_the_splitter():
    text = ("Anybody can redistribute the library under the\nterms of the GNU LGPL version 2.1 or later. "
            "The tools\nare GPL.")
    assert [text[s:e] for s, e in sentence_spans(text, 0, len(text))] == [
        "Anybody can redistribute the library under the\nterms of the GNU LGPL version 2.1 or later.",
        "The tools\nare GPL."]


RUSSIAN = ("В декабре 2011 г. полиция задержала в Жанаозене шестнадцать активистов. "
           "Задержанных держали в изоляторе на ул. Ленина три дня. "
           "Адвокатов к ним не пускали до самого суда! "
           "Кто ответит за это? Прокуратура пока молчит и ничего не объясняет.")
RUSSIAN_SENTENCES = ["В декабре 2011 г. полиция задержала в Жанаозене шестнадцать активистов.",
                     "Задержанных держали в изоляторе на ул. Ленина три дня.",
                     "Адвокатов к ним не пускали до самого суда!", "Кто ответит за это?",
                     "Прокуратура пока молчит и ничего не объясняет."]


def test_a_russian_document_is_split_by_russian_rules_at_exact_offsets():
    spans = sentence_spans(RUSSIAN, 0, len(RUSSIAN), "ru")
    starts = [RUSSIAN.index(s) for s in RUSSIAN_SENTENCES]  # each sentence occurs once
    assert spans == [(s, s + len(t)) for s, t in zip(starts, RUSSIAN_SENTENCES, strict=True)]
    # English rules end a sentence at the abbreviations "г." (год, year) and "ул." (улица, street)
    english = [RUSSIAN[s:e] for s, e in sentence_spans(RUSSIAN, 0, len(RUSSIAN))]
    assert english[:4] == ["В декабре 2011 г.", "полиция задержала в Жанаозене шестнадцать активистов.",
                           "Задержанных держали в изоляторе на ул.", "Ленина три дня."]
    # the document's language decides; "Кто ответит за это?" (4 words) joins the sentence before it
    doc = replace(document_from_text("ru.txt", RUSSIAN), language="ru")
    assert [(s.start, s.end) for s in split_sentences(doc, 100)] == [
        spans[0], spans[1], (spans[2][0], spans[3][1]), spans[4]]
