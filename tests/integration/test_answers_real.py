"""Extractive answers on the bundled corpus with the real model and index (the offline default).

Floors sit a little under the figures measured on the eval set (reports/eval-answers.json), so a
change that makes answers worse fails here; the issue's targets are reported by
'chatbot eval answers', not asserted.
"""

from __future__ import annotations

import pytest

from chatbot.answers.answer import Answerer
from chatbot.answers.result import Done, Retrieved, Token
from chatbot.measure.evaluate import default_questions, evaluate_answers, read_questions

pytestmark = pytest.mark.integration

FLOORS = {  # lang: (evidence hit, correct citation, citation precision, decline rate, false declines at most)
    # The targets, except declines (0.625 measured) and citation precision: 0.899 measured
    # since English questions search each phrase in both languages as one group (was 0.909; the
    # answers cite a second passage more often, while the public notes folders' precision rose).
    "en": (0.90, 0.95, 0.87, 0.60, 0.03),
    "zh": (0.93, 0.97, 0.93, 0.85, 0.03),
}


@pytest.fixture(scope="module")
def answerer(real_settings, real_retriever) -> Answerer:
    return Answerer(real_settings, real_retriever)


def test_eval_set_floors(answerer):
    metrics = evaluate_answers(answerer, read_questions(default_questions()))["metrics"]
    for lang, (hit, cited, precise, declines, false_declines) in FLOORS.items():
        m = metrics[lang]
        assert m["evidence_hit"] >= hit, (lang, m)
        assert m["correct_citation"] >= cited, (lang, m)
        assert m["citation_precision"] >= precise, (lang, m)
        assert m["decline_rate"] >= declines, (lang, m)
        assert m["false_decline_rate"] <= false_declines, (lang, m)
    # The English unanswerable questions that are answered carry the "never mentioned" caution
    # more often than the answerable ones (else it would be noise).
    assert metrics["en"]["caution_on_unanswerable"] > metrics["en"]["caution_on_answerable"], metrics["en"]


def test_extractive_answer_is_labelled_cited_and_exact(answerer):
    answer = answerer.ask("How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?")
    assert answer.mode == "extractive" and "Extracted from your notes" in answer.label and not answer.declined
    assert "160GB" in answer.answer and "[1]" in answer.answer
    first = answer.citations[0]
    assert first.n == 1 and first.source.endswith(".txt") and first.location["line_start"] >= 1
    start, end = first.span
    assert first.text[start:end] in answer.answer  # the quoted sentence is the note's own text


def test_not_in_notes_is_declined_in_the_question_language_with_related_notes(answerer):
    zh = answerer.ask("Qwen2 支持的最大上下文长度是多少？")
    assert zh.declined and zh.answer == "你的笔记里没有这个内容。" and zh.citations == []
    assert 1 <= len(zh.related) <= 3
    en = answerer.ask("What rank and 4-bit NF4 settings does QLoRA recommend?")
    assert en.declined and en.answer == "That is not in your notes."


def test_an_answer_says_which_asked_terms_the_notes_never_mention(answerer):
    answer = answerer.ask("梯度检查点是怎么节省显存的？和 speculative decoding 有关系吗？")
    assert not answer.declined and answer.absent_terms == ["speculative decoding (投机解码 / 推测解码)"]
    assert answer.caution == "你的笔记里从未出现speculative decoding (投机解码 / 推测解码)，这个回答可能没有涉及这些内容。"
    assert answer.to_json()["absent_terms"] == answer.absent_terms
    plain = answerer.ask("梯度检查点是怎么节省显存的？")
    assert plain.absent_terms == [] and plain.caution == ""


def test_follow_up_carries_the_previous_question(answerer):
    first = answerer.ask("How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?")
    follow = answerer.ask("and the 72B one?", [(first.question, first.answer)])
    assert follow.rewritten_question and "Qwen1.5-7B-Chat" in follow.rewritten_question
    assert "1600GB" in follow.answer
    assert follow.to_json()["rewritten_question"] == follow.rewritten_question


def test_events_arrive_in_order(answerer):
    events = list(answerer.stream("什么是梯度检查点？"))
    assert isinstance(events[0], Retrieved) and isinstance(events[-1], Done)
    assert any(isinstance(e, Token) for e in events)
