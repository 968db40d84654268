"""Stage 3 — index, write side: build the next generation and publish it in one atomic step.

``IndexWriter`` copies the current generation (or starts a fresh one), applies deletes,
metadata updates and new chunks to the copy, rebuilds BM25 and only then points CURRENT at it
(``generations.py``).  One writer per index at a time (a file lock); ``abort`` drops the copy.

A chunk is added in two steps: ``add_chunks`` (text, metadata and BM25 tokens: answerable) and
``add_vectors`` (its vector, in Chroma).  A generation may be published with chunks still
``pending`` a vector; the next writer copies it and fills them in (``ingest.fill``).

Loose vectors: importing and opening Chroma costs about 2 s, more than the rest of a one-file
edit.  So a writer based on a generation that has a Chroma store keeps the few vectors it adds
in the chunk store (``store.vectors``: ``loose``), and notes the Chroma entries it deleted or
relabelled (``stale``) instead of opening Chroma; the reader searches the loose vectors exactly
and skips stale entries.  Once there are more than ``loose_limit`` of both, the writer moves
them into Chroma (``_flush``), as a cold ingest or a large fill does from the start.

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
from .store import ChunkStore
from .vocabulary import VOCABULARY_FILE, Learned
from .generations import (
    drop_server_collection,
    generation_store,
    index_root,
    latest_generation,
    prune_generations,
    publish,
    release_client,
    write_json_atomic,
)

if TYPE_CHECKING:
    import numpy as np


class IndexWriter:
    """Builds the next generation from a copy of the current one; ``commit`` publishes it."""

    def __init__(self, data_dir: Path, collection: str, embedding_model: str, fresh: bool = False,
                 chroma_url: str | None = None, wait: bool = False, loose_limit: int = 0):
        self.root = index_root(data_dir, collection)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock_file = _acquire_writer_lock(self.root, wait)
        self.chroma_url = chroma_url
        prune_generations(self.root, chroma_url)
        self._model = embedding_model
        self._collection_name = collection
        base = None if fresh else latest_generation(self.root)
        self.base = base
        # Names sort by creation time; the pid lets prune_generations spot a killed writer.
        self.gen = self.root / f"gen-{time.time_ns():016x}-{os.getpid()}"
        self.base_manifest: dict[str, Any] = {}
        if base is not None:
            ignore = ("*.tmp", "chroma") if chroma_url else ("*.tmp",)
            # Chroma's files are linked, not copied (tens of MB): this writer opens Chroma only to
            # change it, and then first makes copies of its own (``_own_chroma``).
            chroma = base / "chroma"
            shutil.copytree(base, self.gen, ignore=shutil.ignore_patterns(*ignore),
                            copy_function=lambda source, target: _link_or_copy(source, target, chroma))
            tokens = json.loads((self.gen / "tokens.json").read_text(encoding="utf-8"))
            self._tokens: dict[str, list[str]] = dict(zip(tokens["ids"], tokens["tokens"]))
            self.base_manifest = json.loads((self.gen / "manifest.json").read_text(encoding="utf-8"))
            (self.gen / "manifest.json").unlink()  # unfinished until commit writes its own
        else:
            self.gen.mkdir(parents=True)
            self._tokens = {}
        self._pending: set[str] = set(self.base_manifest.get("pending", []))
        self._loose: set[str] = set(self.base_manifest.get("loose", []))  # vectors in the chunk store
        self._stale: set[str] = set(self.base_manifest.get("stale", []))  # Chroma entries out of date
        self._embedded = len(self._tokens) - len(self._pending)
        # Loose vectors only beside a local Chroma store that exists (a server holds every vector).
        self._loose_limit = loose_limit if not chroma_url and (self.gen / "chroma").is_dir() else 0
        self._lexical_changed = base is None
        self.changed_tokens: set[str] = set()  # BM25 tokens of the chunks added or deleted here
        self._store = ChunkStore(self.gen, writable=True)
        self._client = None
        self._chroma = None

    @property
    def _collection(self):
        """The generation's Chroma collection, opened on first use: a lexical-only generation
        never imports Chroma (seconds saved before the first answer)."""
        if self._chroma is None:
            if not self.chroma_url:
                _own_chroma(self.gen / "chroma")
            self._client, self._name = generation_store(self.gen, self._collection_name, self.chroma_url)
            self._chroma = self._client.get_or_create_collection(
                self._name, embedding_function=None,
                metadata={"hnsw:space": "cosine", "embedding_model": self._model},
            )
            if self.chroma_url and self.base is not None and self._embedded:  # the server copy of the base
                _copy_collection(
                    self._client.get_collection(f"{self._collection_name}-{self.base.name}", embedding_function=None),
                    self._chroma,
                )
        return self._chroma

    @property
    def pending(self) -> list[str]:
        """Chunks of this generation without a vector yet, in id order."""
        return sorted(self._pending)

    def _in_chroma(self, cid: str) -> bool:
        """Does the Chroma store hold an entry for ``cid`` (current or stale)?"""
        return (cid in self._tokens and cid not in self._pending and cid not in self._loose) or cid in self._stale

    def _chroma_directly(self) -> bool:
        return self._chroma is not None or not self._loose_limit

    def delete(self, ids: list[str]) -> None:
        in_chroma = [cid for cid in ids if self._in_chroma(cid)]
        if in_chroma and self._chroma_directly():
            self._flush()
            self._delete_in_chroma(in_chroma)
        else:
            self._stale.update(in_chroma)
        loose = [cid for cid in ids if cid in self._loose]
        self._store.delete_vectors(loose)
        self._loose.difference_update(loose)
        self._store.delete(ids)
        for cid in ids:
            self.changed_tokens.update(self._tokens.get(cid, ()))
            self._tokens.pop(cid, None)
            self._pending.discard(cid)
        self._lexical_changed |= bool(ids)

    def add_chunks(self, ids: list[str], texts: list[str], metadatas: list[dict], searches: list[str],
                   tokens: list[list[str]]) -> None:
        """New chunks, answerable by BM25 once committed; each pending until ``add_vectors``."""
        self._store.put(ids, texts, metadatas, searches)
        self._tokens.update(zip(ids, tokens))
        self.changed_tokens.update(t for chunk in tokens for t in chunk)
        self._pending.update(ids)
        self._lexical_changed |= bool(ids)

    def stored(self, ids: list[str]) -> dict[str, tuple[str, dict, str]]:
        """(text, metadata, search text) of chunks in this generation."""
        searches = self._store.search_texts(ids)
        return {cid: (text, meta, searches[cid]) for cid, (text, meta) in self._store.get(ids).items()}

    def add_vectors(self, ids: list[str], texts: list[str], metadatas: list[dict], vectors: np.ndarray) -> None:
        """Vectors of chunks added before (here or in an earlier generation): loose while few."""
        if not self._chroma_directly() and len(self._loose | set(ids)) + len(self._stale) <= self._loose_limit:
            self._store.put_vectors(ids, vectors)
            self._loose.update(ids)
        else:
            self._flush()
            self._collection.upsert(ids=ids, documents=texts, metadatas=metadatas, embeddings=vectors.tolist())
        self._pending.difference_update(ids)

    def _delete_in_chroma(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 5000):  # Chroma's limit on one call
            self._collection.delete(ids=ids[start : start + 5000])

    def _flush(self) -> None:
        """Move the loose vectors into Chroma and bring its stale entries up to date."""
        if not (self._loose or self._stale):
            return
        collection = self._collection
        gone = [cid for cid in self._stale if cid not in self._tokens or cid in self._pending]
        relabelled = [cid for cid in self._stale if cid not in gone and cid not in self._loose]
        self._delete_in_chroma(gone)
        if relabelled:
            stored = self._store.get(relabelled)
            collection.update(ids=list(stored), metadatas=[meta for _, meta in stored.values()])
        ids, vectors = self._store.vectors()
        stored = self._store.get(ids)
        for start in range(0, len(ids), 1000):
            part = ids[start : start + 1000]
            collection.upsert(ids=part, documents=[stored[c][0] for c in part], metadatas=[stored[c][1] for c in part],
                              embeddings=vectors[start : start + 1000].tolist())
        self._store.delete_vectors()
        self._loose.clear()
        self._stale.clear()

    def document_frequencies(self) -> Counter:
        """BM25 token -> number of chunks holding it, over the generation being built."""
        return Counter(t for tokens in self._tokens.values() for t in set(tokens))

    def vocabulary(self) -> Learned | None:
        """The vocabulary of the generation this one was copied from (None: none, or a fresh one)."""
        return Learned.load(self.gen) if (self.gen / VOCABULARY_FILE).is_file() else None

    def write_vocabulary(self, learned: Learned) -> None:
        """Store the notes' learned vocabulary (``vocabulary.learn``) with this generation."""
        learned.save(self.gen)

    def update_metadata(self, ids: list[str], metadatas: list[dict]) -> None:
        if not ids:
            return
        self._store.update_metadata(ids, metadatas)
        in_chroma = [(cid, meta) for cid, meta in zip(ids, metadatas) if self._in_chroma(cid)]
        if in_chroma and self._chroma_directly():
            self._flush()
            self._collection.update(ids=[cid for cid, _ in in_chroma], metadatas=[meta for _, meta in in_chroma])
        else:
            self._stale.update(cid for cid, _ in in_chroma)  # the chunk store's metadata is the one served

    def commit(self, manifest: dict[str, Any], serve: bool = True) -> Path:
        """Rebuild BM25 (when chunks came or went), write the manifest, then atomically make
        this generation current (``serve``), or the next one, kept until its vectors are filled
        in (``generations.publish``)."""
        if self._chroma is not None or len(self._loose) + len(self._stale) > self._loose_limit:
            self._flush()
        ids = list(self._tokens)
        if self._lexical_changed or not (self.gen / "tokens.json").is_file():
            import bm25s

            write_json_atomic(self.gen / "tokens.json", {"ids": ids, "tokens": [self._tokens[i] for i in ids]})
            shutil.rmtree(self.gen / "bm25", ignore_errors=True)
            if any(self._tokens[i] for i in ids):  # bm25s cannot index chunks with no token at all
                bm25 = bm25s.BM25()
                bm25.index([self._tokens[i] for i in ids], show_progress=False)
                bm25.save(str(self.gen / "bm25"))
        self._store.close()
        if self._client is not None:
            release_client(self._client)
        write_json_atomic(self.gen / "manifest.json", {**manifest, "embedding_model": self._model,
                                                       "chunk_ids": ids, "pending": self.pending,
                                                       "loose": sorted(self._loose), "stale": sorted(self._stale)})
        publish(self.root, self.gen, serve)
        prune_generations(self.root, self.chroma_url)
        self._lock_file.close()
        return self.gen

    def abort(self) -> None:
        self._store.close()
        if self._client is not None:
            release_client(self._client)
        if self.chroma_url and self._client is not None:
            drop_server_collection(self._client, self._name)
        shutil.rmtree(self.gen, ignore_errors=True)
        self._lock_file.close()


def _link_or_copy(source: str, target: str, linked: Path) -> None:
    """copytree's copy: a hard link for a file under ``linked`` (the Chroma folder), a copy for the rest."""
    if Path(source).is_relative_to(linked):
        try:
            os.link(source, target)
            return
        except OSError:  # another file system, or no links there: copy
            pass
    shutil.copy2(source, target)


def _own_chroma(folder: Path) -> None:
    """Replace the linked Chroma files by copies before Chroma writes to them: the generation
    they came from is served and must stay as it was written."""
    if not folder.is_dir() or all(p.stat().st_nlink == 1 for p in folder.rglob("*") if p.is_file()):
        return
    copy = folder.with_name("chroma.own.tmp")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy)
    shutil.rmtree(folder)
    copy.rename(folder)


def wait_for_writer(root: Path) -> None:
    """Return once no writer holds this index (without becoming one)."""
    if root.is_dir():
        _acquire_writer_lock(root, wait=True).close()


def _acquire_writer_lock(root: Path, wait: bool = False):
    """One writer per index: a second ingest fails fast instead of racing the first (``wait``:
    it waits its turn, e.g. behind a fill running in the background)."""
    import fcntl

    handle = open(root / "ingest.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
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
