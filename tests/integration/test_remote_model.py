"""A remote model: llama-cpp-python's own OpenAI-compatible server on the tiny GGUF, on loopback.

The same answer chain runs against it: retrieval, prompt fitting, streaming, citation checks and
evidence-based declines behave as with the in-process model.
"""

from __future__ import annotations

import sys

import pytest

from chatbot.answers.answer import Answerer
from chatbot.answers.result import Done, Token
from chatbot.models.llm import ModelError
from chatbot.models.llm_remote import RemoteModel
from tests.conftest import free_port, serve_until_ready

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url(tiny_gguf):
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    proc = serve_until_ready(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf), "--model_alias", "tiny",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192"], url + "/models", "llama_cpp.server")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def answerer(real_settings, real_retriever, server_url):
    settings = real_settings.model_copy(update={"llm_base_url": server_url, "llm_model": "tiny", "llm_context": 8192,
                                                "max_tokens": 32})
    bot = Answerer(settings, real_retriever)
    bot.model = RemoteModel(server_url, "tiny", n_ctx=8192)
    return bot


def test_streams_from_the_server_with_the_prompt_within_its_context(answerer):
    events = list(answerer.stream("LoRA 的核心思想是什么？"))
    assert any(isinstance(e, Token) for e in events)
    answer = events[-1].answer
    assert isinstance(events[-1], Done) and answer.mode == "generative" and answer.model.startswith("tiny @ ")
    assert answer.timings["prompt_tokens"] + 32 <= 8192  # the byte upper bound never overflows


def test_declines_and_citation_checks_are_the_same(answerer):
    declined = answerer.ask("Qwen2 支持的最大上下文长度是多少？")
    assert declined.declined and declined.answer == "你的笔记里没有这个内容。"  # decided before the model runs
    answer = answerer.ask("What is gradient checkpointing?")
    assert all(c.n >= 1 for c in answer.citations)  # gibberish cites nothing valid; whatever remains was checked


def test_unreachable_server_is_one_clear_error(real_settings, real_retriever):
    bot = Answerer(real_settings, real_retriever)
    bot.model = RemoteModel(f"http://127.0.0.1:{free_port()}/v1", "tiny", n_ctx=8192)
    with pytest.raises(ModelError, match="cannot be reached"):
        bot.ask("What is gradient checkpointing?")
