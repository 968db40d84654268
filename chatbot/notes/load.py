"""Stage 1 — load: find note files and parse them into ``Note`` objects.

Reads ``.txt`` (the notes app's export, FAQ pages, or plain paragraphs), ``.md`` (headings
become metadata) and ``.pdf`` (one note per page, page number kept).  Detects binary and
oversized files, reads UTF-8 and falls back to GB18030 (a superset of GBK) and then to
charset detection.  Identical notes found in several files are merged (``note.dedupe``).

One module per format behind one interface: ``SUFFIXES`` (the file endings it reads) and
``load(path, source, max_bytes, warnings) -> list[Note]``.  A new format is a module listed in ``FORMATS``.

Left out on purpose: chunking (``chunk.py``) and anything that needs the embedding model.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CorpusError
from . import markdown, pdf, text
from .note import Note

FORMATS = (text, markdown, pdf)  # a suffix no format claims is read as text
_BY_SUFFIX = {suffix: fmt for fmt in FORMATS for suffix in fmt.SUFFIXES}
SUPPORTED_SUFFIXES = tuple(_BY_SUFFIX)  # (".txt", ".md", ".markdown", ".pdf")
PARSER_VERSION = 3  # bump when a file would yield different notes: ingest then re-reads every file


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


def load_file(path: Path, root: Path, max_bytes: int, warnings: list[str] | None = None) -> list[Note]:
    """Parse one file into notes. Raises CorpusError with one sentence if it cannot (``read.EmptyFile``
    for a 0-byte file); what it worked around (broken UTF-8 bytes) goes to ``warnings``."""
    rel = path.relative_to(root).as_posix() if path != root else path.name
    return _BY_SUFFIX.get(path.suffix.lower(), text).load(path, rel, max_bytes, warnings)
