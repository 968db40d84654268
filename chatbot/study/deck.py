"""The study deck: cards and their review schedule, kept in ``<data_dir>/study.sqlite``.

Scheduling is FSRS-6 by the maintained ``fsrs`` package (``Scheduler.review_card``): nothing
home-made.  Each card row keeps the card (question, answer, the passage and where the answer
sits in it) and its FSRS state as the package serialises it; each grade is a row of
``reviews``.  The deck survives restarts and re-indexing: ``sync`` compares every card with the
current index.  A card whose passage is still indexed stays as it is; one whose sentence and
answer are found again in another passage of its file (an edit elsewhere in the note) follows
them; one whose file is still indexed but no longer states them is flagged ``changed`` (shown
with a warning until the user retires or keeps it); one whose file is gone is ``retired``.
A card is never kept silently with an answer its notes no longer give.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import UserError
from .cards import Card, Chunk

FILE = "study.sqlite"
RATINGS = {"again": 1, "hard": 2, "good": 3, "easy": 4}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    id TEXT PRIMARY KEY, kind TEXT, question TEXT, answer TEXT, language TEXT,
    chunk_id TEXT, passage TEXT, span_start INT, span_end INT, context_start INT, context_end INT,
    metadata TEXT, created TEXT, status TEXT DEFAULT 'ok', reason TEXT DEFAULT '', fsrs TEXT, due TEXT
);
CREATE TABLE IF NOT EXISTS reviews (card_id TEXT, rating INT, reviewed_at TEXT, log TEXT);
CREATE INDEX IF NOT EXISTS cards_due ON cards (status, due);
"""


@dataclass(frozen=True)
class DeckCard:
    """A card of the deck with its state: ``status`` ok / changed / retired, ``due`` (UTC)."""

    card: Card
    status: str
    reason: str
    due: datetime
    reviews: int

    @property
    def card_id(self) -> str:
        return self.card.card_id


@dataclass(frozen=True)
class SyncReport:
    kept: int = 0
    moved: int = 0
    changed: int = 0
    retired: int = 0


