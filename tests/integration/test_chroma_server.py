"""Scale-out: the vectors on a real Chroma server (``chroma run`` on loopback) instead of the data dir.

Ingest, incremental re-ingest, retrieval and answers work the same; superseded generations'
collections are dropped from the server.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from chatbot.answers.answer import Answerer
from chatbot.search.ingest import ingest
from chatbot.search.retrieve import build_retriever
from chatbot.settings import Settings
from tests.conftest import BUNDLED_CORPUS, free_port, serve_until_ready

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    url = f"http://127.0.0.1:{port}"
    proc = serve_until_ready([str(chroma), "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
                              "--host", "127.0.0.1", "--port", str(port)], url + "/api/v2/heartbeat", "chroma run")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_ask_and_reingest_against_a_chroma_server(chroma_url, real_embedder, tmp_path):
    import chromadb

    corpus = shutil.copytree(BUNDLED_CORPUS, tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data", chroma_url=chroma_url)
    report = ingest(settings, embedder=real_embedder)
    assert report.chunks == 78
    assert not list((tmp_path / "data").rglob("chroma.sqlite3"))  # no local vector store

    retriever = build_retriever(settings)
    retriever.embedder = real_embedder
    answerer = Answerer(settings, retriever)
    answer = answerer.ask("How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?")
    assert "160GB" in answer.answer and answer.citations
    assert len(retriever.search("全参微调显存", mode="dense", k=10)) == 10  # dense search runs on the server
    assert answerer.ask("Qwen2 支持的最大上下文长度是多少？").declined

    (corpus / "new.md").write_text("# Zebra attention\nZebra attention 把注意力头分成黑白两组交替计算。\n", encoding="utf-8")
    (corpus / "004_e961901655b2d63b.txt").unlink()
    second = ingest(settings, embedder=real_embedder)
    assert second.added == ["new.md"] and second.removed and second.chunks_embedded == 1
    answerer.reload_index()
    assert answerer.retriever.index.collection.count() == answerer.retriever.index.count == second.chunks
    assert "new.md" in answerer.ask("What is Zebra attention?").citations[0].source

    ingest(settings, embedder=real_embedder)  # nothing changed: a third generation is not even made
    ingest(settings, embedder=real_embedder, rebuild=True)
    names = [c.name for c in chromadb.HttpClient(host="127.0.0.1", port=int(chroma_url.rsplit(":", 1)[1])).list_collections()]
    assert 1 <= len(names) <= 2  # the current generation and its predecessor only


def test_server_down_is_one_clear_sentence(real_embedder, tmp_path):
    from chatbot.errors import UserError

    settings = Settings(corpus_dir=BUNDLED_CORPUS, data_dir=tmp_path / "data", chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(UserError, match="Chroma server at .* cannot be reached"):
        ingest(settings, embedder=real_embedder)
