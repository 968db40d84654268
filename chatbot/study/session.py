"""What the CLI and the UI share for studying: the deck beside the index, kept in step with it.

``Study`` opens the deck of ``data_dir`` and, on each ``refresh``, the current index generation:
the deck is compared with its passages (``Deck.sync``) whenever the generation changed, so an
edited or deleted note flags or retires its cards before they are shown.  ``new_cards`` makes
cards offline (``cards.make_cards``) or with a model (``cards.model_cards``) and adds them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .cards import Card, chunks_of, make_cards, model_cards
from .deck import Deck, DeckCard, SyncReport

if TYPE_CHECKING:
    from ..models.llm import LocalModel
    from ..settings import Settings


@dataclass(frozen=True)
class Made:
    """What one ``new_cards`` did: the cards added, how many were asked for and written."""

    cards: list[Card]
    asked: int
    written: int  # candidates considered (model cards: replies the model wrote)

    def summary(self) -> str:
        if not self.cards:
            return "No new card: every card these notes give is in your deck already; try another filter."
        short = f" (only {len(self.cards)} of the {self.asked} asked for: the notes give no more)" \
            if len(self.cards) < self.asked else ""
        return f"{len(self.cards)} new cards in your study deck{short}."


class Study:
    """The study deck of ``settings.data_dir`` following the current index."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.deck = Deck(settings.data_dir)
        self._generation: str | None = None
        self._lock = threading.Lock()
        self.last_sync = SyncReport()

    def refresh(self) -> SyncReport:
        """Compare the deck with the current index generation if it changed since last time
        (each grade in the UI asks: an unchanged index costs one small file read)."""
        from ..search.embed import collection_name
        from ..search.generations import current_generation, index_root
        from ..search.retrieve import open_reader

        with self._lock:
            current = current_generation(index_root(self.settings.data_dir,
                                                    collection_name(self.settings.embedding_model)))
            if current is not None and current.name == self._generation:
                return self.last_sync
            reader = open_reader(self.settings)  # (no index yet: IndexMissingError says what to do)
            try:
                self.last_sync = self.deck.sync(chunks_of(reader))
                self._generation = reader.gen.name
            finally:
                reader.close()
            return self.last_sync

    def new_cards(self, n: int, *, notes_filter: str = "", language: str = "notes",
                  model: LocalModel | None = None) -> Made:
        """Make up to ``n`` cards the deck does not have yet and add them (due now)."""
        from ..search.retrieve import open_reader

        self.refresh()
        reader = open_reader(self.settings)
        try:
            chunks = chunks_of(reader)
            exclude = self.deck.answers()
            if model is not None:
                cards, written = model_cards(model, chunks, n, language=language, notes_filter=notes_filter,
                                             exclude=exclude)
            else:
                cards = make_cards(chunks, n, reader.document_frequency, reader.learned_vocabulary().pairs,
                                   language=language, notes_filter=notes_filter, exclude=exclude)
                written = len(cards)
        finally:
            reader.close()
        self.deck.add(cards)
        return Made(cards, n, written)

    def due(self) -> list[DeckCard]:
        self.refresh()
        return self.deck.due()

    def close(self) -> None:
        self.deck.close()
