"""Running servers follow the index: ``chatbot serve`` and ``chatbot ui`` beside
``chatbot ingest --watch``, each its own process, as a user runs them in three terminals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from chatbot.search.embed import collection_name
from chatbot.search.generations import current_generation, index_root
from tests.conftest import BUNDLED_CORPUS, REPO, free_port

pytestmark = pytest.mark.integration

QUESTION = "Platypus 剪枝是什么？"
NOTE = "# Platypus 剪枝\n\nPlatypus 剪枝按鸭嘴兽分数删去注意力头，保留困惑度最低的一半。\n"


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chatbot.apps.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _cites_platypus(answer: dict) -> bool:
    return any(c["source"] == "platypus.md" or "鸭嘴兽" in c["text"] for c in answer.get("citations", []))


def test_serve_and_ui_answer_from_each_new_generation_of_a_watched_folder(tmp_path):
    from gradio_client import Client

    corpus = shutil.copytree(BUNDLED_CORPUS, tmp_path / "corpus")
    data = tmp_path / "data"
    env = {**os.environ, "NOTES_CHAT_DATA_DIR": str(data), "NOTES_CHAT_CORPUS_DIR": str(corpus)}
    subprocess.run([sys.executable, "-m", "chatbot.apps.cli", "ingest", "--wait", "-q"], cwd=REPO, env=env,
                   check=True, capture_output=True, timeout=300)
    serve_port, ui_port = free_port(), free_port()
    processes = [_start("serve", "--port", str(serve_port), env=env), _start("ui", "--port", str(ui_port), env=env)]
    try:
        api = httpx.Client(base_url=f"http://127.0.0.1:{serve_port}", timeout=60)
        ui = None
        for _ in range(600):
            try:
                api.get("/v1/models").raise_for_status()
                ui = ui or Client(f"http://127.0.0.1:{ui_port}/", verbose=False)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        assert ui is not None, "the servers did not start"

        def ask_both() -> list[dict]:
            served = api.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
            return [served.json()["notes_chat"] | {"citations": served.json()["citations"]},
                    ui.predict(QUESTION, api_name="/ask")]

        assert not any(_cites_platypus(a) for a in ask_both())  # not in the notes yet
        processes.append(_start("ingest", "--watch", "-q", env=env))
        time.sleep(3)  # the watch's first (unchanged) ingest

        (corpus / "platypus.md").write_text(NOTE, encoding="utf-8")
        saved = time.monotonic()
        found: dict[int, float] = {}
        while len(found) < 2 and time.monotonic() - saved < 30:
            for i, answer in enumerate(ask_both()):
                if i not in found and _cites_platypus(answer):
                    found[i] = time.monotonic() - saved
            time.sleep(0.3)
        assert set(found) == {0, 1}, f"the new note was not answered through both servers: {found}"
        assert max(found.values()) <= 15, found

        (corpus / "platypus.md").unlink()
        deleted = time.monotonic()
        while any(_cites_platypus(a) for a in ask_both()):
            assert time.monotonic() - deleted <= 15, "the deleted note is still cited"
            time.sleep(0.3)
        for _ in range(5):  # and never again
            assert not any(_cites_platypus(a) for a in ask_both())
        root = index_root(data, collection_name("bundled:all-MiniLM-L6-v2"))
        assert current_generation(root) is not None
        assert len(list(root.glob("gen-*"))) <= 3  # superseded generations pruned once nobody serves them
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
