"""Answerable first, vectors after: generations, the vector cache, the chunk store and leases."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from chatbot.search.embed import collection_name
from chatbot.search.generations import (
    current_generation,
    index_root,
    latest_generation,
    lease,
    prune_generations,
    read_manifest,
    release_lease,
)
from chatbot.search.fill import fill
from chatbot.search.index import IndexReader
from chatbot.search.ingest import ingest
from chatbot.search.retrieve import HybridRetriever
from chatbot.search.store import ChunkStore
from chatbot.search.vectors import VectorCache


def _root(settings):
    return index_root(settings.data_dir, collection_name(settings.embedding_model))


def _lexical_first(settings):
    """Settings under which every new chunk waits for a fill (no inline embedding)."""
    return settings.model_copy(update={"inline_embed_chunks": 0})


def test_vector_cache_keeps_vectors_per_recipe_and_text(tmp_path):
    cache = VectorCache(tmp_path / "vectors.sqlite", "render-abc")
    vectors = np.eye(3, dtype="float32")[:2]
    cache.put(["one", "two"], vectors)
    got = cache.get(["two", "three", "one"])
    assert set(got) == {"one", "two"} and np.array_equal(got["two"], vectors[1])
    cache.close()
    assert VectorCache(tmp_path / "vectors.sqlite", "text").get(["one"]) == {}  # another recipe: no mixing
    assert set(VectorCache(tmp_path / "vectors.sqlite", "render-abc").get(["one"])) == {"one"}  # kept on disk


def test_chunk_store_is_read_without_writing_a_byte(tmp_path):
    store = ChunkStore(tmp_path, writable=True)
    store.put(["a", "b"], ["text a", "text b"], [{"n": 1}, {"n": 2}], ["search a", "search b"])
    store.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    reader = ChunkStore(tmp_path)
    assert reader.get(["b", "z"]) == {"b": ("text b", {"n": 2})}
    assert reader.search_texts(["a"]) == {"a": "search a"} and reader.texts() == ["text a", "text b"]
    reader.close()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no journal, no lock file


def test_a_new_index_is_answerable_by_bm25_before_any_vector(settings, corpus, fake_embedder):
    (corpus / "a.md").write_text("# 梯度检查点\n\n梯度检查点用重算换显存。\n", encoding="utf-8")
    (corpus / "b.md").write_text("# LoRA\n\nLoRA 训练低秩矩阵。\n", encoding="utf-8")
    settings = _lexical_first(settings)
    report = ingest(settings, embedder=fake_embedder, fill_now=False)
    assert report.pending == 2 and report.served and fake_embedder.calls == []
    reader = IndexReader.open(settings.data_dir, collection_name(settings.embedding_model))
    assert (reader.count, reader.embedded, reader.dense_coverage) == (2, 0, 0.0)
    retriever = HybridRetriever(index=reader, embedder=fake_embedder, glossary=None)
    assert "重算" in retriever.search("梯度检查点是什么？")[0].text
    assert fake_embedder.calls == []  # nothing to compare a question's vector with: not embedded
    reader.close()

    filled = fill(settings, embedder=fake_embedder)
    assert (filled.chunks, filled.embedded) == (2, 2)
    after = IndexReader.open(settings.data_dir, collection_name(settings.embedding_model))
    assert after.dense_coverage == 1.0 and after.collection.count() == 2
    after.close()


def test_a_less_complete_generation_waits_as_next_until_filled(settings, corpus, fake_embedder):
    (corpus / "a.md").write_text("# A\n\n第一条笔记。\n", encoding="utf-8")
    settings = _lexical_first(settings)
    ingest(settings, embedder=fake_embedder)
    root = _root(settings)
    complete = current_generation(root)
    (corpus / "b.md").write_text("# B\n\n第二条笔记。\n", encoding="utf-8")
    report = ingest(settings, embedder=fake_embedder, fill_now=False)
    assert report.pending == 1 and not report.served
    assert current_generation(root) == complete  # the complete one keeps serving
    assert read_manifest(latest_generation(root))["pending"]
    ingest(settings, embedder=fake_embedder)  # an unchanged ingest resumes the fill
    assert current_generation(root) == latest_generation(root) != complete
    assert read_manifest(current_generation(root))["pending"] == []
    assert not (root / "NEXT").exists()


def test_rebuild_and_rename_take_vectors_from_the_cache(settings, corpus, fake_embedder):
    (corpus / "a.md").write_text("# A\n\n第一条笔记。\n\n## B\n\n第二条笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    computed = fake_embedder.embedded
    report = ingest(settings, embedder=fake_embedder, rebuild=True)
    assert report.chunks_from_cache == report.chunks_embedded == 2 and fake_embedder.embedded == computed
    (corpus / "a.md").rename(corpus / "renamed.md")
    report = ingest(settings, embedder=fake_embedder)
    assert report.chunks_relabelled + report.chunks_from_cache >= 1 and fake_embedder.embedded == computed


def test_identical_texts_are_embedded_once(settings, corpus, fake_embedder):
    for name in ("a", "b", "c"):
        (corpus / f"{name}.md").write_text(f"# {name}\n\n同一段话，出现在三个文件里。\n", encoding="utf-8")
    ingest(_lexical_first(settings), embedder=fake_embedder)
    texts = [t for call in fake_embedder.calls for t in call]
    assert len(texts) == len(set(texts))


def test_a_leased_generation_is_not_pruned_until_released(settings, corpus, fake_embedder):
    (corpus / "a.md").write_text("# A\n\n第一版。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    root = _root(settings)
    served = IndexReader.open(settings.data_dir, collection_name(settings.embedding_model))
    for version in ("第二版。", "第三版。", "第四版。"):
        (corpus / "a.md").write_text(f"# A\n\n{version}\n", encoding="utf-8")
        ingest(settings, embedder=fake_embedder)
    assert served.gen.is_dir()  # still served here: kept through three ingests
    assert served.fetch([served.manifest["chunk_ids"][0]])  # and still readable
    served.close()
    prune_generations(root)
    assert not served.gen.exists()
    assert [g.name for g in root.glob("gen-*")] == [current_generation(root).name]


def test_leases_of_dead_processes_do_not_keep_a_generation(settings, corpus, fake_embedder):
    (corpus / "a.md").write_text("# A\n\n第一版。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    root = _root(settings)
    old = current_generation(root)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (root / "leases").mkdir(exist_ok=True)
    (root / "leases" / f"{old.name}.{dead.stdout.strip()}").touch()  # a server that was killed
    mine = lease(old)
    (corpus / "a.md").write_text("# A\n\n第二版。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    assert old.is_dir()  # this process still holds it
    release_lease(mine)
    prune_generations(root)
    assert not old.exists() and list((root / "leases").iterdir()) == []


def test_an_unchanged_ingest_cleans_what_a_killed_one_left(settings, corpus, fake_embedder):
    (corpus / "a.md").write_text("# A\n\n笔记。\n", encoding="utf-8")
    ingest(settings, embedder=fake_embedder)
    root = _root(settings)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = root / f"gen-00000000000000ff-{dead.stdout.strip()}"
    orphan.mkdir()  # a half-built generation whose writer was killed
    report = ingest(settings, embedder=fake_embedder)
    assert not report.index_changed and not orphan.exists()
