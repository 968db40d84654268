"""Notes: files -> notes -> chunks.

Finds the note files of a folder (``load``), reads each safely (``read``), parses each format
into ``Note`` objects (``text`` for the ``.txt`` export, FAQ pages and paragraphs; ``markdown``;
``pdf``; one interface, see ``load``), merges identical notes (``note``), and splits notes into
content-addressed ``Chunk`` passages (``chunk``).

Left to others: tokens, embeddings and the index (``chatbot.search``), including which files
changed since the last ingest (``search.scan``).  Imports nothing of the package but ``errors``.
"""
