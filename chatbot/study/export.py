"""The deck out of the app: an Anki package (``genanki``) or CSV, each card with its citation.

Anki: one note type "notes-chat card" with the fields Question, Answer, Citation (file › heading
› lines) and Passage (the cited text, the card's sentence in bold); the note's guid is the
card's id, so exporting again updates the cards already imported instead of duplicating them.
CSV: question, answer, kind, citation, passage, status, due (UTC), one row per card.
"""

from __future__ import annotations

import csv
import hashlib
import html
from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError
from .deck import DeckCard

ANKI_FIELDS = ["Question", "Answer", "Citation", "Passage"]


def _stable_id(name: str) -> int:
    """Anki wants fixed numeric ids for a deck and a note type: derived from their names."""
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) | 1 << 30


def _passage_html(deck_card: DeckCard) -> str:
    card = deck_card.card
    start, end = card.context
    text = card.passage
    return (html.escape(text[:start]) + "<b>" + html.escape(text[start:end]) + "</b>" + html.escape(text[end:])
            ).replace("\n", "<br>")


def write_anki(cards: Sequence[DeckCard], path: Path, deck_name: str = "notes-chat") -> int:
    """An .apkg of ``cards`` at ``path``; how many cards it holds."""
    import genanki

    if not cards:
        raise UserError("The study deck has no cards to export; make some with 'chatbot study new'.")
    model = genanki.Model(
        _stable_id("notes-chat card"), "notes-chat card", fields=[{"name": f} for f in ANKI_FIELDS],
        templates=[{"name": "Card", "qfmt": "{{Question}}",
                    "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}<br><small>{{Citation}}</small>'
                            "<div style='text-align:left;margin-top:1em'>{{Passage}}</div>"}],
    )
    deck = genanki.Deck(_stable_id(deck_name), deck_name)
    for deck_card in cards:
        card = deck_card.card
        deck.add_note(genanki.Note(
            model=model, guid=card.card_id, tags=[card.kind],
            fields=[html.escape(card.question), html.escape(card.answer), html.escape(card.citation().where()),
                    _passage_html(deck_card)]))
    _writable(path)
    genanki.Package(deck).write_to_file(str(path))
    return len(cards)


def write_csv(cards: Sequence[DeckCard], path: Path) -> int:
    """A CSV of ``cards`` at ``path`` (UTF-8 with a BOM, so spreadsheet programs read the Chinese)."""
    if not cards:
        raise UserError("The study deck has no cards to export; make some with 'chatbot study new'.")
    _writable(path)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "answer", "kind", "citation", "passage", "status", "due"])
        for deck_card in cards:
            card = deck_card.card
            writer.writerow([card.question, card.answer, card.kind, card.citation().where(), card.passage,
                             deck_card.status, deck_card.due.isoformat()])
    return len(cards)


def _writable(path: Path) -> None:
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file name to export to.")
    if not path.parent.is_dir():
        raise UserError(f"The folder {path.parent} does not exist; create it or export elsewhere.")
