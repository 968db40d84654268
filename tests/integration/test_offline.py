"""Nothing leaves the machine: ingest, ask and the browser app with the network guarded or removed.

Two independent checks:
* a socket guard in this process records every connection or DNS lookup that is not loopback,
  while ingest, ask (extractive and generative) and the UI + API run; none may happen;
* the CLI and the UI run in a fresh network namespace with only loopback (``unshare -n``),
  where any outside lookup would fail; they must still work.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import BUNDLED_CORPUS, REPO, free_port

pytestmark = pytest.mark.integration


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
        return True  # a unix socket path
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def outside_attempts(monkeypatch):
    """Every non-loopback connect or name lookup made while the test runs."""
    attempts: list[str] = []
    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            attempts.append(f"connect {address}")
            raise OSError("network disabled by the test")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            attempts.append(f"connect_ex {address}")
            return 101
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost", "127.0.0.1", "::1", "0.0.0.0") and not _is_local((str(host),)):
            attempts.append(f"lookup {host}")
            raise socket.gaierror("network disabled by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_ingest_ask_and_ui_make_no_outside_connection(outside_attempts, tmp_path, tiny_gguf):
    from gradio_client import Client

    from chatbot.answers.answer import Answerer
    from chatbot.apps.app import NotesApp
    from chatbot.apps.ui import launch_ui
    from chatbot.search.ingest import ingest
    from chatbot.settings import load_settings

    corpus = shutil.copytree(BUNDLED_CORPUS, tmp_path / "corpus")
    settings = load_settings(corpus_dir=corpus, data_dir=tmp_path / "data", max_tokens=16)
    ingest(settings)  # loads the embedding model from its local package
    answerer = Answerer.from_settings(settings)
    assert not answerer.ask("What is gradient checkpointing?").declined
    answerer.set_model(tiny_gguf)
    assert answerer.ask("What is LoRA?").mode == "generative"
    answerer.set_model(None)
    port = free_port()
    demo = launch_ui(NotesApp(settings, answerer), host="127.0.0.1", port=port, auth=None, share=False, block=False)
    try:
        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict("梯度检查点是什么？", api_name="/ask")
        assert result["citations"]
    finally:
        demo.close()
    assert outside_attempts == []


SCRIPT = textwrap.dedent("""
    set -e
    ip link set lo up
    export NOTES_CHAT_DATA_DIR="$1"
    {py} -m chatbot.apps.cli ingest -q
    {py} -m chatbot.apps.cli ask --json "How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?" > "$1/answer.json"
    {py} -m chatbot.apps.cli ui --port {port} > "$1/ui.log" 2>&1 &
    UI=$!
    {py} - "$1" <<'PY'
import json, sys, time
from gradio_client import Client
for _ in range(300):
    try:
        client = Client("http://127.0.0.1:{port}/", verbose=False)
        break
    except Exception:
        time.sleep(0.2)
answer = client.predict("梯度检查点是什么？", api_name="/ask")
json.dump(answer, open(sys.argv[1] + "/ui-answer.json", "w"))
PY
    kill $UI
""")


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None, reason="needs unshare and ip")
def test_cli_and_ui_work_in_a_namespace_with_no_network(tmp_path):
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare -n is not permitted here (needs root or user namespaces)")
    script = tmp_path / "offline.sh"
    script.write_text(SCRIPT.format(py=sys.executable, port=free_port()), encoding="utf-8")
    result = subprocess.run(["unshare", "-n", "sh", str(script), str(tmp_path)], capture_output=True, text=True,
                            cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    import json

    assert "160GB" in json.loads((tmp_path / "answer.json").read_text(encoding="utf-8"))["answer"]
    assert json.loads((tmp_path / "ui-answer.json").read_text(encoding="utf-8"))["citations"]
