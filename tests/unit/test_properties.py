"""Property-based tests: the parsers lose no text, the citation checker never crashes and its
output is always consistent (markers match citations, spans lie inside their passage)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.answers.cite import check_citations
from chatbot.notes.chunk import chunk_note
from chatbot.notes.markdown import parse_markdown
from chatbot.notes.text import parse_text
from tests.conftest import passage

WORDS = st.text(alphabet="梯度检查点显存模型训练abcLoRA xyz，,", min_size=1, max_size=40)
LINE = WORDS.map(lambda s: s.strip() + "。").filter(lambda s: len(s) > 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(LINE, st.just("")), min_size=1, max_size=30))
def test_paragraph_text_is_never_lost(lines):
    text = "\n".join(lines)
    notes = parse_text(text, "f.txt")
    joined = "\n".join(n.text for n in notes)
    for line in lines:
        if line.strip():
            assert line.strip() in joined


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(LINE, st.just(""), WORDS.map(lambda s: "## " + s.strip()).filter(lambda s: len(s) > 3)),
                min_size=1, max_size=30))
def test_markdown_body_text_is_never_lost_and_chunks_are_slices_under_their_headings(lines):
    notes = parse_markdown("\n".join(lines), "f.md")
    chunks = [c for n in notes for c in chunk_note(n, 120, 30)]
    joined = "\n".join(c.text for c in chunks)
    for line in lines:
        if line.strip() and not line.startswith("## "):
            assert line.strip() in joined
    for c in chunks:
        assert c.note.text[c.start : c.start + len(c.text)] == c.text
        first = c.text.split("\n", 1)[0]
        if first.startswith("## "):  # a section's first chunk starts at its heading ...
            assert c.heading.endswith(" ".join(first[3:].split()))  # ... the last of its heading path


MARKER = st.builds(lambda n: f"[{n}]", st.integers(min_value=-2, max_value=9))
ANSWER = st.lists(st.one_of(WORDS, MARKER, st.sampled_from(["。", ". ", "\n", "【2】", "[1, 3]", "。[1]"])),
                  max_size=40).map("".join)
PASSAGES = st.lists(st.text(alphabet="梯度检查点显存模型训练abcLoRA。 ", min_size=1, max_size=80),
                    min_size=1, max_size=5)


@settings(max_examples=400, deadline=None)
@given(ANSWER, PASSAGES)
def test_citation_checker_output_is_consistent(answer, texts):
    passages = [passage(t, i) for i, t in enumerate(texts)]
    checked = check_citations(answer, passages, None)
    numbers = [c.n for c in checked.citations]
    assert numbers == list(range(1, len(numbers) + 1))  # renumbered 1..m
    used = {int(n) for n in re.findall(r"\[(\d+)\]", checked.text)}
    assert used == set(numbers)  # every marker left has its citation, every citation is used
    chunk_ids = {p.chunk_id: p.text for p in passages}
    for c in checked.citations:
        assert chunk_ids[c.chunk_id] == c.text  # the passage exactly as stored
        if c.span:
            start, end = c.span
            assert 0 <= start < end <= len(c.text)
