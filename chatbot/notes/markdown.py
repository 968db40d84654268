"""The Markdown format (``.md``, ``.markdown``; plain folders, Obsidian vaults): one note per file,
split into sections.

The block structure comes from markdown-it-py (CommonMark plus tables; maintained, a declared
dependency that Gradio's ``rich`` uses too): it knows where a fenced code block, a table or
a list ends, which a line-by-line scan gets wrong (a ``#`` inside a code block is no heading).
Each top-level block has a line range (``Token.map``), so sections keep exact line numbers.

What a note keeps:

* one ``Note`` per file, titled from the front matter's ``title``, else the first heading, else the
  file name; front matter ``tags``, ``aliases`` and ``date`` (and inline ``#tags``) as metadata;
* ``Section``\\ s: each run of prose under one heading path (``文件 › 一级标题 › 二级标题``), and
  each fenced or indented code block as a section of its own marked ``code``;
* the text line for line as in the file (so a chunk's lines are the file's lines), with images,
  HTML comments, ``<img>`` and layout tags (``<div>``, ``<p>``: their text stays) blanked,
  ``[[wikilinks]]`` / ``![[embeds]]`` as their title or alias, and ``[text](url)`` as its text.
  LaTeX and tables are kept as written.

Markdown-it has no wikilink, comment or front-matter rule of its own that keeps line numbers, so
those few substitutions are regular expressions applied line by line (hand-written for that reason).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .note import Location, Note, Section
from .read import read_text

SUFFIXES = (".md", ".markdown")
HEADING_SEPARATOR = " › "

_FRONT_MATTER_RE = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.I)
# Layout tags of notes written for a web page (<div align='center'>, <p>, <br>): their text stays.
_HTML_TAG_RE = re.compile(r"</?(?:div|p|span|center|br|font|a|b|i|u|em|strong|sup|sub|small|big|details|summary|"
                          r"figure|figcaption|section|article|blockquote|table|thead|tbody|tr|td|th|ul|ol|li|h[1-6]|hr)"
                          r"\b[^<>]*>", re.I)
_EMBED_RE = re.compile(r"!?\[\[([^\]|#]*)(?:#([^\]|]*))?(?:\|([^\]]*))?\]\]")
_LINK_RE = re.compile(r"(?<!!)\[([^\]]+)\]\((?:[^()\s]|\([^()]*\))+(?:\s+\"[^\"]*\")?\)")
_TAG_RE = re.compile(r"(?<![\w#&/])#([^\s#\d.,;:!?，。；：！？()（）\[\]]{1}[^\s#.,;:!?，。；：！？()（）\[\]]*)")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"))
_HEADING_MARKUP_RE = re.compile(r"[*_`]+|\\(?=[\\`*_{}\[\]()#+\-.!])")


def load(path: Path, source: str, max_bytes: int, warnings: list[str] | None = None) -> list[Note]:
    """The note of a Markdown file (``source``: its name relative to the corpus root)."""
    return parse_markdown(read_text(path, max_bytes, warnings), source)


def parse_markdown(text: str, source: str) -> list[Note]:
    """A Markdown file's text as one note with its sections (none for a file without body text)."""
    parsed = parse(text.replace("\r\n", "\n").replace("\r", "\n"), PurePosixPath(source).stem)
    if not parsed.sections:
        return []
    location = Location(source, parsed.first_line, parsed.first_line + parsed.text.count("\n"))
    metadata = dict(parsed.metadata)
    return [Note(parsed.text, (location,), title=parsed.title, date=metadata.pop("date", ""), metadata=metadata,
                 sections=parsed.sections)]


@dataclass(frozen=True)
class MarkdownNote:
    """What ``parse`` finds in one file; ``parse_markdown`` turns it into a ``Note``."""

    text: str  # the body, line for line as in the file from ``first_line`` on (1-based)
    first_line: int
    title: str
    sections: tuple[Section, ...]
    metadata: dict[str, str]


def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table")


def _blank_keeping_lines(match: re.Match) -> str:
    return "\n" * match.group().count("\n")


def _link_text(match: re.Match) -> str:
    target, heading, alias = match.group(1), match.group(2), match.group(3)
    if alias:
        return alias.strip()
    name = PurePosixPath(target.strip()).stem if target.strip() else ""
    return " ".join(part for part in (name, (heading or "").strip()) if part)


