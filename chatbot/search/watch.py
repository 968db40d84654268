"""Follow the notes folder: re-ingest whenever a file is created, modified, deleted or renamed.

Bursts of file events are coalesced into one ingest; the embedding model stays loaded between
runs.  Left out: what an ingest does (``ingest.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CorpusError
from .embed import Embedder, make_embedder
from .ingest import IngestReport, ingest

if TYPE_CHECKING:
    from ..settings import Settings


def watch(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    stop: threading.Event | None = None,
    on_report: Callable[[IngestReport | Exception], None] = print,
    debounce_s: float = 1.0,
    embedder: Embedder | None = None,
    echo: Callable[[str], None] | None = None,
) -> None:
    """Re-ingest whenever files under ``paths`` are created, modified, deleted or renamed.

    Runs until ``stop`` is set (or forever).  Bursts of events within ``debounce_s`` are
    coalesced into one ingest; the embedding model stays loaded between runs.  Each change is
    answerable (published lexically, ``echo`` says when) before its vectors are filled in.
    """
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    stop = stop or threading.Event()
    roots = [Path(p).expanduser() for p in (paths or [settings.corpus_dir])]
    dirty = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type not in ("opened", "closed_no_write"):
                dirty.set()

    observer = Observer()
    for root in roots:
        observer.schedule(Handler(), str(root if root.is_dir() else root.parent), recursive=True)
    observer.start()
    embedder = embedder or make_embedder(settings)
    try:
        while not stop.is_set():
            if not dirty.wait(timeout=0.2):
                continue
            while dirty.is_set() and not stop.is_set():  # wait for a quiet moment
                dirty.clear()
                time.sleep(debounce_s)
            try:
                on_report(ingest(settings, paths, embedder=embedder, echo=echo))
            except CorpusError as e:
                on_report(e)
    finally:
        observer.stop()
        observer.join()
