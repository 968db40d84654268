"""The evidence-based decline: missing names, other versions, low support."""

from __future__ import annotations

from chatbot.answers.decline import assess
from chatbot.search.glossary import load_glossary
from chatbot.search.terms import question_terms, token_frequency
from tests.conftest import FakeIndex, passage

NOTES = [
    "全参微调Qwen1.57BChat预估要2张80GB的A800,160GB显存。",
    "LayerNorm 对单个样本的所有维度特征做归一化。",
    "梯度检查点在反向传播时重新计算激活值。",
]
INDEX = FakeIndex(NOTES)
PASSAGES = [passage(t, i, score=1.0 - i / 10) for i, t in enumerate(NOTES)]


def terms_of(question: str, index: FakeIndex = INDEX):
    return question_terms(question, load_glossary(), token_frequency(index.document_frequency), index.count)


def decide(question: str, passages=PASSAGES, rescue: float = 0.42):
    return assess(terms_of(question), passages, INDEX, min_support=0.2, rescue_support=rescue)


def decide_on(note: str, question: str):
    """The decision for ``question`` over notes of the one passage ``note`` (no rescue by support)."""
    index = FakeIndex([note])
    return assess(terms_of(question, index), [passage(note, 0)], index, min_support=0.2, rescue_support=1.0)


def test_answerable_question_is_answered():
    result = decide("Qwen1.5-7B-Chat 全参微调要多少显存？")
    assert not result.declined and result.support > 0.5


def test_other_version_of_a_named_model_is_declined_even_with_high_support():
    result = decide("Qwen2 全参微调要多少显存？", rescue=0.0)
    assert result.declined and result.version_mismatch == ["Qwen2"]


def test_name_absent_from_the_notes_is_declined_unless_support_is_high():
    result = decide("RMSNorm 相比 LayerNorm 有什么好处？")
    assert result.declined and result.missing == ["RMSNorm"]
    assert not decide("RMSNorm 相比 LayerNorm 有什么好处？", rescue=0.0).declined


def test_low_support_is_declined():
    result = decide("How do I bake sourdough bread at home?")
    assert result.declined and "covers" in result.reason


def test_no_passages_is_declined():
    assert decide("LoRA?", passages=[]).declined


def test_an_acronyms_plural_is_the_acronym():
    result = decide_on("全参微调需要 2 张 80GB 的 A800 GPU。", "How many GPUs does full fine-tuning need?")
    assert result.missing == [] and not result.declined


def test_an_acronym_the_notes_spell_out_is_not_missing():
    # GC is not in the notes, but the glossary's 'gradient checkpointing' (梯度检查点) is.
    result = decide("GC 在反向传播时做什么？", rescue=1.0)
    assert result.missing == [] and not result.declined
    gc = next(t for t in terms_of("GC 在反向传播时做什么？") if t.label == "GC")
    assert "梯度检查点" in gc.forms
    # An acronym no glossary phrase spells out is still missing.
    assert decide("HNSW 在反向传播时做什么？", rescue=1.0).missing == ["HNSW"]


def test_a_capitalised_dictionary_word_the_notes_say_in_chinese_is_not_missing():
    note = "做 packing 时，数据集里不同的样本被拼接到同一个序列中。"
    result = decide_on(note, "做 packing 时，Dataset 里不同的数据被放到哪里？")
    assert result.missing == [] and not result.declined
    # A capitalised word no dictionary knows is still a name, and missing.
    result = decide_on(note, "做 packing 时，Zorblax 里不同的数据被放到哪里？")
    assert result.missing == ["Zorblax"] and result.declined


def test_an_answered_question_names_what_the_notes_never_mention():
    result = decide("梯度检查点为什么要重新计算激活值？和 speculative decoding 一样吗？")
    assert not result.declined
    # Shown with the Chinese forms that were looked for too.
    assert result.absent == ["speculative decoding (投机解码 / 推测解码)"]


def test_an_acronym_of_a_phrase_in_the_notes_is_mentioned():
    result = decide_on("Transformer Quality in Linear Time 提出了一种新的线性化 Transformer。", "What does TQ propose?")
    assert result.missing == [] and result.absent == [] and not result.declined
