"""Whole sections as passages: a retrieved chunk is shown with the rest of its section.

A Markdown section longer than ``section_chunk_size`` is split into several chunks, and its code
blocks are chunks of their own (``notes.chunk``).  Each chunk is searched on its own, which keeps
ranking sharp, but the answer often sits in the part that does not share the question's words:
the printed numbers of a code block below the prose that names them, the second half of a
worked example.  So a retrieved chunk becomes its whole section when the section is at most
``section_passage_size`` characters: the section's chunks stitched back at their offsets (a
verbatim slice of the note, line for line as in the file), ranked where its best chunk ranked,
and given once.

A section too long for that is given in part: when several of its chunks are among the ``k``
retrieved, they become one passage, with the chunks between them, up to ``merge_limit``
characters (LlamaIndex's auto-merging retriever, without its parent store: the ranking found the
section's parts, and the answer is often in the part that ranks a little lower than another).

LangChain's ``ParentDocumentRetriever`` does the same with a second store of parent documents;
here the parents are already in the chunk store (a section is a run of its note's chunks with
one heading path), so there is no second store to keep in step with each ingest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .index import StoredChunk
    from .retrieve import Passage


def whole_sections(
    passages: Sequence[Passage], chunks_of: Callable[[str], list[StoredChunk]], limit: int,
    cover: Callable[[str], float] | None = None, k: int | None = None, merge_limit: int = 0,
) -> list[Passage]:
    """``passages`` (best first) with each chunk replaced by its whole section when that is
    several chunks and at most ``limit`` characters, or, in a longer section, by the run from the
    first to the last of its chunks among the first ``k`` passages when that is at most
    ``merge_limit``; later chunks of a section already given are dropped.  ``chunks_of``: a
    note's chunks in order; ``cover``: the coverage of a text (the merged passage's is
    recomputed; its score stays its best chunk's); ``k``: how many are wanted."""
    if limit <= 0:
        return list(passages)
    notes: dict[str, list[StoredChunk]] = {}
    given: set[str] = set()
    out: list[Passage] = []
    retrieved = {p.chunk_id for p in passages[: k or len(passages)]}
    for passage in passages:
        if k is not None and len(out) >= k:
            break
        if passage.chunk_id in given:
            continue
        note_id = passage.note_id
        if note_id and note_id not in notes:
            notes[note_id] = chunks_of(note_id)
        run = section_run(notes.get(note_id, []), passage.chunk_id)
        text, metadata = stitch(run) if len(run) > 1 else ("", {})
        if text and len(text) > limit:
            run = _retrieved_part(run, retrieved - given)
            text, metadata = stitch(run) if len(run) > 1 else ("", {})
            if len(text) > merge_limit:
                text = ""
        if not text:
            out.append(passage)
            continue
        given.update(c.chunk_id for c in run)
        out.append(replace(passage, text=text, metadata={**passage.metadata, **metadata},
                           coverage=round(cover(text), 6) if cover else passage.coverage))
    return out


def _retrieved_part(run: Sequence[StoredChunk], retrieved: set[str]) -> list[StoredChunk]:
    """The chunks of ``run`` from the first to the last that is ``retrieved`` ([] if one or none is)."""
    at = [i for i, c in enumerate(run) if c.chunk_id in retrieved]
    return list(run[at[0] : at[-1] + 1]) if len(at) > 1 else []


def section_run(chunks: Sequence[StoredChunk], chunk_id: str) -> list[StoredChunk]:
    """The chunks around ``chunk_id`` (in ``chunks``, note order) with its heading path, unbroken."""
    at = next((i for i, c in enumerate(chunks) if c.chunk_id == chunk_id), None)
    if at is None:
        return []
    heading = chunks[at].metadata.get("heading", "")
    first = last = at
    while first > 0 and chunks[first - 1].metadata.get("heading", "") == heading:
        first -= 1
    while last + 1 < len(chunks) and chunks[last + 1].metadata.get("heading", "") == heading:
        last += 1
    return list(chunks[first : last + 1])


def stitch(run: Sequence[StoredChunk]) -> tuple[str, dict[str, Any]]:
    """The text of consecutive chunks of one note as one passage, and the metadata that changes.

    Chunks are verbatim slices of their note at known offsets (``start``) and lines, so overlaps
    are cut and the whitespace between two chunks becomes as many line ends as the file has there
    (a citation's line numbers stay exact)."""
    text = run[0].text
    end = int(run[0].metadata.get("start", 0)) + len(text)
    for before, chunk in zip(run, run[1:]):
        start = int(chunk.metadata.get("start", 0))
        if start < end:  # overlap: what the previous chunk already holds
            text += chunk.text[end - start :]
        else:
            gap = int(chunk.metadata.get("line_start", 0)) - int(before.metadata.get("line_end", 0))
            text += "\n" * gap if gap > 0 else " "
            text += chunk.text
        end = max(end, start + len(chunk.text))
    first, last = run[0].metadata, run[-1].metadata
    metadata: dict[str, Any] = {
        "line_start": first.get("line_start", 0),
        "line_end": last.get("line_end", 0),
        "start": first.get("start", 0),
        "chunk_index": first.get("chunk_index", 0),
        "sources": json.dumps(_spans(json.loads(first.get("sources", "[]")), json.loads(last.get("sources", "[]"))),
                              ensure_ascii=False),
        "chunks": len(run),
    }
    if any(c.metadata.get("kind", "prose") == "prose" for c in run):
        metadata["kind"] = "prose"
    return text, metadata


def _spans(first: list[str], last: list[str]) -> list[str]:
    """'a.md:L3-9' and 'a.md:L8-20' -> 'a.md:L3-20', location by location (a note in several files)."""
    out = []
    for head, tail in zip(first, last):
        file, _, lines = head.rpartition(":L")
        _, _, tail_lines = tail.rpartition(":L")
        if not file or "-" not in lines or "-" not in tail_lines:
            out.append(head)
            continue
        out.append(f"{file}:L{lines.split('-')[0]}-{tail_lines.split('-')[-1]}")
    return out
