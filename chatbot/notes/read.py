"""Reading a note file safely: size limit, permissions, binary files, and the text encoding.

Text is decoded as UTF-8, else GB18030 (a superset of GBK), else by charset detection.  Every
failure is a ``CorpusError`` with one sentence naming the file and what to do.

Left out: what the text means (the format modules).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CorpusError


def read_text(path: Path, max_bytes: int) -> str:
    """Decode a text file: UTF-8, else GB18030 (covers GBK), else detected; CorpusError if not text."""
    data = read_bytes(path, max_bytes)
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


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after the size and permission checks every format shares."""
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
