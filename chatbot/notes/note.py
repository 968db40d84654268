"""A note as data: its text, every place it appears, and the metadata its file gave it.

``Note`` and ``Location`` are what every format parser returns and what chunking, the index
manifest and citations read.  A note's id is a hash of its text, so the same text found in two
files is one note; ``dedupe`` merges such copies, keeping every location.

Left out: reading files and parsing formats (``load`` and the format modules).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import cached_property


@dataclass(frozen=True)
class Location:
    """Where a note's text sits: a file relative to the corpus root, 1-based inclusive lines."""

    source: str
    line_start: int
    line_end: int
    page: int | None = None

    def label(self) -> str:
        where = f"p{self.page}" if self.page else f"L{self.line_start}-{self.line_end}"
        return f"{self.source}:{where}"


@dataclass(frozen=True)
class Section:
    """A span of a note's text chunked on its own: ``[start, end)`` character offsets, its heading
    path (``文件 › 一级标题 › 二级标题``) and kind (``prose``, or ``code`` for a code block)."""

    start: int
    end: int
    heading: str = ""
    kind: str = "prose"


@dataclass(frozen=True)
class Note:
    """One note as the user thinks of it; ``locations`` lists every file it appears in."""

    text: str
    locations: tuple[Location, ...]
    title: str = ""
    category: str = ""
    date: str = ""
    heading: str = ""
    metadata: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Markdown notes: the spans chunked apart, each with its heading path (empty: the whole text).
    # The text is then the file's lines one for one, so a chunk knows its own lines.
    sections: tuple[Section, ...] = field(default=(), compare=False, hash=False)

    @cached_property  # (computed once: chunking and metadata ask for it per chunk)
    def note_id(self) -> str:
        """Content hash: the same text in two files is the same note."""
        return content_hash(self.text)

    @property
    def source(self) -> str:
        return self.locations[0].source


def content_hash(text: str, length: int = 16) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def make_title(text: str, limit: int = 32) -> str:
    """A short title from a note's first words: emoji and URLs dropped, cut at a word boundary."""
    first = re.sub(r"https?://\S+", "", text.split("\n", 1)[0])
    first = re.sub(r"^[^\w(（]+", "", first).strip()
    if len(first) <= limit:
        return first
    cut = first[:limit]
    boundary = max(cut.rfind(" "), cut.rfind("，"), cut.rfind(","), cut.rfind("。"), cut.rfind(":"))
    return (cut[:boundary] if boundary >= limit // 2 else cut).rstrip(" ,，:：") + "…"


def dedupe(notes: list[Note]) -> list[Note]:
    """Merge notes with identical text, keeping all locations and the first non-empty metadata."""
    merged: dict[str, Note] = {}
    for note in notes:
        key = note.note_id
        if key not in merged:
            merged[key] = note
            continue
        first = merged[key]
        merged[key] = replace(
            first,
            locations=first.locations + tuple(loc for loc in note.locations if loc not in first.locations),
            category=first.category or note.category,
            date=first.date or note.date,
            heading=first.heading or note.heading,
        )
    return list(merged.values())
