"""What the browser app can do, independent of Gradio: ask, swap models, list, view and add notes.

``NotesApp`` holds the state shared by every browser session: the answer chain (with its one
loaded model) and the index.  Per-session state (the conversation) is passed in by the caller.
Switching to a newer index generation (``follow_index``, checked before every question) takes
the index lock for writing; questions take it for reading while they retrieve (in parallel
with each other), so a switch never happens under a running retrieval.  Notes are viewed by note id from the index
manifest, never by a path from the browser, so nothing outside the indexed corpus is served.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CorpusError, UserError

if TYPE_CHECKING:
    from ..answers.answer import Answerer
    from ..answers.result import Event
    from ..settings import Settings
    from ..study.check import Verdict
    from ..study.deck import DeckCard
    from ..study.session import Made, Study

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".md", ".txt", ".pdf")
EXTRACTIVE = ""  # the model picker's value for "no model"


class ReadWriteLock:
    """Many readers (questions retrieving) or one writer (a re-index); the stdlib has none."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@dataclass(frozen=True)
class NoteView:
    title: str
    text: str
    locations: list[str]


class NotesApp:
    """The operations behind the UI and its API."""

    def __init__(self, settings: Settings, answerer: Answerer):
        self.settings = settings
        self.answerer = answerer
        self.index_lock = ReadWriteLock()
        self.warmed = threading.Event()
        self.indexing = ""  # what a re-index from this app is doing now ("" when none runs)
        self._study: Study | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> NotesApp:
        from ..answers.answer import Answerer

        return cls(settings, Answerer.from_settings(settings))

    def warm_in_background(self) -> threading.Thread:
        """Load the embedding model and open the index while the page is already served."""

        def warm() -> None:
            try:
                self.answerer.retriever.index.warm()
                self.answerer.retriever.embedder.warm()
            except Exception:  # noqa: BLE001 - the first question reports any real problem
                log.exception("warm-up failed")
            finally:
                self.warmed.set()

        thread = threading.Thread(target=warm, name="warm-up", daemon=True)
        thread.start()
        return thread

    # -- questions ----------------------------------------------------------------------
    def prepare(self, question: str, history: list[tuple[str, str]], **overrides: Any) -> dict[str, Any]:
        self.follow_index()
        with self.index_lock.read():
            return self.answerer.prepare(question, history, **overrides)

    def respond(self, prepared: dict[str, Any]) -> Iterator[Event]:
        return self.answerer.respond(prepared)

    def ask(self, question: str) -> dict[str, Any]:
        """One answer as the JSON contract of ``chatbot ask --json`` (the UI's /ask API)."""
        from ..answers.result import Done

        for event in self.respond(self.prepare(question, [])):
            if isinstance(event, Done):
                return event.answer.to_json()
        raise RuntimeError("no answer")  # pragma: no cover

    # -- models -------------------------------------------------------------------------
    def model_choices(self) -> list[tuple[str, str]]:
        """(label, value) for the picker: no model first, then GGUF files of the models folder."""
        from ..models.llm import list_models

        choices = [("No model (extractive)", EXTRACTIVE)]
        for info in list_models(self.settings.effective_models_dir):
            size = f"{info.size_bytes / 2**20:.0f} MiB"
            label = f"{info.path.name} ({info.architecture or '?'}, {size})" if not info.error else f"{info.path.name} ({info.error})"
            choices.append((label, str(info.path)))
        current = self.answerer.model
        if current is not None and str(current.path) not in {v for _, v in choices}:
            choices.append((f"{current.path.name} (loaded)", str(current.path)))
        return choices

    def catalog_choices(self) -> list[tuple[str, str]]:
        """(label, name) of the catalog's models ('chatbot models pull NAME'), marked when present."""
        from ..models.catalog import CATALOG
        from ..models.pull import is_pulled

        folder = self.settings.effective_models_dir
        return [(("✓ " if is_pulled(m, folder) else "") + m.label, m.name) for m in CATALOG]

    def pull_model(self, name: str, progress: bool = False) -> str:
        """Fetch catalog model ``name`` into the models folder (UserError says why not)."""
        from ..errors import UserError
        from ..models.catalog import find
        from ..models.pull import pull

        entry = find(name or "")
        if entry is None:
            raise UserError("Pick a model of the catalog first.")
        path = pull(entry, self.settings.effective_models_dir, offline=self.settings.offline,
                    cache_dir=self.settings.cache_dir, progress=progress)
        return f"Downloaded and checked {path.name} (sha256 as in the catalog); pick it above and press Load."

    def current_model(self) -> str:
        return str(self.answerer.model.path) if self.answerer.model is not None else EXTRACTIVE

    def load_model(self, value: str) -> str:
        """Switch to the GGUF at ``value`` (EXTRACTIVE: none); UserError keeps the previous model."""
        path = Path(value.strip()).expanduser() if value.strip() else None
        self.answerer.set_model(path)
        return f"Loaded {self.answerer.model.name}." if path else "No model loaded: answers are extracted passages."

    # -- notes --------------------------------------------------------------------------
    def files(self) -> list[list[Any]]:
        """[file, notes, KiB] per indexed file."""
        manifest = self.answerer.retriever.index.manifest
        rows = []
        for entry in manifest.get("files", {}).values():
            rows.append([entry.get("label", ""), len(entry.get("notes", [])), round(entry.get("size", 0) / 1024, 1)])
        return sorted(rows)

    def index_status(self) -> str:
        """One Markdown paragraph: files, chunks, the share with vectors, the last change, and a
        fill or re-index under way (the Notes tab polls it)."""
        import time as clock

        from ..search.generations import latest_generation, read_manifest
        from ..search.fill import fill_status

        self.follow_index()
        index = self.answerer.retriever.index
        files = index.manifest.get("files", {})
        changed = max((entry.get("mtime_ns", 0) for entry in files.values()), default=0) / 1e9
        when = clock.strftime("%Y-%m-%d %H:%M", clock.localtime(changed)) if changed else "never"
        lines = [f"**Index**: {len(files)} files, {index.count} chunks, {index.dense_coverage:.0%} with vectors; "
                 f"last change to a note {when}."]
        latest = latest_generation(index.gen.parent)
        if latest is not None and latest != index.gen:
            waiting = read_manifest(latest)
            lines.append(f"A newer index ({len(waiting.get('chunk_ids', []))} chunks) is being embedded; it is served "
                         "once complete, the current one answers until then.")
        status = fill_status(self.settings)
        if status and status.get("total"):
            done, total = status["done"], status["total"]
            elapsed = max(clock.time() - status["started"], 1e-6)
            rate = done / elapsed
            eta = f", about {(total - done) / rate:.0f} s left" if rate > 0 else ""
            lines.append(f"Embedding: {done} of {total} chunks ({rate:.1f} chunks/s{eta}).")
        elif index.dense_coverage < 1:
            lines.append("Some chunks have no vector yet (the fill was interrupted): they are found by BM25 alone "
                         "until the next re-index.")
        if self.indexing:
            lines.append(f"Re-indexing: {self.indexing}")
        return "\n\n".join(lines)

    def note(self, note_id: str) -> NoteView | None:
        """The whole note with this id, from the index manifest (never from a path)."""
        from ..notes.note import content_hash

        for entry in self.answerer.retriever.index.manifest.get("files", {}).values():
            for note in entry.get("notes", []):
                if content_hash(note["text"]) == note_id:
                    locations = [f"{loc['source']}:L{loc['line_start']}-{loc['line_end']}" for loc in note["locations"]]
                    return NoteView(note.get("title", ""), note["text"], locations)
        return None

    def add_notes(self, uploads: list[Path]) -> tuple[list[str], list[str]]:
        """Copy acceptable uploads into the notes folder; (added names, one sentence per rejected file)."""
        added, rejected = [], []
        for upload in uploads:
            try:
                added.append(self._accept(upload))
            except UserError as e:
                rejected.append(str(e))
        return added, rejected

    def _accept(self, upload: Path) -> str:
        from ..notes.load import load_file

        name = re.sub(r"[^\w.\- ]", "_", Path(upload.name).name).lstrip(".") or "note.txt"
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise UserError(f"{name}: only .md, .txt and .pdf notes can be added.")
        notes = load_file(upload, upload.parent, int(self.settings.max_file_mb * 1e6))  # CorpusError says why
        if not notes:
            raise CorpusError(f"{name} has no text to index.")
        folder = self.settings.corpus_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        counter = 1
        while target.exists():  # never overwrite a note
            target = folder / f"{Path(name).stem}-{counter}{Path(name).suffix}"
            counter += 1
        shutil.copyfile(upload, target)
        return target.name

    # -- study --------------------------------------------------------------------------
    @property
    def study(self) -> Study:
        """The study deck of the data dir (shared by every session, like the index)."""
        if self._study is None:
            from ..study.session import Study

            self._study = Study(self.settings)
        return self._study

    def next_card(self) -> DeckCard | None:
        """The card to review now (the deck first follows the index), or None when none is due."""
        due = self.study.due()
        return due[0] if due else None

    def make_cards(self, n: int, notes_filter: str = "") -> Made:
        """Cards from the notes (with the loaded model when there is one, else offline)."""
        from ..models.llm import LocalModel

        model = self.answerer.model if isinstance(self.answerer.model, LocalModel) else None
        return self.study.new_cards(n, notes_filter=notes_filter, model=model)

    def check_typed(self, deck_card: DeckCard, typed: str) -> Verdict | None:
        """The typed answer against the card's; with a model loaded, also the model's judgement."""
        from ..study.check import suggest

        try:
            return suggest(typed, deck_card.card, self.answerer.model)
        except Exception:  # noqa: BLE001 - the offline verdict stands; the model's failure is logged
            log.exception("the model could not judge the typed answer")
            return suggest(typed, deck_card.card)

    def study_status(self) -> str:
        counts = self.study.deck.counts()
        flagged = f", {counts['changed']} flagged (their passage changed)" if counts["changed"] else ""
        return (f"**Study deck**: {counts['due']} due of {counts['cards']} cards{flagged}; "
                f"{counts['reviews']} reviews done.")

    def follow_index(self) -> None:
        """Serve the newest published generation (an ingest here, in another process or a
        folder watch published it): switched between questions, never under a running one."""
        if self.answerer.index_is_stale():
            with self.index_lock.write():
                self.answerer.follow_index()

    def reindex(self, progress: Callable[[str], None] | None = None) -> str:
        """Incremental ingest of the notes folder, then serve the new index; the summary sentence.
        Questions go on meanwhile, from the generation served until the new one is published."""
        from ..search.ingest import ingest

        def say(line: str) -> None:
            self.indexing = line
            if progress:
                progress(line)

        say("reading the notes folder…")
        try:
            report = ingest(self.settings, embedder=self.answerer.retriever.embedder, echo=say)
        finally:
            self.indexing = ""
        self.follow_index()
        return report.summary()
