"""Load bench: concurrent users through the app's API, and a long session in one process.

``chatbot bench load`` writes ``reports/bench-load.json``:

* **users** - ``chatbot ui`` is started as a separate process on a free loopback port; ``users``
  threads, each its own ``gradio_client`` session, ask eval-set questions through ``/ask`` for
  ``seconds``.  Reported: answers, errors, p50/p95/max latency, and the server's resident memory
  (sampled every second) at start, after the first quarter, and at the end.
* **long session** - ``questions`` answers in this process (one ``Answerer``); resident memory
  after the first 100 and at the end.

Everything stays on loopback.  Left out: generation (extractive answers; a model adds its own
fixed memory and serialises answers, see ``bench generation``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings import Settings


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _questions() -> list[str]:
    from .evaluate import default_questions, read_questions

    return [item["q"] for item in read_questions(default_questions())]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def _settle(pid: int, timeout_s: float = 60.0) -> None:
    """Wait until the app's memory stops growing: it loads the embedding model in the background
    after it starts, and on a busy machine that can still be under way after the first answer, so
    a load measured from then on would count the model as growth."""
    deadline = time.monotonic() + timeout_s
    previous, steady = rss_mb(pid), 0
    while time.monotonic() < deadline and steady < 3:  # three quiet seconds in a row
        time.sleep(1.0)
        current = rss_mb(pid)
        steady = steady + 1 if abs(current - previous) < 0.01 * previous else 0
        previous = current


def load_users(settings: Settings, users: int, seconds: float, echo: Callable[[str], None]) -> dict[str, Any]:
    from gradio_client import Client

    port = _free_port()
    env = {**os.environ, "NOTES_CHAT_DATA_DIR": str(settings.data_dir), "NOTES_CHAT_CORPUS_DIR": str(settings.corpus_dir)}
    server = subprocess.Popen([sys.executable, "-m", "chatbot.apps.cli", "ui", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        client = None
        for _ in range(600):
            try:
                client = Client(url, verbose=False)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        if client is None:
            raise RuntimeError("the app did not start")
        client.predict("warm up", api_name="/ask")
        _settle(server.pid)
        questions = _questions()
        latencies: list[float] = []
        errors: list[str] = []
        memory: list[float] = [rss_mb(server.pid)]
        stop = time.monotonic() + seconds
        lock = threading.Lock()

        def user(i: int) -> None:
            session = Client(url, verbose=False)
            n = i
            while time.monotonic() < stop:
                question = questions[n % len(questions)]
                n += users
                start = time.perf_counter()
                try:
                    answer = session.predict(question, api_name="/ask")
                    if answer["question"] != question:
                        raise AssertionError("answer for another question")
                    with lock:
                        latencies.append((time.perf_counter() - start) * 1000)
                except Exception as e:  # noqa: BLE001 - counted and reported
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}"[:200])

        threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(1.0)
            memory.append(rss_mb(server.pid))
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    quarter = memory[max(1, len(memory) // 4)]
    result = {
        "users": users, "seconds": seconds, "answers": len(latencies), "errors": len(errors), "error_samples": errors[:5],
        "latency_ms": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95),
                       "max": round(max(latencies, default=0.0), 1)},
        "answers_per_s": round(len(latencies) / seconds, 1),
        "server_rss_mb": {"start": round(memory[0], 1), "after_first_quarter": round(quarter, 1),
                          "end": round(memory[-1], 1), "max": round(max(memory), 1),
                          "every_5_s": [round(m, 1) for m in memory[::5]]},
    }
    echo(f"{users} users, {seconds:.0f} s: {len(latencies)} answers, {len(errors)} errors, "
         f"p50 {result['latency_ms']['p50']} ms, p95 {result['latency_ms']['p95']} ms; "
         f"server RSS {result['server_rss_mb']['after_first_quarter']} -> {result['server_rss_mb']['end']} MiB")
    return result


def long_session(settings: Settings, questions: int, echo: Callable[[str], None]) -> dict[str, Any]:
    from ..answers.answer import Answerer

    answerer = Answerer.from_settings(settings)
    pool = _questions()
    history: list[tuple[str, str]] = []
    marks = {}
    for i in range(questions):
        answer = answerer.ask(pool[i % len(pool)], history[-4:])
        history.append((answer.question, answer.answer))
        if i + 1 in (100, questions):
            marks[i + 1] = round(rss_mb(os.getpid()), 1)
    growth = marks[questions] - marks[min(100, questions)]
    echo(f"long session: {questions} questions, RSS {marks[min(100, questions)]} MiB after 100 -> "
         f"{marks[questions]} MiB at the end ({growth:+.1f} MiB)")
    return {"questions": questions, "rss_mb": marks, "growth_after_100_mb": round(growth, 1)}


def run_load_bench(settings: Settings, users: int, seconds: float, questions: int,
                   echo: Callable[[str], None] = print) -> dict[str, Any]:
    from .machine import machine_facts

    return {"machine": machine_facts(), "users": load_users(settings, users, seconds, echo),
            "long_session": long_session(settings, questions, echo) if questions else None}
