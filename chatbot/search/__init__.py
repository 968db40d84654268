"""Search: the index and the retriever.

Tokens and terms for both languages, the bilingual glossary, embeddings, the Chroma + BM25
index in atomic generations, keeping it in step with the notes folder (ingest), and the hybrid
retriever that turns a question into ranked ``Passage`` objects.

Left to others: parsing and chunking notes (``chatbot.notes``), and whether the passages
answer the question, how to phrase and cite an answer (``chatbot.answers``).  Never loads a
language model.
"""
