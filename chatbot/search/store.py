"""Every chunk of one generation, text and metadata, whether or not it has a vector yet.

``chunks.sqlite`` in a generation folder.  It exists so a generation is answerable before its
vectors are computed: BM25 finds chunk ids, and the texts and metadata come from here; Chroma
holds the vectors of the chunks embedded so far (with their texts and metadata too, as a vector
store should).  A published generation is never written again, so readers open the file
``immutable``: SQLite then writes nothing beside it (no journal, no lock files).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

FILE = "chunks.sqlite"


class ChunkStore:
    """Chunk id -> (text, metadata) of one generation; writable only while it is being built."""

    def __init__(self, gen: Path, writable: bool = False):
        path = gen / FILE
        if writable:
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, text TEXT, metadata TEXT, search TEXT)")
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

    def search_texts(self, ids: list[str]) -> dict[str, str]:
        """The search text of the given chunks that exist."""
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            found.update(self._db.execute(
                f"SELECT id, search FROM chunks WHERE id IN ({','.join('?' * len(part))})", part).fetchall())
        return found

    def texts(self) -> list[str]:
        """Every chunk text, in id order."""
        return [text for (text,) in self._db.execute("SELECT text FROM chunks ORDER BY id")]

    def close(self) -> None:
        self._db.close()
