"""Extractive answers: the best-covering sentences, exact spans, reading order."""

from __future__ import annotations

from chatbot.answers.extract import extractive_text, pick_sentences
from chatbot.search.glossary import load_glossary
from chatbot.search.terms import question_terms, token_frequency
from tests.conftest import FakeIndex, passage

PASSAGES = [
    passage("梯度检查点是一种省显存的方法。它在反向传播时重新计算激活值。代价是多一次前向计算。", 0, score=1.0),
    passage("LoRA 在原模型旁增加低秩矩阵。只训练这部分参数。", 1, score=0.5),
    passage("混合精度训练同时使用 FP16 和 FP32。", 2, score=0.3),
]


def pick(question: str, max_sentences: int = 3):
    index = FakeIndex([p.text for p in PASSAGES])
    terms = question_terms(question, load_glossary(), token_frequency(index.document_frequency), index.count)
    return pick_sentences(terms, PASSAGES, max_sentences)


def test_best_sentence_and_its_successor_with_exact_spans():
    picks = pick("梯度检查点为什么能省显存？")
    assert picks[0].text == "梯度检查点是一种省显存的方法。"
    assert picks[1].text == "它在反向传播时重新计算激活值。"  # the answer follows the matching sentence
    assert all(PASSAGES[e.passage].text[e.start : e.end] == e.text for e in picks)


def test_a_rhetorical_question_after_the_best_sentence_is_not_its_answer():
    passages = [passage("梯度检查点是一种省显存的方法。真的有用吗？它在反向传播时重新计算激活值。", 0, score=1.0)]
    index = FakeIndex([p.text for p in passages])
    terms = question_terms("梯度检查点为什么能省显存？", load_glossary(), token_frequency(index.document_frequency),
                           index.count)
    picks = pick_sentences(terms, passages, 2)
    assert [e.text for e in picks] == ["梯度检查点是一种省显存的方法。", "它在反向传播时重新计算激活值。"]


def test_english_question_finds_chinese_sentence_via_glossary():
    picks = pick("What does LoRA train?")
    assert picks[0].passage == 1 and "低秩矩阵" in picks[0].text


def test_answer_text_cites_every_sentence():
    picks = pick("LoRA 训练哪些参数？", max_sentences=2)
    text = extractive_text(picks)
    assert len(picks) == 2 and all(line.endswith("[2]") for line in text.splitlines())


def test_at_most_max_sentences_and_no_repeats():
    picks = pick("梯度检查点 激活值 前向计算 显存", max_sentences=2)
    assert len(picks) == 2 and len({e.text for e in picks}) == 2


def _best(question: str, texts: list[str], other_notes: tuple[str, ...] = ()) -> str:
    """The best sentence of ``texts`` (the retrieved passages) in an index that also holds ``other_notes``."""
    passages = [passage(t, i, score=1.0 - 0.1 * i) for i, t in enumerate(texts)]
    index = FakeIndex([*texts, *other_notes])
    terms = question_terms(question, load_glossary(), token_frequency(index.document_frequency), index.count)
    return pick_sentences(terms, passages, 1)[0].text


def test_a_term_inside_a_longer_one_is_not_counted_twice():
    # Every sentence says ActorCritic; only one says what the critic does.
    note = "ActorCritic方法结合了策略和价值。ActorCritic方法很重要。而Critic指价值更新步骤,负责评估Actor的表现。"
    assert _best("In actor-critic, what is the critic responsible for?", [note]).startswith("而Critic")


def test_the_topic_every_sentence_repeats_does_not_pick_the_sentence():
    note = "LoRA 是一种微调方法。LoRA 效果好。它冻结原模型。"
    # As in real notes, the topic also appears elsewhere; what is asked about (冻结) does not.
    others = ("LoRA 的核心是低秩矩阵。", "QLoRA 在 LoRA 上加量化。")
    assert _best("LoRA 冻结什么?", [note], others) == "它冻结原模型。"


def test_see_also_lines_are_not_the_answer():
    note = "更详细的解析可以查阅多头注意力的论文。多头注意力让模型注意到不同子空间的信息。"
    assert _best("多头注意力有什么好处?", [note]).startswith("多头注意力让模型")
