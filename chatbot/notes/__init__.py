"""Notes: files -> notes -> chunks.

Finds the note files of a folder, parses each format into ``Note`` objects (text, every file
and line span it appears in, title, category, date, heading), merges identical notes, and
splits notes into content-addressed ``Chunk`` passages.

Left to others: tokens, embeddings and the index (``chatbot.search``); deciding which files
changed since the last ingest (``search.ingest``).  Imports nothing of the package but
``settings`` and ``errors``.
"""
