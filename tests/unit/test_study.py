"""Study cards from notes, their schedule, answer checks and export: real index (fake embedder), real FSRS."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections import Counter
from datetime import timedelta

import pytest

from chatbot.errors import UserError
from chatbot.search.ingest import ingest
from chatbot.search.tokens import tokenize
from chatbot.study.cards import MAX_CARDS, Chunk, checked_card, make_cards
from chatbot.study.check import check_answer
from chatbot.study.deck import Deck
from chatbot.study.export import write_anki, write_csv
from chatbot.study.session import Study

NOTES = {
    "lora.md": "# LoRA\n\n## 原理\n\n**低秩适配**把权重更新分解为两个小矩阵的乘积，显存只需原来的三分之一左右。\n\n"
               "LoRA 是一种参数高效微调方法，只训练旁路的低秩矩阵。\n",
    "ckpt.md": "# 显存\n\n## 梯度检查点\n\n梯度检查点(Gradient Checkpointing)用重算换显存，训练会慢大约 20% 左右。\n\n"
               "```python\nmodel.gradient_checkpointing_enable()\n```\n",
    "kv.md": "# 推理\n\n## KV Cache\n\nKV Cache（键值缓存）保存每一层已经算过的键和值，生成长文本时显存随长度增长。\n\n"
             "| batch | 显存 |\n|---|---|\n| 1 | 16GB |\n| 8 | 80GB |\n",
    "en.md": "# Decoding\n\n## Sampling\n\nTop-p sampling is a decoding method that keeps the smallest set of tokens whose "
             "probability adds up to p.\n\nThe Llama 3.1 models support a context of 128K tokens in my notes.\n",
}


def _chunks(texts: dict[str, str]) -> list[Chunk]:
    """One chunk per file, from its last heading on, with the metadata an ingest stores."""
    chunks = []
    for name, text in texts.items():
        headings = re.findall(r"^#+ (.+)$", text, re.M)
        section = text[text.index("## "):]
        chunks.append(Chunk(f"{name}-0-x", section, {
            "note_id": name, "source": name, "title": headings[0], "heading": " › ".join(headings[:2]),
            "sources": json.dumps([f"{name}:L3-9"]), "line_start": 3, "line_end": 9}))
    return chunks


def _frequency(chunks: list[Chunk]):
    counts = Counter(t for c in chunks for t in set(tokenize(c.text)))
    return lambda token: counts.get(token, 0)


def _make(texts: dict[str, str] = NOTES, n: int = 20, **kw):
    chunks = _chunks(texts)
    return make_cards(chunks, n, _frequency(chunks), ["Gradient Checkpointing\t梯度检查点", "KV Cache\t键值缓存"], **kw)


def test_every_card_answer_is_a_span_of_its_cited_passage():
    cards = _make()
    assert {c.kind for c in cards} == {"cloze", "definition", "which-note"}
    for card in cards:
        assert card.passage[card.span[0] : card.span[1]] == card.answer
        assert card.citation().text == card.passage and card.citation().span == card.context
    assert len({c.answer for c in cards}) == len(cards)  # no two cards share an answer
    questions = {c.question: c.answer for c in cards}
    assert questions.get("什么是LoRA？", "").startswith("一种参数高效微调方法")
    assert any(c.kind == "cloze" and c.answer == "低秩适配" and "＿＿＿" in c.question and "低秩适配" not in c.question
               for c in cards)
    assert any(c.answer == "128K" for c in cards)  # a number with its unit


def test_no_cards_from_code_tables_or_what_the_heading_shows():
    cards = _make()
    assert not any("gradient_checkpointing_enable" in c.answer or "16GB" in c.answer or "80GB" in c.answer
                   for c in cards)
    assert not any(c.kind == "cloze" and c.answer in ("KV Cache", "梯度检查点") for c in cards)  # the heading says it


def test_cards_spread_over_notes_before_repeating_one():
    cards = _make(n=4)
    assert len({c.metadata["note_id"] for c in cards}) == 4


def test_language_choice_and_filter():
    cards = _make(language="en", notes_filter="lora")
    assert cards and all(c.metadata["source"] == "lora.md" for c in cards)
    assert all(not c.question.startswith(("什么是", "填空")) for c in cards)


@pytest.mark.parametrize("n", [0, -1, MAX_CARDS + 1, 10_000])
def test_a_count_out_of_range_is_one_sentence(n):
    with pytest.raises(UserError, match="between 1 and"):
        _make(n=n)


def test_a_filter_matching_nothing_and_an_empty_index_are_one_sentence():
    with pytest.raises(UserError, match="No indexed note matches 'zzz'"):
        _make(notes_filter="zzz")
    with pytest.raises(UserError, match="run 'chatbot ingest'"):
        make_cards([], 5, lambda t: 0)


def test_a_model_card_is_kept_only_when_the_passage_states_its_answer():
    chunk = _chunks({"a.md": NOTES["en.md"]})[1 - 1]
    assert checked_card("问题：Llama 3.1 支持的上下文长度是什么？\n答案：128K tokens", chunk, "zh") is not None
    assert checked_card("问题：Llama 3.1 支持长上下文吗？\n答案：128K tokens", chunk, "zh") is None  # yes/no
    kept = checked_card("Q: What context length do Llama 3.1 models support?\nA: 128K tokens", chunk, "en")
    assert kept is not None and kept.answer == "128K tokens" and kept.passage[slice(*kept.span)] == "128K tokens"
    assert checked_card("Q: What context length?\nA: 256K tokens", chunk, "en") is None  # a number the notes lack
    assert checked_card("Q: Who made Llama?\nA: Meta", chunk, "en") is None
    assert checked_card("no question here", chunk, "en") is None
    assert checked_card("Q: Who wrote this passage?\nA: 128K tokens", chunk, "en") is None  # about the text
    assert checked_card("Q: What does 128K tokens mean?\nA: 128K tokens", chunk, "en") is None  # gives it away
    assert checked_card("Q: Do Llama 3.1 models support long contexts?\nA: 128K tokens", chunk, "en") is None  # yes/no
    assert checked_card("Q: What is Top-p sampling?\nA: a decoding method that keeps:", chunk, "en") is None


@pytest.mark.parametrize("typed, grade", [
    ("低秩适配", "good"), (" 低秩 适配。", "good"), ("Residual connection", "good"),
    ("低秩适配方法", "hard"), ("低秩适陪", "hard"), ("高秩", "again"), ("120GB", "again"),
])
def test_typed_answers_suggest_a_grade(typed, grade):
    answer = {"Residual connection": "Residual Connection", "120GB": "160GB"}.get(typed, "低秩适配")
    assert check_answer(typed, answer).grade == grade
    assert check_answer("", answer) is None


def test_the_schedule_persists_and_follows_fsrs(tmp_path):
    cards = _make(n=5)
    deck = Deck(tmp_path)
    assert deck.add(cards) == 5 and deck.add(cards) == 0  # a card is added once
    first = deck.due()[0]
    graded = deck.review(first.card_id, "good")
    assert graded.due > first.due and graded.reviews == 1
    deck.close()
    again = Deck(tmp_path)  # a restart
    assert again.get(first.card_id).due == graded.due and len(again.due()) == 4
    later = again.due(now=graded.due + timedelta(seconds=1))
    assert first.card_id in [c.card_id for c in later]  # due again once its interval has passed
    with pytest.raises(UserError, match="again, hard, good or easy"):
        again.review(first.card_id, "perfect")


def test_sync_follows_moved_text_flags_changed_and_retires_gone(tmp_path):
    chunks = _chunks(NOTES)
    deck = Deck(tmp_path)
    cards = _make()
    deck.add(cards)
    by_file = {c.metadata["source"]: c for c in cards}
    moved, changed, gone = by_file["lora.md"], by_file["ckpt.md"], by_file["kv.md"]
    new = []
    for c in chunks:
        if c.metadata["source"] == "lora.md":  # a line added above: same sentences, another passage
            new.append(Chunk("lora-new", "新加的一行。\n" + c.text, c.metadata))
        elif c.metadata["source"] == "ckpt.md":  # the sentence itself rewritten
            new.append(Chunk("ckpt-new", c.text.replace("重算换显存", "重新计算来节省显存").replace("20%", "30%"),
                             c.metadata))
        elif c.metadata["source"] != "kv.md":  # kv.md deleted
            new.append(c)
    report = deck.sync(new)
    assert report.retired >= 1 and report.moved >= 1 and report.changed >= 1
    after = {c.card_id: c for c in deck.cards(("ok", "changed", "retired"))}
    assert after[moved.card_id].status == "ok" and after[moved.card_id].card.chunk_id == "lora-new"
    m = after[moved.card_id].card
    assert m.passage[m.span[0] : m.span[1]] == m.answer
    assert after[changed.card_id].status == "changed" and "changed" in after[changed.card_id].reason
    assert after[gone.card_id].status == "retired"
    assert gone.card_id not in [c.card_id for c in deck.due()]


def test_export_to_anki_and_csv(tmp_path):
    deck = Deck(tmp_path)
    deck.add(_make(n=3))
    cards = deck.cards()
    assert write_anki(cards, tmp_path / "deck.apkg") == 3
    assert "collection.anki2" in zipfile.ZipFile(tmp_path / "deck.apkg").namelist()
    assert write_csv(cards, tmp_path / "deck.csv") == 3
    rows = list(csv.DictReader(open(tmp_path / "deck.csv", encoding="utf-8-sig")))
    assert len(rows) == 3 and all(r["answer"] in r["passage"] and r["citation"] for r in rows)
    with pytest.raises(UserError, match="does not exist"):
        write_csv(cards, tmp_path / "no" / "such" / "deck.csv")
    with pytest.raises(UserError, match="no cards"):
        write_anki([], tmp_path / "empty.apkg")


def test_study_follows_a_reindex(settings, corpus, fake_embedder):
    for name, text in NOTES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    study = Study(settings)
    made = study.new_cards(20)
    assert made.cards and study.new_cards(20).cards == []  # nothing made twice
    assert all(c.passage[c.span[0] : c.span[1]] == c.answer for c in made.cards)
    (corpus / "kv.md").unlink()
    ingest(settings, embedder=fake_embedder)
    study.refresh()
    assert study.deck.counts()["retired"] >= 1
    assert all(c.card.metadata["source"] != "kv.md" for c in study.due())


def test_the_study_eval_catches_a_card_whose_answer_is_not_its_passage():
    from dataclasses import replace

    from chatbot.measure.eval_study import card_checks

    cards = _make(n=4)
    passages = {c.chunk_id: c.passage for c in cards}
    assert card_checks(cards, passages)["span_ok"] == 1.0
    broken = [replace(cards[0], answer="不在原文里"), *cards[1:], cards[1]]
    checks = card_checks(broken, passages)
    assert checks["span_ok"] < 1.0 and checks["shared_spans"] == 1 and checks["shared_answers"] == 1


class _Judge:
    """A model whose judgement is fixed; records what it was shown."""

    def __init__(self, reply: str):
        self.reply, self.prompts = reply, []

    def complete(self, messages, *, max_tokens, temperature=0.0):
        self.prompts.append(messages)
        return self.reply


def test_a_model_judgement_raises_again_to_hard_at_most_and_is_shown():
    from chatbot.study.check import judge_answer

    offline = check_answer("用两个小矩阵相乘表示更新", "低秩适配")
    assert offline.grade == "again"
    judge = _Judge("对，原文说低秩适配把更新分解为两个小矩阵的乘积。")
    verdict = judge_answer(judge, "填空：＿＿＿把权重更新分解", "低秩适配", NOTES["lora.md"], "用两个小矩阵相乘表示更新",
                           "zh", offline)
    assert verdict.grade == "hard" and "原文说低秩适配" in verdict.reason
    assert "低秩适配" in judge.prompts[0][1]["content"]  # the passage and the card's answer were shown
    wrong = judge_answer(_Judge("错，原文没有这样说。"), "q", "低秩适配", "p", "高秩", "zh", check_answer("高秩", "低秩适配"))
    assert wrong.grade == "again" and "原文没有" in wrong.reason
