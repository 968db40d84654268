"""Follow-ups without a model: the previous question's key terms are carried over."""

from __future__ import annotations

import pytest

from chatbot.answers.prompt import load_prompts
from chatbot.answers.rewrite import carry_terms, key_terms, model_translate
from chatbot.search.glossary import load_glossary
from chatbot.settings import load_settings

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


class ScriptedModel:
    """Replies with a fixed text; counts one token per character."""

    def __init__(self, reply: str, n_ctx: int = 4096):
        self.reply, self.n_ctx = reply, n_ctx
        self.asked: list[list[dict[str, str]]] = []

    def count(self, messages) -> int:
        return sum(len(m["content"]) for m in messages)

    def complete(self, messages, *, max_tokens: int, temperature: float = 0.0) -> str:
        self.asked.append(messages)
        return self.reply


EN = load_prompts(load_settings().prompts_dir)["en"]
QUESTION = "When the number of samples grows and I hit OOM, can gradient accumulation help?"


def test_translation_is_the_first_line_of_the_reply_without_quotes():
    model = ScriptedModel("“当样本量增大出现OOM时，梯度累积有用吗？”\n(translation)")
    assert model_translate(QUESTION, "zh", model, EN) == "当样本量增大出现OOM时，梯度累积有用吗？"
    assert QUESTION in model.asked[0][-1]["content"] and model.asked[0][0]["role"] == "system"


@pytest.mark.parametrize("reply", ["", "  \n ", QUESTION, "Gradient accumulation helps with OOM."])
def test_an_empty_echoed_or_wrong_language_translation_is_dropped(reply):
    assert model_translate(QUESTION, "zh", ScriptedModel(reply), EN) is None


def test_no_translation_when_the_question_does_not_fit_the_context():
    model = ScriptedModel("梯度累积", n_ctx=200)
    assert model_translate(QUESTION, "zh", model, EN) is None and model.asked == []
