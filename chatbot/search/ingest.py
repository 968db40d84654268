"""Keep the index in step with the notes folder: incremental and atomic.

``ingest`` compares the files on disk with the manifest of the current index generation
(``scan.py``): unchanged files (same size and mtime, or same hash) are not even re-read (unless
the parser changed: ``load.PARSER_VERSION``); new and changed files are parsed; files gone from
disk are dropped.  Notes are de-duplicated across files, chunked, and only chunks whose content
is new get embedded (ids are content-addressed, so a rename or a moved note costs a metadata
update, not an embedding).  Everything lands in a new generation that becomes current in one
atomic step (see ``generations.py``).

Answerable first: the lexical side (chunk texts, BM25 tokens, the learned vocabulary) is
committed as a generation before any model runs, with vectors taken from the cache
(``vectors.py``) where the same text was embedded before; the remaining chunks are ``pending``.
``fill`` then embeds them (one model pass per distinct text, batches sorted by length, every
batch cached as it is done) and publishes the complete generation.  A generation less complete
than the one being served is published as NEXT and served only once filled, so an edit never
makes the served index worse; an interrupted fill is resumed by the next ingest.

A file that cannot be read is reported and skipped; if it was indexed before, its previous
notes stay in the index rather than vanish.  Following the folder as it changes: ``watch.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CorpusError
from ..notes.chunk import CHUNKER_VERSION, Chunk, chunk_note
from ..notes.load import PARSER_VERSION, SUPPORTED_SUFFIXES
from ..notes.note import Note, content_hash, dedupe
from .embed import Embedder, collection_name, make_embedder
from .generations import (
    current_generation,
    dense_coverage,
    index_root,
    latest_generation,
    prune_generations,
    read_manifest,
    write_json_atomic,
)
from .fill import dense_view, embed_into, fill, fill_batch, vector_cache, vectors_from_cache
from .glossary import embedding_glossary
from .scan import note_from_json, scan, under
from .tokens import tokenize
from .vocabulary import VERSION as VOCABULARY_VERSION
from .vocabulary import learn as learn_vocabulary
from .vocabulary import relearn as relearn_vocabulary
from .vocabulary import text_pairs
from .writer import IndexWriter

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger(__name__)
MANIFEST_VERSION = 2  # 2: chunks.sqlite holds every chunk; vectors may be pending
Echo = Callable[[str], None]


@dataclass
class IngestReport:
    """What one ingest did."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # one sentence per unreadable file
    notices: list[str] = field(default_factory=list)  # read with a workaround, or empty: nothing to fix
    empty: list[str] = field(default_factory=list)  # roots named with no note files (and none removed)
    reembedded_all: str = ""  # why every chunk was embedded again (e.g. the glossary changed)
    reparsed: bool = False  # every file was parsed again: the parser changed since the last ingest
    relearned: bool = False  # the notes' vocabulary was learned again: its recipe changed
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    chunks_relabelled: int = 0
    chunks_from_cache: int = 0  # vectors found already computed (vectors.py)
    pending: int = 0  # chunks still without a vector when this report was made
    model_texts: int = 0  # texts the fill here put through the model (the rest came from the cache)
    served: bool = True  # the new generation is the one served (else NEXT, until filled)
    notes: int = 0
    chunks: int = 0
    files_read: int = 0
    megabytes: float = 0.0
    answerable_s: float = 0.0  # seconds from start until the new generation could answer
    seconds: float = 0.0

    @property
    def problems(self) -> bool:
        """Something the user should fix: an unreadable file, or a named folder without notes."""
        return bool(self.skipped or self.empty)

    @property
    def index_changed(self) -> bool:
        return bool(self.chunks_embedded or self.chunks_deleted or self.chunks_relabelled or self.relearned)

    def summary(self) -> str:
        files = (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged"
        )
        cached = f" ({self.chunks_from_cache} vectors from the cache)" if self.chunks_from_cache else ""
        work = (
            f"{self.chunks_embedded} chunks added{cached}, {self.chunks_deleted} deleted, "
            f"{self.chunks_relabelled} relabelled"
            if self.index_changed
            else "index already up to date"
        )
        lines = [f"Files: {files}. {work}. Index: {self.notes} notes, {self.chunks} chunks ({self.seconds:.1f} s)."]
        if self.reparsed:
            lines.append("Re-read every file: the note parser changed since the last ingest.")
        if self.reembedded_all:
            lines.append(f"Re-embedded every chunk: {self.reembedded_all}.")
        if self.relearned:
            lines.append("Learned the notes' vocabulary again: its recipe changed (nothing re-embedded).")
        if self.pending:
            lines.append(f"{self.pending} chunks still need vectors: answers use BM25 for them until the fill ends.")
        lines += [f"Skipped: {message}" for message in self.skipped]
        lines += [f"Note: {message}" for message in self.notices]
        lines += [
            f"Nothing to index in {root}: no {'/'.join(SUPPORTED_SUFFIXES)} files there; add notes or check the path."
            for root in self.empty
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------- chunks


def search_text(chunk: Chunk) -> str:
    """What gets embedded and BM25-tokenised: the chunk, plus heading/title context it lacks."""
    heading = chunk.heading or chunk.note.heading
    context = [heading] if heading else []
    if chunk.index > 0 and chunk.note.title and not heading.startswith(chunk.note.title):
        context.append(chunk.note.title)
    return "\n".join([*context, chunk.text])


def note_key(note: Note) -> str:
    """Everything a note's chunks and their metadata come from (with the chunking settings): its
    text, sections, locations and labels.  The same key, the same chunks."""
    return content_hash(json.dumps(
        [note.note_id, [astuple(loc) for loc in note.locations], note.title, note.category, note.date, note.heading,
         [astuple(section) for section in note.sections]], ensure_ascii=False))


def _chunks(notes: list[Note], chunking: list[int], old_note_chunks: dict[str, list[str]],
            old_hashes: dict[str, str]) -> tuple[dict[str, Chunk], dict[str, str], dict[str, list[str]]]:
    """(chunks made now, metadata hashes of the chunks kept, note key -> its chunk ids): a note
    whose key the last generation had keeps its chunks without being split again."""
    made: dict[str, Chunk] = {}
    kept: dict[str, str] = {}
    note_chunks: dict[str, list[str]] = {}
    for note in notes:
        key = note_key(note)
        ids = old_note_chunks.get(key)
        if ids is not None and all(cid in old_hashes for cid in ids):
            kept.update((cid, old_hashes[cid]) for cid in ids)
        else:
            pieces = chunk_note(note, *chunking[:3])
            made.update((c.chunk_id, c) for c in pieces)
            ids = [c.chunk_id for c in pieces]
        note_chunks[key] = ids
    return made, kept, note_chunks


def _meta_hash(meta: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(meta, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- ingest


def ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: bool = False,
    fill_now: bool = True,
    echo: Echo | None = None,
    wait: bool = False,
    on_new_chunks: Callable[[int], None] | None = None,
) -> IngestReport:
    """Bring the index in line with ``paths`` (default: the corpus folder). See module doc.

    ``fill_now``: embed the pending chunks here before returning (else leave them to ``fill``,
    e.g. in a background process); ``echo`` gets a line when the new generation is answerable;
    ``wait``: wait for another writer (a background fill) instead of failing;
    ``on_new_chunks(n)``: called once the new chunks are known, before the lexical side is built
    (the CLI starts the fill process then, so the model loads on the other core meanwhile).
    """
    started = time.perf_counter()
    report = IngestReport()
    roots = [Path(p).expanduser() for p in (paths or [settings.corpus_dir])]
    collection = collection_name(settings.embedding_model)
    root_dir = index_root(settings.data_dir, collection)
    if root_dir.is_dir():
        prune_generations(root_dir, settings.chroma_url)  # what a killed ingest left, even if nothing changed
    latest = latest_generation(root_dir)
    old = {} if rebuild else read_manifest(latest)
    glossary = embedding_glossary(settings)
    view = dense_view(glossary, settings.embedding_max_tokens)
    if old and old.get("version") != MANIFEST_VERSION:
        report.reembedded_all, old = "the index format changed (vectors are kept in a cache from now on)", {}
    reembed = bool(old) and old.get("dense_view") != view  # vectors of two recipes must not mix
    if reembed:
        report.reembedded_all = "the dense view (gloss_embeddings, the glossary or embedding_max_tokens) changed"
    fresh = rebuild or reembed or bool(report.reembedded_all)
    old_files: dict[str, Any] = old.get("files", {})

    report.reparsed = bool(old) and old.get("parser") != PARSER_VERSION
    files = scan(roots, old_files, int(settings.max_file_mb * 1e6), report, reparse=report.reparsed)
    for key, entry in old_files.items():
        if key not in files:
            if under(key, roots):
                report.removed.append(entry["label"])
            else:
                files[key] = entry  # another root, not part of this ingest
    # A named folder with no note files (and none indexed before: emptying one is a removal) is
    # probably a wrong path or the wrong folder: say so instead of a bare "up to date".
    report.empty = [r for r in report.empty if not any(under(k, [Path(r)]) for k in old_files)]
    report.files_read = len(report.added) + len(report.changed) + (len(files) if report.reparsed else 0)
    report.megabytes = sum(e["size"] for e in files.values()) / 1e6
    # The notes' vocabulary is learned with every new generation; a new recipe learns it again.
    report.relearned = bool(old) and old.get("vocabulary") != VOCABULARY_VERSION
    chunking = [settings.chunk_size, settings.chunk_overlap, settings.section_chunk_size, CHUNKER_VERSION]
    same_chunking = not fresh and not report.reparsed and old.get("chunking") == chunking
    if (same_chunking and not report.relearned
            and files.keys() == old_files.keys() and all(files[k]["sha1"] == old_files[k]["sha1"] for k in files)):
        # No note changed: the chunks are those of the manifest; skip parsing them out again.
        report.notes, report.chunks = old.get("notes", 0), len(old.get("chunk_ids", []))
        if files != old_files:  # only stat data changed (touched files): refresh the manifest in place
            write_json_atomic(latest / "manifest.json", {**old, "files": files})
        return _finish(report, settings, root_dir, started, embedder, progress, fill_now, wait, echo)

    notes = dedupe([note_from_json(n) for key in sorted(files) for n in files[key]["notes"]])
    if not notes:
        where = ", ".join(str(r) for r in roots)
        reason = "; ".join(report.skipped) or f"no {'/'.join(SUPPORTED_SUFFIXES)} files with text"
        raise CorpusError(f"No notes to index in {where} ({reason}); add notes there, the index is unchanged.")
    old_hashes: dict[str, str] = {} if fresh else old.get("chunk_meta", {})
    chunks, hashes, note_chunks = _chunks(notes, chunking, old.get("note_chunks", {}) if same_chunking else {},
                                          old_hashes)
    metas = {cid: c.metadata() for cid, c in chunks.items()}
    hashes.update((cid, _meta_hash(m)) for cid, m in metas.items())
    to_add = [cid for cid in chunks if cid not in old_hashes]
    to_delete = [cid for cid in old_hashes if cid not in hashes]
    to_relabel = [cid for cid in chunks if cid in old_hashes and old_hashes[cid] != hashes[cid]]
    report.notes, report.chunks = len(notes), len(hashes)
    # The pairs each note writes (``vocabulary.text_pairs``), kept for the notes that did not change.
    old_pairs = {} if report.relearned else old.get("note_pairs", {})
    pairs = {n.note_id: old_pairs[n.note_id] if n.note_id in old_pairs else text_pairs(n.text) for n in notes}
    manifest = {
        "version": MANIFEST_VERSION, "files": files, "chunk_meta": hashes, "notes": len(notes), "dense_view": view,
        "parser": PARSER_VERSION, "vocabulary": VOCABULARY_VERSION, "chunking": chunking,
        "note_chunks": note_chunks, "note_pairs": pairs,
    }
    # A few new chunks (an edited note) are embedded before the one commit: a second generation
    # and a second process would cost more than the model does.
    inline = len(to_add) <= settings.inline_embed_chunks
    if to_add and not inline and on_new_chunks:
        on_new_chunks(len(to_add))
    elif to_add and (inline or fill_now) and embedder is None:
        # Load the model (and Chroma) in the background while the lexical side is built.
        embedder = make_embedder(settings)
        threading.Thread(target=_warm, args=(embedder,), daemon=True).start()
    if fresh or to_add or to_delete or to_relabel or report.relearned:
        writer = IndexWriter(settings.data_dir, collection, settings.embedding_model, fresh=fresh,
                             chroma_url=settings.chroma_url, wait=wait, loose_limit=settings.loose_vectors)
        cache = vector_cache(settings, glossary)
        try:
            writer.delete(to_delete)
            writer.update_metadata(to_relabel, [metas[cid] for cid in to_relabel])
            searches = [search_text(chunks[cid]) for cid in to_add]
            writer.add_chunks(to_add, [chunks[cid].text for cid in to_add], [metas[cid] for cid in to_add],
                              searches, [tokenize(t) for t in searches])
            report.chunks_from_cache = vectors_from_cache(writer, to_add, cache, glossary)
            waiting = set(writer.pending)  # (a fill left unfinished keeps its chunks for the fill)
            if inline and (new := [cid for cid in to_add if cid in waiting]):
                report.model_texts = embed_into(writer, new, embedder or make_embedder(settings), glossary, cache,
                                                fill_batch(settings))
            frequencies = writer.document_frequencies()
            previous = None if fresh or report.relearned else writer.vocabulary()
            if previous is not None:  # only the words of the chunks added or deleted are looked at again
                learned = relearn_vocabulary(previous, pairs.values(), frequencies.get, writer.changed_tokens,
                                             settings.cache_dir)
            else:
                learned = learn_vocabulary(pairs.values(), frequencies.get, settings.cache_dir)
            writer.write_vocabulary(learned)
            current = read_manifest(current_generation(root_dir))
            new_coverage = 1.0 - len(writer.pending) / max(len(chunks), 1)
            report.served = not current or new_coverage >= dense_coverage(current)
            writer.commit(manifest, serve=report.served)
        except BaseException:
            writer.abort()
            raise
        finally:
            cache.close()
        report.chunks_embedded, report.chunks_deleted, report.chunks_relabelled = (
            len(to_add),
            len(to_delete),
            len(to_relabel),
        )
    elif latest is not None:
        write_json_atomic(latest / "manifest.json", {**old, **manifest})  # touched files, the chunking recorded
    return _finish(report, settings, root_dir, started, embedder, progress, fill_now, wait, echo)


def _warm(embedder: Embedder) -> None:
    embedder.warm()


def _finish(report: IngestReport, settings: Settings, root_dir: Path, started: float, embedder: Embedder | None,
            progress: bool, fill_now: bool, wait: bool, echo: Echo | None) -> IngestReport:
    """Say when the new generation became answerable, and fill in its vectors (``fill_now``)."""
    report.answerable_s = time.perf_counter() - started
    pending = read_manifest(latest_generation(root_dir)).get("pending", [])
    if pending and report.served and echo:
        echo(f"Answerable after {report.answerable_s:.1f} s (BM25 for all {report.chunks} chunks; "
             f"vectors for {report.chunks - len(pending)}).")
    report.pending = len(pending)
    if pending and fill_now:
        report.model_texts += fill(settings, embedder=embedder, progress=progress, wait=wait).embedded
        report.pending, report.served = 0, True
    report.seconds = time.perf_counter() - started
    return report
