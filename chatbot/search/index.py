"""Stage 3 — index, read side: dense search, lexical search and fetching chunks of one generation.

An index is the Chroma vector store, the BM25 lexical index and the chunk store of one
generation (see ``generations.py`` for the folders and the atomic flip); ``IndexReader`` opens
them lazily and serves every question from the generation that was current when it was opened.
A generation may be answerable before all its chunks have vectors (``dense_coverage`` < 1):
texts come from the chunk store (``store.py``), and a chunk without a vector has no cosine.
The vectors of a few recently added chunks may be loose, in the chunk store rather than Chroma
(``writer.py``): they are searched exactly, and Chroma's stale entries are skipped.

Left out: building generations (``writer.py``), what to add or delete (``ingest.py`` decides)
and fusion (``retrieve.py``).
"""

from __future__ import annotations

import atexit
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexMissingError, UserError
from .generations import (
    chroma_client,
    current_generation,
    dense_coverage,
    generation_store,
    index_root,
    lease,
    read_manifest,
    reader_copy,
    release_client,
    release_lease,
)
from .store import ChunkStore
from .vocabulary import Learned

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the index."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]


# A BM25 query group: its alternatives, each a token list with a weight (IndexReader.lexical_search).
QueryGroup = list[tuple[list[str], float]]


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
        self._store: ChunkStore | None = None
        self._lease: Path | None = None
        self._copy: Path | None = None  # this reader's copy of the generation's Chroma folder
        self._pending = frozenset(self.manifest.get("pending", []))
        self._loose_ids = frozenset(self.manifest.get("loose", []))
        self._stale = frozenset(self.manifest.get("stale", []))
        self._served_by_chroma: frozenset[str] | None = None
        self._loose: tuple[list[str], np.ndarray] | None = None

    @classmethod
    def open(cls, data_dir: Path, collection: str, chroma_url: str | None = None) -> IndexReader:
        """The current generation, leased to this process until ``close`` (so no ingest prunes it)."""
        root = index_root(data_dir, collection)
        for _ in range(5):
            gen = current_generation(root)
            if gen is None:
                raise IndexMissingError("No index yet for this embedding model; run 'chatbot ingest' first.")
            mark = lease(gen)
            if current_generation(root) == gen and (gen / "manifest.json").is_file():  # not pruned meanwhile
                reader = cls(gen, collection, chroma_url)
                reader._lease = mark
                atexit.register(reader.close)  # a command's lease and Chroma copy go with it
                return reader
            release_lease(mark)
        raise UserError("The index changes too fast to open (an ingest running in a loop?); try again.")

    def close(self) -> None:
        """Let go of this generation (an ingest may prune it once nobody serves it)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            if self._collection is not None and not self.chroma_url:
                release_client(self._client)  # Chroma caches one system per folder
                self._collection = None
            if self._copy is not None:
                shutil.rmtree(self._copy, ignore_errors=True)
                self._copy = None
            release_lease(self._lease)
            self._lease = None

    @property
    def count(self) -> int:
        return len(self.manifest.get("chunk_ids", []))

    @property
    def embedded(self) -> int:
        """Chunks with a vector (the rest are answerable by BM25 only, until the fill ends)."""
        return self.count - len(self._pending)

    @property
    def in_chroma(self) -> frozenset[str]:
        """Chunks whose vector this generation serves from Chroma (not pending, not loose)."""
        if self._served_by_chroma is None:
            self._served_by_chroma = frozenset(self.manifest.get("chunk_ids", [])) - self._pending - self._loose_ids
        return self._served_by_chroma

    def _loose_vectors(self) -> tuple[list[str], np.ndarray]:
        """(ids, unit vectors) kept in the chunk store rather than Chroma."""
        if self._loose is None:
            self._loose = self.store.vectors() if self._loose_ids else ([], None)
        return self._loose

    @property
    def dense_coverage(self) -> float:
        """Share of chunks with a vector, in [0, 1] (1.0 for an empty index)."""
        return dense_coverage(self.manifest)

    @property
    def store(self) -> ChunkStore:
        with self._lock:
            if self._store is None:
                if not (self.gen / "chunks.sqlite").is_file():
                    raise UserError(f"The index in {self.gen} is from an older version; run 'chatbot ingest'.")
                self._store = ChunkStore(self.gen)
            return self._store

    @property
    def collection(self):
        with self._lock:
            if self._collection is None:
                try:
                    if self.chroma_url:
                        client, name = generation_store(self.gen, self._collection_name, self.chroma_url)
                    else:
                        # Chroma rewrites its files when it opens them (HNSW lengths, SQLite), even to
                        # read: each reader opens a private copy, so a served generation is never written.
                        self._copy = reader_copy(self.gen)
                        client, name = chroma_client(self._copy), self._collection_name
                    collection = client.get_collection(name, embedding_function=None)
                    stored = collection.count()
                except Exception as e:
                    where = f"on the Chroma server {self.chroma_url}" if self.chroma_url else f"in {self.gen}"
                    raise UserError(
                        f"The vector index {where} cannot be opened ({type(e).__name__}); "
                        + ("check that the server runs, or " if self.chroma_url else "")
                        + "run 'chatbot ingest --rebuild'."
                    ) from e
                expected = len(self.in_chroma | self._stale)
                if stored != expected:  # never serve a store that disagrees with its manifest
                    raise UserError(
                        f"The vector index in {self.gen} is damaged ({stored} vectors for {expected} chunks); "
                        "run 'chatbot ingest --rebuild'."
                    )
                self._collection, self._client = collection, client
            return self._collection

    def _lexical(self):
        with self._lock:
            if self._bm25 is None:
                import bm25s

                tokens = json.loads((self.gen / "tokens.json").read_text(encoding="utf-8"))
                self._ids = tokens["ids"]
                self._rows = {cid: row for row, cid in enumerate(self._ids)}
                built = self._ids and (self.gen / "bm25").is_dir()  # not when no chunk has a token
                self._bm25 = bm25s.BM25.load(str(self.gen / "bm25"), load_corpus=False, show_progress=False) if built else None
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

            docs = self.store.texts() if self.count else []
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
        _ = self.store
        if self.in_chroma:
            _ = self.collection
        self._loose_vectors()

    def dense_search(self, vector: np.ndarray, n: int) -> list[tuple[StoredChunk, float]]:
        """Top ``n`` chunks by cosine similarity to a unit ``vector`` (among those with one)."""
        found: dict[str, float] = {}
        if self.in_chroma:
            chroma = self.in_chroma
            result = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=min(n + len(self._stale), len(chroma | self._stale)),  # room for the skipped
                include=["distances"],
            )
            found.update((cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0])
                         if cid in chroma)
        ids, vectors = self._loose_vectors()
        if ids:
            found.update(zip(ids, (vectors @ vector).tolist()))  # (len(ids),) exact cosines
        best = sorted(found.items(), key=lambda item: -item[1])[:n]
        stored = self.store.get([cid for cid, _ in best])
        return [(StoredChunk(cid, *stored[cid]), similarity) for cid, similarity in best if cid in stored]

    def note_chunks(self, note_id: str) -> list[StoredChunk]:
        """Every chunk of one note, in note order."""
        found = self.store.note_chunks(note_id)
        return sorted((StoredChunk(cid, text, meta) for cid, (text, meta) in found.items()),
                      key=lambda c: int(c.metadata.get("chunk_index", 0)))

    def dense_ids(self) -> list[str]:
        """Every chunk with a vector, read back from the vector side itself: the Chroma entries
        this generation serves, then the loose vectors."""
        ids = [cid for cid in self.collection.get(include=[])["ids"] if cid in self.in_chroma] if self.in_chroma else []
        return ids + list(self._loose_vectors()[0])

    def lexical_search(self, queries: list[QueryGroup]) -> LexicalScores | None:
        """Sum over query groups of BM25 scores for every chunk (None if nothing matches).

        A group is a list of alternatives, each a token list with a weight; per chunk it scores
        its best alternative, weight times the BM25 sum of its tokens (a token repeated in one
        alternative counts once).  A group of one alternative is a plain weighted query; several
        are one word of the question in its own language and in its translations, which count as
        one word whichever of them a chunk uses (Pirkola's structured queries, in their max form):
        summed, a common word with five senses would weigh five times what a rare word with one
        does, and a chunk saying a thing in both languages twice what one saying it once does."""
        bm25 = self._lexical()
        if bm25 is None:
            return None
        import numpy as np

        scores = np.zeros(len(self._ids), dtype="float32")  # (num_chunks,)
        for alternatives in queries:
            best = None
            for tokens, weight in alternatives:
                known = [t for t in dict.fromkeys(tokens) if t in bm25.vocab_dict]
                if known and weight:
                    one = weight * bm25.get_scores(known)  # (num_chunks,)
                    best = one if best is None else np.maximum(best, one)
            if best is not None:
                scores += best
        return LexicalScores(scores, self._ids, self._rows) if scores.any() else None

    def fetch(self, ids: list[str], vector: np.ndarray | None = None) -> dict[str, tuple[StoredChunk, float | None]]:
        """Chunks by id, each with its cosine similarity to ``vector`` (0.0 without one; None
        for a chunk that has no vector yet)."""
        if not ids:
            return {}
        stored = self.store.get(ids)
        similarities: dict[str, float | None] = {cid: (0.0 if vector is None else None) for cid in stored}
        chroma = [cid for cid in stored if cid in self.in_chroma]
        if vector is not None and chroma:
            import numpy as np

            got = self.collection.get(ids=chroma, include=["embeddings"])
            cosines = (np.asarray(got["embeddings"], dtype="float32") @ vector).tolist()  # (len(chroma),)
            similarities.update(zip(got["ids"], cosines))
        loose = [cid for cid in stored if cid in self._loose_ids]
        if vector is not None and loose:
            ids, vectors = self._loose_vectors()
            rows = {cid: row for row, cid in enumerate(ids)}
            similarities.update((cid, float(vectors[rows[cid]] @ vector)) for cid in loose if cid in rows)
        return {cid: (StoredChunk(cid, text, meta), similarities[cid]) for cid, (text, meta) in stored.items()}
