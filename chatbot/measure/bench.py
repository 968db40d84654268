"""Performance bench: ingest time, retrieval latency and embedding throughput on this machine.

What it measures (``chatbot bench`` writes the figures to ``reports/bench.json``):

* **cold ingest** — wall clock of ``python -m chatbot.apps.cli ingest -q`` into an empty data folder
  over the bundled corpus, as a subprocess, so Python start-up, imports and the model load are
  included: that is what a user waits for.
* **unchanged re-ingest** — the same command again with nothing changed.
* **retrieval latency** — per question of the eval set, in a warm process (model loaded,
  index opened, a few warm-up questions asked), for hybrid, dense-only and lexical-only modes;
  p50 / p95 / mean in milliseconds.
* **embedding throughput** — chunks per second embedding every chunk of the bundled corpus
  with the configured model (warm), the texts ingest would embed.
* **scale** — a synthetic index of ``synthetic`` chunks (glossary words, random unit vectors)
  built with the real ``IndexWriter`` (``synthetic.py``); build time, then retrieval latency
  over it with the real embedder and glossary.

Left out: answer generation (no LLM here), the OS page cache (files read recently are cached,
so "cold" means a fresh process and an empty index, not a cold disk), GPU, incremental ingest
of a few changed files, and retrieval *quality* (``chatbot eval retrieval`` measures that).
Synthetic vectors are random, which is harder for HNSW than real embeddings (no clusters),
so the dense figure at scale is, if anything, pessimistic.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .machine import latency_summary, machine_facts
from .synthetic import build_synthetic_index

if TYPE_CHECKING:
    from ..search.embed import Embedder
    from ..search.glossary import Glossary
    from ..search.retrieve import HybridRetriever
    from ..settings import Settings

Echo = Callable[[str], Any]

# The performance targets.
TARGETS: dict[str, float] = {
    "cold_ingest_s": 15.0,
    "unchanged_reingest_s": 2.0,
    "bundled_hybrid_p50_ms": 30.0,
    "synthetic_hybrid_p50_ms": 100.0,
}
MODES = ("hybrid", "dense", "lexical")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the checkout that holds chatbot/


# --------------------------------------------------------------------------- helpers


def questions(path: Path | None = None) -> list[str]:
    """The 'q' of every question in the eval set."""
    from .evaluate import default_questions, read_questions

    return [item["q"] for item in read_questions(path or default_questions())]


def _release_chroma() -> None:
    """Drop Chroma's cached clients so temporary folders can go (best effort)."""
    try:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:  # pragma: no cover - varies across chromadb versions
        pass


# --------------------------------------------------------------------------- ingest


def time_cli_ingest(settings: Settings, data_dir: Path) -> float:
    """Wall-clock seconds of ``python -m chatbot.apps.cli ingest -q`` into ``data_dir``."""
    env = {
        **os.environ,
        "NOTES_CHAT_DATA_DIR": str(data_dir),
        "NOTES_CHAT_CORPUS_DIR": str(settings.corpus_dir),
        "NOTES_CHAT_EMBEDDING_MODEL": settings.embedding_model,
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "chatbot.apps.cli", "ingest", "-q"],
        env=env,
        cwd=PACKAGE_ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"ingest failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return elapsed


# --------------------------------------------------------------------------- retrieval


def time_retrieval(
    retriever: HybridRetriever, asked: list[str], modes: tuple[str, ...] = MODES, rounds: int = 3, warmup: int = 5
) -> dict[str, dict[str, float]]:
    """Latency per question for each mode, after ``warmup`` untimed questions per mode."""
    retriever.index.warm()
    results = {}
    for mode in modes:
        for q in asked[:warmup]:
            retriever.search(q, mode=mode)
        timings = []
        for _ in range(rounds):
            for q in asked:
                started = time.perf_counter()
                retriever.search(q, mode=mode)
                timings.append(time.perf_counter() - started)
        results[mode] = latency_summary(timings)
    return results


# --------------------------------------------------------------------------- embedding


def corpus_texts(settings: Settings) -> list[str]:
    """The texts ingest embeds for the corpus: deduplicated notes, chunked, with context."""
    from ..notes.chunk import chunk_notes
    from ..notes.load import find_files, load_file
    from ..notes.note import dedupe
    from ..search.ingest import search_text

    root = settings.corpus_dir
    base = root if root.is_dir() else root.parent
    notes = [n for path in find_files(root) for n in load_file(path, base, int(settings.max_file_mb * 1e6))]
    chunks = chunk_notes(dedupe(notes), settings.chunk_size, settings.chunk_overlap, settings.section_chunk_size)
    return [search_text(c) for c in chunks]


