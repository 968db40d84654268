"""Apps: the surfaces: terminal (``cli``, one module per command group), browser (Gradio:
``app`` the operations, ``ui`` the layout, ``ui_handlers`` the events, ``present`` the HTML)
and an OpenAI-compatible API (``serve``).

Each parses its input, calls the same functions below it (``Answerer``, ``ingest``, the
measurements) and formats their results; user errors become one sentence here.

Left to others: every decision about notes, passages and answers.  Heavy libraries (gradio,
fastapi, torch) are imported inside the functions that need them, so ``chatbot --help`` stays
instant.
"""
