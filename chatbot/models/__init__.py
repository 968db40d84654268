"""Models: language models, local and remote, behind one narrow interface.

A GGUF file run in process by llama-cpp-python (``llm.LocalModel``: count tokens, stream text,
KV-cache reuse), the same interface over an OpenAI-compatible endpoint (``llm_remote``), the
models folder (GGUF headers read without loading) and hub downloads, and random-weight GGUF
files for tests and the generation benchmark.

Left to others: prompts, retrieval and what an answer says (``chatbot.answers``).  Knows
nothing about notes or the index.
"""
