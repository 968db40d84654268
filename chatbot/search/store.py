"""Every chunk of one generation, text and metadata, whether or not it has a vector yet.

``chunks.sqlite`` in a generation folder.  It exists so a generation is answerable before its
vectors are computed: BM25 finds chunk ids, and the texts and metadata come from here; Chroma
holds the vectors of the chunks embedded so far (with their texts and metadata too, as a vector
store should).  The vectors of a few chunks an edit added may sit here too, in ``vectors``,
until there are enough to move into Chroma (``writer.py``: an edit then never opens Chroma).
A published generation is never written again, so readers open the file
``immutable``: SQLite then writes nothing beside it (no journal, no lock files).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

FILE = "chunks.sqlite"


class ChunkStore:
    """Chunk id -> (text, metadata) of one generation; writable only while it is being built."""

    def __init__(self, gen: Path, writable: bool = False):
        path = gen / FILE
        if writable:
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, text TEXT, metadata TEXT, search TEXT)")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, vector BLOB)")
        else:
            self._db = sqlite3.connect(f"file:{path}?immutable=1", uri=True, check_same_thread=False)

    def put(self, ids: list[str], texts: list[str], metadatas: list[dict[str, Any]], searches: list[str]) -> None:
        """Chunks with their text, metadata and search text (``ingest.search_text``: what BM25
        reads and what the fill embeds)."""
        rows = [(cid, text, json.dumps(meta, ensure_ascii=False), search)
                for cid, text, meta, search in zip(ids, texts, metadatas, searches)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO chunks (id, text, metadata, search) VALUES (?, ?, ?, ?)", rows)

    def update_metadata(self, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        with self._db:
            self._db.executemany("UPDATE chunks SET metadata = ? WHERE id = ?",
                                 [(json.dumps(m, ensure_ascii=False), cid) for cid, m in zip(ids, metadatas)])

    def delete(self, ids: list[str]) -> None:
        with self._db:
            self._db.executemany("DELETE FROM chunks WHERE id = ?", [(cid,) for cid in ids])

    def get(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) of the given chunks that exist."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            part = ids[start : start + 500]
            rows = self._db.execute(
                f"SELECT id, text, metadata FROM chunks WHERE id IN ({','.join('?' * len(part))})", part
            ).fetchall()
            found.update({cid: (text, json.loads(meta)) for cid, text, meta in rows})
        return found

    def note_chunks(self, note_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) of every chunk of one note: its ids start with the note id and '-'
        (``chunk.Chunk``), a range of the primary key."""
        rows = self._db.execute("SELECT id, text, metadata FROM chunks WHERE id >= ? AND id < ?",
                                (f"{note_id}-", f"{note_id}.")).fetchall()  # '.' follows '-'
        return {cid: (text, json.loads(meta)) for cid, text, meta in rows}

    def search_texts(self, ids: list[str]) -> dict[str, str]:
        """The search text of the given chunks that exist."""
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            found.update(self._db.execute(
                f"SELECT id, search FROM chunks WHERE id IN ({','.join('?' * len(part))})", part).fetchall())
        return found

    def put_vectors(self, ids: list[str], vectors: np.ndarray) -> None:
        """Vectors (float32 rows) of chunks kept here rather than in Chroma."""
        import numpy as np

        rows = [(cid, np.asarray(v, dtype="float32").tobytes()) for cid, v in zip(ids, vectors)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors (id, vector) VALUES (?, ?)", rows)

    def delete_vectors(self, ids: list[str] | None = None) -> None:
        """Drop the given kept vectors (None: all of them)."""
        with self._db:
            if ids is None:
                self._db.execute("DELETE FROM vectors")
            else:
                self._db.executemany("DELETE FROM vectors WHERE id = ?", [(cid,) for cid in ids])

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """The kept vectors: (ids, (n, dim) float32 matrix); none for a generation older than them."""
        import numpy as np

        if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'vectors'").fetchone():
            return [], np.zeros((0, 0), dtype="float32")
        rows = self._db.execute("SELECT id, vector FROM vectors ORDER BY id").fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype="float32")
        return [cid for cid, _ in rows], np.stack([np.frombuffer(blob, dtype="float32") for _, blob in rows])

    def texts(self) -> list[str]:
        """Every chunk text, in id order."""
        return [text for (text,) in self._db.execute("SELECT text FROM chunks ORDER BY id")]

    def close(self) -> None:
        self._db.close()
