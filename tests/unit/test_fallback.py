"""When a generated answer is replaced by the extractive one, and how a model's decline reads."""

from __future__ import annotations

import pytest

from chatbot.answers.answer import _MODEL_DECLINE_RE, fallback_reason
from chatbot.answers.cite import check_citations
from tests.conftest import passage

PASSAGES = [passage("Qwen1.5-7B-Chat 全参微调大约需要 160GB 显存。", 0, source="000_7395808d35da1515.txt")]


def reason(raw: str) -> str:
    return fallback_reason(raw, check_citations(raw, PASSAGES, None), PASSAGES)


def test_empty_marker_only_and_file_name_answers_fall_back():
    assert reason("") == "empty"
    assert reason("[1]") == "files"
    assert reason("[1] 000_7395808d35da1515.txt") == "files"
    assert reason("notes/training.md, 000_7395808d35da1515.txt") == "files"


def test_an_answer_mostly_unsupported_falls_back_and_a_checked_one_stands():
    assert reason("It needs 220GB [1]. Qwen1.5-7B-Chat needs 8 A100 cards.") == "unsupported"
    assert reason("Qwen1.5-7B-Chat 全参微调需要 160GB 显存 [1]。") == ""
    assert reason("It needs 160GB [1]. It uses 3 cards.") == ""  # half unsupported is not most


@pytest.mark.parametrize("text", [
    "That is not in your notes.", "The passages do not mention Galactica.", "There is no information about it in the notes.",
    "你的笔记里没有这个内容。", "段落中并未提到这一点。", "笔记中没提到。", "无法根据这些段落回答。",
])
def test_a_models_own_decline_is_recognised_in_either_language(text):
    assert _MODEL_DECLINE_RE.search(text)


@pytest.mark.parametrize("text", ["LoRA trains low-rank matrices [1].", "梯度检查点重新计算激活值 [1]。"])
def test_an_answer_is_no_decline(text):
    assert not _MODEL_DECLINE_RE.search(text)


def test_the_eval_sample_takes_the_first_answerable_and_unanswerable_questions_per_language():
    from chatbot.measure.evaluate import first_per_language

    items = ([{"id": f"en{i}", "q": "?", "lang": "en", "evidence": "x"} for i in range(5)]
             + [{"id": f"na{i}", "q": "?", "lang": "en", "answerable": False} for i in range(3)]
             + [{"id": "zh0", "q": "?", "lang": "zh", "evidence": "x"}, {"id": "fu", "q": "?", "lang": "zh",
                                                                       "evidence": "x", "history": ["?"]}])
    assert [i["id"] for i in first_per_language(items, 3)] == ["en0", "en1", "en2", "na0", "zh0"]
