"""Search: the index and the retriever.

Tokens (``tokens``) and question terms (``terms``) for both languages, the bilingual glossary
(``glossary``), embeddings (``embed``); the Chroma + BM25 index in atomic generations
(``generations``, read by ``index``, built by ``writer``); keeping it in step with the notes
folder (``ingest``, with ``scan`` for what changed and ``watch`` to follow the folder); and the
hybrid retriever that turns a question into ranked ``Passage`` objects (``retrieve``).

Left to others: parsing and chunking notes (``chatbot.notes``), and whether the passages
answer the question, how to phrase and cite an answer (``chatbot.answers``).  Never loads a
language model.
"""
