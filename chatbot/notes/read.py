"""Reading a note file safely: size limit, permissions, binary files, and the text encoding.

Text is decoded as UTF-8 (a few broken bytes replaced, with a warning), else GB18030 (a superset
of GBK), else by charset detection; a 0-byte file is ``EmptyFile``.  Every
failure is a ``CorpusError`` with one sentence naming the file and what to do.

Left out: what the text means (the format modules).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import CorpusError


class EmptyFile(CorpusError):
    """A 0-byte file: nothing to index and nothing to fix (ingest reports it as a notice)."""


# A file that is UTF-8 but for a few broken bytes (a bad copy, a cut multi-byte character) is
# read with those bytes replaced; more bad bytes than this share means another encoding.
MAX_BAD_UTF8_SHARE = 0.01
_UTF8_SEQUENCE_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def read_text(path: Path, max_bytes: int, warnings: list[str] | None = None) -> str:
    """Decode a text file: UTF-8, else GB18030 (covers GBK), else detected; CorpusError if not text.

    UTF-8 with a few broken bytes is decoded with them replaced (U+FFFD), and ``warnings`` says so."""
    data = read_bytes(path, max_bytes)
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{path.name} is a binary file, not text; remove it or export it as .txt/.md/.pdf.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", errors="replace")
        bad = text.count("\ufffd") - data.decode("utf-8-sig", errors="ignore").count("\ufffd")
        if bad <= max(4, len(data) * MAX_BAD_UTF8_SHARE) and _mostly_utf8(data):
            if warnings is not None:
                warnings.append(f"{path.name} has {bad} invalid UTF-8 byte{'s' * (bad != 1)}; "
                                "read with them replaced by \ufffd.")
            return text
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only for the rare file that is neither

    best = from_bytes(data).best()
    if best is None:
        raise CorpusError(f"{path.name} is not readable text in any known encoding; re-save it as UTF-8.")
    return str(best)


def _mostly_utf8(data: bytes) -> bool:
    """Are the non-ASCII bytes of ``data`` nearly all valid UTF-8 sequences (UTF-8, not GBK)?"""
    valid = sum(len(m) for m in _UTF8_SEQUENCE_RE.findall(data))
    return valid >= sum(b >= 0x80 for b in data) * 0.9


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after the size, permission and emptiness checks every format shares."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusError(
                f"{path.name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit; "
                "split it or raise max_file_mb."
            )
        data = path.read_bytes()
    except PermissionError as e:
        raise CorpusError(f"{path.name} cannot be read (permission denied); fix its permissions.") from e
    except OSError as e:
        raise CorpusError(f"{path.name} cannot be read ({e.strerror}); check the file.") from e
    if not data:
        raise EmptyFile(f"{path.name} is empty (0 bytes); nothing to index.")
    return data
