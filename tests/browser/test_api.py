"""The app's named API, as a gradio_client user sees it: /ask returns the answer JSON."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.integration

QUESTIONS = {  # question -> text its answer must contain
    "How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?": "160GB",
    "全参微调72B的Qwen1.5大概要多少张卡、多少显存？": "1600GB",
    "梯度检查点是怎么节省显存的？": "激活值",
    "What does LoRA actually train, and what stays frozen?": "低秩",
    "KimiVL 激活多少参数？": "2.8B",
    "What's the difference between BatchNorm and LayerNorm?": "Normalization",
    "DDPG 采用的是什么网络结构？": "ActorCritic",
    "What is adaptive softmax?": "Softmax",
    "Qwen2 支持的最大上下文长度是多少？": "你的笔记里没有这个内容。",
    "What rank and 4-bit NF4 settings does QLoRA recommend?": "That is not in your notes.",
}
DECLINES = {"你的笔记里没有这个内容。", "That is not in your notes."}


def test_ten_concurrent_ask_calls_each_get_their_own_answer(served_app):
    from gradio_client import Client

    _, url = served_app

    def call(question: str) -> dict:
        return Client(url, verbose=False).predict(question, api_name="/ask")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(call, QUESTIONS))
    for (question, expected), result in zip(QUESTIONS.items(), results, strict=True):
        assert result["question"] == question  # nothing crossed between sessions
        assert expected in result["answer"], (question, result["answer"])
        assert result["declined"] == (expected in DECLINES)
        assert {"citations", "mode", "timings"} <= set(result)
