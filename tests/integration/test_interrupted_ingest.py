"""kill -9 in the middle of a real ingest: the old index keeps answering, a re-run finishes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from chatbot.search.embed import collection_name
from chatbot.search.generations import current_generation, index_root, latest_generation, read_manifest
from chatbot.search.index import IndexReader
from chatbot.search.fill import fill_status
from chatbot.search.ingest import ingest
from chatbot.search.retrieve import build_retriever
from chatbot.settings import Settings
from tests.conftest import BUNDLED_CORPUS, REPO

pytestmark = pytest.mark.integration


def test_killed_ingest_leaves_the_last_complete_index(tmp_path, real_embedder):
    corpus = shutil.copytree(BUNDLED_CORPUS, tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data")
    ingest(settings, embedder=real_embedder)
    root = index_root(settings.data_dir, collection_name(settings.embedding_model))
    before = current_generation(root)
    count_before = IndexReader.open(settings.data_dir, collection_name(settings.embedding_model)).count

    # Enough new text that embedding takes a while, so the kill lands in the middle of the fill.
    extra = "\n\n".join(f"第{i}条新笔记：关于模型蒸馏的第{i}个要点，温度参数设为{i % 7}。" for i in range(600))
    (corpus / "extra.txt").write_text(extra + "\n", encoding="utf-8")
    env = {**os.environ, "NOTES_CHAT_DATA_DIR": str(settings.data_dir), "NOTES_CHAT_CORPUS_DIR": str(corpus),
           "NOTES_CHAT_EMBEDDING_BATCH_SIZE": "8"}  # batches of 64: several are cached before the kill
    proc = subprocess.Popen([sys.executable, "-m", "chatbot.apps.cli", "ingest", "--wait", "-q"], cwd=REPO, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (fill_status(settings) or {}).get("done", 0) >= 128:
            assert proc.poll() is None, "ingest finished before it could be interrupted"
            time.sleep(0.05)
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)  # the ingest and its fill process
    finally:
        proc.wait(timeout=30)

    assert current_generation(root) == before  # the complete index keeps serving
    reader = IndexReader.open(settings.data_dir, collection_name(settings.embedding_model))
    assert reader.count == count_before
    retriever = build_retriever(settings)
    retriever.embedder = real_embedder
    assert "梯度检查点" in retriever.search("梯度检查点是什么？")[0].text
    assert read_manifest(latest_generation(root))["pending"]  # the new notes wait, answerable, for vectors

    report = ingest(settings, embedder=real_embedder)  # the re-run finishes the job
    assert report.added == [] and report.pending == 0
    assert report.model_texts <= 600 - 128  # resumed: the batches done before the kill came from the cache
    after = IndexReader.open(settings.data_dir, collection_name(settings.embedding_model))
    assert after.count == count_before + 600 == len(set(after.dense_ids()))
    assert after.dense_coverage == 1.0
    assert all((g / "manifest.json").is_file() for g in root.glob("gen-*"))  # the killed fill's copy was pruned


@pytest.mark.parametrize("delay", [0.2, 2.0, 4.5])
def test_kill_at_several_points_never_serves_a_partial_index(tmp_path, real_embedder, delay):
    """Whenever the kill lands (start, embedding, writing), the index is the old one or the new
    one complete, never in between; a re-run converges with no duplicate or orphan chunks."""
    corpus = shutil.copytree(BUNDLED_CORPUS, tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data")
    ingest(settings, embedder=real_embedder)
    name = collection_name(settings.embedding_model)
    root = index_root(settings.data_dir, name)
    count_before = IndexReader.open(settings.data_dir, name).count
    new = 200
    (corpus / "extra.txt").write_text(
        "\n\n".join(f"第{i}条补充笔记：量化的第{i}个细节，分组大小为{i % 9}。" for i in range(new)) + "\n", encoding="utf-8"
    )
    env = {**os.environ, "NOTES_CHAT_DATA_DIR": str(settings.data_dir), "NOTES_CHAT_CORPUS_DIR": str(corpus)}
    proc = subprocess.Popen([sys.executable, "-m", "chatbot.apps.cli", "ingest", "-q"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(root.glob("gen-*"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # the ingest and the fill process it started
    proc.wait(timeout=30)

    reader = IndexReader.open(settings.data_dir, name)
    assert reader.count in (count_before, count_before + new)  # old or new, never partial
    assert len(set(reader.dense_ids())) == reader.count
    assert reader.dense_coverage == 1.0  # the one served is complete
    ingest(settings, embedder=real_embedder)
    after = IndexReader.open(settings.data_dir, name)
    ids = after.dense_ids()
    assert after.count == count_before + new == len(ids) == len(set(ids)) == len(after.manifest["chunk_ids"])
    assert all((g / "manifest.json").is_file() for g in root.glob("gen-*"))
