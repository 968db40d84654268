"""Index generations on disk: where they live, which one is current, and pruning old ones.

Layout under ``<data_dir>/indexes/<collection>/`` (one folder per embedding model, so a new
model re-embeds instead of mixing vectors)::

    CURRENT             name of the generation readers use (replaced atomically)
    NEXT                a newer generation still filling in vectors, not served yet because the
                        current one is more complete (``publish``); the next writer starts from it
    gen-<id>/chroma/    Chroma PersistentClient folder (embeddings we computed; never Chroma's own)
    gen-<id>/bm25/      bm25s index over ``tokens.json``
    gen-<id>/tokens.json  {"ids": [...], "tokens": [[...], ...]}  BM25 row -> chunk id
    gen-<id>/manifest.json  files, their parsed notes and the chunk ids (see ingest.py)

    gen-<id>/chunks.sqlite  every chunk's text and metadata, with or without a vector (store.py)
    leases/<gen>.<pid>  a process serving that generation (``lease``): it is not pruned
    readers/<gen>.<pid>/  that process's copy of the generation's Chroma folder (``reader_copy``)
    vectors.sqlite      vectors already computed, by recipe and text (vectors.py)

A writer (``writer.py``) copies the current generation, changes the copy, and only then points
CURRENT at it, so a crash mid-ingest leaves readers (``index.py``) on the last complete index.
Superseded generations are pruned once no live process holds a lease on them.

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


def latest_generation(root: Path) -> Path | None:
    """The newest complete generation, served or not: NEXT when there is one, else CURRENT."""
    try:
        gen = root / (root / "NEXT").read_text(encoding="utf-8").strip()
        if (gen / "manifest.json").is_file():
            return gen
    except FileNotFoundError:
        pass
    return current_generation(root)


def publish(root: Path, gen: Path, serve: bool = True) -> None:
    """Make ``gen`` the one readers use (``serve``), or the NEXT one: complete on the lexical
    side but with vectors still missing, while CURRENT is more complete and keeps serving."""
    name = "CURRENT" if serve else "NEXT"
    tmp = root / f"{name}.tmp"
    tmp.write_text(gen.name, encoding="utf-8")
    os.replace(tmp, root / name)  # the one atomic step that publishes the index
    if serve:
        (root / "NEXT").unlink(missing_ok=True)


def dense_coverage(manifest: dict[str, Any]) -> float:
    """Share of a generation's chunks with a vector (1.0 when it has none to embed)."""
    total = len(manifest.get("chunk_ids", []))
    return 1.0 - len(manifest.get("pending", [])) / total if total else 1.0


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
        f.write(json.dumps(data, ensure_ascii=False))  # one shot: the C encoder (json.dump streams in Python)
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
    """Close Chroma's handles on a folder: ``close`` releases this client's system only (other
    clients in the process, e.g. a watch's writer, keep theirs); older releases clear the cache."""
    try:
        close = getattr(client, "close", None)
        if close is not None:
            close()
        else:  # pragma: no cover - chromadb before 1.1
            client.clear_system_cache()
    except Exception:  # pragma: no cover - best effort across chromadb versions
        log.debug("could not release the chroma client", exc_info=True)


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


def lease(gen: Path) -> Path:
    """Mark ``gen`` as served by this process (until ``release_lease``), so no ingest prunes it.
    The mark lives beside the generations, never inside one: serving writes nothing there."""
    leases = gen.parent / "leases"
    leases.mkdir(exist_ok=True)
    mark = leases / f"{gen.name}.{os.getpid()}"
    mark.touch()
    return mark


def reader_copy(gen: Path) -> Path:
    """A copy of ``gen``'s Chroma folder for this process to open (``readers/<gen>.<pid>``):
    Chroma writes into the folder it opens, and a published generation must stay as written.
    Removed by the reader's ``close``, or by the next prune once this process is gone."""
    copy = gen.parent / "readers" / f"{gen.name}.{os.getpid()}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(gen / "chroma", copy)
    return copy


def release_lease(mark: Path | None) -> None:
    if mark is not None:
        mark.unlink(missing_ok=True)


def _leased(root: Path) -> set[str]:
    """Names of generations a live process serves; marks of dead processes are removed."""
    names = set()
    for mark in (root / "leases").glob("gen-*"):
        name, _, pid = mark.name.rpartition(".")
        if pid_alive(pid):
            names.add(name)
        else:
            mark.unlink(missing_ok=True)
    return names


def prune_generations(root: Path, chroma_url: str | None = None) -> None:
    """Delete superseded generations (keeping CURRENT, NEXT and every one a live process
    serves) and unfinished ones whose writer process is gone (an
    ingest that was killed)."""
    current, latest = current_generation(root), latest_generation(root)
    gens = sorted((p for p in root.glob("gen-*") if p.is_dir()), key=lambda p: p.name, reverse=True)
    complete = [g for g in gens if (g / "manifest.json").is_file()]
    keep = {current, latest}
    leased = _leased(root)
    for copy in (root / "readers").glob("gen-*"):  # Chroma copies of readers that were killed
        if not pid_alive(copy.name.rpartition(".")[2]):
            shutil.rmtree(copy, ignore_errors=True)
    for gen in gens:
        if gen in keep or gen.name in leased:
            continue
        if gen in complete or not _writer_alive(gen):
            if chroma_url:
                drop_server_collection(http_client(chroma_url), f"{root.name}-{gen.name}")
            shutil.rmtree(gen, ignore_errors=True)


def _writer_alive(gen: Path) -> bool:
    """Is the process that created this (unfinished) generation still running?"""
    return pid_alive(gen.name.rsplit("-", 1)[-1])


def pid_alive(pid: str) -> bool:
    """Is the process with this id (a string, as in file names) running?"""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    try:  # a killed process nobody reaped (no init in a container) is a zombie: gone for us
        return Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
