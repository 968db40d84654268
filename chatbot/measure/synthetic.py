"""A synthetic index for the scale benchmark: chunks of random glossary words, random vectors.

``build_synthetic_index`` writes ``n`` such chunks through the real ``IndexWriter`` and times
what an ingest of ``n`` already-embedded chunks would spend (Chroma upserts, tokenising, the
BM25 build, the commit).  Random unit vectors are harder for HNSW than real embeddings (no
clusters), so the dense figure at scale is, if anything, pessimistic.

Left out: retrieval over the index (``bench.time_retrieval``).
"""

from __future__ import annotations

import random
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings


def glossary_terms() -> tuple[list[str], list[str]]:
    """English and Chinese terms of the bundled glossary."""
    english, chinese = [], []
    text = resources.files("chatbot").joinpath("resources/glossary.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        en, zh = line.split("\t", 1)
        english.append(en.strip())
        chinese += [t.strip() for t in zh.split("|") if t.strip()]
    return english, chinese


def synthetic_chunk(
    rng: random.Random, english: list[str], chinese: list[str], min_chars: int = 150, max_chars: int = 300
) -> list[str]:
    """The terms of one synthetic chunk: a random mix of glossary words, min..max characters."""
    target = rng.randint(min_chars, max_chars)
    terms: list[str] = []
    length = 0
    while length < target:
        term = rng.choice(chinese) if rng.random() < 0.6 else rng.choice(english)
        terms.append(term)
        length += len(term) + 1
    return terms


def build_synthetic_index(
    settings: Settings,
    data_dir: Path,
    n: int,
    dim: int,
    *,
    seed: int = 1234,
    batch: int = 5000,
) -> float:
    """Build and commit a generation of ``n`` synthetic chunks under ``data_dir``; seconds taken.

    The time covers what an ingest of ``n`` already-embedded chunks would spend: Chroma
    upserts (HNSW + SQLite), tokenising, the BM25 build and the commit.  Generating the texts
    and vectors is not timed.
    """
    import numpy as np

    from ..search.embed import collection_name
    from ..search.ingest import MANIFEST_VERSION
    from ..search.tokens import tokenize
    from ..search.writer import IndexWriter

    rng = random.Random(seed)
    english, chinese = glossary_terms()
    # Texts are space-separated glossary terms, and tokenize() works run by run (a space ends
    # every Latin or CJK run), so a text's tokens are the concatenation of its terms' tokens.
    # Tokenising each distinct term once with jieba and concatenating gives exactly what
    # tokenize(text) would, without running jieba over n texts (tens of seconds at 100k).
    # The per-term tokenising is inside the timed build; the saved jieba time is not.
    texts_terms = [synthetic_chunk(rng, english, chinese) for _ in range(n)]
    vectors = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)  # (n, dim)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"syn-{i:07d}" for i in range(n)]

    started = time.perf_counter()
    term_tokens = {term: tokenize(term) for term in {*english, *chinese}}
    writer = IndexWriter(data_dir, collection_name(settings.embedding_model), settings.embedding_model, fresh=True)
    try:
        for start in range(0, n, batch):
            part = range(start, min(start + batch, n))
            part_ids, texts = [ids[i] for i in part], [" ".join(texts_terms[i]) for i in part]
            metadatas = [{"note_id": ids[i], "source": "synthetic", "chunk_index": 0} for i in part]
            writer.add_chunks(part_ids, texts, metadatas, texts,
                              [[tok for term in texts_terms[i] for tok in term_tokens[term]] for i in part])
            writer.add_vectors(part_ids, texts, metadatas, vectors[start : start + len(part)])
        writer.commit({"version": MANIFEST_VERSION, "files": {}, "chunk_meta": {}, "notes": n, "synthetic": True})
    except BaseException:
        writer.abort()
        raise
    return time.perf_counter() - started
