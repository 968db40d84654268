"""``chatbot eval study``: are the cards made from a notes folder what the study issue promises?

For the cards one ``study new`` would make (nothing is added to the deck), checked against the
index they were made from:

* every answer is a span of its cited passage, and that passage is the index's text of the
  cited chunk (``span_ok``: must be 1.0 for offline cards);
* no two cards share an answer span (same passage and offsets) or an answer;
* how many notes and headings the cards come from, and by kind and language;
* with ``--model``: how many cards the model wrote and the share kept after the check.

The report holds counts and each card's kind and file, never note text.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from ..search.retrieve import open_reader
from ..study.cards import Card, chunks_of, make_cards, model_cards

if TYPE_CHECKING:
    from ..models.llm import LocalModel
    from ..settings import Settings


def card_checks(cards: list[Card], passages: dict[str, str]) -> dict[str, Any]:
    """The figures of the module doc for ``cards`` against the index's ``passages`` (chunk id -> text)."""
    spans_ok = sum(1 for c in cards if passages.get(c.chunk_id) == c.passage
                   and (c.kind == "model" or c.passage[c.span[0] : c.span[1]] == c.answer))
    spans = Counter((c.chunk_id, c.span) for c in cards)
    answers = Counter(c.answer for c in cards)
    return {
        "cards": len(cards),
        "span_ok": round(spans_ok / len(cards), 3) if cards else 0.0,
        "shared_spans": sum(n - 1 for n in spans.values()),
        "shared_answers": sum(n - 1 for n in answers.values()),
        "notes": len({c.metadata.get("note_id") for c in cards}),
        "files": len({c.metadata.get("source") for c in cards}),
        "headings": len({(c.metadata.get("source"), c.metadata.get("heading")) for c in cards}),
        "kinds": dict(Counter(c.kind for c in cards)),
        "languages": dict(Counter(c.language for c in cards)),
    }


def evaluate_study(settings: Settings, n: int, model: LocalModel | None = None, language: str = "notes",
                   notes_filter: str = "") -> tuple[dict[str, Any], list[Card]]:
    """Make ``n`` cards from the current index (offline, or with ``model``) and check them:
    (the figures, for the report; the cards, to read)."""
    reader = open_reader(settings)
    try:
        chunks = chunks_of(reader)
        passages = {c.chunk_id: c.text for c in chunks}
        started = time.perf_counter()
        if model is None:
            cards = make_cards(chunks, n, reader.document_frequency, reader.learned_vocabulary().pairs,
                               language=language, notes_filter=notes_filter)
            written = len(cards)
        else:
            cards, written = model_cards(model, chunks, n, language=language, notes_filter=notes_filter)
        seconds = time.perf_counter() - started
    finally:
        reader.close()
    results = {"asked": n, "model": model.name if model is not None else None, "chunks": len(chunks),
               "seconds": round(seconds, 2), **card_checks(cards, passages)}
    if model is not None:
        results["written"] = written
        results["kept_share"] = round(len(cards) / written, 3) if written else 0.0
    results["cards_made"] = [{"id": c.card_id, "kind": c.kind, "file": c.metadata.get("source")} for c in cards]
    return results, cards
