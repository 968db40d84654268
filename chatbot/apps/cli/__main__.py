"""``python -m chatbot.apps.cli``: the ``chatbot`` command, run from a checkout."""

from . import run

run()
