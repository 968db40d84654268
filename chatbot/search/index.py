"""Stage 3 — index, read side: dense search, lexical search and fetching chunks of one generation.

An index is the Chroma vector store and the BM25 lexical index of one generation (see
``generations.py`` for the folders and the atomic flip); ``IndexReader`` opens both lazily and
serves every question from the generation that was current when it was opened.

Left out: building generations (``writer.py``), what to add or delete (``ingest.py`` decides)
and fusion (``retrieve.py``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexMissingError, UserError
from .generations import current_generation, generation_store, index_root, read_manifest
from .vocabulary import Learned

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the index."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class LexicalScores:
    """BM25 scores of every chunk for one question."""

    scores: np.ndarray  # (num_chunks,) float32
    ids: list[str]  # row -> chunk id
    rows: dict[str, int]  # chunk id -> row

    def top(self, n: int) -> dict[str, float]:
        """The ``n`` best chunks with a positive score."""
        import numpy as np

        n = min(n, len(self.scores))
        best = np.argpartition(-self.scores, n - 1)[:n]
        return {self.ids[i]: float(self.scores[i]) for i in best if self.scores[i] > 0}

    def of(self, ids: list[str]) -> dict[str, float]:
        """Scores of the given chunks (0 for a chunk no query word occurs in)."""
        return {cid: float(self.scores[self.rows[cid]]) for cid in ids if cid in self.rows}


class IndexReader:
    """Read side of one generation: dense search, lexical search, fetch by id."""

    def __init__(self, gen: Path, collection: str, chroma_url: str | None = None):
        self.chroma_url = chroma_url
        self.gen = gen
        self.manifest = read_manifest(gen)
        self._collection_name = collection
        self._lock = threading.Lock()
        self._collection = None
        self._bm25 = None
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._compact: str | None = None
        self._language: str | None = None

    @classmethod
    def open(cls, data_dir: Path, collection: str, chroma_url: str | None = None) -> IndexReader:
        gen = current_generation(index_root(data_dir, collection))
        if gen is None:
            raise IndexMissingError("No index yet for this embedding model; run 'chatbot ingest' first.")
        return cls(gen, collection, chroma_url)

    @property
    def count(self) -> int:
        return len(self.manifest.get("chunk_ids", []))

    @property
    def collection(self):
        with self._lock:
            if self._collection is None:
                try:
                    client, name = generation_store(self.gen, self._collection_name, self.chroma_url)
                    collection = client.get_collection(name, embedding_function=None)
                    stored = collection.count()
                except Exception as e:
                    where = f"on the Chroma server {self.chroma_url}" if self.chroma_url else f"in {self.gen}"
                    raise UserError(
                        f"The vector index {where} cannot be opened ({type(e).__name__}); "
                        + ("check that the server runs, or " if self.chroma_url else "")
                        + "run 'chatbot ingest --rebuild'."
                    ) from e
                if stored != self.count:  # never serve a store that disagrees with its manifest
                    raise UserError(
                        f"The vector index in {self.gen} is damaged ({stored} vectors for {self.count} chunks); "
                        "run 'chatbot ingest --rebuild'."
                    )
                self._collection = collection
            return self._collection

    def _lexical(self):
        with self._lock:
            if self._bm25 is None:
                import bm25s

                tokens = json.loads((self.gen / "tokens.json").read_text(encoding="utf-8"))
                self._ids = tokens["ids"]
                self._rows = {cid: row for row, cid in enumerate(self._ids)}
                self._bm25 = bm25s.BM25.load(str(self.gen / "bm25"), load_corpus=False, show_progress=False) if self._ids else None
            return self._bm25

    def document_frequency(self, token: str) -> int:
        """Number of chunks containing the BM25 ``token`` (0 if none): the nonzero entries of its
        column in bm25s's sparse score matrix, so no second copy of the tokens is kept."""
        bm25 = self._lexical()
        column = bm25.vocab_dict.get(token) if bm25 is not None else None
        if column is None:
            return 0
        indptr = bm25.scores["indptr"]
        return int(indptr[column + 1] - indptr[column])

    def compact_text(self) -> str:
        """All chunk texts in ``tokens.compact`` form, joined: 'does term X occur anywhere?'"""
        if self._compact is None:
            from .tokens import compact

            docs = self.collection.get(include=["documents"])["documents"] if self.count else []
            self._compact = "\n".join(compact(doc) for doc in docs)
        return self._compact

    def main_language(self) -> str:
        """'zh' or 'en': the language most of the notes are written in (by ``detect_language``)."""
        if self._language is None:
            from .tokens import detect_language

            self._language = detect_language(self.compact_text())
        return self._language

    def learned_vocabulary(self) -> Learned:
        """The notes' vocabulary learned at ingest (``vocabulary.learn``)."""
        return Learned.load(self.gen)

    def warm(self) -> None:
        """Open both channels now rather than on the first question."""
        self._lexical()
        _ = self.collection

    def dense_search(self, vector: np.ndarray, n: int) -> list[tuple[StoredChunk, float]]:
        """Top ``n`` chunks by cosine similarity to a unit ``vector``."""
        if not self.count:
            return []
        result = self.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(n, self.count),
            include=["documents", "metadatas", "distances"],
        )
        return [
            (StoredChunk(cid, doc, meta), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
            )
        ]

    def lexical_search(self, queries: list[tuple[list[str], float]]) -> LexicalScores | None:
        """Weighted sum of BM25 scores over token groups for every chunk (None if nothing
        matches).  A group's repeated tokens count once."""
        bm25 = self._lexical()
        if bm25 is None:
            return None
        import numpy as np

        scores = np.zeros(len(self._ids), dtype="float32")  # (num_chunks,)
        for tokens, weight in queries:
            known = [t for t in dict.fromkeys(tokens) if t in bm25.vocab_dict]
            if known and weight:
                scores += weight * bm25.get_scores(known)
        return LexicalScores(scores, self._ids, self._rows) if scores.any() else None

    def fetch(self, ids: list[str], vector: np.ndarray | None = None) -> dict[str, tuple[StoredChunk, float]]:
        """Chunks by id, each with its cosine similarity to ``vector`` (0.0 without one)."""
        if not ids:
            return {}
        include = ["documents", "metadatas"] + (["embeddings"] if vector is not None else [])
        got = self.collection.get(ids=ids, include=include)
        if vector is not None:
            import numpy as np

            similarities = (np.asarray(got["embeddings"], dtype="float32") @ vector).tolist()  # (len(ids),)
        else:
            similarities = [0.0] * len(got["ids"])
        return {
            cid: (StoredChunk(cid, doc, meta), sim)
            for cid, doc, meta, sim in zip(got["ids"], got["documents"], got["metadatas"], similarities)
        }
