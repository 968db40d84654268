"""Which note files changed since the last ingest: the file table of the index manifest.

``scan`` walks the roots and compares each file with its manifest entry: a file with the same
size and mtime, or the same content hash, is not even re-read (unless ``reparse``: the parser
changed); a new or changed file is parsed (``notes.load``) and its notes stored in the entry as
JSON.  A file that cannot be read is reported in the ``IngestReport`` and keeps its previous
entry, so its notes stay in the index rather than vanish.

Left out: chunks, embeddings and the index itself (``ingest.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CorpusError
from ..notes.load import find_files, load_file
from ..notes.note import Location, Note, Section
from ..notes.read import EmptyFile

if TYPE_CHECKING:
    from .ingest import IngestReport


def _note_to_json(note: Note) -> dict[str, Any]:
    data = asdict(note)
    data["locations"] = [asdict(loc) for loc in note.locations]
    return data


def note_from_json(data: dict[str, Any]) -> Note:
    """A note as stored in a manifest entry (``_note_to_json``), back as a ``Note``."""
    return Note(**{**data, "locations": tuple(Location(**loc) for loc in data["locations"]),
                   "sections": tuple(Section(**s) for s in data.get("sections", ()))})


def scan(
    roots: list[Path], old_files: dict[str, Any], max_bytes: int, report: IngestReport, reparse: bool = False
) -> dict[str, Any]:
    """New file table for ``roots``: unchanged entries reused (``reparse``: parsed again), others parsed.
    A root with no note files at all is noted in ``report.empty``."""
    files: dict[str, Any] = {}
    for root in roots:
        base = root if root.is_dir() else root.parent
        paths = find_files(root)
        if not paths:
            report.empty.append(str(root))
        for path in paths:
            key = str(path.resolve())
            label = path.relative_to(base).as_posix()
            old = old_files.get(key)
            try:
                stat = path.stat()
                if old and not reparse and old["size"] == stat.st_size and old["mtime_ns"] == stat.st_mtime_ns:
                    files[key] = old
                    report.unchanged += 1
                    continue
                digest = hashlib.sha1(path.read_bytes()).hexdigest()
                if old and not reparse and old["sha1"] == digest:
                    files[key] = {**old, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                    report.unchanged += 1
                    continue
                notes = load_file(path, base, max_bytes, report.notices)
            except EmptyFile as e:
                report.notices.append(str(e))
                continue
            except CorpusError as e:
                report.skipped.append(str(e))
                if old:
                    files[key] = old  # keep what was indexed rather than lose it
                continue
            except OSError as e:
                report.skipped.append(f"{path.name} cannot be read ({e.strerror}); check the file.")
                if old:
                    files[key] = old
                continue
            if old and old["sha1"] == digest:
                report.unchanged += 1  # parsed again (reparse), same content
            else:
                (report.changed if old else report.added).append(label)
            files[key] = {
                "root": str(root.resolve()),
                "label": label,
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "sha1": digest,
                "notes": [_note_to_json(n) for n in notes],
            }
    return files


def under(key: str, roots: list[Path]) -> bool:
    """Is the file ``key`` (a resolved path, as in the file table) one of ``roots`` or inside one?"""
    return any(key == str(r.resolve()) or key.startswith(str(r.resolve()) + "/") for r in roots)
