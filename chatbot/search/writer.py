"""Stage 3 — index, write side: build the next generation and publish it in one atomic step.

``IndexWriter`` copies the current generation (or starts a fresh one), applies deletes,
metadata updates and new chunks to the copy, rebuilds BM25 and only then points CURRENT at it
(``generations.py``).  One writer per index at a time (a file lock); ``abort`` drops the copy.

Left out: what to add or delete (``ingest.py`` decides).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from .vocabulary import Learned
from .generations import (
    current_generation,
    drop_server_collection,
    generation_store,
    index_root,
    prune_generations,
    release_client,
    write_json_atomic,
)

if TYPE_CHECKING:
    import numpy as np


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
        self._client, self._name = generation_store(self.gen, collection, chroma_url)
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

    def document_frequencies(self) -> Counter:
        """BM25 token -> number of chunks holding it, over the generation being built."""
        return Counter(t for tokens in self._tokens.values() for t in set(tokens))

    def write_vocabulary(self, learned: Learned) -> None:
        """Store the notes' learned vocabulary (``vocabulary.learn``) with this generation."""
        learned.save(self.gen)

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
        release_client(self._client)
        write_json_atomic(self.gen / "manifest.json", {**manifest, "embedding_model": self._model, "chunk_ids": ids})
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(self.gen.name, encoding="utf-8")
        os.replace(tmp, self.root / "CURRENT")  # the one atomic step that publishes the index
        prune_generations(self.root, self.chroma_url)
        self._lock_file.close()
        return self.gen

    def abort(self) -> None:
        release_client(self._client)
        if self.chroma_url:
            drop_server_collection(self._client, self._name)
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
