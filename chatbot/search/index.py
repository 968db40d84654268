"""Stage 3 — index: the Chroma vector store and the BM25 lexical index, in atomic generations.

Layout under ``<data_dir>/indexes/<collection>/`` (one folder per embedding model, so a new
model re-embeds instead of mixing vectors)::

    CURRENT             name of the generation readers use (replaced atomically)
    gen-<id>/chroma/    Chroma PersistentClient folder (embeddings we computed; never Chroma's own)
    gen-<id>/bm25/      bm25s index over ``tokens.json``
    gen-<id>/tokens.json  {"ids": [...], "tokens": [[...], ...]}  BM25 row -> chunk id
    gen-<id>/manifest.json  files, their parsed notes and the chunk ids (see ingest.py)

A writer copies the current generation, changes the copy, and only then points CURRENT at it,
so a crash mid-ingest leaves readers on the last complete index.  Old generations are pruned.

With a Chroma server (setting ``chroma_url``) the vectors of generation ``gen-<id>`` live in the
server collection ``<collection>-gen-<id>`` instead of ``gen-<id>/chroma/``; everything else (BM25,
manifest, CURRENT) stays local, and the same copy-then-flip protocol applies: a new generation
copies the current collection on the server, and pruning drops superseded collections.

Left out: what to add or delete (``ingest.py`` decides) and fusion (``retrieve.py``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexMissingError, UserError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

KEEP_GENERATIONS = 2  # the current one plus its predecessor, for readers that still hold it


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


def index_root(data_dir: Path, collection: str) -> Path:
    return data_dir / "indexes" / collection


def current_generation(root: Path) -> Path | None:
    """The generation folder CURRENT points at, or None when no index is built yet."""
    try:
        name = (root / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    gen = root / name
    return gen if (gen / "manifest.json").is_file() else None


def read_manifest(gen: Path | None) -> dict[str, Any]:
    if gen is None:
        return {}
    try:
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"The index at {gen} is damaged ({e}); run 'chatbot ingest --rebuild'.") from e


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _chroma_client(path: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def _release_client(client) -> None:
    """Close Chroma's handles on a folder (it caches one system per path)."""
    try:
        client.clear_system_cache()
    except Exception:  # pragma: no cover - best effort across chromadb versions
        log.debug("could not clear chroma system cache", exc_info=True)


