"""Event handlers of the browser app: thin adapters from Gradio values to ``NotesApp`` calls.

Per-session state lives in Gradio ``State`` values passed in and out (the conversation, the
prepared question); nothing here is shared between sessions except ``NotesApp`` itself.
Every ``UserError`` becomes a message in the page, never a traceback.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..errors import UserError
from .app import EXTRACTIVE, NotesApp
from .present import (
    answer_markdown,
    mode_badge,
    note_choices,
    note_html,
    sources_html,
    study_answer_html,
    study_card_html,
)


class Handlers:
    def __init__(self, app: NotesApp):
        self.app = app
        self.messages = app.answerer.prompts

    def _related(self, lang: str) -> str:
        return self.messages[lang].messages["related"]

    def badge(self) -> str:
        model = self.app.answerer.model
        return mode_badge(model.name if model is not None else None)

    # -- chat -----------------------------------------------------------------------------
    def submit(self, question: str, chat: list[dict]) -> tuple[str, list[dict], str]:
        """Show the question at once and clear the box; the question travels on in a State."""
        question = (question or "").strip()
        if not question:
            return "", chat, ""
        return "", [*chat, {"role": "user", "content": html.escape(question)}], question

    def prepare(self, question: str, history: list, temperature: float, max_tokens: int, passages: int):
        """Rewrite + retrieve + decline check (runs in parallel for all sessions). -> (prepared, error)"""
        if not question:
            return None, ""
        overrides = {"temperature": float(temperature), "max_tokens": int(max_tokens), "answer_passages": int(passages)}
        try:
            return self.app.prepare(question, [tuple(h) for h in history], **overrides), ""
        except UserError as e:
            return None, str(e)

    def respond(self, prepared: Any, error: str, chat: list[dict], history: list):
        """Stream the answer into the chat (one at a time per model); then sources and note picker."""
        from ..answers.result import Done, Token

        if prepared is None:
            if error:
                chat = [*chat, {"role": "assistant", "content": f"⚠️ {html.escape(error)}"}]
            yield chat, history, _keep(), _keep(), self.badge()
            return
        turn = len(history) + 1
        shown = ""
        try:
            for event in self.app.respond(prepared):
                if isinstance(event, Token):
                    shown += event.text
                    yield [*chat, {"role": "assistant", "content": html.escape(shown) + " ▌"}], history, _keep(), _keep(), _keep()
                elif isinstance(event, Done):
                    answer = event.answer
        except UserError as e:
            yield [*chat, {"role": "assistant", "content": f"⚠️ {html.escape(str(e))}"}], history, _keep(), _keep(), self.badge()
            return
        related = self._related(answer.lang)
        message = {"role": "assistant", "content": answer_markdown(answer, turn, related)}
        picker = _dropdown(choices=note_choices(answer), value=None)
        yield ([*chat, message], [*history, [answer.question, answer.answer]], sources_html(answer, turn, related),
               picker, self.badge())

    def clear(self):
        return [], [], sources_html(None, 0, ""), _dropdown(choices=[], value=None), ""

    def view_note(self, note_id: str | None) -> str:
        if not note_id:
            return "<p class='meta'>Pick a cited note above.</p>"
        note = self.app.note(note_id)
        if note is None:
            return "<p class='meta'>That note is no longer in the index.</p>"
        return note_html(note.text, note.title, note.locations)

    # -- models ---------------------------------------------------------------------------
    def load_model(self, picked: str | None, typed: str):
        """Load the typed path, else the picked file; progress first, then the result."""
        target = (typed or "").strip() or (picked or EXTRACTIVE)
        yield f"Loading {html.escape(Path(target).name) if target else 'extractive mode'}…", _keep(), _keep()
        try:
            status = self.app.load_model(target)
        except UserError as e:
            status = f"⚠️ {e} The previous model stays loaded."
        choices = self.app.model_choices()
        yield status, self.badge(), _dropdown(choices=choices, value=self.app.current_model())

    def pull_model(self, name: str | None):
        """Download a catalog model, then offer it in the picker.  Its tqdm bars (download, join,
        check) show as the event's progress (the wiring passes ``gr.Progress(track_tqdm=True)``)."""
        yield "Downloading… (parts are joined and checked by sha256; this takes a few minutes)", _keep(), _keep()
        try:
            status = self.app.pull_model(name or "", progress=True)
        except UserError as e:
            status = f"⚠️ {e}"
        yield (status, _dropdown(choices=self.app.model_choices(), value=self.app.current_model()),
               _dropdown(choices=self.app.catalog_choices(), value=name))

    # -- notes ----------------------------------------------------------------------------
    def upload(self, files: list[str] | None):
        """Accept or reject each upload, then re-index if anything was added."""
        paths = [Path(f) for f in (files or [])]
        added, rejected = self.app.add_notes(paths)
        lines = [f"Added {name}." for name in added] + [f"⚠️ Rejected: {why}" for why in rejected]
        if added:
            yield "\n\n".join([*lines, "Indexing…"]), _keep(), None
            try:
                lines.append(self.app.reindex())
            except UserError as e:
                lines.append(f"⚠️ {e}")
        yield "\n\n".join(lines) or "No files given.", self.app.files(), None

    def reindex(self):
        yield "Indexing…", _keep()
        try:
            summary = self.app.reindex()
        except UserError as e:
            summary = f"⚠️ {e}"
        yield summary, self.app.files()

    # -- study ----------------------------------------------------------------------------
    def study_open(self):
        """The next due card (the deck first follows the index). -> status, card, answer, card id, typed"""
        try:
            card = self.app.next_card()
            status = self.app.study_status()
        except UserError as e:
            return f"⚠️ {e}", study_card_html(None, ""), "", None, ""
        return status, study_card_html(card, status), "", (card.card_id if card else None), ""

    def study_make(self, n: float | None, notes_filter: str):
        yield "Making cards…", _keep(), _keep(), _keep(), _keep()
        try:
            made = self.app.make_cards(int(n or 0), (notes_filter or "").strip())
        except UserError as e:
            yield f"⚠️ {e}", _keep(), _keep(), _keep(), _keep()
            return
        status, card, answer, card_id, typed = self.study_open()
        yield f"{made.summary()}\n\n{status}", card, answer, card_id, typed

    def study_show(self, card_id: str | None, typed: str) -> str:
        card = self.app.study.deck.get(card_id) if card_id else None
        if card is None:
            return "<p class='meta'>No card is shown; make cards first.</p>"
        return study_answer_html(card, self.app.check_typed(card, typed or ""))

    def study_grade(self, card_id: str | None, grade: str):
        """Grade the shown card (again / hard / good / easy, or retire / keep), then the next one."""
        if card_id:
            try:
                if grade == "retire":
                    self.app.study.deck.retire(card_id)
                elif grade == "keep":
                    self.app.study.deck.keep(card_id)
                    return self.study_open()
                else:
                    self.app.study.deck.review(card_id, grade)
            except UserError as e:
                return f"⚠️ {e}", _keep(), _keep(), _keep(), _keep()
        return self.study_open()


def _keep():
    import gradio as gr

    return gr.skip()


def _dropdown(**kwargs):
    import gradio as gr

    return gr.Dropdown(**kwargs)
