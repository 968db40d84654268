"""Keep the index in step with the notes folder: incremental and atomic.

``ingest`` compares the files on disk with the manifest of the current index generation
(``scan.py``): unchanged files (same size and mtime, or same hash) are not even re-read (unless
the parser changed: ``load.PARSER_VERSION``); new and changed files are parsed; files gone from
disk are dropped.  Notes are de-duplicated across files, chunked, and only chunks whose content
is new get embedded (ids are content-addressed, so a rename or a moved note costs a metadata
update, not an embedding).  Everything lands in a new generation that becomes current in one
atomic step (see ``generations.py``).

A file that cannot be read is reported and skipped; if it was indexed before, its previous
notes stay in the index rather than vanish.  Following the folder as it changes: ``watch.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CorpusError
from ..notes.chunk import Chunk, chunk_notes
from ..notes.load import PARSER_VERSION, SUPPORTED_SUFFIXES
from ..notes.note import dedupe
from .embed import GLOSS_WEIGHT, Embedder, collection_name, embed_documents, make_embedder
from .generations import current_generation, index_root, read_manifest, write_json_atomic
from .glossary import Glossary, embedding_glossary
from .scan import note_from_json, scan, under
from .tokens import tokenize
from .vocabulary import VERSION as VOCABULARY_VERSION
from .vocabulary import learn as learn_vocabulary
from .writer import IndexWriter

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger(__name__)
MANIFEST_VERSION = 1


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
    notes: int = 0
    chunks: int = 0
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
        work = (
            f"{self.chunks_embedded} chunks embedded, {self.chunks_deleted} deleted, "
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
) -> IngestReport:
    """Bring the index in line with ``paths`` (default: the corpus folder). See module doc."""
    started = time.perf_counter()
    report = IngestReport()
    roots = [Path(p).expanduser() for p in (paths or [settings.corpus_dir])]
    collection = collection_name(settings.embedding_model)
    root_dir = index_root(settings.data_dir, collection)
    gen = current_generation(root_dir)
    old = {} if rebuild else read_manifest(gen)
    glossary = embedding_glossary(settings)
    view = f"gloss{GLOSS_WEIGHT:g}-{glossary.signature}" if glossary is not None else "text"
    reembed = bool(old) and old.get("dense_view") != view  # vectors of two recipes must not mix
    if reembed:
        report.reembedded_all = "the dense view (gloss_embeddings, the glossary or the rendering weight) changed"
    old_files: dict[str, Any] = old.get("files", {})

    report.reparsed = bool(old) and old.get("parser") != PARSER_VERSION
    files = scan(roots, old_files, int(settings.max_file_mb * 1e6), report, reparse=report.reparsed)
    if embedder is None and (rebuild or reembed or report.added or report.changed):
        # New text will need embedding: load torch + the model (seconds) in the background
        # while chunking, opening Chroma and jieba run here.
        embedder = make_embedder(settings)
        threading.Thread(target=embedder.warm, daemon=True).start()
    for key, entry in old_files.items():
        if key not in files:
            if under(key, roots):
                report.removed.append(entry["label"])
            else:
                files[key] = entry  # another root, not part of this ingest
    # A named folder with no note files (and none indexed before: emptying one is a removal) is
    # probably a wrong path or the wrong folder: say so instead of a bare "up to date".
    report.empty = [r for r in report.empty if not any(under(k, [Path(r)]) for k in old_files)]
    notes = dedupe([note_from_json(n) for key in sorted(files) for n in files[key]["notes"]])
    if not notes:
        where = ", ".join(str(r) for r in roots)
        reason = "; ".join(report.skipped) or f"no {'/'.join(SUPPORTED_SUFFIXES)} files with text"
        raise CorpusError(f"No notes to index in {where} ({reason}); add notes there, the index is unchanged.")

    chunks = {c.chunk_id: c for c in
              chunk_notes(notes, settings.chunk_size, settings.chunk_overlap, settings.section_chunk_size)}
    metas = {cid: c.metadata() for cid, c in chunks.items()}
    hashes = {cid: _meta_hash(m) for cid, m in metas.items()}
    old_hashes: dict[str, str] = {} if reembed else old.get("chunk_meta", {})
    to_add = [cid for cid in chunks if cid not in old_hashes]
    to_delete = [cid for cid in old_hashes if cid not in chunks]
    to_relabel = [cid for cid in chunks if cid in old_hashes and old_hashes[cid] != hashes[cid]]
    report.notes, report.chunks = len(notes), len(chunks)
    manifest = {
        "version": MANIFEST_VERSION, "files": files, "chunk_meta": hashes, "notes": len(notes), "dense_view": view,
        "parser": PARSER_VERSION, "vocabulary": VOCABULARY_VERSION,
    }
    # The notes' vocabulary is learned with every new generation; a new recipe learns it again.
    report.relearned = bool(old) and old.get("vocabulary") != VOCABULARY_VERSION

    if rebuild or reembed or to_add or to_delete or to_relabel or report.relearned:
        embedder = embedder or make_embedder(settings)
        writer = IndexWriter(settings.data_dir, collection, settings.embedding_model, fresh=rebuild or reembed,
                             chroma_url=settings.chroma_url)
        try:
            writer.delete(to_delete)
            writer.update_metadata(to_relabel, [metas[cid] for cid in to_relabel])
            _embed_and_add(writer, [chunks[cid] for cid in to_add], metas, embedder, glossary, settings, progress)
            frequencies = writer.document_frequencies()
            writer.write_vocabulary(learn_vocabulary((n.text for n in notes), lambda t: frequencies.get(t, 0)))
            writer.commit(manifest)
        except BaseException:
            writer.abort()
            raise
        report.chunks_embedded, report.chunks_deleted, report.chunks_relabelled = (
            len(to_add),
            len(to_delete),
            len(to_relabel),
        )
    elif gen is not None and (files != old_files or report.reparsed):
        # Only stat data changed (touched files): refresh the manifest in place, atomically.
        write_json_atomic(gen / "manifest.json", {**old, **manifest})
    report.seconds = time.perf_counter() - started
    return report


def _embed_and_add(
    writer: IndexWriter,
    chunks: list[Chunk],
    metas: dict[str, dict],
    embedder: Embedder,
    glossary: Glossary | None,
    settings: Settings,
    progress: bool,
) -> None:
    if not chunks:
        return
    from tqdm import tqdm

    texts = [search_text(c) for c in chunks]
    # Tokenise first: on a cold start this overlaps with the embedding model still loading.
    tokens = [tokenize(t) for t in texts]
    batch = max(settings.embedding_batch_size * 4, 64)
    with tqdm(total=len(chunks), unit="chunk", desc="Embedding", disable=not progress, leave=False) as bar:
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            writer.add(
                ids=[c.chunk_id for c in part],
                texts=[c.text for c in part],
                metadatas=[metas[c.chunk_id] for c in part],
                vectors=embed_documents(embedder, texts[start : start + batch], glossary),
                tokens=tokens[start : start + batch],
            )
            bar.update(len(part))
