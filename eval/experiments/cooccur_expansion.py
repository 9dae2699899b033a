"""Issue 29's named route for paraphrases: expand a question with the report's own words that co-occur with
its known words in the report's sentences, and measure it on the dev paraphrases and eval/ (dev only).

For each query token the corpus knows, the tokens of the report's sentences holding it are counted; the
expansion is the `N` tokens with the highest count x idf not already in the query. Run:

    python eval/experiments/cooccur_expansion.py [N ...]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import app.index.search as search
from app.answer.loading import load_assistant
from app.evaluation.suite import DIALOGUES_FILE, QUESTIONS_FILE, load_dialogues, load_questions, run_suite
from app.index.lexical import tokenize, tokenize_each

INDEX = Path("index/default")


def expander(assistant, n: int):
    index = assistant.index
    texts = [index.documents[int(d)].text[int(s):int(e)] for d, s, e in index.sentences[:, :3]]
    sentence_tokens = [set(t) for t in tokenize_each(texts, ["en"] * len(texts))]
    vocabulary = index.bm25.vocabulary

    def expand(tokens: list[str]) -> list[str]:
        known = [t for t in tokens if t in vocabulary]
        counts: Counter = Counter()
        for toks in sentence_tokens:
            if toks & set(known):
                counts.update(toks - set(tokens))
        idf = index.bm25.idf(list(counts))
        ranked = sorted(counts, key=lambda t: -counts[t] * idf.get(t, 0.0))
        return tokens + ranked[:n]

    return expand


def main() -> None:
    for n in [int(x) for x in sys.argv[1:]] or [0, 3, 6]:
        assistant = load_assistant(INDEX, None)
        if n:
            expand, plain = expander(assistant, n), tokenize
            search.tokenize = lambda text, language="en": expand(plain(text, language)) if language == "en" \
                else plain(text, language)
        for data, dialogues in (("eval/paraphrase/report_questions.jsonl", "eval/followup_dialogues.jsonl"),
                                (QUESTIONS_FILE, DIALOGUES_FILE)):
            out = run_suite(assistant, load_questions(Path(data)), load_dialogues(Path(dialogues)), ("hybrid",))
            h = out["methods"]["hybrid"]
            print(n, data, "hit@3 offered", round(h["hit@3_answered_or_uncertain"], 3), "AUC", h["confidence_auc"],
                  "ratio", h.get("paraphrase_ratio"), "followups", h["followup_hit@3"], flush=True)
        search.tokenize = tokenize


if __name__ == "__main__":
    main()
