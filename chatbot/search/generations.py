"""Index generations on disk: where they live, which one is current, and pruning old ones.

Layout under ``<data_dir>/indexes/<collection>/`` (one folder per embedding model, so a new
model re-embeds instead of mixing vectors)::

    CURRENT             name of the generation readers use (replaced atomically)
    gen-<id>/chroma/    Chroma PersistentClient folder (embeddings we computed; never Chroma's own)
    gen-<id>/bm25/      bm25s index over ``tokens.json``
    gen-<id>/tokens.json  {"ids": [...], "tokens": [[...], ...]}  BM25 row -> chunk id
    gen-<id>/manifest.json  files, their parsed notes and the chunk ids (see ingest.py)

A writer (``writer.py``) copies the current generation, changes the copy, and only then points
CURRENT at it, so a crash mid-ingest leaves readers (``index.py``) on the last complete index.
Old generations are pruned.

With a Chroma server (setting ``chroma_url``) the vectors of generation ``gen-<id>`` live in the
server collection ``<collection>-gen-<id>`` instead of ``gen-<id>/chroma/``; everything else (BM25,
manifest, CURRENT) stays local, and the same copy-then-flip protocol applies: a new generation
copies the current collection on the server, and pruning drops superseded collections.

Left out: reading and writing a generation's contents (``index.py``, ``writer.py``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import UserError

log = logging.getLogger(__name__)

KEEP_GENERATIONS = 2  # the current one plus its predecessor, for readers that still hold it


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


def chroma_client(path: Path):
    """A Chroma client on one generation's own folder (telemetry off)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def release_client(client) -> None:
    """Close Chroma's handles on a folder (it caches one system per path)."""
    try:
        client.clear_system_cache()
    except Exception:  # pragma: no cover - best effort across chromadb versions
        log.debug("could not clear chroma system cache", exc_info=True)


def http_client(url: str):
    """A Chroma client on the server at ``url``; UserError when it cannot be reached."""
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


def generation_store(gen: Path, collection: str, chroma_url: str | None) -> tuple[Any, str]:
    """(client, collection name) holding one generation's vectors: its folder, or the server."""
    if chroma_url:
        return http_client(chroma_url), f"{collection}-{gen.name}"
    return chroma_client(gen / "chroma"), collection


def drop_server_collection(client, name: str) -> None:
    """Delete one server collection, best effort."""
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
                drop_server_collection(http_client(chroma_url), f"{root.name}-{gen.name}")
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
