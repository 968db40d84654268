"""Vectors already paid for: the exact text embedded under one dense recipe -> its vector.

One SQLite file per embedding model (``<index root>/vectors.sqlite``, beside the generations and
never inside one, so a rebuild keeps it).  The key is a hash of the recipe (``ingest.dense_view``:
the glossary rendering and its signature) and the text given to the model, so a rebuild, a
renamed or moved file, a heading-only change elsewhere or a setting that does not change what
is embedded re-embeds nothing, and an interrupted fill resumes where it stopped: every batch is
stored as soon as it is embedded.

Why SQLite and not Chroma: a lookup by exact key across generations (Chroma's ids here are
chunk ids, which a recipe change does not change); SQLite is in the standard library and safe
for a reader and a writer in two processes.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def _key(recipe: str, text: str) -> bytes:
    return hashlib.sha1(f"{recipe}\0{text}".encode()).digest()


class VectorCache:
    """``get``/``put`` vectors of texts embedded under ``recipe`` (float32, as the model gave them)."""

    def __init__(self, path: Path, recipe: str):
        self.path = path
        self.recipe = recipe
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")

    def get(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``texts`` (text -> vector)."""
        import numpy as np

        keys = {_key(self.recipe, t): t for t in dict.fromkeys(texts)}
        found: dict[str, np.ndarray] = {}
        items = list(keys)
        for start in range(0, len(items), 500):  # SQLite's limit on bound parameters
            part = items[start : start + 500]
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
            ).fetchall()
            found.update({keys[key]: np.frombuffer(blob, dtype="float32") for key, blob in rows})
        return found

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (n, dim) of ``texts`` (n) and commit, so a killed run keeps them."""
        rows = [(_key(self.recipe, t), v.astype("float32").tobytes()) for t, v in zip(texts, vectors)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)

    def close(self) -> None:
        self._db.close()
