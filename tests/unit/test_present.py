"""Rendering answers for the browser: chips, escaping, declines, highlighted sources."""

from __future__ import annotations

from chatbot.answers.cite import citation_for
from chatbot.answers.result import Answer
from chatbot.apps.present import answer_markdown, mode_badge, note_choices, note_html, sources_html
from tests.conftest import passage

PASSAGE = passage("前文。梯度检查点以计算换显存。<script>alert(1)</script>", 0)


def answer(**kw) -> Answer:
    base = dict(question="q", answer="梯度检查点以计算换显存。 [1]", declined=False, mode="extractive", model=None,
                rewritten_question=None, citations=[citation_for(1, PASSAGE, (3, 15))], label="Extracted")
    return Answer(**{**base, **kw})


def test_markers_become_chips_linking_to_this_turns_sources():
    text = answer_markdown(answer(), turn=4, related_label="Related")
    assert '<a class="chip" href="#src-4-1">1</a>' in text and "*Extracted*" in text


def test_note_markup_is_escaped_everywhere():
    a = answer(answer="<b>bold</b> [1]")
    assert "<b>" not in answer_markdown(a, 1, "R") and "&lt;b&gt;" in answer_markdown(a, 1, "R")
    panel = sources_html(a, 1, "R")
    assert "<script>" not in panel and "&lt;script&gt;" in panel
    assert "<script>" not in note_html(PASSAGE.text, "t", ["f:L1-1"])


def test_sources_mark_the_supporting_sentence_and_carry_the_anchor():
    panel = sources_html(answer(), turn=2, related_label="R")
    assert 'id="src-2-1"' in panel and "<mark>梯度检查点以计算换显存。</mark>" in panel and "file0.txt" in panel


def test_declined_answer_looks_different_and_lists_related_notes():
    a = answer(answer="That is not in your notes.", declined=True, citations=[],
               related=[citation_for(1, PASSAGE)])
    text = answer_markdown(a, 3, "Related, but not an answer:")
    assert text.startswith('<div class="declined">') and "Related, but not an answer:" in text
    assert 'class="src related"' in sources_html(a, 3, "Related, but not an answer:")
    assert note_choices(a) == [("[1] " + PASSAGE.metadata["title"], "note0")]


def test_mode_badge_names_the_model_or_says_extractive():
    assert "extracted passages" in mode_badge(None) and "tiny &lt;x&gt;" in mode_badge("tiny <x>")


def test_sources_say_what_was_searched_when_it_was_not_the_question_as_asked():
    plain = sources_html(answer(), 1, "R")
    assert "searched for" not in plain.lower()
    a = answer(rewritten_question="and its <context>? (Qwen)", translated_question="它的上下文长度？")
    panel = sources_html(a, 1, "R")
    assert "Searched for: and its &lt;context&gt;? (Qwen)" in panel
    assert "Also searched for: 它的上下文长度？" in panel


def test_a_caution_about_terms_the_notes_never_mention_follows_the_answer():
    text = answer_markdown(answer(caution="Your notes never mention <PPO>."), 1, "R")
    assert text.endswith('<small class="caution">⚠️ Your notes never mention &lt;PPO&gt;.</small>')
    assert "caution" not in answer_markdown(answer(), 1, "R")
