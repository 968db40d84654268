"""Load, bounded: 20 concurrent API users on loopback for 20 s, and a 500-question session.

The full-length run is ``chatbot bench load`` (figures in reports/bench-load.json).
"""

from __future__ import annotations

import pytest

from chatbot.measure.bench_load import load_users, rss_mb

pytestmark = pytest.mark.integration


def test_twenty_concurrent_users_get_their_own_answers_without_errors(real_settings, real_retriever):
    # real_retriever: the session's index of the bundled corpus exists in real_settings.data_dir
    result = load_users(real_settings, users=20, seconds=20, echo=lambda _: None)
    assert result["errors"] == 0, result["error_samples"]  # a crossed answer counts as an error
    assert result["answers"] >= 40
    memory = result["server_rss_mb"]
    assert memory["end"] - memory["after_first_quarter"] < 0.1 * memory["after_first_quarter"]


def test_long_session_memory_stays_flat(real_settings, real_retriever):
    import os

    from chatbot.answers.answer import Answerer
    from chatbot.measure.evaluate import default_questions, read_questions

    answerer = Answerer(real_settings, real_retriever)
    questions = [item["q"] for item in read_questions(default_questions())]
    history: list[tuple[str, str]] = []
    for i in range(500):
        answer = answerer.ask(questions[i % len(questions)], history[-4:])
        history.append((answer.question, answer.answer))
        if i == 99:
            after_100 = rss_mb(os.getpid())
    assert rss_mb(os.getpid()) - after_100 < 30  # MiB over 400 more questions
