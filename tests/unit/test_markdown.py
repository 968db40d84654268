"""Markdown notes: one note per file, sections with heading paths, code apart, exact lines."""

from __future__ import annotations

from chatbot.notes.chunk import chunk_note
from chatbot.notes.load import load_file
from chatbot.notes.markdown import parse_markdown

VAULT_NOTE = """---
title: 梯度检查点
tags: [训练, 显存]
aliases: Gradient Checkpointing
date: 2026-01-11
---
# 梯度检查点

<!-- a comment
over two lines -->
梯度检查点(Gradient Checkpointing)用计算换显存。![图](img/a.png) 见 [[LoRA|低秩适配]] 和 [论文](https://arxiv.org/abs/1604.06174)。 #显存优化

## 实现

```python
# not a heading
model.gradient_checkpointing_enable()
```

$$
\\text{memory} = O(\\sqrt{n})
$$

| 方法 | 显存 |
|---|---|
| 全量 | 高 |

### 4. paddle模式

- 只在反向时重算
"""


def note():
    (parsed,) = parse_markdown(VAULT_NOTE, "docs/训练/gc.md")
    return parsed


def test_one_note_per_file_titled_from_front_matter_with_its_metadata():
    n = note()
    assert n.title == "梯度检查点" and n.date == "2026-01-11"
    assert n.metadata["tags"].split() == ["训练", "显存", "显存优化"]
    assert n.metadata["aliases"] == "Gradient Checkpointing"
    assert n.locations[0].line_start == 7  # the line after the front matter


def test_sections_carry_heading_paths_and_code_is_its_own_section():
    sections = [(s.heading, s.kind) for s in note().sections]
    assert sections == [
        ("梯度检查点", "prose"),
        ("梯度检查点 › 实现", "code"),
        ("梯度检查点 › 实现", "prose"),
        ("梯度检查点 › 实现 › 4. paddle模式", "prose"),
    ]


def test_images_comments_and_links_are_dropped_or_made_text():
    text = note().text
    assert "img/a.png" not in text and "a comment" not in text and "arxiv.org" not in text
    assert "见 低秩适配 和 论文。" in text


def test_chunks_keep_file_lines_heading_and_kind():
    chunks = chunk_note(note(), chunk_size=400, chunk_overlap=80)
    lines = VAULT_NOTE.split("\n")
    for chunk in chunks:
        start, end = chunk.lines()
        assert chunk.text.split("\n")[-1] in lines[end - 1] or chunk.kind == "prose"
        assert lines[start - 1].strip() and chunk.text.split("\n")[0].strip() in lines[start - 1]
    code = [c for c in chunks if c.kind == "code"]
    assert len(code) == 1 and "# not a heading" in code[0].text and code[0].metadata()["kind"] == "code"
    assert any("| 全量 | 高 |" in c.text and "\\sqrt{n}" in c.text for c in chunks)  # table rows and LaTeX kept
    paddle = next(c for c in chunks if "反向" in c.text)
    assert paddle.metadata()["heading"] == "梯度检查点 › 实现 › 4. paddle模式"
    # The section starts at its heading line, as in the file.
    assert (paddle.metadata()["line_start"], paddle.metadata()["line_end"]) == (
        lines.index("### 4. paddle模式") + 1, lines.index("- 只在反向时重算") + 1)


def test_title_falls_back_to_first_heading_then_file_name():
    (by_heading,) = parse_markdown("intro\n\n## 第二节\n\n正文。\n", "a/x.md")
    assert by_heading.title == "第二节"
    (by_name,) = parse_markdown("只有正文。\n", "a/笔记.md")
    assert by_name.title == "笔记" and by_name.sections[0].heading == "笔记"


def test_file_with_only_headings_or_nothing_has_no_note():
    assert parse_markdown("# 标题\n\n## 子标题\n", "a.md") == []
    assert parse_markdown("", "a.md") == []


def test_broken_utf8_bytes_are_replaced_with_a_warning(tmp_path):
    path = tmp_path / "big-data.md"
    path.write_bytes("# 大数据\n\nMapReduce 的 map 输入切片是 16-64MB。\n".encode() * 20 + b"\xff\xfe\x80\x81\n")
    warnings: list[str] = []
    (parsed,) = load_file(path, tmp_path, 10**6, warnings)
    assert "16-64MB" in parsed.text
    assert warnings == ["big-data.md has 4 invalid UTF-8 bytes; read with them replaced by \ufffd."]


def test_a_citation_shows_file_heading_path_and_the_chunks_own_lines():
    from chatbot.answers.cite import citation_for
    from tests.conftest import passage

    chunk = next(c for c in chunk_note(note(), 400, 80) if "反向" in c.text)
    start, end = chunk.lines()
    assert chunk.labels() == [f"docs/训练/gc.md:L{start}-{end}"]
    cited = citation_for(1, passage(chunk.text, **chunk.metadata()))
    assert cited.where() == f"docs/训练/gc.md › 实现 › 4. paddle模式 › L{start}-{end}"
    assert cited.to_json()["heading"] == "梯度检查点 › 实现 › 4. paddle模式"
