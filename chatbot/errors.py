"""User-facing errors: each carries one sentence that says what to do.

The CLI and UI edges turn these into a message and a non-zero exit; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix; ``str(error)`` is the one sentence shown to them."""


class CorpusError(UserError):
    """The notes folder or a file in it cannot be used."""


class IndexMissingError(UserError):
    """No index has been built yet for the configured embedding model."""


class QuestionError(UserError):
    """The question cannot be answered as given (empty, too long, ...)."""
