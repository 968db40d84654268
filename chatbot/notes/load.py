"""Stage 1 — load: find note files and parse them into ``Note`` objects.

Reads ``.txt`` (the notes app's export, FAQ pages, or plain paragraphs), ``.md`` (headings
become metadata) and ``.pdf`` (one note per page, page number kept).  Detects binary and
oversized files, reads UTF-8 and falls back to GB18030 (a superset of GBK) and then to
charset detection.  Identical notes found in several files are merged, keeping every source.

Left out on purpose: chunking (``chunk.py``) and anything that needs the embedding model.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import CorpusError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf")

_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
PARSER_VERSION = 2  # bump when a file would yield different notes: ingest then re-reads every file
_CATEGORY_RE = re.compile(r"[A-Z][A-Za-z&/]*(?: [A-Za-z&/]+){0,3}")
_BANNER_RE = re.compile(r"[A-Z][A-Z0-9 _\-]{3,}")  # "INCOMING TRANSMISSION", "LATEST UPDATES"
_LIST_ITEM_RE = re.compile(r"-(?:\s|$)|\d{1,2}[)）]|[（(]\d{1,2}[)）]")
_REFERENCE_RE = re.compile(r"(?:更详细|详见|参考|https?://)")
_URL_LINE_RE = re.compile(r"https?://\S+")
_CODE_RE = re.compile(r"[A-Za-z_][\w.]*\s*=[^=]")
_MD_HEADING_RE = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")


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
class Note:
    """One note as the user thinks of it; ``locations`` lists every file it appears in."""

    text: str
    locations: tuple[Location, ...]
    title: str = ""
    category: str = ""
    date: str = ""
    heading: str = ""
    metadata: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def note_id(self) -> str:
        """Content hash: the same text in two files is the same note."""
        return content_hash(self.text)

    @property
    def source(self) -> str:
        return self.locations[0].source


def content_hash(text: str, length: int = 16) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


# --------------------------------------------------------------------------- files


def find_files(root: Path) -> list[Path]:
    """Supported note files under ``root`` (or ``root`` itself), sorted, hidden ones skipped.

    Directory symlinks are not followed, so symlink loops cannot trap the walk.
    """
    if root.is_file():
        return [root] if root.suffix.lower() in SUPPORTED_SUFFIXES else []
    if not root.is_dir():
        raise CorpusError(f"Notes folder {root} does not exist; create it or point --corpus at your notes.")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not name.startswith(".") and path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(path)
    return found


def read_text(path: Path, max_bytes: int) -> str:
    """Decode a text file: UTF-8, else GB18030 (covers GBK), else detected; CorpusError if not text."""
    data = _read_bytes(path, max_bytes)
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{path.name} is a binary file, not text; remove it or export it as .txt/.md/.pdf.")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes  # only for the rare file that is neither

    best = from_bytes(data).best()
    if best is None:
        raise CorpusError(f"{path.name} is not readable text in any known encoding; re-save it as UTF-8.")
    return str(best)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusError(
                f"{path.name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit; "
                "split it or raise max_file_mb."
            )
        return path.read_bytes()
    except PermissionError as e:
        raise CorpusError(f"{path.name} cannot be read (permission denied); fix its permissions.") from e
    except OSError as e:
        raise CorpusError(f"{path.name} cannot be read ({e.strerror}); check the file.") from e


def load_file(path: Path, root: Path, max_bytes: int) -> list[Note]:
    """Parse one file into notes. Raises CorpusError with one sentence if it cannot."""
    rel = path.relative_to(root).as_posix() if path != root else path.name
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return parse_pdf(path, rel, max_bytes)
    text = read_text(path, max_bytes)
    if suffix in (".md", ".markdown"):
        return parse_markdown(text, rel)
    return parse_text(text, rel)


# --------------------------------------------------------------------------- parsers


def parse_text(text: str, source: str) -> list[Note]:
    """A ``.txt`` file: paragraph-separated notes, or the line-per-note export / FAQ layout."""
    lines = text.splitlines()
    nonblank = [line for line in lines if line.strip()]
    blank_separated = len(nonblank) < len(lines) * 0.8 and not any(_DATE_RE.fullmatch(s.strip()) for s in lines)
    if blank_separated:
        return _parse_paragraphs(lines, source)
    return _parse_export(lines, source)


def _parse_paragraphs(lines: list[str], source: str, heading: str = "", offset: int = 0) -> list[Note]:
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


def parse_markdown(text: str, source: str) -> list[Note]:
    """A Markdown file: each section under a heading becomes notes; the heading path is metadata."""
    notes: list[Note] = []
    trail: list[str] = []
    section: list[str] = []
    section_start = 0
    in_fence = False

    def flush() -> None:
        heading = " > ".join(trail)
        for note in _parse_paragraphs(section, source, heading=heading, offset=section_start):
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


def parse_pdf(path: Path, source: str, max_bytes: int) -> list[Note]:
    """A PDF: one note per page with text (page number kept); image-only pages are skipped."""
    _read_bytes(path, max_bytes)  # size and permission checks with the same messages
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, OSError) as e:
        raise CorpusError(f"{path.name} is not a readable PDF ({e}); re-export it.") from e
    notes = []
    for number, page_text in enumerate(pages, start=1):
        lines = [line.rstrip() for line in page_text.splitlines() if line.strip()]
        if lines:
            loc = Location(source, 1, len(lines), page=number)
            notes.append(Note("\n".join(lines), (loc,), title=make_title(lines[0])))
    return notes


def _make_note(lines: list[str], source: str, start: int, end: int, **meta: str) -> Note:
    text = "\n".join(lines).strip("\n")
    return Note(text, (Location(source, start, end),), title=make_title(text), **meta)


def make_title(text: str, limit: int = 32) -> str:
    """A short title from a note's first words: emoji and URLs dropped, cut at a word boundary."""
    first = re.sub(r"https?://\S+", "", text.split("\n", 1)[0])
    first = re.sub(r"^[^\w(（]+", "", first).strip()
    if len(first) <= limit:
        return first
    cut = first[:limit]
    boundary = max(cut.rfind(" "), cut.rfind("，"), cut.rfind(","), cut.rfind("。"), cut.rfind(":"))
    return (cut[:boundary] if boundary >= limit // 2 else cut).rstrip(" ,，:：") + "…"


# --------------------------------------------------------------------------- merging


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
