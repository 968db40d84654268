"""A typed answer against the card's: the grade to suggest, and why.

Offline the comparison is on the letters, digits and CJK characters of both (``tokens.compact``:
case, spaces, punctuation and full-width forms do not count): the same → good; the card's answer
inside a longer reply, or nearly the same (difflib's ratio ≥ 0.75, e.g. one character off) → hard;
otherwise again.  Numbers must match exactly (160GB is not 120GB however close the letters).
With a model loaded the UI may ask it for a one-line judgement too; the suggestion stays this
one, so a grade never rests on a model alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from ..search.tokens import compact

CLOSE = 0.75  # difflib ratio from which a typed answer counts as nearly right


@dataclass(frozen=True)
class Verdict:
    """The suggested grade (again / hard / good) and one sentence saying why."""

    grade: str
    reason: str
    similarity: float


def check_answer(typed: str, answer: str) -> Verdict | None:
    """Compare ``typed`` with the card's ``answer`` (None when nothing was typed)."""
    mine, right = compact(typed), compact(answer)
    if not mine:
        return None
    similarity = SequenceMatcher(None, mine, right).ratio()
    if mine == right:
        return Verdict("good", "Your answer matches the card's.", 1.0)
    if right and right in mine:
        return Verdict("hard", "Your answer holds the card's answer, with more besides.", similarity)
    if re.findall(r"\d+", right) and re.findall(r"\d+", mine) != re.findall(r"\d+", right):
        return Verdict("again", "The numbers differ from the card's answer.", similarity)
    if similarity >= CLOSE:
        return Verdict("hard", "Nearly the card's answer.", similarity)
    return Verdict("again", "Not the card's answer.", similarity)


def suggest(typed: str, card, model=None) -> Verdict | None:
    """The grade to suggest for ``typed`` on ``card`` (a ``cards.Card``): ``check_answer``, and
    where that is not Good and a ``model`` is given, its judgement too (``judge_answer``)."""
    verdict = check_answer(typed, card.answer)
    if verdict is None or verdict.grade == "good" or model is None:
        return verdict
    return judge_answer(model, card.question, card.answer, card.passage, typed, card.language, verdict)


def judge_messages(question: str, answer: str, passage: str, typed: str, language: str) -> list[dict[str, str]]:
    """A model's prompt: is the typed answer right, by this passage?  One word, then one sentence."""
    if language == "en":
        system = ("You check a student's answer to a flashcard against a passage of their notes. Reply with "
                  "'yes' or 'no' first, then one short sentence saying why, from the passage.")
        user = f"Passage:\n{passage}\n\nQuestion: {question}\nCard's answer: {answer}\nStudent's answer: {typed}"
    else:
        system = "你根据用户笔记里的一段原文检查学生对学习卡片的回答。先回答“对”或“错”，再用一句话根据原文说明理由。"
        user = f"原文：\n{passage}\n\n问题：{question}\n卡片答案：{answer}\n学生的回答：{typed}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def judge_answer(model, question: str, answer: str, passage: str, typed: str, language: str,
                 offline: Verdict) -> Verdict:
    """``offline`` with a model's one-line judgement added: a typed answer the letters do not
    match but the model judges right is suggested Hard (never Good: a grade does not rest on a
    model alone); the model's sentence is shown either way."""
    reply = model.complete(judge_messages(question, answer, passage, typed, language), max_tokens=64,
                           temperature=0.0).strip().splitlines()
    line = reply[0].strip() if reply else ""
    head = line[:4].lower()
    right = head.startswith(("yes", "对", "正确", "是")) or line.startswith("对")
    wrong = head.startswith(("no", "错", "不")) and not right
    said = f" The model: {line}" if line else ""
    if offline.grade == "again" and right:
        return Verdict("hard", f"{offline.reason}{said}", offline.similarity)
    if not (right or wrong):
        said = f" The model's reply was unclear: {line}" if line else ""
    return Verdict(offline.grade, f"{offline.reason}{said}", offline.similarity)