class Deck:
    """The cards of one data dir.  Thread-safe (one connection, one lock): the UI's sessions share it."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise UserError(f"The study deck {self.path} cannot be read ({e}); move it away to start a new one.") from e
        self._lock = threading.Lock()
        self._scheduler = None

    def close(self) -> None:
        self._db.close()

    @property
    def scheduler(self):
        if self._scheduler is None:
            from fsrs import Scheduler

            self._scheduler = Scheduler()
        return self._scheduler

    # ------------------------------------------------------------------ cards

    def add(self, cards: Iterable[Card], now: datetime | None = None) -> int:
        """Add new cards (due now); a card already in the deck is left as it is.  How many were new."""
        from fsrs import Card as FsrsCard

        now = now or _now()
        rows = []
        for card in cards:
            state = FsrsCard(due=now)
            rows.append((card.card_id, card.kind, card.question, card.answer, card.language, card.chunk_id,
                         card.passage, card.span[0], card.span[1], card.context[0], card.context[1],
                         json.dumps(card.metadata, ensure_ascii=False), now.isoformat(), state.to_json(),
                         state.due.isoformat()))
        with self._lock, self._db:
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO cards (id, kind, question, answer, language, chunk_id, passage, span_start, "
                "span_end, context_start, context_end, metadata, created, fsrs, due) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            return self._db.total_changes - before

    def cards(self, status: Sequence[str] = ("ok", "changed")) -> list[DeckCard]:
        """The deck's cards with one of ``status``, soonest due first."""
        marks = ",".join("?" * len(status))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS}, (SELECT COUNT(*) FROM reviews r WHERE r.card_id = c.id) FROM cards c "
                f"WHERE status IN ({marks}) ORDER BY due, id", list(status)).fetchall()
        return [_deck_card(row) for row in rows]

    def get(self, card_id: str) -> DeckCard | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS}, (SELECT COUNT(*) FROM reviews r WHERE r.card_id = c.id) FROM cards c WHERE id = ?",
                (card_id,)).fetchone()
        return _deck_card(row) if row else None

    def due(self, now: datetime | None = None) -> list[DeckCard]:
        """Cards to review now (flagged ones included, with their flag), soonest due first."""
        now = now or _now()
        return [c for c in self.cards() if c.due <= now]

    def answers(self) -> list[str]:
        """The answer of every card ever made (retired ones too): not made again."""
        with self._lock:
            return [a for (a,) in self._db.execute("SELECT answer FROM cards")]

    def counts(self, now: datetime | None = None) -> dict[str, int]:
        """Cards by state: due now, total active, flagged, retired, reviews done."""
        now = now or _now()
        active = self.cards()
        with self._lock:
            retired = self._db.execute("SELECT COUNT(*) FROM cards WHERE status = 'retired'").fetchone()[0]
            reviews = self._db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0]
        return {"due": sum(c.due <= now for c in active), "cards": len(active),
                "changed": sum(c.status == "changed" for c in active), "retired": retired, "reviews": reviews}

    # ------------------------------------------------------------------ reviews

    def review(self, card_id: str, rating: str | int, now: datetime | None = None) -> DeckCard:
        """Grade a card (again / hard / good / easy, or 1-4); FSRS sets its next due date."""
        from fsrs import Card as FsrsCard
        from fsrs import Rating

        value = RATINGS.get(str(rating).lower(), rating)
        if value not in (1, 2, 3, 4):
            raise UserError(f"Grade a card again, hard, good or easy (got {rating!r}).")
        now = now or _now()
        with self._lock:
            row = self._db.execute("SELECT fsrs FROM cards WHERE id = ?", (card_id,)).fetchone()
            if row is None:
                raise UserError(f"No card {card_id} in the study deck; make cards with 'chatbot study new'.")
            state, log = self.scheduler.review_card(FsrsCard.from_json(row[0]), Rating(value), review_datetime=now)
            with self._db:
                self._db.execute("UPDATE cards SET fsrs = ?, due = ? WHERE id = ?",
                                 (state.to_json(), state.due.isoformat(), card_id))
                self._db.execute("INSERT INTO reviews (card_id, rating, reviewed_at, log) VALUES (?, ?, ?, ?)",
                                 (card_id, value, now.isoformat(), log.to_json()))
        found = self.get(card_id)
        assert found is not None
        return found

    def keep(self, card_id: str) -> None:
        """The user checked a flagged card: its answer still holds, drop the flag."""
        self._set_status(card_id, "ok", "")

    def retire(self, card_id: str, reason: str = "retired by you") -> None:
        self._set_status(card_id, "retired", reason)

    def _set_status(self, card_id: str, status: str, reason: str) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE cards SET status = ?, reason = ? WHERE id = ?", (status, reason, card_id))

    # ------------------------------------------------------------------ following the index

    def sync(self, chunks: Sequence[Chunk]) -> SyncReport:
        """Compare every active card with the index's passages ``chunks`` (module doc)."""
        by_id = {c.chunk_id: c for c in chunks}
        by_file: dict[str, list[Chunk]] = {}
        for c in chunks:
            for label in _files(c.metadata):
                by_file.setdefault(label, []).append(c)
        kept = moved = changed = retired = 0
        for deck_card in self.cards(("ok", "changed")):
            card = deck_card.card
            if card.chunk_id in by_id:
                kept += 1
                continue
            files = _files(card.metadata)
            candidates = [c for f in files for c in by_file.get(f, [])]
            found = _find_again(card, candidates)
            if found is not None:
                self._move(card, found)
                moved += 1
            elif candidates:
                if deck_card.status != "changed":
                    self._set_status(card.card_id, "changed",
                                     "its passage changed since the card was made: check the answer against your notes")
                changed += 1
            else:
                self._set_status(card.card_id, "retired", "its note is no longer in the index")
                retired += 1
        return SyncReport(kept, moved, changed, retired)

    def _move(self, card: Card, moved: Card) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE cards SET chunk_id = ?, passage = ?, span_start = ?, span_end = ?, context_start = ?, "
                "context_end = ?, metadata = ?, status = 'ok', reason = '' WHERE id = ?",
                (moved.chunk_id, moved.passage, moved.span[0], moved.span[1], moved.context[0], moved.context[1],
                 json.dumps(moved.metadata, ensure_ascii=False), card.card_id))


_COLUMNS = ("c.kind, c.question, c.answer, c.language, c.chunk_id, c.passage, c.span_start, c.span_end, "
            "c.context_start, c.context_end, c.metadata, c.status, c.reason, c.due")


def _deck_card(row: tuple[Any, ...]) -> DeckCard:
    (kind, question, answer, language, chunk_id, passage, s0, s1, c0, c1, meta, status, reason, due, reviews) = row
    card = Card(kind, question, answer, chunk_id, passage, (s0, s1), (c0, c1), json.loads(meta), language)
    return DeckCard(card, status, reason, datetime.fromisoformat(due), reviews)


def _files(metadata: dict[str, Any]) -> list[str]:
    """The files a passage is in (its 'sources' labels without the lines)."""
    try:
        labels = json.loads(metadata.get("sources") or "[]")
    except ValueError:
        labels = []
    return sorted({label.rpartition(":")[0] or label for label in labels} | {str(metadata.get("source", ""))} - {""})


def _find_again(card: Card, candidates: Iterable[Chunk]) -> Card | None:
    """The card re-pointed at a passage that still holds its sentence and, at the same place
    relative to it, its answer span."""
    sentence = card.sentence
    answer = card.passage[card.span[0] : card.span[1]]
    for chunk in candidates:
        at = chunk.text.find(sentence)
        shift = at - card.context[0]
        start, end = card.span[0] + shift, card.span[1] + shift
        if at >= 0 and start >= 0 and chunk.text[start:end] == answer:
            return replace(card, chunk_id=chunk.chunk_id, passage=chunk.text, span=(start, end),
                           context=(at, at + len(sentence)), metadata=chunk.metadata)
    return None


def _now() -> datetime:
    return datetime.now(timezone.utc)
