"""Embeddings: a narrow wrapper around sentence-transformers.

Callers see ``Embedder.embed(texts) -> float32 array (n, dim)``, normalised so a dot product is
a cosine similarity.  torch and sentence-transformers are imported only when a model is first
needed, so commands that need no embeddings (``--help``, an unchanged re-ingest) stay fast.

With ``offline`` (the default) the Hugging Face hub is never contacted: the bundled model is
a local path, and a hub name that is not already cached fails with a clear message.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import TYPE_CHECKING, Protocol

from ..errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from ..settings import Settings
    from .glossary import Glossary

log = logging.getLogger(__name__)
SMALL_BATCH = 8  # fewer texts than this are embedded on one thread (see embed)
GLOSS_WEIGHT = 2.0  # weight of a chunk's English rendering against its own text (see embed_documents)


class Embedder(Protocol):
    """Anything that turns texts into unit vectors."""

    name: str

    def embed(self, texts: list[str]) -> np.ndarray:  # (n, dim) float32, L2-normalised
        ...


def collection_name(model: str) -> str:
    """A Chroma-safe collection name per embedding model (3-63 chars, [a-zA-Z0-9._-])."""
    import hashlib

    tail = re.sub(r"[^a-zA-Z0-9._-]+", "-", model.rstrip("/").split("/")[-1]).strip("-._") or "model"
    digest = hashlib.sha1(model.encode()).hexdigest()[:8]
    return f"notes-{tail[:40]}-{digest}"


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
                from ..privacy import allow_hub

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

    def embed(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        import torch

        # A question is a few dozen tokens: one thread is as fast, and it does not stall when
        # another process holds the second core (two OpenMP threads then wait on each other,
        # measured here: p50 25 ms -> 500 ms).  Batches at ingest use every thread.
        torch.set_num_threads(1 if len(texts) < SMALL_BATCH else self._batch_threads)
        return model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype("float32")


def embed_documents(embedder: Embedder, texts: list[str], glossary: Glossary | None = None) -> np.ndarray:
    """Chunk vectors: each text's own, or with ``glossary`` the normalised weighted mean of the
    text's vector and (``GLOSS_WEIGHT`` times) its English rendering's (``Glossary.gloss``).

    Why: MiniLM reads English only.  Dense-only hit@1 on the bundled notes (eval set, English /
    Chinese questions): raw text 0.46 / 0.47, rendering alone 0.70 / 0.72 (it drops Chinese
    outside the glossary), equal mean 0.61 / 0.69, text + 2 x rendering 0.72 / 0.71; held-out
    set 0.62 / 0.64 against 0.56 / 0.57 for the equal mean.
    """
    if glossary is None:
        return embedder.embed(texts)
    import numpy as np

    vectors = embedder.embed(texts + [glossary.gloss(t) for t in texts])  # (2n, dim)
    mean = vectors[: len(texts)] + GLOSS_WEIGHT * vectors[len(texts) :]
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    return (mean / np.maximum(norms, 1e-12)).astype("float32")


def make_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The embedder the settings ask for (not loaded until first used)."""
    return SentenceTransformerEmbedder(
        settings.embedding_model,
        settings.embedding_model_path,
        batch_size=settings.embedding_batch_size,
        threads=settings.torch_threads,
        offline=settings.offline,
        max_tokens=settings.embedding_max_tokens,
    )
