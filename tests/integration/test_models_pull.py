"""'chatbot models pull': a GGUF from a Hugging Face hub into the models folder.

The hub here is a small loopback server answering the two requests huggingface_hub makes for
one file (HEAD for metadata, GET for the bytes), so the real download code runs offline.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.test_cli import assert_one_sentence_error, run

pytestmark = pytest.mark.integration
REPO_ID = "someone/tiny-GGUF"


@pytest.fixture
def fake_hub(tiny_gguf, tmp_path):
    files = {"tiny.gguf": tiny_gguf.read_bytes(), "notes.txt": "not a model".encode()}

    class Hub(BaseHTTPRequestHandler):
        def _answer(self, body: bool) -> None:
            prefix = f"/{REPO_ID}/resolve/main/"
            name = self.path[len(prefix):] if self.path.startswith(prefix) else None
            if name not in files:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = files[name]
            self.send_response(200)
            self.send_header("X-Repo-Commit", "a" * 40)
            self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_HEAD(self):  # noqa: N802 - http.server's naming
            self._answer(body=False)

        def do_GET(self):  # noqa: N802
            self._answer(body=True)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    models = tmp_path / "models"
    yield {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}", "NOTES_CHAT_MODELS_DIR": str(models),
           "HF_HOME": str(tmp_path / "hf"), "NOTES_CHAT_OFFLINE": "false"}, models
    server.shutdown()


def test_pull_downloads_into_the_models_folder_and_lists_it(fake_hub, tiny_gguf):
    env, models = fake_hub
    result = run("models", "pull", REPO_ID, "tiny.gguf", env=env)
    assert result.returncode == 0, result.stderr
    assert (models / "tiny.gguf").read_bytes() == tiny_gguf.read_bytes()
    listed = run("models", env=env).stdout
    assert "llama" in listed and str(models / "tiny.gguf") in listed


def test_pull_is_refused_while_offline(fake_hub):
    env, models = fake_hub
    result = run("models", "pull", REPO_ID, "tiny.gguf", env={**env, "NOTES_CHAT_OFFLINE": "true"})
    assert_one_sentence_error(result, "Downloads are off")
    assert not (models / "tiny.gguf").exists()


def test_missing_file_and_non_gguf_file_say_so(fake_hub):
    env, models = fake_hub
    assert_one_sentence_error(run("models", "pull", REPO_ID, "absent.gguf", env=env), "was not found on the hub")
    assert_one_sentence_error(run("models", "pull", REPO_ID, "notes.txt", env=env), "is not a GGUF model file")
    assert not (models / "notes.txt").exists()
