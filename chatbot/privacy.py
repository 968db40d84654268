"""Privacy defaults for the libraries we use, applied when the package is imported.

Several libraries phone home unless told not to, and read their switches once, at their own
import: huggingface_hub (telemetry, a user-agent registry fetched from huggingface.co, hub
look-ups), Gradio (analytics), Chroma (telemetry).  So the switches are set here, before any of
them can be imported, with ``setdefault`` so a user's explicit choice still wins.  The
``offline = false`` setting re-enables hub downloads for the embedding model (``allow_hub``).
This is the one place outside ``settings.py`` that touches the environment, on purpose.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # no hub look-ups; also stops huggingface_hub telemetry and agent-registry fetches
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "DO_NOT_TRACK": "1",
}


def apply_defaults() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


def allow_hub() -> None:
    """Let sentence-transformers download a named model (setting ``offline = false``)."""
    os.environ["HF_HUB_OFFLINE"] = "0"
    os.environ["TRANSFORMERS_OFFLINE"] = "0"
    try:
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = False
    except ImportError:  # pragma: no cover - comes with sentence-transformers
        pass
