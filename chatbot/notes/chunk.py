"""Stage 2 — chunk: split notes into retrievable passages.

Short notes stay whole.  Long ones are split by LangChain's RecursiveCharacterTextSplitter at
line ends and Chinese/English sentence ends (。！？；), so a chunk never ends mid-sentence
unless one sentence alone is longer than the chunk size.  Each chunk after the first then
starts up to ``chunk_overlap`` characters earlier, at a sentence or line start, so it repeats
the previous chunk's last whole sentences.

Chunk ids are content-addressed (note hash + chunk hash), so re-ingesting the same text
yields the same ids and an unchanged note is never re-embedded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .note import Note, content_hash

CHUNKER_VERSION = 1  # bump when the same note and settings would give other chunks: every note is split again
# Sentence ends first; commas, spaces and single characters only for an over-long sentence.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", ". ", "，", ",", " ", ""]
# Where a sentence or line starts: right after a sentence end or a line end.
CODE_CHUNK_FACTOR = 3  # a code block is kept whole up to this many times the chunk size
SENTENCE_START = re.compile(r"(?<=[。！？；!?;\n])|(?<=\. )")


@dataclass(frozen=True)
class Chunk:
    """A passage as stored in the index. ``text`` is a verbatim slice of its note."""

    chunk_id: str
    text: str
    note: Note
    index: int  # position of the chunk within its note
    start: int  # character offset of ``text`` inside ``note.text``
    heading: str = ""  # heading path of the chunk's section (Markdown), else the note's heading
    kind: str = "prose"  # "code": a fenced or indented code block

    def lines(self) -> tuple[int, int]:
        """The chunk's own first and last line in its file, where the note's text is the file's
        lines one for one (Markdown notes); else the note's line span."""
        first = self.note.locations[0]
        if not self.note.sections:
            return first.line_start, first.line_end
        start = first.line_start + self.note.text.count("\n", 0, self.start)
        return start, start + self.text.count("\n")

    def labels(self) -> list[str]:
        """Where the chunk is, in every file its note appears in: 'a.md:L12-20' (Markdown: the
        chunk's own lines), else the note's location labels."""
        if not self.note.sections:
            return [loc.label() for loc in self.note.locations]
        offset = self.note.text.count("\n", 0, self.start)
        span = self.text.count("\n")
        return [f"{loc.source}:L{loc.line_start + offset}-{loc.line_start + offset + span}"
                for loc in self.note.locations]

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for the vector store (Chroma accepts only scalars)."""
        note = self.note
        first = note.locations[0]
        line_start, line_end = self.lines()
        meta: dict[str, str | int] = {
            "note_id": note.note_id,
            "source": first.source,
            "line_start": line_start,
            "line_end": line_end,
            "sources": json.dumps(self.labels(), ensure_ascii=False),
            "title": note.title,
            "category": note.category,
            "date": note.date,
            "heading": self.heading or note.heading,
            "chunk_index": self.index,
            "start": self.start,
        }
        if first.page:
            meta["page"] = first.page
        if self.kind != "prose":
            meta["kind"] = self.kind
        return meta


def chunk_note(note: Note, chunk_size: int, chunk_overlap: int, section_size: int | None = None) -> list[Chunk]:
    """Split one note; a note no longer than ``chunk_size`` is one chunk.  A note with sections
    (Markdown) is split section by section, so no chunk spans two headings; a section stays whole
    up to ``section_size`` characters (default ``chunk_size``), a code block up to
    ``CODE_CHUNK_FACTOR`` times the chunk size."""
    if not note.sections:
        return [Chunk(f"{note.note_id}-{i}-{content_hash(text, 8)}", text, note, i, start)
                for i, (start, text) in enumerate(_split(note.text, chunk_size, chunk_overlap))]
    chunks: list[Chunk] = []
    for section in note.sections:
        body = note.text[section.start : section.end]
        lead = len(body) - len(body.lstrip())
        body = body.strip()
        size = chunk_size * CODE_CHUNK_FACTOR if section.kind == "code" else section_size or chunk_size
        for start, text in _split(body, size, chunk_overlap):
            i = len(chunks)
            offset = section.start + lead + start
            chunks.append(Chunk(f"{note.note_id}-{i}-{content_hash(text, 8)}", text, note, i, offset,
                                heading=section.heading, kind=section.kind))
    return chunks


def _split(text: str, chunk_size: int, chunk_overlap: int) -> list[tuple[int, str]]:
    """(offset, piece) of ``text`` cut into chunks of about ``chunk_size`` characters, each after
    the first starting up to ``chunk_overlap`` characters earlier at a sentence start."""
    if len(text) <= chunk_size:
        pieces = [text]
    else:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            keep_separator="end",
            chunk_size=chunk_size,
            # Overlap is added below: the splitter's own overlap repeats whole pieces of the
            # level that split the text (whole lines here), so a bullet line longer than the
            # overlap got none, and two adjacent bullets answering one question never met.
            chunk_overlap=0,
            strip_whitespace=True,
        )
        pieces = splitter.split_text(text)
    overlap = min(chunk_overlap, chunk_size // 2)
    out = []
    cursor, covered = 0, 0  # start of the previous piece + 1; end of the text covered so far
    for i, piece in enumerate(pieces):
        begin = _locate(text, piece, cursor, covered)
        end = begin + len(piece)
        # The overlap stays inside the previous piece (which starts at cursor - 1).
        start = _overlap_start(text, max(cursor - 1, begin - overlap), begin) if i and overlap else begin
        cursor, covered = begin + 1, max(covered, end)
        out.append((start, text[start:end]))
    return out


def _overlap_start(text: str, low: int, begin: int) -> int:
    """The earliest sentence or line start in ``text[low:begin]``, past its leading
    whitespace; ``begin`` when no whole sentence fits."""
    start = 0 if low == 0 else next((m.start() for m in SENTENCE_START.finditer(text, low, begin)), begin)
    while start < begin and text[start].isspace():
        start += 1
    return start


def _locate(text: str, piece: str, cursor: int, covered: int) -> int:
    """Offset of ``piece``, the splitter's next verbatim slice, in ``text``.

    The splitter does not report offsets.  The next chunk starts inside the previous one
    (overlap) or right after it (only whitespace between), so among the occurrences from
    ``cursor`` on, take the last one that leaves no gap; repeated sentences make ``find``
    alone land on an earlier copy.
    """
    first = text.find(piece, cursor)
    best, start = -1, first
    while start >= 0 and (start <= covered or not text[covered:start].strip()):
        best, start = start, text.find(piece, start + 1)
    return best if best >= 0 else max(first, 0)


def chunk_notes(notes: list[Note], chunk_size: int, chunk_overlap: int, section_size: int | None = None) -> list[Chunk]:
    """Chunks of all notes, in note order."""
    return [chunk for note in notes for chunk in chunk_note(note, chunk_size, chunk_overlap, section_size)]
