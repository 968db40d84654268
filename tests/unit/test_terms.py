"""Question terms, their rarity weights and a passage's coverage of them."""

from __future__ import annotations

import pytest

from chatbot.search.glossary import Glossary
from chatbot.search.terms import NAME_WEIGHT, coverage, question_terms, token_frequency
from chatbot.search.tokens import tokenize

NOTES = ["梯度累积可以在不减小批量大小的情况下减少显存", "LoRA 在模型上增加低秩矩阵", "梯度检查点 批量"]
GLOSSARY = Glossary.from_lines(["gradient accumulation\t梯度累积", "memory\t显存"])
DF = {"梯度": 2, "累积": 1, "梯度累积": 1, "lora": 1, "显存": 1}


def notes_frequency(token: str) -> int:
    """Document frequency of a BM25 token in NOTES."""
    return sum(token in tokenize(note) for note in NOTES)


def test_terms_are_names_glossary_phrases_and_note_words_weighted_by_rarity():
    terms = question_terms("LoRA and gradient accumulation (梯度累积): 批量 memory?", GLOSSARY,
                           token_frequency(notes_frequency), len(NOTES))
    by_label = {t.label: t for t in terms}
    # 'and' is no note word; 梯度 and 累积 are inside 梯度累积, already a form of a term.
    assert set(by_label) == {"LoRA", "gradient accumulation", "memory", "批量"}
    assert by_label["LoRA"].is_name and "梯度累积" in by_label["gradient accumulation"].forms
    # LoRA and 梯度累积 are in one note each, 批量 in two: rarer weighs more, names twice.
    assert by_label["LoRA"].weight == pytest.approx(NAME_WEIGHT * by_label["gradient accumulation"].weight)
    assert by_label["批量"].weight < by_label["gradient accumulation"].weight


def test_token_frequency_takes_the_rarest_token_of_a_form():
    frequency = token_frequency(lambda token: DF.get(token, 0))
    assert frequency("梯度") == 2
    assert frequency("LoRA") == 1
    assert frequency("bread") == 0


def test_coverage_is_the_weighted_share_of_terms_mentioned():
    terms = question_terms("LoRA 梯度累积", GLOSSARY, token_frequency(lambda t: DF.get(t, 0)), len(NOTES))
    total = sum(t.weight for t in terms)
    lora = next(t for t in terms if t.label == "LoRA")
    assert coverage(terms, "LoRA 增加低秩矩阵") == pytest.approx(lora.weight / total)
    assert coverage(terms, "lora, 梯度累积!") == pytest.approx(1.0)  # compact forms: case and punctuation
    assert coverage(terms, "无关") == 0.0
    assert coverage([], "LoRA") == 0.0


def test_question_words_and_phrases_inside_longer_ones_are_no_terms():
    glossary = Glossary.from_lines(["speculative decoding\t投机解码", "decoding\t解码", "actor critic\t演员评论家",
                                    "actor\t演员", "critic\t评论家", "why\t为什么", "use\t使用"])

    def labels(question: str) -> list[str]:
        return [t.label for t in question_terms(question, glossary, lambda form: 0, 10)]

    # 'decoding' only occurs inside 'speculative decoding': counting it again would let a passage
    # about decoding in general cover half of a question about speculative decoding.
    assert labels("Why use speculative decoding?") == ["speculative decoding"]
    # Question words ('why', 为什么, 'use') carry no evidence, whatever the glossary lists.
    assert labels("为什么 use 解码?") == ["解码"]
    # A word that also occurs on its own is a term of its own.
    assert set(labels("In actor-critic methods, what does the critic do?")) == {"actor critic", "critic"}


def test_two_letter_initials_are_no_terms():
    # 'Stanford Alpaca' -> 'sa' is a BM25 token; as a term it would be found inside 'usage', 'dataset'.
    notes = ["Stanford Alpaca 花了不到 600 美元。", "Stable Diffusion 3 (SD3) 用了 MMDiT。", "usage 和 dataset"]

    def frequency(token: str) -> int:
        return sum(token in tokenize(note) for note in notes)

    labels = [t.label for t in question_terms("Stanford Alpaca vs Stable Diffusion 3", None, token_frequency(frequency),
                                              len(notes))]
    assert "sd3" in labels and "sa" not in labels
    assert "sa" in tokenize("Stanford Alpaca")  # still a search token
