"""An answer as data, and the events of a streamed one.

``Answer`` holds the checked text, its citations (``cite.Citation``), the decline decision and
timings; ``to_json`` is the JSON contract of ``chatbot ask --json``, the browser API and the
server's extra fields.  A streamed answer is ``Retrieved``, then ``Token`` pieces, then ``Done``.

Left out: making an answer (``answer.py``) and formatting one for a screen (``chatbot.apps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .cite import Citation

if TYPE_CHECKING:
    from ..search.retrieve import Passage

Mode = Literal["extractive", "generative"]


@dataclass
class Answer:
    """An answer as data; ``to_json`` is the CLI's JSON contract."""

    question: str
    answer: str
    declined: bool
    mode: Mode
    model: str | None
    rewritten_question: str | None
    citations: list[Citation]
    translated_question: str | None = None  # the model's translation, searched too (rewrite.model_translate)
    related: list[Citation] = field(default_factory=list)  # closest notes when declined
    label: str = ""  # e.g. "Extracted from your notes ..." in extractive mode
    lang: str = "en"
    uncited: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # sentences whose numbers/names no passage states
    sentences: int = 0  # answer sentences with words (the decline sentence excepted)
    # The model's own text as checked, before any fallback: sentences, unsupported, re-cited.
    model_check: dict[str, int] = field(default_factory=dict)
    shown: list[str] = field(default_factory=list)  # the excerpts the model read (not in to_json; eval reads them)
    fallback: str = ""  # why the model's answer was replaced by the extractive one ('' when it was not)
    removed: list[str] = field(default_factory=list)
    decline_reason: str = ""
    support: float = 0.0
    absent_terms: list[str] = field(default_factory=list)  # asked about, found nowhere in the notes
    caution: str = ""  # says so, in the question's language, when the answer is not declined
    dense_coverage: float = 1.0  # share of the index's chunks with a vector (< 1 while a fill runs)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "declined": self.declined,
            "mode": self.mode,
            "model": self.model,
            "rewritten_question": self.rewritten_question,
            "translated_question": self.translated_question,
            "citations": [c.to_json() for c in self.citations],
            "related": [c.to_json() for c in self.related],
            "label": self.label,
            "lang": self.lang,
            "uncited_sentences": self.uncited,
            "unsupported_sentences": self.unsupported,
            "sentences": self.sentences,
            "fallback": self.fallback,
            "model_check": self.model_check,
            "removed_citations": self.removed,
            "decline_reason": self.decline_reason,
            "support": round(self.support, 4),
            "absent_terms": self.absent_terms,
            "caution": self.caution,
            "dense_coverage": round(self.dense_coverage, 4),
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }


@dataclass(frozen=True)
class Retrieved:
    """First event: what the answer will rest on (the UI can show the passages at once)."""

    rewritten_question: str | None
    passages: list[Passage]
    translated_question: str | None = None


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Retrieved | Token | Done
