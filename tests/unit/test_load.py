"""Parsing the notes export, FAQ pages, Markdown, PDF and odd files."""

from __future__ import annotations

import os

import pytest

from chatbot.errors import CorpusError
from chatbot.notes.load import find_files, load_file
from chatbot.notes.markdown import parse_markdown
from chatbot.notes.note import dedupe, make_title
from chatbot.notes.read import read_text
from chatbot.notes.text import parse_text

EXPORT = """INCOMING TRANSMISSION

LATEST UPDATES
PrefixTuning Paper: 2021.1 Optimizing Continuous Prompts 最早提出Prompt微调的论文之一...
Large Model
2026-01-11
背景 全参微调Qwen1.57BChat预估要2张80GB的A800,160GB显存...
💡 引言 TRPO 是2015年提出的算法...
Reinforcement Learning
2026-01-12
"""

FAQ = """Stable Diffusion 总共包含三个主要的组件:
1)Clip Text 用于文本编码。
2)UNet + Scheduler 处理信息。
更详细请查阅十分钟理解Stable Diffusion
大模型从模型架构上主要分为三种
-
Only-encoder:例如BERT
- 多样性训练数据:避免数据偏差
self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
https://zhuanlan.zhihu.com/p/628438318
- 与MHA不同的是,MQA 让所有的头之间共享同一份 Key 和 Value 矩阵
KV Cache(Key-Value Cache):
- KV Cache是一种优化技术
"""


def test_export_notes_get_category_date_and_line_span():
    notes = parse_text(EXPORT, "a.txt")
    assert [n.text[:6] for n in notes] == ["Prefix", "背景 全参微", "💡 引言 T"]
    first, second, third = notes
    assert (first.category, first.date) == ("Large Model", "2026-01-11")
    assert (second.category, second.date) == ("", "")
    assert (third.category, third.date) == ("Reinforcement Learning", "2026-01-12")
    assert (first.locations[0].line_start, first.locations[0].line_end) == (4, 4)
    assert third.title.startswith("引言 TRPO")  # emoji dropped from the title


def test_banner_lines_are_not_notes():
    assert not any("TRANSMISSION" in n.text or "LATEST" in n.text for n in parse_text(EXPORT, "a.txt"))


def test_faq_list_items_references_and_code_attach_to_their_paragraph():
    notes = parse_text(FAQ, "faq.txt")
    texts = [n.text for n in notes]
    assert texts[0].splitlines() == FAQ.splitlines()[:4]
    assert texts[1].startswith("大模型从模型架构") and "Only-encoder" in texts[1] and "self.to_qkv" in texts[1]
    assert texts[1].endswith("https://zhuanlan.zhihu.com/p/628438318")
    # After a bare link the next list item starts a new note rather than joining the old answer.
    assert texts[2].startswith("- 与MHA不同的是")
    assert texts[3].startswith("KV Cache(Key-Value Cache):") and "优化技术" in texts[3]


def test_no_text_is_lost_from_the_bundled_corpus(bundled_copy):
    """Every non-metadata line of every file is inside the note whose span covers it."""
    for path in find_files(bundled_copy):
        lines = path.read_text(encoding="utf-8").splitlines()
        notes = load_file(path, bundled_copy, 10**7)
        covered = set()
        for note in notes:
            loc = note.locations[0]
            assert note.text == "\n".join(lines[loc.line_start - 1 : loc.line_end]).strip("\n")
            covered.update(range(loc.line_start, loc.line_end + 1))
        for number, line in enumerate(lines, start=1):
            s = line.strip()
            metadata = not s or s in ("Large Model", "Python", "Reinforcement Learning") or s[:4].isdigit()
            assert number in covered or metadata or s.isupper(), f"{path.name}:{number} lost: {s[:40]}"


def test_identical_notes_in_several_files_are_merged_keeping_every_source(bundled_copy):
    notes = [n for p in find_files(bundled_copy) for n in load_file(p, bundled_copy, 10**7)]
    merged = dedupe(notes)
    assert len(merged) < len(notes)
    by_text: dict[str, set[str]] = {}
    for note in notes:
        by_text.setdefault(note.text, set()).add(note.source)
    assert len(merged) == len(by_text)
    for note in merged:
        assert {loc.source for loc in note.locations} == by_text[note.text]
    shared = [n for n in merged if n.text.startswith("背景 随着预训练") and len(n.locations) >= 3]
    assert shared and all(n.category == "Large Model" for n in shared)  # kept though file 002 has none


def test_markdown_file_is_one_note_with_heading_sections():
    md = "# LoRA\n\n低秩矩阵旁路。\n\n## 实现\n\n只训练A与B。\n\n```\n# not a heading\n```\n"
    (note,) = parse_markdown(md, "n.md")
    assert note.title == "LoRA" and note.locations[0].line_start == 1
    sections = [(s.heading, s.kind, note.text[s.start:s.end].strip()) for s in note.sections]
    assert sections == [("LoRA", "prose", "# LoRA\n\n低秩矩阵旁路。"), ("LoRA › 实现", "prose", "## 实现\n\n只训练A与B。"),
                        ("LoRA › 实现", "code", "```\n# not a heading\n```")]


def test_plain_paragraph_txt(tmp_path):
    notes = parse_text("第一段。\n继续。\n\n第二段。\n", "p.txt")
    assert [n.text for n in notes] == ["第一段。\n继续。", "第二段。"]
    assert notes[1].locations[0].line_start == 4


def test_gbk_file_is_detected_and_read(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("梯度检查点节省显存。\n".encode("gbk"))
    assert read_text(path, 10**6) == "梯度检查点节省显存。\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00\x01\x02binary", "binary file"), (b"x" * 2000, "over the")],
)
def test_bad_files_give_one_sentence(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message) as info:
        read_text(path, 1000)
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")


def test_unreadable_file_gives_one_sentence(tmp_path):
    path = tmp_path / "gone.txt"
    path.symlink_to(tmp_path / "missing.txt")  # a dangling link: listed, but cannot be read
    with pytest.raises(CorpusError, match="cannot be read"):
        load_file(path, tmp_path, 1000)


def test_find_files_skips_hidden_unsupported_and_symlink_loops(tmp_path):
    (tmp_path / "a.md").write_text("x")
    (tmp_path / ".hidden.md").write_text("x")
    (tmp_path / "b.docx").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("x")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    assert [p.relative_to(tmp_path).as_posix() for p in find_files(tmp_path)] == ["a.md", "sub/c.txt"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        find_files(tmp_path / "nope")


def test_pdf_pages_keep_their_numbers(tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(_tiny_pdf(["Gradient checkpointing saves memory.", "Second page about LoRA."]))
    notes = load_file(path, tmp_path, 10**6)
    assert [(n.locations[0].page, n.text) for n in notes] == [
        (1, "Gradient checkpointing saves memory."),
        (2, "Second page about LoRA."),
    ]


def test_broken_pdf_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nnot really")
    with pytest.raises(CorpusError, match="not a readable PDF"):
        load_file(path, tmp_path, 10**6)


def test_title_is_short_and_cut_at_a_boundary():
    assert make_title("short note") == "short note"
    title = make_title("Trust Region Policy Optimization (TRPO) 是2015年的ICML会议上提出的")
    assert len(title) <= 33 and title.endswith("…")


def _tiny_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page (no PDF writer needed)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        content = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


