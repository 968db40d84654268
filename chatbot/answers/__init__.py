"""Answers: question -> checked, cited answer.

The answer chain (``Answerer``): follow-up rewrite and translation, retrieval, the decline
decision ("that is not in your notes"), prompt fitting, generation by a model or extraction of
the notes' own sentences, and the citation check.  Citations are data (``Citation``); an
``Answer`` is data with a JSON contract.

Left to others: finding passages (``chatbot.search``), running a model (``chatbot.models``),
and showing an answer in a terminal, a browser or an API (``chatbot.apps``).
"""
