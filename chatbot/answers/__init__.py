"""Answers: question -> checked, cited answer.

The answer chain (``answer.Answerer``): follow-up rewrite and translation (``rewrite``),
retrieval, the decline decision, "that is not in your notes" (``decline``), prompt fitting
(``prompt``), generation by a model or extraction of the notes' own sentences (``extract``),
and the citation check (``cite``).  Citations are data (``Citation``); an ``Answer`` is data
with a JSON contract, streamed as events (``result``).

Left to others: finding passages (``chatbot.search``), running a model (``chatbot.models``),
and showing an answer in a terminal, a browser or an API (``chatbot.apps``).
"""
