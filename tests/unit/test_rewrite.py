"""Follow-ups without a model: the previous question's key terms are carried over."""

from __future__ import annotations

import pytest

from chatbot.glossary import load_glossary
from chatbot.rewrite import carry_terms, key_terms

HISTORY = [("How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?", "160GB [1]")]


@pytest.mark.parametrize("follow_up", ["and the 72B one?", "What about its context length?", "那它的显存呢？"])
def test_follow_ups_carry_the_previous_names(follow_up):
    rewritten = carry_terms(follow_up, HISTORY, load_glossary())
    assert rewritten is not None and rewritten.startswith(follow_up.rstrip()) and "Qwen1.5-7B-Chat" in rewritten


def test_standalone_question_is_left_alone():
    assert carry_terms("What is gradient checkpointing in PyTorch?", HISTORY, load_glossary()) is None


def test_no_history_no_rewrite():
    assert carry_terms("and the 72B one?", [], load_glossary()) is None


def test_key_terms_prefer_names_and_glossary_phrases():
    terms = key_terms(HISTORY[0][0], load_glossary())
    assert "Qwen1.5-7B-Chat" in terms and "full fine tuning" in terms
