"""The ``.txt`` format: the notes app's export, FAQ pages, or plain paragraphs.

The export has one note per line, each followed by a category line ("Large Model") and a date
line ("2026-01-11"), with banner lines in capitals in between; FAQ pages attach list items,
links and code lines to the paragraph above; any other file is paragraphs separated by blank
lines (also how a Markdown section is read, ``parse_paragraphs``).

Left out: other formats (``markdown``, ``pdf``) and merging copies of a note (``note.dedupe``).
"""

from __future__ import annotations

import re
from pathlib import Path

from .note import Location, Note, make_title
from .read import read_text

SUFFIXES = (".txt",)

_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_CATEGORY_RE = re.compile(r"[A-Z][A-Za-z&/]*(?: [A-Za-z&/]+){0,3}")
_BANNER_RE = re.compile(r"[A-Z][A-Z0-9 _\-]{3,}")  # "INCOMING TRANSMISSION", "LATEST UPDATES"
_LIST_ITEM_RE = re.compile(r"-(?:\s|$)|\d{1,2}[)）]|[（(]\d{1,2}[)）]")
_REFERENCE_RE = re.compile(r"(?:更详细|详见|参考|https?://)")
_URL_LINE_RE = re.compile(r"https?://\S+")
_CODE_RE = re.compile(r"[A-Za-z_][\w.]*\s*=[^=]")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")


def load(path: Path, source: str, max_bytes: int, warnings: list[str] | None = None) -> list[Note]:
    """The notes of a ``.txt`` file (``source``: its name relative to the corpus root)."""
    return parse_text(read_text(path, max_bytes, warnings), source)


def parse_text(text: str, source: str) -> list[Note]:
    """A ``.txt`` file: paragraph-separated notes, or the line-per-note export / FAQ layout."""
    lines = text.splitlines()
    nonblank = [line for line in lines if line.strip()]
    blank_separated = len(nonblank) < len(lines) * 0.8 and not any(_DATE_RE.fullmatch(s.strip()) for s in lines)
    if blank_separated:
        return parse_paragraphs(lines, source)
    return _parse_export(lines, source)


def parse_paragraphs(lines: list[str], source: str, heading: str = "", offset: int = 0) -> list[Note]:
    """One note per block of non-blank lines; ``offset``: lines before ``lines`` in the file."""
    notes: list[Note] = []
    block: list[tuple[int, str]] = []
    for number, line in enumerate([*lines, ""], start=1 + offset):
        if line.strip():
            block.append((number, line.rstrip()))
        elif block:
            notes.append(_make_note([t for _, t in block], source, block[0][0], block[-1][0], heading=heading))
            block = []
    return notes


def _parse_export(lines: list[str], source: str) -> list[Note]:
    """One note per content line; list items, references and code lines attach to the note above.

    A category line ("Large Model") followed by a date line ("2026-01-11") after a note is its
    metadata; banner lines in capitals ("LATEST UPDATES") are skipped.
    """
    notes: list[dict] = []
    previous = ""
    stripped = [line.strip() for line in lines]
    for i, s in enumerate(stripped):
        if not s:
            continue
        following = next((t for t in stripped[i + 1 :] if t), "")
        if _DATE_RE.fullmatch(s):
            if notes and not notes[-1]["date"]:
                notes[-1]["date"] = s
        elif _CATEGORY_RE.fullmatch(s) and _DATE_RE.fullmatch(following):
            if notes and not notes[-1]["category"]:
                notes[-1]["category"] = s
        elif _BANNER_RE.fullmatch(s) and not _CJK_RE.search(s):
            pass
        elif notes and not notes[-1]["closed"] and _continues(s, previous):
            notes[-1]["lines"].append(lines[i].rstrip())
            notes[-1]["end"] = i + 1
        else:
            notes.append({"lines": [lines[i].rstrip()], "start": i + 1, "end": i + 1, "category": "", "date": ""})
            notes[-1]["closed"] = False
        if notes and (notes[-1]["category"] or notes[-1]["date"] or _URL_LINE_RE.fullmatch(s)):
            # Metadata ends a note in the export layout; in the FAQ layout a bare link is the
            # reference that closes an answer, and list items after it belong to the next one.
            notes[-1]["closed"] = True
        previous = s
    return [
        _make_note(n["lines"], source, n["start"], n["end"], category=n["category"], date=n["date"]) for n in notes
    ]


def _continues(line: str, previous: str) -> bool:
    """Does ``line`` belong to the note above rather than start a new one?"""
    return bool(
        previous == "-"
        or previous.endswith((":", "："))
        or _LIST_ITEM_RE.match(line)
        or _REFERENCE_RE.match(line)
        or (_CODE_RE.match(line) and not _CJK_RE.search(line))
    )


def _make_note(lines: list[str], source: str, start: int, end: int, **meta: str) -> Note:
    text = "\n".join(lines).strip("\n")
    return Note(text, (Location(source, start, end),), title=make_title(text), **meta)
