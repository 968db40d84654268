"""Fill in vectors: embed the chunks an ingest published without one, and publish them complete.

``ingest`` commits the lexical side first (answerable in seconds) and leaves new chunks
``pending``; ``fill`` embeds them (in the ingest's process, or in a process of its own that the
CLI starts so the model loads on the other core) and publishes the complete generation.

One model pass per distinct text, in batches sorted by length; every batch is stored in the
vector cache (``vectors.py``) as soon as it is embedded, so a killed fill loses at most one
batch and the next ingest resumes it.  While it runs, ``fill.json`` beside the generations says
how far it is (``fill_status``; the UI's Notes tab shows it).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .embed import Embedder, collection_name, dense_text, make_embedder
from .generations import index_root, latest_generation, pid_alive, read_manifest, write_json_atomic
from .glossary import Glossary, embedding_glossary
from .vectors import VectorCache
from .writer import IndexWriter, wait_for_writer

if TYPE_CHECKING:
    from pathlib import Path

    from ..settings import Settings

FILL_STATUS = "fill.json"  # a running fill's progress, beside the generations


def dense_view(glossary: Glossary | None, max_tokens: int) -> str:
    """The dense recipe: what ``embed.dense_text`` gives the model, and how many of its tokens
    the model reads (``embedding_max_tokens``).  Vectors of two recipes never mix."""
    view = f"render-{glossary.signature}" if glossary is not None else "text"
    return f"{view}-t{max_tokens}" if max_tokens else view


@dataclass
class FillReport:
    """What one fill did: chunks given vectors, how many texts the model computed for them."""

    chunks: int = 0
    embedded: int = 0  # distinct texts the model embedded (the rest: cache or duplicates)
    seconds: float = 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


def fill_status(settings: Settings) -> dict[str, Any] | None:
    """A running fill's progress ({pid, done, total, started}: wall-clock seconds), else None."""
    path = index_root(settings.data_dir, collection_name(settings.embedding_model)) / FILL_STATUS
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return status if pid_alive(str(status.get("pid"))) else None


def fill_running(settings: Settings) -> bool:
    return fill_status(settings) is not None


def fill_batch(settings: Settings) -> int:
    """Chunks per fill batch: what is cached (and lost to a kill) at a time."""
    return max(settings.embedding_batch_size * 8, 64)


def vector_cache(settings: Settings, glossary: Glossary | None) -> VectorCache:
    """The vector cache of ``settings``' embedding model, for the current dense recipe."""
    root = index_root(settings.data_dir, collection_name(settings.embedding_model))
    return VectorCache(root / "vectors.sqlite", dense_view(glossary, settings.embedding_max_tokens))


def vectors_from_cache(writer: IndexWriter, ids: list[str], cache: VectorCache, glossary: Glossary | None) -> int:
    """Give the chunks ``ids`` whose dense text was embedded before their cached vector; how many."""
    import numpy as np

    if not ids:
        return 0
    stored = writer.stored(ids)
    texts = {cid: dense_text(search, glossary) for cid, (_, _, search) in stored.items()}
    vectors = cache.get(texts.values())
    hits = [cid for cid in ids if texts[cid] in vectors]
    for start in range(0, len(hits), 1000):
        part = hits[start : start + 1000]
        writer.add_vectors(part, [stored[c][0] for c in part], [stored[c][1] for c in part],
                           np.stack([vectors[texts[c]] for c in part]))
    return len(hits)


def embed_into(
    writer: IndexWriter,
    ids: list[str],
    embedder: Embedder,
    glossary: Glossary | None,
    cache: VectorCache,
    batch: int,
    progress: bool = False,
    status: Path | None = None,
) -> int:
    """Give the chunks ``ids`` of ``writer`` their vectors, batch by batch, caching each batch;
    how many texts went through the model.  ``status``: a file to keep the progress in."""
    import numpy as np
    from tqdm import tqdm

    stored = writer.stored(ids)
    texts = {cid: dense_text(stored[cid][2], glossary) for cid in ids}
    order = sorted(ids, key=lambda cid: (len(texts[cid]), texts[cid]))  # even batches; twins adjacent
    progress_of = {"pid": os.getpid(), "done": 0, "total": len(order), "started": time.time()}
    through_model = 0
    with tqdm(total=len(order), unit="chunk", desc="Embedding", disable=not progress, leave=False) as bar:
        for start in range(0, len(order), batch):
            if status is not None:
                write_json_atomic(status, {**progress_of, "done": start})
            part = order[start : start + batch]
            wanted = [texts[cid] for cid in part]
            vectors = cache.get(wanted)
            missing = [t for t in dict.fromkeys(wanted) if t not in vectors]
            if missing:
                computed = embedder.embed(missing)  # (len(missing), dim)
                cache.put(missing, computed)
                vectors.update(zip(missing, computed))
                through_model += len(missing)
            writer.add_vectors(part, [stored[c][0] for c in part], [stored[c][1] for c in part],
                               np.stack([vectors[t] for t in wanted]))
            bar.update(len(part))
    return through_model


def fill(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
    wait: bool = False,
) -> FillReport:
    """Embed the pending chunks of the newest generation and publish it complete (see the
    module doc).  ``wait``: wait for another writer instead of failing."""
    started = time.perf_counter()
    report = FillReport()
    collection = collection_name(settings.embedding_model)
    root_dir = index_root(settings.data_dir, collection)
    if wait and not read_manifest(latest_generation(root_dir)).get("pending"):
        wait_for_writer(root_dir)  # a fill running elsewhere: its result is what we wait for
    if not read_manifest(latest_generation(root_dir)).get("pending"):
        return report
    writer = IndexWriter(settings.data_dir, collection, settings.embedding_model, chroma_url=settings.chroma_url,
                         wait=wait, loose_limit=settings.loose_vectors)
    pending = writer.pending
    if not pending:  # another fill finished it while we waited
        writer.abort()
        return report
    glossary = embedding_glossary(settings)
    cache = vector_cache(settings, glossary)
    try:
        report.embedded = embed_into(writer, pending, embedder or make_embedder(settings), glossary, cache,
                                     fill_batch(settings), progress, root_dir / FILL_STATUS)
        writer.commit({**writer.base_manifest}, serve=True)
    except BaseException:
        writer.abort()
        raise
    finally:
        cache.close()
        (root_dir / FILL_STATUS).unlink(missing_ok=True)
    report.chunks = len(pending)
    report.seconds = time.perf_counter() - started
    return report