def clean_line(line: str) -> str:
    """One prose line as it is indexed and shown: images dropped, links as their text."""
    line = _HTML_TAG_RE.sub("", _IMAGE_RE.sub("", line))
    line = _EMBED_RE.sub(_link_text, line)
    return _LINK_RE.sub(lambda m: m.group(1), line)


def _front_matter(text: str) -> tuple[dict, int]:
    """(YAML front matter as a dict, number of lines it takes); ({}, 0) without one."""
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, 0
    import yaml

    try:
        data = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError:
        data = {}
    lines = match.group().count("\n") + (0 if match.group().endswith("\n") else 1)
    return (data if isinstance(data, dict) else {}), lines


def _words(value: object, separators: str = r"[,\s]+") -> list[str]:
    if isinstance(value, str):
        return [w.strip() for w in re.split(separators, value) if w.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return []


def heading_text(raw: str) -> str:
    """A heading as a reader sees it: links as text, emphasis and escapes dropped."""
    text = _HEADING_MARKUP_RE.sub("", clean_line(raw)).translate(_INVISIBLE)
    return re.sub(r"\s+", " ", text).strip()


def parse(text: str, file_stem: str) -> MarkdownNote:
    """Sections, title and metadata of one Markdown file's text."""
    meta, skip = _front_matter(text)
    lines = text.split("\n")
    body_lines = lines[skip:]
    body = _COMMENT_RE.sub(_blank_keeping_lines, "\n".join(body_lines))
    tokens = _markdown().parse(body)
    body_lines = body.split("\n")

    code_lines: set[int] = set()
    blocks: list[tuple[int, int, str, str, bool]] = []  # (first line, end line, kind, heading path, opens a section)
    trail: list[tuple[int, str]] = []
    first_heading = ""
    heading_line: int | None = None  # the heading the next block's section starts with
    for i, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        first, end = token.map
        if token.type == "heading_open":
            title = heading_text(tokens[i + 1].content) if i + 1 < len(tokens) else ""
            level = int(token.tag[1:])
            trail = [(lv, t) for lv, t in trail if lv < level] + ([(level, title)] if title else [])
            first_heading = first_heading or title
            heading_line = first
            continue
        if token.type in ("hr", "html_block") and not clean_line(token.content).strip():
            continue
        kind = "code" if token.type in ("fence", "code_block") else "prose"
        if kind == "code":
            code_lines.update(range(first, end))
        opens = heading_line is not None
        if opens:
            # A section's first block starts at its heading line: the passage shows the heading
            # as the file does (a heading can be the answer: "### 长期准备 (3-6个月)").
            first, heading_line = heading_line, None
        blocks.append((first, end, kind, "|".join(t for _, t in trail), opens))

    title = str(meta.get("title") or "").strip() or first_heading or file_stem
    cleaned = [line if n in code_lines else clean_line(line) for n, line in enumerate(body_lines)]
    note_text = "\n".join(cleaned)
    offsets = [0]
    for line in cleaned:
        offsets.append(offsets[-1] + len(line) + 1)

    sections: list[Section] = []
    for first, end, kind, path, opens in blocks:
        parts = [t for t in path.split("|") if t]
        if parts and parts[0] == title:
            parts = parts[1:]
        heading = HEADING_SEPARATOR.join([title, *parts])
        start, stop = offsets[first], min(offsets[end] - 1, len(note_text))
        if not note_text[start:stop].strip():
            continue
        previous = sections[-1] if sections else None
        if previous and not opens and kind == "prose" and previous.kind == "prose" and previous.heading == heading:
            sections[-1] = Section(previous.start, stop, heading, kind)
        else:
            sections.append(Section(start, stop, heading, kind))

    tags = _words(meta.get("tags")) + [
        m.group(1) for n, line in enumerate(body_lines) if n not in code_lines for m in _TAG_RE.finditer(line)
    ]
    metadata = {}
    if tags:
        metadata["tags"] = " ".join(dict.fromkeys(t.lstrip("#") for t in tags))
    aliases = _words(meta.get("aliases") or meta.get("alias"), separators=r"[,，]")
    if aliases:
        metadata["aliases"] = " | ".join(aliases)
    if meta.get("date"):
        metadata["date"] = str(meta["date"])
    return MarkdownNote(note_text, skip + 1, title, tuple(sections), metadata)
