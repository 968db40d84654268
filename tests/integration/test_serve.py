"""The bot as an OpenAI-compatible server, used through the official openai client on loopback."""

from __future__ import annotations

import threading
import time

import pytest

from chatbot.answers.answer import Answerer
from chatbot.apps.serve import build_server, conversation
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def test_conversation_takes_the_last_user_message_and_pairs_before_it():
    messages = [{"role": "system", "content": "x"}, {"role": "user", "content": "Q1"},
                {"role": "assistant", "content": "A1"}, {"role": "user", "content": [{"type": "text", "text": "Q2"}]}]
    assert conversation(messages) == ("Q2", [("Q1", "A1")])
    assert conversation([{"role": "assistant", "content": "hi"}]) == ("", [])


@pytest.fixture(scope="module")
def client(real_settings, real_retriever):
    import uvicorn
    from openai import OpenAI

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_server(Answerer(real_settings, real_retriever)), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="not-needed", max_retries=0)
    server.should_exit = True
    thread.join(timeout=10)


def test_non_streaming_answer_carries_citations(client):
    response = client.chat.completions.create(
        model="notes-chat", messages=[{"role": "user", "content": "梯度检查点是怎么节省显存的？"}])
    assert "激活值" in response.choices[0].message.content
    citations = response.model_extra["citations"]
    assert citations and citations[0]["n"] == 1 and "梯度检查点" in citations[0]["text"]
    assert response.model_extra["notes_chat"]["declined"] is False
    assert response.model_extra["notes_chat"]["caution"] == "" and response.model_extra["notes_chat"]["absent_terms"] == []
    assert [m.id for m in client.models.list().data] == ["notes-chat"]


def test_streaming_answer_ends_with_citations_and_follow_ups_work(client):
    messages = [{"role": "user", "content": "How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?"},
                {"role": "assistant", "content": "160GB [1]"}, {"role": "user", "content": "and the 72B one?"}]
    chunks = list(client.chat.completions.create(model="notes-chat", messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1]
    assert "1600GB" in text and final.choices[0].finish_reason == "stop"
    assert final.model_extra["citations"] and "Qwen1.5-7B-Chat" in final.model_extra["notes_chat"]["rewritten_question"]


def test_decline_and_bad_question(client):
    from openai import BadRequestError

    response = client.chat.completions.create(model="notes-chat",
                                              messages=[{"role": "user", "content": "Qwen2 支持的最大上下文长度是多少？"}])
    assert response.model_extra["notes_chat"]["declined"] and response.model_extra["citations"] == []
    with pytest.raises(BadRequestError, match="The question is empty"):
        client.chat.completions.create(model="notes-chat", messages=[{"role": "user", "content": "  "}])
