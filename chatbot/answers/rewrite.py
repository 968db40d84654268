"""Questions rewritten before retrieval: follow-ups made standalone, and translations.

With a model loaded, the model rewrites (``prompts/<lang>/rewrite.txt``) whenever there is
history.  Without one, a question that reads like a follow-up ("and its context length?",
"那它的显存呢？", or one naming nothing of its own) gets the previous question's key terms
(names and glossary phrases) carried over, which is what retrieval needs.

A question in another language than the notes (English over Chinese notes) is also translated
by the model when one is loaded (``prompts/<lang>/translate.txt``): the glossary translates ML
terms word by word, the model translates the rest ("grows", "what stays frozen"), and
retrieval searches with both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..search.tokens import detect_language, identifiers, tokenize

if TYPE_CHECKING:
    from ..models.llm import LocalModel
    from ..search.glossary import Glossary
    from .prompt import PromptSet

_FOLLOW_UP_EN = re.compile(
    r"^\s*(and|also|then|so|but|what about|how about|same|it|its|it's|they|their|them|this|that|these|those|"
    r"which one|why|how come)\b",
    re.IGNORECASE,
)
_FOLLOW_UP_ZH = re.compile(r"^\s*(那|那么|那它|它|它们|它的|他们|这个|那个|这|其|还有|另外|以及|同样|为什么呢|呢)")
_PRONOUN_ZH = re.compile(r"(它|它们|这个|那个|其|该模型|该方法)")
MAX_REWRITE_TOKENS = 96
MAX_TRANSLATE_TOKENS = 128  # a translation longer than this is cut; what came is still searched


def key_terms(question: str, glossary: Glossary | None) -> list[str]:
    """Names and glossary phrases of ``question`` (else its longest content words)."""
    terms = identifiers(question)
    if glossary is not None:
        terms += glossary.english_matches(question)
        terms += [zh for zh in glossary.zh_to_en if zh in question and len(zh) >= 2]
    if not terms:
        terms = sorted(dict.fromkeys(t for t in tokenize(question) if len(t) > 1), key=len, reverse=True)[:3]
    # Longest first, and no term that is part of a longer one.
    ordered = sorted(dict.fromkeys(terms), key=len, reverse=True)
    return [t for i, t in enumerate(ordered) if not any(t.lower() in o.lower() for o in ordered[:i])]


def looks_like_follow_up(question: str, glossary: Glossary | None) -> bool:
    if _FOLLOW_UP_EN.match(question) or _FOLLOW_UP_ZH.match(question):
        return True
    if detect_language(question) == "zh" and _PRONOUN_ZH.search(question):
        return True
    own = identifiers(question) + (glossary.english_matches(question) if glossary is not None else [])
    return not own and len(question) <= 40


def carry_terms(question: str, history: Sequence[tuple[str, str]], glossary: Glossary | None) -> str | None:
    """The heuristic rewrite: ``question`` plus the previous question's key terms, or None."""
    if not history or not looks_like_follow_up(question, glossary):
        return None
    previous = history[-1][0]
    carried = [t for t in key_terms(previous, glossary) if t.lower() not in question.lower()]
    if not carried:
        return None
    joiner = "，" if detect_language(question) == "zh" else ", "
    return f"{question.rstrip()} ({joiner.join(carried)})"


def model_rewrite(question: str, history: Sequence[tuple[str, str]], model: LocalModel, prompts: PromptSet) -> str | None:
    """The model's standalone version of ``question`` (first line of its reply), or None if empty
    or the conversation does not fit (retrieval then uses the question as asked)."""
    return _first_line(model, prompts.rewrite_messages(question, history[-3:]), MAX_REWRITE_TOKENS) or None


def model_translate(question: str, target: str, model: LocalModel, prompts: PromptSet) -> str | None:
    """The model's translation of ``question`` into language ``target`` ("zh"/"en"), or None when
    the question does not fit the context or the reply is empty or not in ``target``."""
    line = _first_line(model, prompts.translate_messages(question), MAX_TRANSLATE_TOKENS).strip("\"'“”「」")
    if not line or line == question.strip() or detect_language(line) != target:
        return None  # an echo or an answer in the wrong language adds nothing to search with
    return line


def _first_line(model: LocalModel, messages: list[dict[str, str]], max_tokens: int) -> str:
    """The first non-empty line of the model's reply, or "" when the prompt leaves no room for it."""
    if model.count(messages) > model.n_ctx - max_tokens:
        return ""
    reply = model.complete(messages, max_tokens=max_tokens)
    return next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
