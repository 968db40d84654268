"""Embeddings: texts in, unit vectors out, behind one interface with two backends.

Callers see ``Embedder.embed(texts) -> float32 array (n, dim)``, normalised so a dot product is
a cosine similarity.  ``make_embedder`` picks the backend (setting ``embedding_backend``):

- ``onnx_backend``: onnxruntime on a one-time ONNX export of a sentence-transformers model;
  loads in half a second (``auto`` uses it for every model it supports);
- ``torch_backend``: sentence-transformers on torch, for any model.

Both are imported only when a model is first needed, so commands that need no embeddings
(``--help``, an unchanged re-ingest, a question before any vector exists) stay fast.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from ...settings import Settings
    from ..glossary import Glossary

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Anything that turns texts into unit vectors."""

    name: str

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:  # (n, dim) float32, L2-normalised
        """Passages, or with ``query`` questions (a model with prompts gets its "query" or
        "document" one: EmbeddingGemma, e5)."""
        ...

    def warm(self) -> None:  # load now (e.g. on a background thread)
        ...


def collection_name(model: str) -> str:
    """A Chroma-safe collection name per embedding model (3-63 chars, [a-zA-Z0-9._-])."""
    tail = re.sub(r"[^a-zA-Z0-9._-]+", "-", model.rstrip("/").split("/")[-1]).strip("-._") or "model"
    digest = hashlib.sha1(model.encode()).hexdigest()[:8]
    return f"notes-{tail[:40]}-{digest}"


def dense_text(text: str, glossary: Glossary | None = None) -> str:
    """What the model embeds for a chunk (one pass per chunk): with ``glossary`` its English
    rendering (``Glossary.gloss``; the text itself when nothing renders), else the text.

    Why the rendering alone: MiniLM reads English only.  Dense-only hit@1 on the bundled notes
    (eval set, English / Chinese questions): raw text 0.46 / 0.47, rendering alone 0.70 / 0.72,
    the weighted mean of text and 2 x rendering (the earlier recipe) 0.72 / 0.71 at twice the
    model passes.  A Chinese question is embedded as its rendering too (``retrieve.dense_query``).
    """
    if glossary is None:
        return text
    return glossary.gloss(text) or text


def model_path(settings: Settings) -> str:
    """What to load for ``embedding_model``: a catalog embedder's folder in ``models_dir`` (one
    'chatbot models pull NAME' fetched), else the name or path itself (bundled default resolved)."""
    from ...models.catalog import embedder
    from ...models.pull import is_pulled

    entry = embedder(settings.embedding_model)
    if entry is None:
        return settings.embedding_model_path
    if not is_pulled(entry, settings.effective_models_dir):
        from ...errors import UserError

        raise UserError(f"Embedding model {entry.name} is not downloaded yet; run 'chatbot models pull {entry.name}'.")
    return str(settings.effective_models_dir / entry.name)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (not loaded until first used)."""
    from .torch_backend import SentenceTransformerEmbedder

    path = model_path(settings)
    torch = SentenceTransformerEmbedder(
        settings.embedding_model,
        path,
        batch_size=settings.embedding_batch_size,
        threads=settings.torch_threads,
        offline=settings.offline,
        max_tokens=settings.embedding_max_tokens,
    )
    if settings.embedding_backend == "torch":
        return torch
    from .onnx_backend import OnnxEmbedder, supported

    why_not = supported(path)
    if why_not is None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            why_not = "onnxruntime is not installed"
    if why_not is not None:
        if settings.embedding_backend == "onnx":
            from ...errors import UserError

            raise UserError(f"Embedding model {settings.embedding_model!r} cannot run on ONNX ({why_not}); "
                            "set embedding_backend to auto or torch.")
        log.info("embedding with torch: %s", why_not)
        return torch
    return OnnxEmbedder(
        settings.embedding_model,
        path,
        settings.cache_dir / "embedders",
        batch_size=settings.embedding_batch_size,
        threads=settings.torch_threads,
        max_tokens=settings.embedding_max_tokens,
        fallback=torch if settings.embedding_backend == "auto" else None,
    )
