"""Whole sections as passages: the chunks of one Markdown section stitched back, line for line."""

from __future__ import annotations

import json

from chatbot.notes.chunk import chunk_note
from chatbot.notes.markdown import parse_markdown
from chatbot.search.index import StoredChunk
from chatbot.search.retrieve import Passage
from chatbot.search.sections import section_run, stitch, whole_sections

PROSE = "".join(f"第{i}句讲梯度检查点如何用重算换显存。" for i in range(12))
MARKDOWN = f"""# 显存

## 梯度检查点

{PROSE}

```
Number of parameters: 82594560
```

## 混合精度

FP16 与 BF16 的区别在于指数位数。
"""


def _stored(section_size: int = 200) -> list[StoredChunk]:
    (note,) = parse_markdown(MARKDOWN, "notes/memory.md")
    return [StoredChunk(c.chunk_id, c.text, c.metadata()) for c in chunk_note(note, 120, 30, section_size)]


def _passage(chunk: StoredChunk, score: float) -> Passage:
    return Passage(chunk.chunk_id, chunk.text, chunk.metadata, score, 0.0, score)


def test_a_split_section_is_stitched_back_verbatim_with_exact_lines():
    chunks = _stored()
    run = section_run(chunks, chunks[1].chunk_id)
    assert len(run) > 2 and {c.metadata["heading"] for c in run} == {"显存 › 梯度检查点"}
    assert any(c.metadata.get("kind") == "code" for c in run)
    text, meta = stitch(run)
    file_lines = MARKDOWN.splitlines()
    assert text.startswith("## 梯度检查点") and text.endswith("```")
    assert PROSE in text and text.count(PROSE[:12]) == 1  # overlaps cut, nothing repeated
    # Every line of the passage is the file's line at the cited position.
    for offset, line in enumerate(text.split("\n")):
        assert file_lines[meta["line_start"] - 1 + offset].strip() == line.strip()
    assert meta["line_end"] - meta["line_start"] == text.count("\n")
    assert json.loads(meta["sources"]) == [f"notes/memory.md:L{meta['line_start']}-{meta['line_end']}"]
    assert meta["kind"] == "prose"


def test_retrieved_chunks_become_their_section_once_ranked_at_the_best_chunk():
    chunks = _stored()
    by_note = {chunks[0].metadata["note_id"]: chunks}
    code = next(c for c in chunks if c.metadata.get("kind") == "code")
    other = next(c for c in chunks if c.metadata["heading"] == "显存 › 混合精度")
    first = next(c for c in chunks if c.metadata["heading"] == "显存 › 梯度检查点")
    passages = [_passage(code, 0.9), _passage(other, 0.5), _passage(first, 0.4)]
    merged = whole_sections(passages, by_note.__getitem__, 2000, cover=lambda text: 1.0 if "82594560" in text else 0.0)
    assert [p.chunk_id for p in merged] == [code.chunk_id, other.chunk_id]  # the section's later chunk is given once
    assert merged[0].score == 0.9 and "82594560" in merged[0].text and PROSE in merged[0].text
    assert merged[0].coverage == 1.0  # coverage of the passage as shown
    assert merged[1].text == other.text  # a one-chunk section stays as it is


def test_a_section_over_the_limit_and_a_limit_of_zero_leave_the_chunks():
    chunks = _stored()
    by_note = {chunks[0].metadata["note_id"]: chunks}
    passages = [_passage(chunks[1], 0.9), _passage(chunks[2], 0.8)]
    assert [p.text for p in whole_sections(passages, by_note.__getitem__, 100)] == [chunks[1].text, chunks[2].text]
    assert [p.text for p in whole_sections(passages, by_note.__getitem__, 0)] == [chunks[1].text, chunks[2].text]
    assert len(whole_sections(passages, by_note.__getitem__, 2000, k=1)) == 1


def test_chunks_of_a_long_section_retrieved_together_become_one_passage_with_those_between():
    chunks = [c for c in _stored() if c.metadata["heading"] == "显存 › 梯度检查点"]
    assert len(chunks) >= 4
    by_note = {chunks[0].metadata["note_id"]: _stored()}
    other = next(c for c in _stored() if c.metadata["heading"] == "显存 › 混合精度")
    # The section is over the whole-section limit (100); its 1st and 3rd chunks are retrieved.
    passages = [_passage(chunks[2], 0.9), _passage(other, 0.6), _passage(chunks[0], 0.5), _passage(chunks[3], 0.1)]
    merged = whole_sections(passages, by_note.__getitem__, 100, k=3, merge_limit=2000)
    assert [p.score for p in merged] == [0.9, 0.6, 0.1]  # ranked at its best chunk; the 4th was not among the 3
    text, meta = stitch(chunks[:3])
    assert merged[0].text == text and merged[0].metadata["line_start"] == chunks[0].metadata["line_start"]
    assert merged[0].metadata["line_end"] == chunks[2].metadata["line_end"]
    assert merged[2].text == chunks[3].text
    # Over the merge limit, or with it 0, the chunks stay apart.
    for limit in (len(text) - 1, 0):
        apart = whole_sections(passages, by_note.__getitem__, 100, k=3, merge_limit=limit)
        assert [p.text for p in apart][:3] == [chunks[2].text, other.text, chunks[0].text]
