"""spaCy parses of a SQuAD-format benchmark, cached as JSON under .cache/spacy/ (never pickle).

Each article becomes the document the SQuAD suites index (`app.evaluation.squad`), split into the
index's sentences (`app.index.chunk`); every sentence and every question is parsed by the pinned
pipeline (`app.index.ner`, all components) and stored as `Doc.to_json()`. The span scorer's
training (`train_spans.py`) reads them back with `Doc(vocab).from_json(...)`.

    OMP_NUM_THREADS=1 nice -n 10 python -m training.spacy_cache ../shared/benchmarks/squad2/squad2.dev.json
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from app.evaluation.squad import read_squad, squad_documents
from app.index.chunk import chunk_document
from app.index.ner import NER_META
from app.runtime import Runtime
from app.settings import PROJECT_ROOT, BuildSettings

CACHE = PROJECT_ROOT / ".cache" / "spacy"


def cache_path(data_file: Path, cache: Path = CACHE) -> Path:
    digest = hashlib.sha256(Path(data_file).read_bytes()).hexdigest()[:12]
    settings = BuildSettings()
    return cache / f"{Path(data_file).stem}-{digest}-c{settings.chunker_version}-{NER_META['version']}.json"


def build_cache(data_file: Path, runtime: Runtime | None = None, cache: Path = CACHE) -> dict:
    """{"sentences": {doc: [[start, end, doc_json], ...]}, "questions": {id: doc_json}}, cached."""
    path = cache_path(data_file, cache)
    parse = (runtime or Runtime()).parse
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    articles, questions = read_squad(data_file)
    t0 = time.perf_counter()
    out: dict = {"sentences": {}, "questions": {}}
    for document in squad_documents(articles):
        _, sentences = chunk_document(document, BuildSettings())
        texts = [document.text[s.start:s.end] for s in sentences]
        out["sentences"][document.doc] = [[s.start, s.end, d.to_json()] for s, d in zip(sentences, parse(texts),
                                                                                          strict=True)]
    qdocs = parse([q.question for q in questions])
    out["questions"] = {q.id: d.to_json() for q, d in zip(questions, qdocs, strict=True)}
    print(f"{data_file}: parsed {sum(len(v) for v in out['sentences'].values())} sentences and {len(questions)} "
          f"questions in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out), encoding="utf-8")
    return out


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        build_cache(Path(arg))
