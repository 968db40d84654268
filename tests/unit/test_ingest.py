"""Incremental, atomic ingest against a real Chroma store, with the fake embedder."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from chatbot.errors import CorpusError
from chatbot.search.embed import collection_name
from chatbot.search.generations import current_generation, index_root, latest_generation, read_manifest
from chatbot.search.index import IndexReader
from chatbot.search.ingest import ingest
from chatbot.search.watch import watch


def _reader(settings) -> IndexReader:
    return IndexReader.open(settings.data_dir, collection_name(settings.embedding_model))


def _indexed(settings) -> dict[str, set[str]]:
    """note text -> set of source labels, of the chunks the vector side itself holds."""
    reader = _reader(settings)
    ids = reader.dense_ids()
    assert len(ids) == len(set(ids)) == reader.count  # manifest and vectors agree: no orphans, no duplicates
    got = reader.store.get(ids)
    reader.close()  # no longer served: an ingest may prune it
    return {text: set(json.loads(meta["sources"])) for text, meta in got.values()}


def _chroma(settings) -> dict[str, dict]:
    """chunk id -> metadata, as Chroma itself holds them."""
    reader = _reader(settings)
    got = reader.collection.get(include=["metadatas"])
    reader.close()
    return dict(zip(got["ids"], got["metadatas"]))


def test_an_edit_keeps_its_vectors_loose_until_there_are_many(settings, corpus, fake_embedder):
    settings = settings.model_copy(update={"loose_vectors": 3})
    (corpus / "a.txt").write_text("梯度检查点节省显存。\n\n混合精度训练。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    first = _chroma(settings)
    assert len(first) == 2  # a first ingest puts its vectors in Chroma
    (corpus / "b.txt").write_text("LoRA 训练低秩矩阵。\n", encoding="utf-8")
    (corpus / "a.txt").rename(corpus / "c.txt")
    ingest(settings, embedder=fake_embedder)
    manifest = read_manifest(current_generation(index_root(settings.data_dir, collection_name(settings.embedding_model))))
    assert len(manifest["loose"]) == 1 and len(manifest["stale"]) == 2  # one new vector, two relabelled entries
    assert _chroma(settings) == first  # Chroma not touched by the edit
    assert _indexed(settings) == {"梯度检查点节省显存。": {"c.txt:L1-1"}, "混合精度训练。": {"c.txt:L3-3"},
                                  "LoRA 训练低秩矩阵。": {"b.txt:L1-1"}}
    reader = _reader(settings)
    found = [chunk.text for chunk, _ in reader.dense_search(fake_embedder.embed(["LoRA 训练低秩矩阵。"])[0], 3)]
    assert found[0] == "LoRA 训练低秩矩阵。" and len(found) == 3  # loose and Chroma vectors searched together
    reader.close()

    (corpus / "d.txt").write_text("KV Cache 保存键和值。\n", encoding="utf-8")
    (corpus / "e.txt").write_text("量化把权重存成整数。\n", encoding="utf-8")
    (corpus / "b.txt").unlink()
    ingest(settings, embedder=fake_embedder)  # more than three loose or stale: moved into Chroma
    manifest = read_manifest(current_generation(index_root(settings.data_dir, collection_name(settings.embedding_model))))
    assert manifest["loose"] == manifest["stale"] == []
    chroma = _chroma(settings)
    assert {json.loads(m["sources"])[0] for m in chroma.values()} == {"c.txt:L1-1", "c.txt:L3-3", "d.txt:L1-1",
                                                                       "e.txt:L1-1"}


def test_add_change_delete_rename(settings, corpus, fake_embedder):
    (corpus / "a.md").write_text("# LoRA\n\n低秩矩阵旁路。\n", encoding="utf-8")
    (corpus / "b.txt").write_text("梯度检查点节省显存。\n\n混合精度训练。\n", encoding="utf-8")
    report = ingest(settings, embedder=fake_embedder)
    assert sorted(report.added) == ["a.md", "b.txt"] and report.chunks_embedded == 3
    # A Markdown section's chunk starts at its heading line, as the file shows it.
    assert set(_indexed(settings)) == {"# LoRA\n\n低秩矩阵旁路。", "梯度检查点节省显存。", "混合精度训练。"}

    (corpus / "b.txt").write_text("梯度检查点节省显存。\n\nFP16 半精度。\n", encoding="utf-8")
    report = ingest(settings, embedder=fake_embedder)
    assert report.changed == ["b.txt"] and (report.chunks_embedded, report.chunks_deleted) == (1, 1)
    assert "混合精度训练。" not in _indexed(settings) and "FP16 半精度。" in _indexed(settings)

    (corpus / "a.md").unlink()
    report = ingest(settings, embedder=fake_embedder)
    assert report.removed == ["a.md"] and report.chunks_deleted == 1 and report.chunks_embedded == 0
    assert "# LoRA\n\n低秩矩阵旁路。" not in _indexed(settings)

    embedded_before = fake_embedder.embedded
    (corpus / "b.txt").rename(corpus / "c.txt")
    report = ingest(settings, embedder=fake_embedder)
    assert (report.added, report.removed) == (["c.txt"], ["b.txt"])
    assert fake_embedder.embedded == embedded_before  # a rename re-labels, it does not re-embed
    assert _indexed(settings)["FP16 半精度。"] == {"c.txt:L3-3"}


def test_an_edit_splits_only_the_edited_note_again(settings, corpus, fake_embedder, monkeypatch):
    import chatbot.search.ingest as ingesting

    for name in ("a.txt", "b.txt", "c.txt"):
        (corpus / name).write_text(f"{name} 的笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    split = []
    real = ingesting.chunk_note
    monkeypatch.setattr(ingesting, "chunk_note", lambda note, *a: split.append(note.source) or real(note, *a))
    (corpus / "b.txt").write_text("b.txt 的笔记，改过了。\n", encoding="utf-8")
    report = ingest(settings, embedder=fake_embedder)
    assert split == ["b.txt"] and (report.chunks_embedded, report.chunks_deleted) == (1, 1)
    assert set(_indexed(settings)) == {"a.txt 的笔记。", "b.txt 的笔记，改过了。", "c.txt 的笔记。"}


def test_a_served_generation_keeps_its_chroma_files_when_the_next_one_writes_to_chroma(settings, corpus,
                                                                                        fake_embedder):
    import hashlib

    settings = settings.model_copy(update={"loose_vectors": 0})  # every vector straight into Chroma
    (corpus / "a.txt").write_text("梯度检查点节省显存。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    served = _reader(settings)  # served meanwhile: the edit must not touch its files
    files = {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in (served.gen / "chroma").rglob("*") if p.is_file()}
    (corpus / "b.txt").write_text("LoRA 训练低秩矩阵。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    assert {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in files} == files
    served.close()
    assert set(_indexed(settings)) == {"梯度检查点节省显存。", "LoRA 训练低秩矩阵。"}


def test_unchanged_reingest_does_no_work(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("同一条笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    gen = current_generation(index_root(settings.data_dir, collection_name(settings.embedding_model)))
    calls = len(fake_embedder.calls)
    os.utime(corpus / "a.txt")  # touched but identical
    report = ingest(settings, embedder=fake_embedder)
    assert not report.index_changed and report.unchanged == 1
    assert len(fake_embedder.calls) == calls
    assert current_generation(gen.parent) == gen


def test_same_note_in_two_files_is_one_chunk_with_two_sources(settings, corpus, fake_embedder):
    for name in ("x.txt", "y.txt"):
        (corpus / name).write_text("重复的笔记内容。\nLarge Model\n2026-01-11\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    assert _indexed(settings) == {"重复的笔记内容。": {"x.txt:L1-1", "y.txt:L1-1"}}


def test_empty_corpus_is_an_error_and_keeps_the_index(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("保留我。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    (corpus / "a.txt").unlink()
    with pytest.raises(CorpusError, match="No notes to index"):
        ingest(settings, embedder=fake_embedder)
    assert set(_indexed(settings)) == {"保留我。"}


def test_naming_a_folder_without_notes_says_so_and_keeps_the_index(settings, corpus, tmp_path, fake_embedder):
    (corpus / "a.txt").write_text("保留我。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    (tmp_path / "wrong").mkdir()
    (tmp_path / "wrong" / "photo.jpg").write_bytes(b"\xff\xd8")
    report = ingest(settings, [tmp_path / "wrong"], embedder=fake_embedder)
    assert report.problems and report.empty == [str(tmp_path / "wrong")]
    assert "Nothing to index in" in report.summary() and not report.index_changed
    assert set(_indexed(settings)) == {"保留我。"}

    (corpus / "a.txt").unlink()  # a folder emptied since the last ingest is a removal, not a mistake
    (corpus / "b.txt").write_text("另一个。\n", encoding="utf-8")
    ingest(settings, [corpus, tmp_path / "wrong"], embedder=fake_embedder)
    (corpus / "b.txt").unlink()
    (tmp_path / "wrong" / "c.txt").write_text("第三个。\n", encoding="utf-8")
    report = ingest(settings, [corpus, tmp_path / "wrong"], embedder=fake_embedder)
    assert report.removed == ["b.txt"] and not report.empty


def test_bad_files_are_skipped_with_a_reason_and_the_rest_indexed(settings, corpus, fake_embedder):
    (corpus / "good.txt").write_text("好的笔记。\n", encoding="utf-8")
    (corpus / "bin.txt").write_bytes(b"\x00\x01\x02\x03")
    (corpus / "gbk.txt").write_bytes("国标编码的笔记。\n".encode("gbk"))
    report = ingest(settings, embedder=fake_embedder)
    assert len(report.skipped) == 1 and "bin.txt is a binary file" in report.skipped[0]
    assert set(_indexed(settings)) == {"好的笔记。", "国标编码的笔记。"}


def test_a_file_that_becomes_unreadable_keeps_its_indexed_notes(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("旧内容。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    (corpus / "a.txt").write_bytes(b"\x00garbage now")
    report = ingest(settings, embedder=fake_embedder)
    assert report.skipped and set(_indexed(settings)) == {"旧内容。"}


def test_rebuild_re_embeds_everything(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("一。\n\n二。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    report = ingest(settings, embedder=fake_embedder, rebuild=True)
    assert report.chunks_embedded == 2 and set(_indexed(settings)) == {"一。", "二。"}


@pytest.mark.parametrize("inline", [64, 0])
def test_failed_ingest_leaves_the_previous_generation_current(settings, corpus, fake_embedder, inline):
    settings = settings.model_copy(update={"inline_embed_chunks": inline})
    (corpus / "a.txt").write_text("第一版。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    root = index_root(settings.data_dir, collection_name(settings.embedding_model))
    before = current_generation(root)

    class Exploding:
        name = "boom"

        def embed(self, texts):
            raise RuntimeError("embedding crashed")

    (corpus / "b.txt").write_text("新笔记。\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        ingest(settings, embedder=Exploding())
    assert current_generation(root) == before  # the complete one keeps serving
    assert set(_indexed(settings)) == {"第一版。"}
    if inline:  # embedded before the one commit: the half-built generation is gone
        assert [p.name for p in root.glob("gen-*")] == [before.name]
    else:  # published lexically as NEXT, waiting for a fill: the next ingest resumes it
        nxt = latest_generation(root)
        assert nxt != before and read_manifest(nxt)["pending"]
        assert len(list(root.glob("gen-*"))) == 2  # the half-built copy of the fill is gone
    report = ingest(settings, embedder=fake_embedder)
    assert report.pending == 0 and report.index_changed is (inline > 0)
    assert set(_indexed(settings)) == {"第一版。", "新笔记。"}
    assert [p.name for p in root.glob("gen-*")] == [current_generation(root).name]


def test_watch_follows_create_modify_delete_rename(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("初始。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    stop, reports = threading.Event(), []
    thread = threading.Thread(
        target=watch,
        kwargs=dict(settings=settings, stop=stop, on_report=reports.append, debounce_s=0.3, embedder=fake_embedder),
        daemon=True,
    )
    thread.start()
    time.sleep(0.5)
    try:
        steps = [
            (lambda: (corpus / "b.txt").write_text("新建。\n", encoding="utf-8"), {"初始。", "新建。"}),
            (lambda: (corpus / "b.txt").write_text("修改。\n", encoding="utf-8"), {"初始。", "修改。"}),
            (lambda: (corpus / "a.txt").unlink(), {"修改。"}),
            (lambda: (corpus / "b.txt").rename(corpus / "c.txt"), {"修改。"}),
        ]
        for action, expected in steps:
            action()
            _wait_for(lambda expected=expected: set(_indexed(settings)) == expected)
        _wait_for(lambda: _indexed(settings)["修改。"] == {"c.txt:L1-1"})
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not any(isinstance(r, Exception) for r in reports)


def _wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    assert condition()


def test_chunks_are_embedded_with_their_english_gloss(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("梯度检查点节省显存。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    # One model pass per chunk: its English rendering.
    [gloss] = fake_embedder.calls[-1]
    assert gloss.startswith("gradient checkpointing ") and "memory" in gloss


def test_changing_the_dense_view_re_embeds_every_chunk(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("同一条笔记。\n\n另一条笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    plain = settings.model_copy(update={"gloss_embeddings": False})
    report = ingest(plain, embedder=fake_embedder)
    assert report.chunks_embedded == 2 and "Re-embedded every chunk" in report.summary()
    assert sorted(fake_embedder.calls[-1]) == sorted(["同一条笔记。", "另一条笔记。"])  # no glosses now
    assert len(_indexed(plain)) == 2
    assert ingest(plain, embedder=fake_embedder).chunks_embedded == 0  # and then it is stable


def test_reading_more_tokens_of_each_chunk_re_embeds_every_chunk(settings, corpus, fake_embedder):
    (corpus / "a.txt").write_text("同一条笔记。\n\n另一条笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    longer = settings.model_copy(update={"embedding_max_tokens": settings.embedding_max_tokens * 2})
    report = ingest(longer, embedder=fake_embedder)
    assert report.chunks_embedded == 2 and "embedding_max_tokens" in report.reembedded_all
    assert ingest(longer, embedder=fake_embedder).chunks_embedded == 0


def test_re_embedding_for_a_new_view_keeps_notes_of_other_folders(settings, corpus, tmp_path, fake_embedder):
    other = tmp_path / "more-notes"
    other.mkdir()
    (corpus / "a.txt").write_text("主文件夹的笔记。\n", encoding="utf-8")
    (other / "b.txt").write_text("另一个文件夹的笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    ingest(settings, [other], embedder=fake_embedder)
    plain = settings.model_copy(update={"gloss_embeddings": False})
    report = ingest(plain, [other], embedder=fake_embedder)  # only the other folder named
    assert report.reembedded_all and report.chunks_embedded == 2
    assert set(_indexed(plain)) == {"主文件夹的笔记。", "另一个文件夹的笔记。"}


def test_dense_text_is_the_rendering_or_else_the_text():
    from chatbot.search.embed import dense_text
    from chatbot.search.glossary import Glossary

    glossary = Glossary.from_lines(["low-rank\t低秩"])
    assert dense_text("低秩 LoRA", glossary) == "low-rank LoRA"
    assert dense_text("没有术语。", glossary) == "没有术语。"  # nothing renders: the text itself
    assert dense_text("低秩 LoRA", None) == "低秩 LoRA"


def test_a_changed_parser_re_reads_files_without_re_embedding(settings, corpus, fake_embedder, monkeypatch):
    import chatbot.search.ingest as ingest_module
    import chatbot.search.scan as scan_module

    (corpus / "a.txt").write_text("同一条笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    monkeypatch.setattr(ingest_module, "PARSER_VERSION", ingest_module.PARSER_VERSION + 1)
    parsed = []
    real_load = scan_module.load_file
    monkeypatch.setattr(scan_module, "load_file", lambda *a: parsed.append(a[0].name) or real_load(*a))
    calls = len(fake_embedder.calls)

    report = ingest(settings, embedder=fake_embedder)
    assert parsed == ["a.txt"] and report.unchanged == 1 and "Re-read every file" in report.summary()
    assert len(fake_embedder.calls) == calls  # same notes, same chunks: nothing to embed
    assert ingest(settings, embedder=fake_embedder).reparsed is False and parsed == ["a.txt"]  # recorded


def test_empty_file_is_a_notice_and_broken_bytes_a_warning_not_a_problem(settings, corpus, fake_embedder):
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "a.md").write_bytes("# 大数据\n\nmap 输入切片是 16-64MB。\n".encode() + b"\xff\n")
    report = ingest(settings, embedder=fake_embedder)
    assert not report.problems and report.added == ["a.md"]
    assert sorted(report.notices) == ["a.md has 1 invalid UTF-8 byte; read with them replaced by \ufffd.",
                                      "empty.md is empty (0 bytes); nothing to index."]
    assert "Note: empty.md is empty" in report.summary()


def test_a_new_vocabulary_recipe_is_learned_again_without_re_embedding(settings, corpus, fake_embedder):
    import json

    from chatbot.search.vocabulary import Learned

    (corpus / "a.md").write_text("# 训练\n\n梯度检查点(Gradient Checkpointing)节省显存。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    gen = current_generation(index_root(settings.data_dir, collection_name(settings.embedding_model)))
    assert "gradient checkpointing\t梯度检查点" in [line.lower() for line in Learned.load(gen).pairs]
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    (gen / "manifest.json").write_text(json.dumps({**manifest, "vocabulary": 0}), encoding="utf-8")
    embedded = fake_embedder.embedded
    report = ingest(settings, embedder=fake_embedder)
    assert report.relearned and fake_embedder.embedded == embedded
    assert "Learned the notes' vocabulary again" in report.summary()
    new = current_generation(gen.parent)
    assert new != gen and Learned.load(new).pairs
    assert not ingest(settings, embedder=fake_embedder).relearned  # learned once, then up to date


def test_a_group_of_alternatives_scores_its_best_one_not_their_sum(settings, corpus, fake_embedder):
    # Three translations of one English word ('size') in one note, one translation of another in
    # the other: as alternatives of one group, the first note counts one word, not three.
    (corpus / "a.md").write_text("# 笔记甲\n\n线程池的大小、规模和尺寸。\n", encoding="utf-8")
    (corpus / "b.md").write_text("# 笔记乙\n\n线程池的阻塞系数。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    reader = _reader(settings)
    ids = reader.dense_ids()
    a = next(cid for cid in ids if "尺寸" in reader.store.get([cid])[cid][0])

    def score(groups) -> float:
        return reader.lexical_search(groups).of([a])[a]

    alternatives = score([[(["大小"], 1.0), (["规模"], 1.0), (["尺寸"], 1.0)]])
    singles = [score([[([word], 1.0)]]) for word in ("大小", "规模", "尺寸")]
    assert alternatives == pytest.approx(max(singles))
    assert score([[(["大小", "规模", "尺寸"], 1.0)]]) == pytest.approx(sum(singles), rel=1e-4)  # one bag: their sum
    # Each alternative weighted on its own: the best of 1.0 x 大小 and 0.5 x 规模.
    assert score([[(["大小"], 1.0), (["规模"], 0.5)]]) == pytest.approx(max(singles[0], 0.5 * singles[1]))
    reader.close()