def embedding_throughput(
    embedder: Embedder, texts: list[str], glossary: Glossary | None = None, warmup: int = 32
) -> float:
    """Chunks per second embedding ``texts`` as ingest does (their English renderings when
    ``glossary`` is given; model loaded and warmed first)."""
    from ..search.embed import dense_text

    embedder.embed(texts[:warmup])
    started = time.perf_counter()
    embedder.embed([dense_text(t, glossary) for t in texts])
    return len(texts) / (time.perf_counter() - started)


# --------------------------------------------------------------------------- the bench


def run_bench(
    settings: Settings,
    synthetic: int = 100_000,
    echo: Echo = print,
    *,
    rounds: int = 3,
    synthetic_rounds: int = 2,
    question_file: Path | None = None,
) -> dict[str, Any]:
    """Run every measurement (see the module doc) and return the figures as a JSON-able dict."""
    from ..search.embed import collection_name
    from ..search.glossary import embedding_glossary, load_glossary
    from ..search.index import IndexReader
    from ..search.retrieve import HybridRetriever, build_retriever

    results: dict[str, Any] = {"machine": machine_facts(), "retrieval_ms": {}}
    machine = results["machine"]
    echo(f"machine: {machine['cpu_count']} CPUs, {machine['platform']}, Python {machine['python']}")
    asked = questions(question_file)

    with tempfile.TemporaryDirectory(prefix="notes-chat-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        results["cold_ingest_s"] = round(time_cli_ingest(settings, data_dir), 2)
        echo(f"cold ingest (subprocess, bundled corpus): {results['cold_ingest_s']:.2f} s")
        results["unchanged_reingest_s"] = round(time_cli_ingest(settings, data_dir), 2)
        echo(f"unchanged re-ingest (subprocess): {results['unchanged_reingest_s']:.2f} s")

        retriever = build_retriever(settings.model_copy(update={"data_dir": data_dir}))
        embedder = retriever.embedder
        results["bundled_chunks"] = retriever.index.count
        bundled = time_retrieval(retriever, asked, rounds=rounds)
        results["retrieval_ms"]["bundled"] = bundled
        for mode, figures in bundled.items():
            echo(
                f"retrieval, bundled ({results['bundled_chunks']} chunks), {mode}: "
                f"p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, mean {figures['mean']:.1f} ms "
                f"(n={figures['n']})"
            )
        del retriever
        _release_chroma()

    texts = corpus_texts(settings)
    results["embedding_chunks_per_s"] = round(embedding_throughput(embedder, texts, embedding_glossary(settings)), 1)
    echo(f"embedding throughput: {results['embedding_chunks_per_s']:.1f} chunks/s ({len(texts)} chunks)")
    try:
        import torch

        machine["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        pass

    if synthetic > 0:
        key = f"synthetic_{synthetic}"
        with tempfile.TemporaryDirectory(prefix="notes-chat-bench-syn-") as tmp:
            data_dir = Path(tmp) / "data"
            results["synthetic_build_s"] = round(
                build_synthetic_index(settings, data_dir, synthetic, embedder.dimension), 2
            )
            echo(f"synthetic index build ({synthetic} chunks): {results['synthetic_build_s']:.1f} s")
            reader = IndexReader.open(data_dir, collection_name(settings.embedding_model))
            retriever = HybridRetriever.from_settings(settings, reader, embedder, load_glossary(settings.glossary_file))
            scaled = time_retrieval(retriever, asked, rounds=synthetic_rounds)
            results["retrieval_ms"][key] = scaled
            for mode, figures in scaled.items():
                echo(
                    f"retrieval, synthetic ({synthetic} chunks), {mode}: "
                    f"p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, mean {figures['mean']:.1f} ms "
                    f"(n={figures['n']})"
                )
            del retriever, reader
            _release_chroma()

    machine["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = dict(TARGETS)
    results["met"] = targets_met(results, synthetic)
    echo("targets: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in results["met"].items()))
    return results


def targets_met(results: dict[str, Any], synthetic: int) -> dict[str, bool]:
    """Each target against its figure (a target without a figure is left out)."""
    latency = results["retrieval_ms"]
    figures = {
        "cold_ingest_s": results.get("cold_ingest_s"),
        "unchanged_reingest_s": results.get("unchanged_reingest_s"),
        "bundled_hybrid_p50_ms": latency.get("bundled", {}).get("hybrid", {}).get("p50"),
        "synthetic_hybrid_p50_ms": latency.get(f"synthetic_{synthetic}", {}).get("hybrid", {}).get("p50"),
    }
    return {name: figures[name] <= limit for name, limit in TARGETS.items() if figures[name] is not None}
