"""notes-chat: a private, local Q&A chatbot over your own notes, with citations."""

from .privacy import apply_defaults

apply_defaults()  # before any third-party import can read its telemetry switches

__version__ = "0.1.0"