def _http_client(url: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from urllib.parse import urlparse

    parsed = urlparse(url)
    https = parsed.scheme == "https"
    try:
        return chromadb.HttpClient(host=parsed.hostname or "127.0.0.1", port=parsed.port or (443 if https else 8000),
                                   ssl=https, settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as e:  # chromadb raises ValueError, httpx errors, ... for an unreachable server
        raise UserError(f"The Chroma server at {url} cannot be reached; start it or fix the chroma_url setting.") from e


def _store(gen: Path, collection: str, chroma_url: str | None) -> tuple[Any, str]:
    """(client, collection name) holding one generation's vectors: its folder, or the server."""
    if chroma_url:
        return _http_client(chroma_url), f"{collection}-{gen.name}"
    return _chroma_client(gen / "chroma"), collection


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
                    client, name = _store(self.gen, self._collection_name, self.chroma_url)
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


class IndexWriter:
    """Builds the next generation from a copy of the current one; ``commit`` publishes it."""

    def __init__(self, data_dir: Path, collection: str, embedding_model: str, fresh: bool = False,
                 chroma_url: str | None = None):
        self.root = index_root(data_dir, collection)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock_file = _acquire_writer_lock(self.root)
        self.chroma_url = chroma_url
        prune_generations(self.root, chroma_url)
        self._model = embedding_model
        base = None if fresh else current_generation(self.root)
        # Names sort by creation time; the pid lets prune_generations spot a killed writer.
        self.gen = self.root / f"gen-{time.time_ns():016x}-{os.getpid()}"
        if base is not None:
            ignore = ("*.tmp", "chroma") if chroma_url else ("*.tmp",)
            shutil.copytree(base, self.gen, ignore=shutil.ignore_patterns(*ignore))
            tokens = json.loads((self.gen / "tokens.json").read_text(encoding="utf-8"))
            self._tokens: dict[str, list[str]] = dict(zip(tokens["ids"], tokens["tokens"]))
        else:
            self.gen.mkdir(parents=True)
            self._tokens = {}
        self._client, self._name = _store(self.gen, collection, chroma_url)
        self._collection = self._client.get_or_create_collection(
            self._name, embedding_function=None, metadata={"hnsw:space": "cosine", "embedding_model": embedding_model}
        )
        if chroma_url and base is not None:  # the server copy of the current generation
            _copy_collection(self._client.get_collection(f"{collection}-{base.name}", embedding_function=None),
                             self._collection)

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 5000):
            self._collection.delete(ids=ids[start : start + 5000])
        for cid in ids:
            self._tokens.pop(cid, None)

    def add(self, ids: list[str], texts: list[str], metadatas: list[dict], vectors: np.ndarray, tokens: list[list[str]]):
        self._collection.upsert(ids=ids, documents=texts, metadatas=metadatas, embeddings=vectors.tolist())
        self._tokens.update(zip(ids, tokens))

    def update_metadata(self, ids: list[str], metadatas: list[dict]) -> None:
        if ids:
            self._collection.update(ids=ids, metadatas=metadatas)

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Rebuild BM25, write the manifest, then atomically make this generation current."""
        import bm25s

        ids = list(self._tokens)
        write_json_atomic(self.gen / "tokens.json", {"ids": ids, "tokens": [self._tokens[i] for i in ids]})
        shutil.rmtree(self.gen / "bm25", ignore_errors=True)
        if ids:
            bm25 = bm25s.BM25()
            bm25.index([self._tokens[i] for i in ids], show_progress=False)
            bm25.save(str(self.gen / "bm25"))
        _release_client(self._client)
        write_json_atomic(self.gen / "manifest.json", {**manifest, "embedding_model": self._model, "chunk_ids": ids})
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(self.gen.name, encoding="utf-8")
        os.replace(tmp, self.root / "CURRENT")  # the one atomic step that publishes the index
        prune_generations(self.root, self.chroma_url)
        self._lock_file.close()
        return self.gen

    def abort(self) -> None:
        _release_client(self._client)
        if self.chroma_url:
            _drop_server_collection(self._client, self._name)
        shutil.rmtree(self.gen, ignore_errors=True)
        self._lock_file.close()


def _acquire_writer_lock(root: Path):
    """One writer per index: a second ingest fails fast instead of racing the first."""
    import fcntl

    handle = open(root / "ingest.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        handle.close()
        raise UserError("Another 'chatbot ingest' is updating this index; wait for it to finish.") from e
    return handle


def _copy_collection(source, target, batch: int = 1000) -> None:
    """Copy every vector, document and metadata of one server collection into another."""
    total = source.count()
    for offset in range(0, total, batch):
        got = source.get(include=["embeddings", "documents", "metadatas"], limit=batch, offset=offset)
        if got["ids"]:
            target.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                       metadatas=got["metadatas"])


def _drop_server_collection(client, name: str) -> None:
    try:
        client.delete_collection(name)
    except Exception:  # noqa: BLE001 - already gone, or the server is down: nothing to serve from it
        log.debug("could not delete server collection %s", name, exc_info=True)


def prune_generations(root: Path, chroma_url: str | None = None) -> None:
    """Delete superseded generations (keeping the newest KEEP_GENERATIONS complete ones) and
    unfinished ones whose writer process is gone (an ingest that was killed)."""
    current = current_generation(root)
    gens = sorted((p for p in root.glob("gen-*") if p.is_dir()), key=lambda p: p.name, reverse=True)
    complete = [g for g in gens if (g / "manifest.json").is_file()]
    keep = {current, *complete[:KEEP_GENERATIONS]}
    for gen in gens:
        if gen in keep:
            continue
        if gen in complete or not _writer_alive(gen):
            if chroma_url:
                _drop_server_collection(_http_client(chroma_url), f"{root.name}-{gen.name}")
            shutil.rmtree(gen, ignore_errors=True)


def _writer_alive(gen: Path) -> bool:
    """Is the process that created this (unfinished) generation still running?"""
    try:
        os.kill(int(gen.name.rsplit("-", 1)[1]), 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
