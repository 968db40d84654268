"""Chinese-aware chunking: whole sentences, verbatim slices, deterministic ids, nothing lost."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.notes.chunk import chunk_note
from chatbot.notes.note import Location, Note

SENTENCE_ENDS = ("。", "！", "？", "；", "!", "?", ";", ".", "\n")


def _note(text: str) -> Note:
    return Note(text, (Location("n.txt", 1, 1),), title="t")


def test_short_note_stays_whole():
    chunks = chunk_note(_note("梯度检查点节省显存。"), 400, 80)
    assert [(c.text, c.start, c.index) for c in chunks] == [("梯度检查点节省显存。", 0, 0)]


def test_long_note_splits_at_sentence_ends_with_overlap():
    sentences = [f"第{i}句讲的是梯度检查点与显存之间的平衡关系。" for i in range(30)]
    note = _note("".join(sentences))
    chunks = chunk_note(note, 120, 40)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.endswith("。")  # never cut mid-sentence
        assert note.text[chunk.start : chunk.start + len(chunk.text)] == chunk.text
        assert len(chunk.text) <= 120 + 40  # the target size plus the overlap
    assert any(a.text[-10:] in b.text for a, b in zip(chunks, chunks[1:]))  # overlap


def test_overlap_reaches_into_long_lines_by_sentence():
    # Bullet lines longer than the overlap: overlap must still carry the previous line's last
    # sentence, so two adjacent bullets that answer one question share a chunk somewhere.
    lines = [f"- 第{i}条：这一条先讲定义，{'写得比较长' * 6}。第{i}条的结论句在这里。" for i in range(12)]
    note = _note("\n".join(lines))
    chunks = chunk_note(note, 160, 40)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        last_sentence = a.text.rsplit("。", 2)[-2].rsplit("\n", 1)[-1] + "。"
        assert b.text.startswith(last_sentence.lstrip()), (a.text, b.text)


def test_ids_are_deterministic_and_content_addressed():
    a = chunk_note(_note("甲。" * 200), 100, 20)
    b = chunk_note(_note("甲。" * 200), 100, 20)
    c = chunk_note(_note("乙。" * 200), 100, 20)
    assert [x.chunk_id for x in a] == [x.chunk_id for x in b]
    assert not {x.chunk_id for x in a} & {x.chunk_id for x in c}


def test_metadata_is_flat_and_names_every_source():
    note = Note("x", (Location("a.txt", 3, 3), Location("b.txt", 9, 9)), title="t", category="Python", date="2026-01-11")
    meta = chunk_note(note, 100, 10)[0].metadata()
    assert meta["source"] == "a.txt" and meta["line_start"] == 3
    assert meta["sources"] == '["a.txt:L3-3", "b.txt:L9-9"]'
    assert all(isinstance(v, (str, int)) for v in meta.values())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="梯度显存模型abc xyz，", min_size=1, max_size=60).map(lambda s: s + "。"),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=50, max_value=300),
)
def test_every_character_is_in_some_chunk(sentences, size):
    text = "".join(sentences).strip()
    if not text:
        return
    note = _note(text)
    covered = [False] * len(text)
    for chunk in chunk_note(note, size, size // 4):
        assert text[chunk.start : chunk.start + len(chunk.text)] == chunk.text
        for i in range(chunk.start, chunk.start + len(chunk.text)):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
