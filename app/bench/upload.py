"""Bench section "upload": a document uploaded to a running server, to its first answer, against the
CLI's `verbatim index build` of the same file, in the same run.

    verbatim bench --sections upload --upload-file big.pdf --out bench-upload.json

Both sides start from a corpus folder holding one small seed document beside the file's own
folder. The baseline is `verbatim index build` (a fresh process: model load, read, chunk, embed,
write) of the seed and the file. The upload side is `verbatim serve --allow-uploads` already
serving the seed's index: the clock runs from the POST of the file to the first answer from it
(the incremental build embeds only the file; the model is loaded by the first build). Medians over
repeats; the goal is a ratio of at most `GOAL_UPLOAD_OVER_BUILD`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from app.bench.common import free_port, median, ratio, verbatim_cmd
from app.settings import PROJECT_ROOT

GOAL_UPLOAD_OVER_BUILD = 1.5
SEED = "The seed note says the bench started on a quiet morning.\n"


def _run(cmd: list[str]) -> None:
    """Run a `verbatim` command; a failure raises with the end of its error output."""
    done = subprocess.run(cmd, env=_env(), capture_output=True, cwd=PROJECT_ROOT, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:3])} failed: {done.stderr.strip()[-500:]}")


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def _fresh(work: Path, side: str) -> tuple[Path, Path]:
    """A new corpus folder and index path under `work`: nothing of an earlier repeat (an index, its
    `.builds` folder with the embedding checkpoint) can be reused, so every repeat embeds the file."""
    run = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=work))
    corpus = run / "corpus"
    corpus.mkdir()
    return corpus, run / "index"


def _cli_build(file: Path, work: Path) -> float:
    corpus, index = _fresh(work, "cli")
    (corpus / "seed.txt").write_text(SEED)
    shutil.copyfile(file, corpus / file.name)
    t0 = time.perf_counter()
    _run([*verbatim_cmd(), "index", "build", "--corpus", str(corpus), "--index", str(index)])
    return time.perf_counter() - t0


def _upload_to_answer(file: Path, question: str, work: Path, timeout: float) -> float:
    import httpx

    corpus, index = _fresh(work, "upload")
    (corpus / "seed.txt").write_text(SEED)
    _run([*verbatim_cmd(), "index", "build", "--corpus", str(corpus), "--index", str(index)])
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1"
    proc = subprocess.Popen([*verbatim_cmd(), "serve", "--port", str(port), "--index", str(index), "--corpus",
                             str(corpus), "--allow-uploads", "--feedback", str(work / "f.jsonl")], env=_env(),
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200, timeout)
        t0 = time.perf_counter()
        sent = httpx.post(f"{url}/documents", files={"file": (file.name, file.read_bytes())}, timeout=timeout)
        sent.raise_for_status()
        name = sent.json()["doc"]
        _wait(lambda: name in [d["doc"] for d in httpx.get(f"{url}/documents", timeout=5).json()["documents"]],
              timeout)
        answer = httpx.post(f"{url}/ask", json={"question": question, "docs": [name]}, timeout=timeout).json()
        elapsed = time.perf_counter() - t0
        if not answer.get("quotes") or answer["quotes"][0]["doc"] != name:
            raise RuntimeError(f"the first answer did not quote {name}: {answer}")
        return elapsed
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait(check, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - the server is still starting
            pass
        time.sleep(0.2)
    raise TimeoutError(f"not ready within {timeout:.0f} s")


def bench_upload(file: Path, question: str, repeats: int = 1, timeout: float = 1800.0) -> dict:
    """Upload-to-first-answer seconds against `verbatim index build` seconds for the same file."""
    with tempfile.TemporaryDirectory(prefix="verbatim-bench-upload-") as tmp:
        builds, uploads = [], []
        for _ in range(repeats):  # interleaved, so a change in the machine's load touches both sides
            builds.append(_cli_build(file, Path(tmp)))
            uploads.append(_upload_to_answer(file, question, Path(tmp), timeout))
    build, upload = median(builds), median(uploads)
    return {"file": str(file), "file_bytes": file.stat().st_size, "question": question,
            "cli_build_seconds": round(build, 2), "upload_to_answer_seconds": round(upload, 2),
            "upload_over_build": ratio(upload, build), "goal_upload_over_build": GOAL_UPLOAD_OVER_BUILD,
            "runs": {"cli_build": [round(x, 2) for x in builds], "upload": [round(x, 2) for x in uploads]}}


def upload_rows(u: dict) -> list[tuple[str, str, str, str, str]]:
    return [(f"upload {u['file_bytes'] / 1e6:.1f} MB to 1st answer s", f"{u['upload_to_answer_seconds']}",
             f"CLI index build {u['cli_build_seconds']} s", f"{u['upload_over_build']}x",
             f"<= {u['goal_upload_over_build']}x")]
