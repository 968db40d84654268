"""Ingest bench: how soon a notes folder is answerable, and how close the full index comes to
what the embedding model itself costs.

``chatbot bench ingest --notes DIR [--notes DIR ...] [--questions FILE ...]`` copies the folders
into a temporary directory (they are never changed), then times, each as a new process
(``python -m chatbot.apps.cli ingest --wait``, imports included) on a fresh data dir:

* **cold**: the command's start to the first published generation (``answerable_s``: a
  question's evidence passage is then looked up in it, ``answerable_checked``), and to its exit
  once every chunk has a vector (``full_s``); chunks/s, MB/s and the peak resident memory of the
  ingest and of the fill process it starts (``VmHWM``, sampled every 20 ms);
* **raw pass**: in this process, the configured embedding model over the same chunk texts
  (model loaded first, so only the model's own work is timed); ``full_over_raw`` = full_s / it;
* **unchanged**, **one edited file** (a paragraph appended), **one renamed file** (and how many
  texts went through the model for it: rows added to the vector cache).

The ONNX export of the embedding model (once per machine, ``embed.onnx_backend``) is made
before the timed runs and reported on its own.  Figures go to ``reports/bench-ingest.json``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bench import Echo

if TYPE_CHECKING:
    from ..settings import Settings

# Issue 16's targets: seconds, a ratio, texts through the model, MiB.
TARGETS: dict[str, float] = {
    "answerable_s": 15.0,
    "full_over_raw": 2.0,
    "unchanged_s": 1.0,
    "edited_s": 3.0,
    "renamed_model_texts": 0,
    "peak_rss_mb": 1024.0,
}


def _peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory so far (VmHWM), MiB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class _Run:
    """One ``chatbot ingest --wait`` as a new process, watched from start to exit."""

    def __init__(self, settings: Settings, roots: list[Path], root_index: Path):
        import os

        self.peaks: dict[int, float] = {}
        self.published_s: float | None = None
        command = [sys.executable, "-m", "chatbot.apps.cli", "--data-dir", str(settings.data_dir),
                   "--embedding-model", settings.embedding_model, "ingest", "--wait", "-q", *map(str, roots)]
        env = {**os.environ, "NOTES_CHAT_CACHE_DIR": str(settings.cache_dir),
               "NOTES_CHAT_EMBEDDING_BACKEND": settings.embedding_backend}
        current = root_index / "CURRENT"
        had = current.read_text() if current.is_file() else None
        self.started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
        reader.start()
        while process.poll() is None:
            if self.published_s is None and current.is_file() and current.read_text() != had:
                self.published_s = time.perf_counter() - self.started
            for pid in [process.pid, *_children(process.pid)]:
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), _peak_rss_mb(pid))
            time.sleep(0.02)
        self.seconds = time.perf_counter() - self.started
        reader.join(timeout=5)
        self.output = "".join(output)
        if process.returncode != 0:
            raise RuntimeError(f"chatbot ingest failed ({process.returncode}):\n{self.output}")
        if self.published_s is None and current.is_file() and current.read_text() != had:
            self.published_s = self.seconds

    @property
    def peak_rss_mb(self) -> float:
        return round(max(self.peaks.values(), default=0.0), 1)


def _cached_vectors(root_index: Path) -> int:
    path = root_index / "vectors.sqlite"
    if not path.is_file():
        return 0
    with sqlite3.connect(str(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])


def _note_files(root: Path) -> list[Path]:
    """The note files under ``root`` the ingest reads (Markdown, text, PDF), in order."""
    from ..notes.load import find_files

    return sorted(find_files(root))


def _first_evidence(questions: list[Path]) -> list[dict[str, Any]]:
    """One answerable question per question file (its first with evidence)."""
    from .evaluate import read_questions

    picked = []
    for path in questions:
        for item in read_questions(path):
            if item.get("evidence") and not item.get("history"):
                picked.append(item)
                break
    return picked


def run_ingest_bench(settings: Settings, notes: list[Path], questions: list[Path], echo: Echo = print) -> dict[str, Any]:
    """Every measurement of the module doc, as a JSON-able dict."""
    from ..search.embed import collection_name, dense_text, make_embedder
    from ..search.generations import index_root
    from ..search.glossary import embedding_glossary
    from ..search.retrieve import build_retriever
    from .evaluate import first_hit

    results: dict[str, Any] = {"notes": [str(n) for n in notes], "targets": TARGETS}
    work = Path(tempfile.mkdtemp(prefix="notes-chat-bench-ingest-"))
    try:
        roots = []
        for folder in notes:
            target = work / "notes" / folder.name
            shutil.copytree(folder, target)  # keeps mtimes; the originals are never touched
            roots.append(target)
        data_dir = work / "data"
        bench_settings = settings.model_copy(update={"data_dir": data_dir, "corpus_dir": roots[0]})
        root_index = index_root(data_dir, collection_name(settings.embedding_model))
        files = [p for r in roots for p in r.rglob("*") if p.is_file()]
        megabytes = sum(p.stat().st_size for p in files) / 1e6

        embedder = make_embedder(bench_settings)
        began = time.perf_counter()
        embedder.warm()  # the one-time ONNX export, if not made on this machine before
        results["model_load_s"] = round(time.perf_counter() - began, 2)
        results["embedder"] = type(embedder).__name__

        echo("Cold ingest (new process, fresh data dir)…")
        cold = _Run(bench_settings, roots, root_index)
        retriever = build_retriever(bench_settings)
        chunks = retriever.index.count
        checks = []
        for item in _first_evidence(questions):
            texts = [p.text for p in retriever.search(item["q"], k=5)]
            checks.append({"q": item["q"], "rank": first_hit(texts, item["evidence"])})
        results["cold"] = {
            "answerable_s": round(cold.published_s or cold.seconds, 2),
            "full_s": round(cold.seconds, 2),
            "chunks": chunks,
            "megabytes": round(megabytes, 2),
            "chunks_per_s": round(chunks / cold.seconds, 1),
            "mb_per_s": round(megabytes / cold.seconds, 3),
            "peak_rss_mb": cold.peak_rss_mb,
            "peak_rss_mb_by_process": [round(v, 1) for v in cold.peaks.values()],
            "answerable_checked": checks,
            "output": cold.output.strip().splitlines(),
        }
        echo(f"  answerable {results['cold']['answerable_s']} s, full {results['cold']['full_s']} s, "
             f"{chunks} chunks, peak {cold.peak_rss_mb} MiB")

        echo("Raw pass of the embedding model over the same chunk texts…")
        glossary = embedding_glossary(bench_settings)
        ids = retriever.index.manifest["chunk_ids"]
        texts = [dense_text(t, glossary) for t in retriever.index.store.search_texts(ids).values()]
        retriever.index.close()
        began = time.perf_counter()
        for start in range(0, len(texts), 256):
            embedder.embed(texts[start : start + 256])
        raw = time.perf_counter() - began
        results["raw_pass"] = {"texts": len(texts), "seconds": round(raw, 2), "texts_per_s": round(len(texts) / raw, 1)}
        results["full_over_raw"] = round(cold.seconds / raw, 2)
        echo(f"  {raw:.1f} s ({len(texts) / raw:.1f} texts/s); full index / raw pass = {results['full_over_raw']}")

        echo("Unchanged re-ingest…")
        results["unchanged_s"] = round(_Run(bench_settings, roots, root_index).seconds, 2)
        edited = _note_files(roots[0])[0]
        with open(edited, "a", encoding="utf-8") as f:
            f.write("\n\n## Bench edit\n\nA paragraph added by the ingest bench to time one edited file.\n")
        echo(f"One edited file ({edited.name})…")
        results["edited_s"] = round(_Run(bench_settings, roots, root_index).seconds, 2)
        renamed = _note_files(roots[-1])[-1]
        before = _cached_vectors(root_index)
        renamed.rename(renamed.with_name("renamed-" + renamed.name))
        echo(f"One renamed file ({renamed.name})…")
        run = _Run(bench_settings, roots, root_index)
        results["renamed_s"] = round(run.seconds, 2)
        results["renamed_model_texts"] = _cached_vectors(root_index) - before
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["met"] = {
        "answerable_s": results["cold"]["answerable_s"] <= TARGETS["answerable_s"]
        and all(c["rank"] is not None for c in results["cold"]["answerable_checked"]),
        "full_over_raw": results["full_over_raw"] <= TARGETS["full_over_raw"],
        "unchanged_s": results["unchanged_s"] <= TARGETS["unchanged_s"],
        "edited_s": results["edited_s"] <= TARGETS["edited_s"],
        "renamed_model_texts": results["renamed_model_texts"] <= TARGETS["renamed_model_texts"],
        "peak_rss_mb": results["cold"]["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    }
    return results


def format_ingest_bench(results: dict[str, Any]) -> str:
    """The figures as a small table, target and whether it is met."""
    cold = results["cold"]
    rows = [
        ("answerable (s)", cold["answerable_s"], "answerable_s"),
        ("fully embedded (s)", cold["full_s"], None),
        ("raw model pass (s)", results["raw_pass"]["seconds"], None),
        ("full / raw pass", results["full_over_raw"], "full_over_raw"),
        ("chunks/s, MB/s", f"{cold['chunks_per_s']}, {cold['mb_per_s']}", None),
        ("peak RSS (MiB)", cold["peak_rss_mb"], "peak_rss_mb"),
        ("unchanged re-ingest (s)", results["unchanged_s"], "unchanged_s"),
        ("one edited file (s)", results["edited_s"], "edited_s"),
        ("one renamed file (s)", results["renamed_s"], None),
        ("renamed: texts through the model", results["renamed_model_texts"], "renamed_model_texts"),
    ]
    lines = [f"{'':34} {'value':>12} {'target':>8}  met"]
    for label, value, key in rows:
        target = f"{TARGETS[key]:g}" if key else ""
        met = ("yes" if results["met"][key] else "NO") if key else ""
        lines.append(f"{label:34} {value!s:>12} {target:>8}  {met}")
    return "\n".join(lines)


def write_report(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
