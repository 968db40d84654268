"""Shared fixtures and fakes.

Unit tests use ``FakeEmbedder`` (hashed bag of tokens: texts sharing tokens point the same
way, so ranking is predictable) and never touch the user's home: every test gets its own
data dir through the environment, which is the only place settings read it from.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from chatbot.search.tokens import tokenize
from chatbot.settings import ENV_PREFIX, Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO / "corpus"


class FakeEmbedder:
    """Deterministic embedder: a unit vector of hashed token counts; records its calls."""

    name = "fake"

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:  # (n, dim)
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype="float32")
        for row, text in enumerate(texts):
            for token in tokenize(text) or ["<empty>"]:
                out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1.0
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out

    @property
    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """No test sees the user's config or data dir."""
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    monkeypatch.setenv(ENV_PREFIX + "DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture
def corpus(tmp_path) -> Path:
    """An empty notes folder for the test to fill."""
    path = tmp_path / "notes"
    path.mkdir()
    return path


@pytest.fixture
def bundled_copy(tmp_path) -> Path:
    """A writable copy of the bundled corpus."""
    return Path(shutil.copytree(BUNDLED_CORPUS, tmp_path / "corpus"))


@pytest.fixture
def settings(corpus, tmp_path) -> Settings:
    return load_settings(corpus_dir=corpus, data_dir=tmp_path / "data")


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


# ------------------------------------------------------------------ real components (integration)


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory) -> Settings:
    """Default settings (bundled model), bundled corpus, a session-wide temp data dir."""
    return Settings(corpus_dir=BUNDLED_CORPUS, data_dir=tmp_path_factory.mktemp("real-data"))


@pytest.fixture(scope="session")
def real_embedder(real_settings):
    from chatbot.search.embed import make_embedder

    return make_embedder(real_settings)


@pytest.fixture(scope="session")
def real_retriever(real_settings, real_embedder):
    """The shipped retriever over an index of the bundled corpus built with the real model."""
    from chatbot.search.ingest import ingest
    from chatbot.search.retrieve import build_retriever

    ingest(real_settings, embedder=real_embedder)
    retriever = build_retriever(real_settings)
    retriever.embedder = real_embedder
    return retriever


# ------------------------------------------------------------------ passages and GGUF models


def passage(text: str, n: int = 0, score: float = 1.0, **meta) -> "Passage":
    """A retrieved passage as the answer stage sees it (metadata as stored by ingest)."""
    from chatbot.search.retrieve import Passage

    metadata = {"note_id": f"note{n}", "source": f"file{n}.txt", "title": text[:10], "line_start": n + 1,
                "line_end": n + 1, "sources": f'["file{n}.txt:L{n + 1}-{n + 1}"]', **meta}
    return Passage(chunk_id=f"note{n}-0-x", text=text, metadata=metadata, score=score, dense=0.0, lexical=score)


class FakeIndex:
    """The slice of IndexReader the answer stage reads: the notes' text, chunk count and
    BM25 document frequencies."""

    def __init__(self, texts: list[str]):
        from chatbot.search.tokens import compact, tokenize

        self.texts = texts
        self.count = len(texts)
        self._compact = "\n".join(compact(t) for t in texts)
        self._tokens = [set(tokenize(t)) for t in texts]

    def document_frequency(self, token: str) -> int:
        return sum(token in tokens for tokens in self._tokens)

    def compact_text(self) -> str:
        return self._compact

    def main_language(self) -> str:
        from chatbot.search.tokens import detect_language

        return detect_language(self._compact)


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory) -> Path:
    """A ~0.5 MB random-weight llama GGUF with a ChatML template in its metadata."""
    from dataclasses import replace

    from chatbot.models.random_gguf import TINY, write_random_gguf

    return write_random_gguf(tmp_path_factory.mktemp("models") / "tiny-a.gguf", replace(TINY, context=32768))


@pytest.fixture(scope="session")
def tiny_gguf_b(tmp_path_factory) -> Path:
    """A second, different tiny model (other weights and name), for swapping."""
    from dataclasses import replace

    from chatbot.models.random_gguf import TINY, write_random_gguf

    path = tmp_path_factory.mktemp("models-b") / "tiny-b.gguf"
    return write_random_gguf(path, replace(TINY, context=32768, layers=1), seed=1, name="tiny-b")


# ------------------------------------------------------------------ the browser app


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_app(tmp_path_factory, real_embedder, tiny_gguf):
    """The real app on a loopback port: a writable copy of the bundled corpus (indexed with the
    real model) and a models folder holding the tiny GGUF.  Yields (NotesApp, url)."""
    from chatbot.answers.answer import Answerer
    from chatbot.apps.app import NotesApp
    from chatbot.apps.ui import launch_ui
    from chatbot.search.ingest import ingest
    from chatbot.search.retrieve import build_retriever

    root = tmp_path_factory.mktemp("app")
    corpus = Path(shutil.copytree(BUNDLED_CORPUS, root / "corpus"))
    models = root / "models"
    models.mkdir()
    shutil.copy(tiny_gguf, models / "tiny-a.gguf")
    settings = Settings(corpus_dir=corpus, data_dir=root / "data", models_dir=models, max_tokens=24)
    ingest(settings, embedder=real_embedder)
    retriever = build_retriever(settings)
    retriever.embedder = real_embedder
    app = NotesApp(settings, Answerer(settings, retriever))
    port = free_port()
    demo = launch_ui(app, host="127.0.0.1", port=port, auth=None, share=False, block=False)
    yield app, f"http://127.0.0.1:{port}/"
    demo.close()
    app.answerer.set_model(None)


def serve_until_ready(command: list[str], probe_url: str, what: str, timeout: float = 60):
    """Start a server process and wait until ``probe_url`` answers; the process (caller stops it)."""
    import subprocess
    import time
    import urllib.request

    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(probe_url, timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"{what} did not start")
