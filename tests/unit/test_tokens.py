"""Tokenising Chinese and normalising the export's punctuation-less identifiers."""

from __future__ import annotations

import pytest

from chatbot.search.glossary import Glossary, load_glossary
from chatbot.search.tokens import detect_language, stem, tokenize


@pytest.mark.parametrize(
    ("question_form", "export_form", "shared"),
    [
        ("Qwen1.5-7B-Chat", "Qwen1.57BChat", "qwen157bchat"),
        ("Prefix-Tuning", "PrefixTuning", "prefixtuning"),
        ("Kimi-VL", "KimiVL", "kimivl"),
        ("Seed-Thinking-v1.5", "SeedThinkingv1.5", "seedthinkingv15"),
        ("DeepSeek-V2", "DeepSeekV2", "deepseekv2"),
        ("Actor-Critic", "ActorCritic", "actorcritic"),
    ],
)
def test_identifiers_match_with_or_without_punctuation(question_form, export_form, shared):
    assert shared in tokenize(question_form)
    assert shared in tokenize(export_form)


def test_camel_parts_help_partial_mentions_but_keep_acronyms_whole():
    assert {"kimi", "vl"} <= set(tokenize("KimiVL"))
    assert {"prefix", "tuning"} <= set(tokenize("PrefixTuning"))
    assert tokenize("LLaMA") == ["llama"]


def test_multiword_names_also_give_their_acronym():
    assert "sd3" in tokenize("Stable Diffusion 3")
    assert "bn" in tokenize("Batch Normalization")


def test_chinese_is_segmented_with_sub_words_and_stopwords_dropped():
    tokens = tokenize("什么是梯度检查点？")
    assert "梯度" in tokens and "检查点" in tokens and "检查" in tokens
    assert "什么" not in tokens and "是" not in tokens


def test_full_width_and_styled_letters_are_normalised():
    assert tokenize("ＬｏＲＡ") == tokenize("LoRA")
    assert "pretraining" in tokenize("𝗣𝗿𝗲-𝘁𝗿𝗮𝗶𝗻𝗶𝗻𝗴")


def test_english_stopwords_and_plurals():
    assert tokenize("What are the models") == ["model"]
    assert tokenize("How does it help") == ["help"]  # "does" must not survive as its stem "doe"
    assert stem("loss") == "loss" and stem("vocabularies") == "vocabulary"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("梯度检查点是什么", "zh"), ("What is LoRA?", "en"), ("Qwen1.5-7B-Chat 全参微调要多少显存", "zh"), ("", "en")],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_glossary_expands_english_phrases_to_chinese_and_back():
    glossary = Glossary.from_lines(["# comment", "gradient checkpointing\t梯度检查点", "memory\t显存|内存", "bad line"])
    assert glossary.expand("How does gradient checkpointing save memory?") == ["梯度检查点", "显存", "内存"]
    assert glossary.expand("梯度检查点怎么用") == ["gradient checkpointing"]


def test_bundled_glossary_loads_and_covers_core_terms():
    glossary = load_glossary()
    assert len(glossary.en_to_zh) > 500
    assert "幻觉" in glossary.expand("Why do LLMs hallucinate? hallucination")
    assert "微调" in glossary.expand("fine-tuning")


@pytest.mark.parametrize(("spaced", "glued"), [("LLaMA 2", "LLaMA2"), ("Llama 3.1", "LLaMa3.1"), ("GPT 3", "GPT-3")])
def test_versioned_names_match_spaced_or_glued(spaced, glued):
    assert set(tokenize(spaced)) & set(tokenize(glued))


def test_contractions_do_not_sneak_stopwords_in():
    assert tokenize("What's the difference") == ["difference"]


def test_sentences_split_at_chinese_and_latin_ends_but_not_in_names_or_ellipses():
    from chatbot.search.tokens import sentence_spans

    text = "- 全参微调Qwen1.57BChat要160GB。每张卡80GB! 分两步走: 1. 先训练 Next one. 最大化标...\n尾句；"
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    assert pieces == ["全参微调Qwen1.57BChat要160GB。", "每张卡80GB!", "分两步走: 1. 先训练 Next one.", "最大化标...", "尾句；"]


def test_identifiers_are_the_names_a_question_hinges_on():
    from chatbot.search.tokens import identifiers

    assert identifiers("What share of LLaMA's data? Does Qwen2 beat Mistral 7B with NF4?") == [
        "LLaMA", "Qwen2", "Mistral", "7B", "NF4"
    ]
    # Complexity notation is a name too; a word ending in O before a bracket is not one.
    assert identifiers("How to cut the O(N^2) cost, or O(n log n)? LOGO(x)") == ["LOGO", "O(N^2)", "O(n log n)"]


def test_gloss_renders_chinese_terms_in_english_and_keeps_latin_words():
    glossary = Glossary.from_lines(["gradient checkpointing\t梯度检查点", "gradient\t梯度", "memory\t显存|内存"])
    # Longest term first (梯度检查点, not 梯度), Latin words as written, other Chinese dropped.
    assert glossary.gloss("梯度检查点可以节省显存,见 Qwen1.5-7B 的例子") == "gradient checkpointing memory Qwen1.5-7B"
    assert glossary.gloss("没有术语") == ""


def test_glossary_signature_follows_its_entries():
    one = Glossary.from_lines(["memory\t显存"])
    assert one.signature == Glossary.from_lines(["# a comment", "memory\t显存"]).signature
    assert one.signature != Glossary.from_lines(["memory\t显存|内存"]).signature


def test_one_way_vocabulary_expands_english_questions_but_never_renders_notes():
    glossary = Glossary.from_lines(["memory\t显存"], one_way=["grow\t增长", "memory\t内存"])
    assert glossary.expand("Why does memory grow?") == ["显存", "内存", "增长"]
    assert glossary.gloss("显存不断增长") == "memory"  # 增长 stays unrendered
    assert glossary.expand("显存不断增长") == ["memory"]  # and a Chinese question gets no 'grow'
    # The dense view's signature covers only what rendering uses.
    assert glossary.signature == Glossary.from_lines(["memory\t显存"]).signature


def test_bundled_vocabulary_reaches_general_words_of_the_notes():
    glossary = load_glossary()
    assert {"增长", "设备"} <= set(glossary.expand("Does it grow on every device?"))
    assert "增长" not in glossary.zh_to_en


def test_inflected_question_words_find_their_glossary_form():
    entries = ["grow\t增长", "stop\t停止", "use\t使用", "fine-tuning\t微调", "embedding\t嵌入"]
    glossary = Glossary.from_lines(entries)
    assert glossary.expand("Why does memory keep growing?") == ["增长"]
    assert glossary.expand("It stopped, then used it") == ["停止", "使用"]
    # A word the glossary lists as it is stays whole (no 'embedd', no 'fine-tun').
    assert glossary.english_matches("fine-tuning with embeddings") == ["fine tuning", "embedding"]
    assert glossary.base_form("bring") == "bring"  # 'br' is no glossary word


def test_mixed_forms_keep_the_english_head_and_translate_the_last_word():
    glossary = Glossary.from_lines(["beam search\t束搜索", "search\t搜索", "mechanism\t机制"])
    assert glossary.mixed_forms("beam search") == ["beam 搜索"]
    assert glossary.mixed_forms("attention mechanism") == ["attention 机制"]
    assert glossary.mixed_forms("search") == []
