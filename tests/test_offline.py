"""Nothing leaves the machine: build, ask and serve work with every non-loopback connection blocked.

The guard replaces `socket.socket.connect`/`connect_ex`, `socket.create_connection` and
`socket.getaddrinfo`: a loopback address (127.0.0.0/8, ::1, localhost) or a Unix socket goes
through, anything else is written down and fails. In-process with the hash embedder; and, with
the real model, the real `verbatim` command in subprocesses started with the offline and analytics
variables removed, so the app itself must keep the hub, analytics and telemetry away.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.answer.assistant import Assistant
from app.index.build import build_index
from app.index.embed import HashEmbedder
from app.settings import AnswerSettings
from tests.conftest import DATA, REPO

GUARD = textwrap.dedent('''
    import os
    import socket

    def _note(what):
        with open(os.environ["VERBATIM_GUARD_LOG"], "a", encoding="utf-8") as f:
            f.write(what + "\\n")

    def _loopback(host):
        if isinstance(host, bytes):
            host = host.decode()
        return host in (None, "", "localhost", "::1") or str(host).startswith(("127.", "::ffff:127."))

    def _allowed(address):
        return isinstance(address, (str, bytes)) or _loopback(address[0])  # Unix sockets, loopback

    def _wrap(original, name):
        def guarded(self, address, *args, **kwargs):
            if not _allowed(address):
                _note(f"{name} {address!r}")
                raise OSError(f"blocked by the test: {name} {address!r}")
            return original(self, address, *args, **kwargs)
        return guarded

    socket.socket.connect = _wrap(socket.socket.connect, "connect")
    socket.socket.connect_ex = _wrap(socket.socket.connect_ex, "connect_ex")
    _create_connection, _getaddrinfo = socket.create_connection, socket.getaddrinfo

    def create_connection(address, *args, **kwargs):
        if not _allowed(address):
            _note(f"create_connection {address!r}")
            raise OSError(f"blocked by the test: {address!r}")
        return _create_connection(address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host):
            _note(f"getaddrinfo {host!r}")
            raise socket.gaierror(f"blocked by the test: lookup of {host!r}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo
    _note("guard on")
''')
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "GRADIO_ANALYTICS_ENABLED",
                     "HF_DATASETS_OFFLINE", "DO_NOT_TRACK")
QUESTION = "How many prisoners were held in the cells?"


@pytest.fixture
def no_network(tmp_path: Path, monkeypatch):
    """Block every non-loopback connection in this process; yields the path where attempts are written."""
    log = tmp_path / "blocked.log"
    monkeypatch.setenv("VERBATIM_GUARD_LOG", str(log))
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, getattr(socket.socket, name))
    monkeypatch.setattr(socket, "create_connection", socket.create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    exec(compile(GUARD, "guard", "exec"), {"__name__": "guard"})  # monkeypatch puts the originals back
    yield log


def attempts(log: Path) -> list[str]:
    return [line for line in log.read_text(encoding="utf-8").splitlines() if line != "guard on"]


def test_the_guard_blocks_the_internet_and_lets_loopback_through(no_network: Path):
    with pytest.raises(OSError, match="blocked by the test"):
        socket.create_connection(("203.0.113.9", 443), timeout=1)
    with pytest.raises(socket.gaierror, match="blocked by the test: lookup of 'huggingface.co'"):
        socket.getaddrinfo("huggingface.co", 443)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    assert attempts(no_network) == ["create_connection ('203.0.113.9', 443)", "getaddrinfo 'huggingface.co'"]


def test_build_ask_and_serve_work_with_the_network_blocked(no_network: Path, tmp_path: Path, monkeypatch):
    from gradio_client import Client
    from huggingface_hub.utils import _detect_agent

    # The test's own gradio_client (not the product) builds Hugging Face headers whose user agent asks
    # huggingface.co for a registry of agent harnesses unless HF_HUB_OFFLINE was set at import; only
    # that client-side lookup is stubbed, so anything the product tries is still caught.
    monkeypatch.setattr(_detect_agent, "_fetch_registry", lambda: None)

    from app.web.chat import build_app

    from .web.test_chat import start

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tiny", corpus)
    build_index(tmp_path / "index", HashEmbedder(), corpus_dir=corpus)
    assistant = Assistant.load(tmp_path / "index", embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.2),
                               corpus_dir=corpus)
    answer = assistant.ask(QUESTION).to_dict()
    assert answer["quotes"][0]["text"] == "They counted 212 prisoners held in cells built for 150."
    ui = build_app(assistant, tmp_path / "feedback.jsonl", examples=["Q?"])
    try:
        client = Client(start(ui), verbose=False, analytics_enabled=False)  # the test's client sends no telemetry
        assert client.predict(QUESTION, api_name="/ask") == answer
    finally:
        ui.close()
    assert attempts(no_network) == []


@pytest.mark.model
def test_real_command_with_the_real_model_stays_on_the_machine(no_network: Path, tmp_path: Path):
    """`verbatim index build`, `ask` and `serve` with all-MiniLM-L6-v2, offline variables unset."""
    import httpx
    from gradio_client import Client

    from app.bench.load import serve_process

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "blocked-subprocess.log"
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARIABLES and k != "VERBATIM_MODEL"}
    env.update(PYTHONPATH=str(hook), VERBATIM_GUARD_LOG=str(log))
    verbatim = str(Path(sys.executable).with_name("verbatim"))
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(DATA / "tiny", corpus)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([verbatim, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)

    built = run("index", "build", "--corpus", str(corpus), "--index", str(index))
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("indexed 3 document(s), ")
    asked = run("ask", QUESTION, "--index", str(index), "--json")
    assert asked.returncode == 0, asked.stderr
    assert '"text": "They counted 212 prisoners held in cells built for 150."' in asked.stdout

    proc, url, _ = serve_process(["--index", str(index), "--corpus", str(corpus), "--feedback",
                                  str(tmp_path / "f.jsonl")], tmp_path, env, command=[verbatim], exact_env=True)
    url += "/"
    try:
        assert httpx.get(url, timeout=10).status_code == 200  # the page itself
        served = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
        assert served["quotes"][0]["text"] == "They counted 212 prisoners held in cells built for 150."
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines.count("guard on") >= 3  # every command ran under the guard
    assert [line for line in lines if line != "guard on"] == []
    assert attempts(no_network) == []
