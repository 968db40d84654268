"""The command line as a user runs it: real processes, real model, one sentence per error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

HEAVY = ("torch", "chromadb", "gradio", "llama_cpp", "sentence_transformers", "langchain_core", "jieba")


def run(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chatbot.apps.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        input=input,
        timeout=300,
    )


def assert_one_sentence_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_help_imports_nothing_heavy():
    code = "import sys; from chatbot.apps.cli import main; print([m for m in %r if m in sys.modules])" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert "retrieve" in run("--help").stdout


@pytest.fixture(scope="module")
def indexed_env(tmp_path_factory):
    env = {"NOTES_CHAT_DATA_DIR": str(tmp_path_factory.mktemp("cli-data"))}
    first = run("ingest", "-q", env=env)
    assert first.returncode == 0, first.stderr
    assert "5 added" in first.stdout
    return env


def _generation_files(data_dir: str) -> dict[str, tuple[int, int]]:
    from pathlib import Path

    indexes = Path(data_dir, "indexes")
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in indexes.glob("*/gen-*/**/*") if p.is_file()}  # the generations' own files


def test_reads_write_nothing_into_the_served_generation(indexed_env):
    before = _generation_files(indexed_env["NOTES_CHAT_DATA_DIR"])
    asked = run("ask", "--json", "梯度检查点是怎么节省显存的？", env=indexed_env)
    retrieved = run("retrieve", "--json", "What does LoRA train?", env=indexed_env)
    assert asked.returncode == retrieved.returncode == 0, asked.stderr + retrieved.stderr
    assert json.loads(asked.stdout)["dense_coverage"] == json.loads(retrieved.stdout)["dense_coverage"] == 1.0
    assert _generation_files(indexed_env["NOTES_CHAT_DATA_DIR"]) == before


def test_a_large_ingest_is_answerable_while_a_background_process_embeds(tmp_path):
    corpus = tmp_path / "notes"
    corpus.mkdir()
    for i in range(40):
        (corpus / f"n{i}.md").write_text(f"# 笔记{i}\n\n第{i}条：剪枝的第{i}个要点。\n\n## 细节\n\n蒸馏温度设为{i}。\n",
                                          encoding="utf-8")
    env = {"NOTES_CHAT_DATA_DIR": str(tmp_path / "data"), "NOTES_CHAT_CORPUS_DIR": str(corpus),
           "NOTES_CHAT_BACKGROUND_FILL_CHUNKS": "10", "NOTES_CHAT_INLINE_EMBED_CHUNKS": "0"}
    started = run("ingest", "-q", env=env)
    assert started.returncode == 0, started.stderr
    assert "Answerable after" in started.stdout and "in the background" in started.stdout
    answered = json.loads(run("retrieve", "--json", "蒸馏温度设为7", env=env).stdout)
    assert "蒸馏温度设为7" in answered["retrieved"][0]["text"]  # by BM25, whatever the fill has done
    waited = run("ingest", "--wait", "-q", env=env)  # waits for the background fill
    assert waited.returncode == 0, waited.stderr
    assert json.loads(run("retrieve", "--json", "蒸馏温度", env=env).stdout)["dense_coverage"] == 1.0


def test_unchanged_reingest_says_so(indexed_env):
    result = run("ingest", "-q", env=indexed_env)
    assert result.returncode == 0 and "index already up to date" in result.stdout


def test_batch_retrieve_json_contract(indexed_env, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"q": "What is gradient checkpointing?"}\n\n{"q": "KimiVL 激活多少参数？", "id": "x"}\n', encoding="utf-8"
    )
    result = run("retrieve", "--json", "-k", "3", "--questions", str(questions), env=indexed_env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in records] == ["What is gradient checkpointing?", "KimiVL 激活多少参数？"]
    for record in records:
        assert [p["rank"] for p in record["retrieved"]] == [1, 2, 3]
        assert all(set(p) == {"rank", "text", "source", "note_id", "score"} for p in record["retrieved"])
        scores = [p["score"] for p in record["retrieved"]]
        assert scores == sorted(scores, reverse=True)
    assert "梯度检查点" in records[0]["retrieved"][0]["text"]
    assert "2.8B" in records[1]["retrieved"][0]["text"]
    corpus_text = "".join(p.read_text(encoding="utf-8") for p in (REPO / "corpus").glob("*.txt"))
    assert all(p["text"] in corpus_text for r in records for p in r["retrieved"])  # text exactly as stored


def test_empty_question_is_one_sentence(indexed_env):
    assert_one_sentence_error(run("retrieve", "   ", env=indexed_env), "The question is empty")


def test_too_long_question_is_one_sentence(indexed_env):
    assert_one_sentence_error(run("retrieve", "长" * 5000, env=indexed_env), "over the 2000-character limit")


def test_retrieve_before_ingest_is_one_sentence(tmp_path):
    result = run("retrieve", "LoRA?", env={"NOTES_CHAT_DATA_DIR": str(tmp_path)})
    assert_one_sentence_error(result, "run 'chatbot ingest' first")


def test_empty_corpus_folder_is_one_sentence(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("--corpus", str(tmp_path / "empty"), "ingest", "-q", env={"NOTES_CHAT_DATA_DIR": str(tmp_path / "d")})
    assert_one_sentence_error(result, "No notes to index")


def test_naming_a_folder_without_notes_exits_non_zero_and_the_index_still_answers(indexed_env, tmp_path):
    (tmp_path / "typo").mkdir()
    result = run("ingest", "-q", str(tmp_path / "typo"), env=indexed_env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Nothing to index in" in result.stdout and "index already up to date" in result.stdout
    answer = run("retrieve", "--json", "梯度检查点是什么？", env=indexed_env)
    assert answer.returncode == 0 and json.loads(answer.stdout)["retrieved"]


def test_binary_file_is_reported_and_exit_is_non_zero(tmp_path):
    corpus = tmp_path / "notes"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("梯度检查点。\n", encoding="utf-8")
    (corpus / "photo.txt").write_bytes(b"\x89PNG\x00\x00binary")
    result = run("--corpus", str(corpus), "ingest", "-q", env={"NOTES_CHAT_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "1 added" in result.stdout and "Skipped: photo.txt is a binary file" in result.stdout


# ------------------------------------------------------------------ answers


ANSWER_KEYS = {"question", "answer", "declined", "mode", "model", "rewritten_question", "citations", "timings"}


def test_ask_json_extractive_contract(indexed_env):
    result = run("ask", "--json", "How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?", env=indexed_env)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert ANSWER_KEYS <= set(record) and record["mode"] == "extractive" and record["model"] is None
    assert not record["declined"] and "160GB" in record["answer"]
    assert [c["n"] for c in record["citations"]] == list(range(1, len(record["citations"]) + 1))
    assert {"n", "text", "source", "note_id", "title", "span"} <= set(record["citations"][0])
    assert {"retrieve_ms", "first_token_ms", "total_ms"} <= set(record["timings"])


def test_ask_batch_with_a_model_streams_json_lines_and_reports_bad_lines(indexed_env, tiny_gguf, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"q": "What is LoRA?"}\n{"q": "   "}\n{"q": "Qwen2 支持多长上下文？"}\n', encoding="utf-8")
    result = run("ask", "--json", "--model", str(tiny_gguf), "--questions", str(questions), env=indexed_env)
    assert result.returncode == 1 and "Traceback" not in result.stderr  # one bad line: reported, batch goes on
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3 and "The question is empty" in records[1]["error"]
    assert records[0]["mode"] == "generative" and records[0]["model"] == "random-llama"
    assert records[2]["declined"] and records[2]["answer"] == "你的笔记里没有这个内容。"


def test_ask_streams_text_with_sources(indexed_env):
    result = run("ask", "梯度检查点是什么？", env=indexed_env)
    assert result.returncode == 0, result.stderr
    assert "摘自你的笔记" in result.stdout and "Sources:" in result.stdout and "[1]" in result.stdout


def test_missing_model_file_is_one_sentence(indexed_env, tmp_path):
    result = run("ask", "--model", str(tmp_path / "nope.gguf"), "What is LoRA?", env=indexed_env)
    assert_one_sentence_error(result, "does not exist")


def test_file_that_is_not_gguf_is_one_sentence(indexed_env, tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip, not a model")
    assert_one_sentence_error(run("ask", "--model", str(fake), "What is LoRA?", env=indexed_env), "not a GGUF model file")


def test_truncated_gguf_is_one_sentence(indexed_env, tiny_gguf, tmp_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[: tiny_gguf.stat().st_size // 2])
    assert_one_sentence_error(run("ask", "--model", str(cut), "What is LoRA?", env=indexed_env), "truncated")


def test_context_too_small_is_one_sentence(indexed_env, tiny_gguf):
    env = {**indexed_env, "NOTES_CHAT_N_CTX": "512"}
    result = run("ask", "--model", str(tiny_gguf), "What is LoRA?", env=env)
    assert_one_sentence_error(result, "too few for even one passage")


@pytest.mark.parametrize(("question", "fragment"), [("  ", "The question is empty"), ("a" * 100_000, "over the 2000")])
def test_bad_questions_to_ask_are_one_sentence(indexed_env, question, fragment):
    assert_one_sentence_error(run("ask", question, env=indexed_env), fragment)


def test_models_lists_gguf_files_from_their_headers(tiny_gguf, tmp_path):
    (tmp_path / "broken.gguf").write_bytes(b"nope")
    (tmp_path / "a.gguf").write_bytes(tiny_gguf.read_bytes())
    result = run("models", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "llama" in lines[0] and "random-llama" in lines[0] and "ctx 32768" in lines[0]
    assert "not a GGUF model file" in lines[1]


def test_chat_keeps_the_conversation_and_rewrites_follow_ups(indexed_env):
    session = "How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?\nand the 72B one?\n/quit\n"
    result = run("chat", "--json", env=indexed_env, input=session)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line.split("› ")[-1]) for line in result.stdout.splitlines() if "{" in line]
    assert len(records) == 2 and records[0]["rewritten_question"] is None
    assert "Qwen1.5-7B-Chat" in records[1]["rewritten_question"] and "1600GB" in records[1]["answer"]


def test_eval_commands_report_the_translated_rows(indexed_env, tmp_path, tiny_gguf):
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "en-1", "q": "How does the notes' trick save memory when recomputing?", "lang": "en", "answerable": True,
         "evidence": "梯度检查点", "keywords": [], "translation": "梯度检查点如何节省显存？"},
        {"id": "zh-1", "q": "梯度检查点是什么？", "lang": "zh", "answerable": True, "evidence": "梯度检查点",
         "keywords": []},
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    result = run("eval", "retrieval", "--questions", str(questions), "--out", str(out), env=indexed_env)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(out.read_text(encoding="utf-8"))["metrics"]
    assert metrics["translated"]["en"]["n"] == 1 and "zh" not in metrics["translated"]
    assert "en    translated" in result.stdout
    # With a model, the English question is also searched with the model's own translation
    # (random weights here: whatever it says, the row and the translation record exist).
    result = run("eval", "retrieval", "--questions", str(questions), "--out", str(out), "--model", str(tiny_gguf),
                 env=indexed_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["metrics"]["model-translated"]["en"]["n"] == 1 and "zh" not in report["metrics"]["model-translated"]
    assert [t["id"] for t in report["model_translations"]] == ["en-1"]
    result = run("eval", "answers", "--with-translations", "--questions", str(questions), "--out", str(out),
                 env=indexed_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["reference_translations"] is True
    assert "with the reference translations" in result.stdout


def test_study_new_review_status_and_export(tmp_path):
    env = {"NOTES_CHAT_DATA_DIR": str(tmp_path / "data")}
    assert_one_sentence_error(run("study", "new", env=env), "run 'chatbot ingest' first")  # no index yet
    assert run("ingest", "-q", env=env).returncode == 0
    assert_one_sentence_error(run("study", env=env), "Your study deck is empty")
    made = run("study", "new", "--n", "6", "--json", env=env)
    assert made.returncode == 0, made.stderr
    cards = json.loads(made.stdout)["cards"]
    assert len(cards) == 6
    for card in cards:  # each answer a span of the passage it cites
        start, end = card["span"]
        assert card["citation"]["text"][start:end] == card["answer"] and card["where"]
    first = cards[0]
    review = run("study", "--max", "2", env=env, input=f"{first['answer']}\n\n\n1\n")
    assert review.returncode == 0, review.stderr
    assert "Your answer matches the card's. Suggested grade: good." in review.stdout
    assert review.stdout.count("Next review") == 2 and "Done: 2 reviewed" in review.stdout
    status = json.loads(run("study", "status", "--json", env=env).stdout)
    assert (status["cards"], status["reviews"], status["due"]) == (6, 2, 4)
    exported = run("study", "export", "--csv", str(tmp_path / "deck.csv"), "--anki", str(tmp_path / "deck.apkg"),
                   env=env)
    assert exported.returncode == 0 and (tmp_path / "deck.apkg").stat().st_size > 0
    assert (tmp_path / "deck.csv").read_text(encoding="utf-8-sig").count("\n") >= 7


@pytest.mark.parametrize("args, fragment", [
    (["--n", "0"], "between 1 and 200"),
    (["--n", "10000"], "between 1 and 200"),
    (["--notes-filter", "no-such-note-anywhere"], "No indexed note matches 'no-such-note-anywhere'"),
])
def test_bad_study_requests_are_one_sentence(indexed_env, args, fragment):
    assert_one_sentence_error(run("study", "new", *args, env=indexed_env), fragment)
