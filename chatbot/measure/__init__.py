"""Measure: evaluations and benchmarks.

Retrieval and answer quality on a JSONL question set (``evaluate``), and timings: ingest,
retrieval latency and embedding throughput (``bench``, with a synthetic index for scale in
``synthetic``), generation against raw llama.cpp (``bench_generation``), concurrent users and
long sessions (``bench_load``); ``machine`` records what the figures were measured on.

Left to others: the pipeline itself (measured, never changed here) and writing the figures
to a file (the CLI).
"""
