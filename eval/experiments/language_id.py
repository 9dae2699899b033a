"""Which bundled language identifier tells a short question's language: py3langid or lingua?

Run: python eval/experiments/language_id.py
Measures, on eval/language_questions.jsonl (short questions in 15 languages and tricky English:
names, numbers, one-word queries) and every question of XQuAD's English dev half
(../shared/benchmarks/xquad/xquad.en.dev.json, all English): the share of non-English questions
given their language, the English questions flagged as another language, and the time per question.
Each detector runs raw and behind `app.answer.language.detect_language` (the product's rule).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.answer.language import detect_language  # noqa: E402


def load() -> tuple[list[tuple[str, str]], list[str]]:
    rows = [json.loads(line) for line in (ROOT / "eval/language_questions.jsonl").read_text().splitlines() if line]
    xquad = json.loads((ROOT.parent / "shared/benchmarks/xquad/xquad.en.dev.json").read_text())["data"]
    english = [qa["question"] for a in xquad for p in a["paragraphs"] for qa in p["qas"]]
    return [(r["lang"], r["question"]) for r in rows], english


def py3langid_raw():
    import py3langid
    return lambda q: py3langid.classify(q)[0]


def lingua_raw():
    from lingua import LanguageDetectorBuilder
    detector = LanguageDetectorBuilder.from_all_languages().build()

    def detect(q: str) -> str:
        lang = detector.detect_language_of(q)
        return lang.iso_code_639_1.name.lower() if lang else "en"
    return detect


def product(engine: str):
    return lambda q: detect_language(q, engine) or "en"


def measure(name: str, detect, labelled: list[tuple[str, str]], english: list[str]) -> dict:
    detect("warm up")
    t0 = time.perf_counter()
    got = [(lang, q, detect(q)) for lang, q in labelled]
    flagged = [q for q in english if detect(q) != "en"]
    seconds = time.perf_counter() - t0
    foreign = [(lang, q, g) for lang, q, g in got if lang != "en"]
    wrong_en = [(q, g) for lang, q, g in got if lang == "en" and g != "en"]
    return {"detector": name, "foreign": len(foreign), "foreign_right": sum(g == lang for lang, _, g in foreign),
            "foreign_told_not_english": sum(g != "en" for _, _, g in foreign),
            "set_english": sum(lang == "en" for lang, _, _ in got), "set_english_flagged": len(wrong_en),
            "xquad": len(english), "xquad_flagged": len(flagged),
            "ms_per_question": round(1000 * seconds / (len(got) + len(english)), 3),
            "misses": [f"{lang}: {q} -> {g}" for lang, q, g in foreign if g != lang][:10],
            "english_flagged": [f"{q} -> {g}" for q, g in wrong_en][:10] + [f"xquad: {q}" for q in flagged[:10]]}


if __name__ == "__main__":
    labelled, english = load()
    detectors = (("py3langid raw", py3langid_raw()), ("lingua raw", lingua_raw()),
                 ("product rule + py3langid", product("py3langid")), ("product rule + lingua", product("lingua")))
    for name, detect in detectors:
        print(json.dumps(measure(name, detect, labelled, english), ensure_ascii=False, indent=1))
