"""notes-chat: a private, local Q&A chatbot over your own notes, with citations."""

__version__ = "0.1.0"
