"""The PDF format: one note per page with text, the page number kept; image-only pages skipped.

Text comes from pypdf (imported only when a PDF is read); a file it cannot read is a
``CorpusError`` naming the file.  Left out: OCR of scanned pages.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CorpusError
from .note import Location, Note, make_title
from .read import read_bytes

SUFFIXES = (".pdf",)


def load(path: Path, source: str, max_bytes: int, warnings: list[str] | None = None) -> list[Note]:
    """The notes of a PDF (``source``: its name relative to the corpus root)."""
    return parse_pdf(path, source, max_bytes)


def parse_pdf(path: Path, source: str, max_bytes: int) -> list[Note]:
    """A PDF: one note per page with text (page number kept); image-only pages are skipped."""
    read_bytes(path, max_bytes)  # size and permission checks with the same messages
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
