"""Embeddings through sentence-transformers on torch: any sentence-transformers model.

Loaded on first use (importing sentence-transformers takes ~12 s on the 2-core machine, which
is why models it can export run on ``onnx_backend`` instead).  With ``offline`` (the default)
the Hugging Face hub is never contacted: a hub name that is not already cached fails with a
clear message.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from ...errors import UserError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
SMALL_BATCH = 8  # fewer texts than this are embedded on one thread (see embed)


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use, thread-safe."""

    def __init__(
        self, model: str, path: str, batch_size: int = 32, threads: int = 0, offline: bool = True, max_tokens: int = 0
    ):
        self.name = model
        self._max_tokens = max_tokens
        self._path = path
        self._batch_size = batch_size
        self._threads = threads
        self._offline = offline
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is not None:
                return self._model
            if not self._offline:  # privacy.py made the hub offline at import; the user opted in
                from ...privacy import allow_hub

                allow_hub()
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            import torch
            from sentence_transformers import SentenceTransformer

            self._batch_threads = self._threads or torch.get_num_threads()
            try:
                self._model = SentenceTransformer(self._path, device="cpu")
            except Exception as e:  # the library raises many types for "not found / not a model"
                hint = " (offline: set offline=false to allow a download)" if self._offline else ""
                raise UserError(
                    f"Embedding model {self.name!r} could not be loaded{hint}; "
                    "set embedding_model to a sentence-transformers name or folder."
                ) from e
            if self._max_tokens:
                self._model.max_seq_length = min(self._model.max_seq_length or self._max_tokens, self._max_tokens)
            log.info("loaded embedding model %s", self.name)
            return self._model

    def warm(self) -> None:
        """Load the model now (e.g. in a background thread); errors surface on first ``embed``."""
        try:
            self._load()
        except UserError:
            log.debug("embedding model failed to load while warming", exc_info=True)

    @property
    def dimension(self) -> int:
        model = self._load()
        # Renamed in sentence-transformers 6; keep older releases working.
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        model = self._load()
        # The model's own prompt for the role, if it has one (sentence-transformers reads them
        # from the model folder: EmbeddingGemma's "task: search result | query: "); else none.
        role = "query" if query else "document"
        prompt = role if (getattr(model, "prompts", None) or {}).get(role) else None
        import torch

        # A question is a few dozen tokens: one thread is as fast, and it does not stall when
        # another process holds the second core (two OpenMP threads then wait on each other,
        # measured here: p50 25 ms -> 500 ms).  Batches at ingest use every thread.
        torch.set_num_threads(1 if len(texts) < SMALL_BATCH else self._batch_threads)
        return model.encode(
            texts,
            prompt_name=prompt,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype("float32")
