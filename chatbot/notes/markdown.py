"""The Markdown format (``.md``, ``.markdown``): sections under headings, the heading path kept.

Each section's paragraphs become notes (as in a ``.txt`` file, ``text.parse_paragraphs``); the
path of headings above them ("Training > Memory") is each note's ``heading`` and, for a note
without a title of its own, its title.  Headings inside fenced code blocks are text.

Left out: front matter, tags and links (kept as text).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .note import Note
from .read import read_text
from .text import parse_paragraphs

SUFFIXES = (".md", ".markdown")

_MD_HEADING_RE = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*")


def load(path: Path, source: str, max_bytes: int) -> list[Note]:
    """The notes of a Markdown file (``source``: its name relative to the corpus root)."""
    return parse_markdown(read_text(path, max_bytes), source)


def parse_markdown(text: str, source: str) -> list[Note]:
    """A Markdown file: each section under a heading becomes notes; the heading path is metadata."""
    notes: list[Note] = []
    trail: list[str] = []
    section: list[str] = []
    section_start = 0
    in_fence = False

    def flush() -> None:
        heading = " > ".join(trail)
        for note in parse_paragraphs(section, source, heading=heading, offset=section_start):
            notes.append(note if note.title else replace(note, title=heading))

    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING_RE.fullmatch(line)
        if match:
            flush()
            level = len(match.group(1))
            trail = [*trail[: level - 1], match.group(2)]
            section, section_start = [], number + 1
        else:
            section.append(line)
    flush()
    return notes
