"""Hostile and broken input: each gets one clear sentence and nothing else is affected."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.answers.answer import Answerer
from chatbot.errors import QuestionError, UserError
from tests.conftest import BUNDLED_CORPUS, REPO
from tests.integration.test_cli import assert_one_sentence_error, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def answerer(real_settings, real_retriever) -> Answerer:
    return Answerer(real_settings, real_retriever)


@pytest.mark.parametrize("question", ["\x00\x07\x1b[31m", "\u200b\u200b", "\t \n"])
def test_control_characters_only_is_an_empty_question(answerer, question):
    with pytest.raises(QuestionError, match="empty"):
        answerer.ask(question)


def test_control_characters_inside_a_question_are_dropped(answerer):
    answer = answerer.ask("梯度\x00检查点\x1b是什么？")
    assert answer.question == "梯度检查点是什么？" and answer.citations


@pytest.mark.parametrize("question", ["Qu'est-ce que le gradient checkpointing ?", "Что такое LoRA?",
                                      "グラディエントチェックポイントとは？", "🙂🙂🙂"])
def test_other_languages_get_an_answer_or_a_decline_never_an_error(answerer, question):
    answer = answerer.ask(question)
    assert answer.declined or answer.citations
    assert all(c.text and c.source for c in answer.citations + answer.related)


def test_corrupt_vector_store_is_detected_and_rebuild_recovers(tmp_path):
    env = {"NOTES_CHAT_DATA_DIR": str(tmp_path / "data")}
    assert run("ingest", "-q", env=env).returncode == 0
    (gen,) = (tmp_path / "data" / "indexes").glob("*/gen-*")
    (gen / "chroma" / "chroma.sqlite3").write_bytes(b"\x00garbage" * 1000)
    assert_one_sentence_error(run("ask", "What is LoRA?", env=env), "run 'chatbot ingest --rebuild'")
    assert run("ingest", "--rebuild", "-q", env=env).returncode == 0
    result = run("ask", "--json", "What is LoRA?", env=env)
    assert result.returncode == 0 and json.loads(result.stdout)["citations"]


def test_store_missing_vectors_is_not_served(real_settings, real_embedder, tmp_path):
    from chatbot.search.embed import collection_name
    from chatbot.search.generations import chroma_client
    from chatbot.search.index import IndexReader
    from chatbot.search.ingest import ingest

    settings = real_settings.model_copy(update={"corpus_dir": shutil.copytree(BUNDLED_CORPUS, tmp_path / "c"),
                                                "data_dir": tmp_path / "data"})
    ingest(settings, embedder=real_embedder)
    name = collection_name(settings.embedding_model)
    reader = IndexReader.open(settings.data_dir, name)
    collection = chroma_client(reader.gen / "chroma").get_collection(name, embedding_function=None)
    collection.delete(ids=reader.manifest["chunk_ids"][:3])
    with pytest.raises(UserError, match=r"damaged \(75 vectors for 78 chunks\)"):
        _ = IndexReader.open(settings.data_dir, name).collection


def test_empty_and_huge_files_are_skipped_with_a_reason(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ok.md").write_text("# LoRA\nLoRA 训练低秩矩阵。\n", encoding="utf-8")
    (notes / "empty.txt").write_text("", encoding="utf-8")
    (notes / "huge.txt").write_text("长" * 2_000_000, encoding="utf-8")  # 6 MB, over a 1 MB cap
    env = {"NOTES_CHAT_DATA_DIR": str(tmp_path / "d"), "NOTES_CHAT_MAX_FILE_MB": "1"}
    result = run("--corpus", str(notes), "ingest", "-q", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "huge.txt is 6.0 MB, over the 1 MB limit" in result.stdout
    assert "Index: 1 notes" in result.stdout  # the empty file adds nothing and breaks nothing


def test_permission_denied_file_is_skipped_with_a_reason(tmp_path):
    import os
    import stat
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="notes-perm-"))  # outside pytest's root-only tmp tree
    try:
        base.chmod(0o777)
        notes = base / "notes"
        notes.mkdir()
        notes.chmod(0o777)
        (notes / "ok.md").write_text("# LoRA\nLoRA 训练低秩矩阵。\n", encoding="utf-8")
        secret = notes / "secret.md"
        secret.write_text("secret\n", encoding="utf-8")
        secret.chmod(0)
        command = ["--corpus", str(notes), "ingest", "-q"]
        env = {"NOTES_CHAT_DATA_DIR": str(base / "data"), "HOME": str(base)}
        if os.geteuid() == 0:  # root reads anything: run as nobody so the permission bites
            assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root"
            result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                                     "-m", "chatbot.apps.cli", *command], capture_output=True, text=True, cwd=REPO,
                                    env={**os.environ, **env}, timeout=300)
        else:
            result = run(*command, env=env)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "Skipped: secret.md cannot be read" in result.stdout and "1 added" in result.stdout
        assert not secret.stat().st_mode & stat.S_IRUSR
    finally:
        shutil.rmtree(base, ignore_errors=True)
