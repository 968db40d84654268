"""Score-aware fusion of the dense and lexical channels and term coverage, on a fake index with
chosen scores."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.errors import QuestionError
from chatbot.search.glossary import Glossary
from chatbot.search.index import LexicalScores, StoredChunk
from chatbot.search.retrieve import HybridRetriever, check_question


class FakeIndex:
    """Dense similarities and BM25 scores are fixed per chunk id, whatever the question."""

    def __init__(self, dense: dict[str, float], lexical: dict[str, float], texts: dict[str, str] | None = None,
                 pending: set[str] = frozenset()):
        self.dense, self.lexical, self.texts = dense, lexical, texts or {}
        self.pending = pending  # chunks without a vector yet: no cosine
        self.lexical_queries: list = []

    @property
    def count(self) -> int:
        return len(set(self.dense) | set(self.lexical))

    @property
    def embedded(self) -> int:
        return self.count - len(self.pending)

    def document_frequency(self, token: str) -> int:
        return sum(token in self._chunk(cid).text.lower() for cid in set(self.dense) | set(self.lexical))

    def _chunk(self, cid: str) -> StoredChunk:
        return StoredChunk(cid, self.texts.get(cid, f"text of {cid}"), {"note_id": cid, "source": f"{cid}.txt"})

    def note_chunks(self, note_id: str) -> list[StoredChunk]:
        return [self._chunk(note_id)]  # every fake chunk is a note of its own: no section to merge

    def dense_search(self, vector, n):
        ranked = sorted(((c, s) for c, s in self.dense.items() if c not in self.pending), key=lambda kv: -kv[1])[:n]
        return [(self._chunk(cid), s) for cid, s in ranked]

    def lexical_search(self, queries):
        self.lexical_queries.append(queries)
        ids = list(self.lexical)
        if not ids:
            return None
        return LexicalScores(np.array([self.lexical[c] for c in ids], dtype="float32"), ids, {c: i for i, c in enumerate(ids)})

    def fetch(self, ids, vector=None):
        def similarity(cid):
            if vector is None:
                return 0.0
            return None if cid in self.pending else self.dense.get(cid, 0.0)

        return {cid: (self._chunk(cid), similarity(cid)) for cid in ids}


class ConstantEmbedder:
    name = "constant"

    def __init__(self):
        self.calls = 0

    def embed(self, texts, query=False):
        self.calls += 1
        return np.ones((len(texts), 4), dtype="float32") / 2


def _retriever(index: FakeIndex, **kw) -> HybridRetriever:
    glossary = Glossary.from_lines(["memory\t显存"])
    kw.setdefault("dense_gate", False)
    return HybridRetriever(index=index, embedder=ConstantEmbedder(), glossary=glossary, candidates=5, **kw)


# Lexical prefers a, dense prefers c; b is second in both.
INDEX = dict(dense={"a": 0.10, "b": 0.55, "c": 0.60}, lexical={"a": 9.0, "b": 8.0, "c": 0.5})


def test_single_channels_rank_by_their_own_scores():
    retriever = _retriever(FakeIndex(**INDEX))
    assert [p.chunk_id for p in retriever.search("memory", mode="lexical")] == ["a", "b", "c"]
    assert [p.chunk_id for p in retriever.search("memory", mode="dense")] == ["c", "b", "a"]


@pytest.mark.parametrize(("weight", "expected_first"), [(0.0, "a"), (0.3, "b"), (1.0, "c")])
def test_dense_weight_moves_the_ranking(weight, expected_first):
    retriever = _retriever(FakeIndex(**INDEX), dense_weight_en=weight)
    assert retriever.search("memory")[0].chunk_id == expected_first


def test_weight_follows_the_question_language():
    retriever = _retriever(FakeIndex(**INDEX), dense_weight_en=1.0, dense_weight_zh=0.0)
    assert retriever.search("memory")[0].chunk_id == "c"
    assert retriever.search("显存是什么意思")[0].chunk_id == "a"


def test_every_candidate_gets_both_scores():
    passages = _retriever(FakeIndex(**INDEX), dense_weight_en=0.5).search("memory")
    assert {p.chunk_id: (p.dense, p.lexical) for p in passages} == {
        "a": (0.10, 9.0),
        "b": (0.55, 8.0),
        "c": (0.60, 0.5),
    }
    assert all(0.0 <= p.score <= 1.0 for p in passages)


def test_before_any_vector_exists_the_question_is_not_embedded():
    index = FakeIndex(**INDEX, pending={"a", "b", "c"})
    retriever = _retriever(index, dense_weight_en=1.0)
    passages = retriever.search("memory")
    assert retriever.embedder.calls == 0
    assert [p.chunk_id for p in passages] == ["a", "b", "c"]  # BM25 order, whatever the dense weight


def test_a_chunk_without_a_vector_takes_its_bm25_share_for_the_cosine():
    # b has no vector yet: with dense weight 0.5 it scores (8/9 + 8/9) / 2, as if the channels agreed;
    # with 0.0 for the missing cosine it would drop below c.
    index = FakeIndex(dense={"a": 0.10, "b": 0.0, "c": 0.60}, lexical={"a": 9.0, "b": 8.0, "c": 0.5}, pending={"b"})
    passages = {p.chunk_id: p for p in _retriever(index, dense_weight_en=0.5, coverage_weight=0.0).search("memory")}
    assert passages["b"].dense == 0.0
    assert passages["b"].score == pytest.approx(8 / 9, abs=1e-5)
    assert passages["b"].score > passages["c"].score


def test_a_glossary_phrase_and_its_translations_are_one_group_of_weighted_alternatives():
    index = FakeIndex(**INDEX)
    _retriever(index, expansion_weight_en=0.4).search("memory usage")
    rest, memory = index.lexical_queries[-1]
    assert rest == [(["usage"], 1.0)]  # the words no glossary phrase covers
    assert memory == [(["memory"], 1.0), (["显存"], 0.4)]


def test_the_translations_of_one_phrase_are_alternatives_of_one_group():
    index = FakeIndex(**INDEX)
    glossary = Glossary.from_lines(["memory\t显存|内存", "memory usage\t显存占用", "size\t大小|规模|尺寸"])
    HybridRetriever(index=index, embedder=ConstantEmbedder(), glossary=glossary, candidates=5,
                    expansion_weight_en=0.5, dense_gate=False).search("memory usage by batch size")
    rest, usage, size = index.lexical_queries[-1]
    assert rest == [(["batch"], 1.0)]
    # 'memory' lies inside 'memory usage': its translations join that span's group, after the phrase's own.
    assert usage == [(["memory", "usage"], 1.0), (["显存", "占用"], 0.5), (["显存"], 0.5), (["内存"], 0.5)]
    assert size == [(["size"], 1.0), (["大小"], 0.5), (["规模"], 0.5), (["尺寸"], 0.5)]


def test_a_models_translation_is_searched_as_its_own_weighted_group():
    index = FakeIndex(**INDEX)
    _retriever(index, translation_weight=0.8).search("memory usage", translation="显存占用")
    groups = index.lexical_queries[-1]
    assert groups[0] == [(["usage"], 1.0)] and groups[-1] == [(["显存", "占用"], 0.8)]
    _retriever(index).search("memory usage")
    assert len(index.lexical_queries[-1]) == 2  # no translation, no third group


# BM25 prefers a, which repeats one asked-about term; b mentions everything the question asks.
COVERAGE_INDEX = dict(
    dense={"a": 0.5, "b": 0.5, "c": 0.1, "d": 0.1},
    lexical={"a": 9.0, "b": 7.0, "c": 1.0, "d": 1.0},
    texts={"a": "显存 显存 显存 显存", "b": "显存 OOM 样本 增大", "c": "无关", "d": "无关"},
)


def test_coverage_lifts_the_passage_that_mentions_more_of_the_question():
    question = "样本增大导致 OOM 时显存怎么办"
    assert _retriever(FakeIndex(**COVERAGE_INDEX), coverage_weight=0.0).search(question)[0].chunk_id == "a"
    passages = _retriever(FakeIndex(**COVERAGE_INDEX), coverage_weight=0.35).search(question)
    assert passages[0].chunk_id == "b"
    by_id = {p.chunk_id: p for p in passages}
    assert by_id["b"].coverage == 1.0 and 0 < by_id["a"].coverage < 1 and by_id["c"].coverage == 0
    assert all(0.0 <= p.score <= 1.0 for p in passages)


def test_single_channel_modes_ignore_coverage():
    retriever = _retriever(FakeIndex(**COVERAGE_INDEX), coverage_weight=0.35)
    assert retriever.search("样本增大导致 OOM 时显存怎么办", mode="lexical")[0].chunk_id == "a"


def test_k_limits_results():
    assert len(_retriever(FakeIndex(**INDEX)).search("memory", k=2)) == 2


@pytest.mark.parametrize(("question", "message"), [("", "empty"), ("  \n\t ", "empty"), ("\x00\x07", "empty")])
def test_empty_questions_are_refused(question, message):
    with pytest.raises(QuestionError, match=message):
        check_question(question, 100)


def test_long_question_is_refused_and_control_characters_dropped():
    with pytest.raises(QuestionError, match="over the 10-character limit"):
        check_question("x" * 11, 10)
    assert check_question("LoRA\x00 是什么\x1b", 100) == "LoRA 是什么"


@pytest.mark.parametrize(
    ("lexical", "weight", "skipped"),
    [
        ({"a": 9.0, "b": 2.0}, 0.25, True),  # b can reach at most 0.75*0.22+0.25 < 0.75
        ({"a": 9.0, "b": 8.0}, 0.25, False),  # close call: dense may decide
        ({"a": 9.0}, 0.25, True),
        ({"a": 9.0, "b": 2.0}, 0.6, False),  # dense dominates: always needed
        ({}, 0.25, False),  # nothing lexical: dense is all there is
    ],
)
def test_dense_gate_skips_the_embedding_only_when_it_cannot_change_the_first(lexical, weight, skipped):
    dense = {cid: 0.5 for cid in lexical} | {"z": 0.9}
    retriever = _retriever(FakeIndex(dense=dense, lexical=lexical), dense_weight_en=weight, dense_gate=True)
    gated_first = retriever.search("memory")[0].chunk_id
    assert (retriever.embedder.calls == 0) == skipped
    ungated = _retriever(FakeIndex(dense=dense, lexical=lexical), dense_weight_en=weight, dense_gate=False)
    assert ungated.search("memory")[0].chunk_id == gated_first


@pytest.mark.parametrize(
    ("texts", "skipped"),
    [
        ({"a": "显存 OOM 样本", "b": "无关"}, True),  # a leads in BM25 and coverage
        ({"a": "显存", "b": "显存 OOM 样本"}, False),  # b's coverage may let dense decide
    ],
)
def test_dense_gate_counts_coverage(texts, skipped):
    index = dict(dense={"a": 0.1, "b": 0.9, "z": 0.95}, lexical={"a": 9.0, "b": 4.0}, texts=texts)
    gated = _retriever(FakeIndex(**index), dense_weight_en=0.25, dense_gate=True)
    first = gated.search("OOM 样本 显存")[0].chunk_id
    assert (gated.embedder.calls == 0) == skipped
    assert _retriever(FakeIndex(**index), dense_weight_en=0.25).search("OOM 样本 显存")[0].chunk_id == first
