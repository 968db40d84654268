"""The bot as an OpenAI-compatible server, so other chat clients can use the notes.

``chatbot serve`` exposes ``POST /v1/chat/completions`` (streaming and not) and ``GET /v1/models``
with FastAPI (already installed with Gradio).  The last user message is the question; earlier
user/assistant pairs are the conversation (follow-ups are rewritten as in ``chatbot chat``).

Citations ride along in extra fields OpenAI clients keep (``response.model_extra``):

* non-streaming: ``"citations": [...]`` (the ``chatbot ask --json`` objects) and
  ``"notes_chat": {"answer", "declined", "mode", "model", "rewritten_question", "translated_question",
  "related", "absent_terms", "caution", "dense_coverage", "timings"}``
  at the top level (``answer`` is the text after the citation check);
* streaming: the same two fields on the final chunk (the one whose ``finish_reason`` is ``"stop"``).

Left out: tools/functions, ``n > 1``, logprobs; sampling parameters other than ``temperature``
and ``max_tokens`` are ignored.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..answers.answer import Answerer
    from ..answers.result import Answer

MODEL_ID = "notes-chat"


def conversation(messages: list[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    """(question, history) from OpenAI chat messages: the last user message, and earlier Q/A pairs."""
    turns = [(m.get("role"), _text(m.get("content"))) for m in messages if m.get("role") in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        return "", []
    history, pending = [], None
    for role, text in turns[:-1]:
        if role == "user":
            pending = text
        elif pending is not None:
            history.append((pending, text))
            pending = None
    return turns[-1][1], history


def _text(content: Any) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def _extras(answer: Answer) -> dict[str, Any]:
    data = answer.to_json()
    return {
        "citations": data["citations"],
        # "answer" is the checked text: streamed pieces are the model's raw output
        "notes_chat": {k: data[k] for k in ("answer", "declined", "mode", "model", "rewritten_question",
                                            "translated_question", "related", "absent_terms", "caution", "dense_coverage", "timings")},
    }


def build_server(answerer: Answerer) -> FastAPI:
    """The FastAPI app over ``answerer`` (one answer generated at a time, like the UI)."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, StreamingResponse

    from ..answers.result import Done, Token
    from ..errors import UserError

    api = FastAPI(title="notes-chat", docs_url=None, redoc_url=None)
    lock = threading.Lock()  # one llama.cpp model: one answer at a time

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)

    @api.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "local"}]}

    @api.post("/v1/chat/completions")
    def complete(body: dict[str, Any]):
        question, history = conversation(body.get("messages") or [])
        overrides = {k: body[k] for k in ("temperature", "max_tokens") if body.get(k) is not None}
        try:
            with lock:
                answerer.follow_index()  # a newer index generation, published by an ingest
                prepared = answerer.prepare(question, history, **overrides)
                events = list(answerer.respond(prepared)) if not body.get("stream") else None
        except UserError as e:
            return error(400, str(e))
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        head = {"id": ident, "created": created, "model": MODEL_ID}
        if events is not None:
            answer = next(e.answer for e in events if isinstance(e, Done))
            return {**head, "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, **_extras(answer)}

        def sse() -> Iterator[str]:
            def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
                data = {**head, "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
                return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant", "content": ""})
            with lock:
                for event in answerer.respond(prepared):
                    if isinstance(event, Token):
                        yield chunk({"content": event.text})
                    elif isinstance(event, Done):
                        yield chunk({}, "stop", **_extras(event.answer))
            yield "data: [DONE]\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream")

    return api


def run_server(answerer: Answerer, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_server(answerer), host=host, port=port, log_level="warning")
