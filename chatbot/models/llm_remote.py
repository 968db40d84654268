"""Model stage, remote: any OpenAI-compatible chat endpoint instead of in-process llama.cpp.

For a bigger model on another box: llama-cpp-python's own server, llama.cpp's ``llama-server``,
vLLM.  Same interface as ``llm.LocalModel`` as far as the answer chain uses it (``n_ctx``,
``count``, ``stream``, ``complete``, ``close``, ``last``), so retrieval, prompts, declines and
citation checks are unchanged.

Token counts: OpenAI-compatible servers have no common tokenize endpoint, so ``count`` is an
upper bound: UTF-8 bytes of the messages plus a per-message allowance for the chat template
(byte-level BPE and SentencePiece with byte fallback never use more than one token per byte).
The prompt therefore always fits ``n_ctx`` (setting ``llm_context``), at the cost of sometimes
dropping a passage that would have fitted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from .llm import Generation, ModelError

TEMPLATE_ALLOWANCE = 32  # tokens per message for role markers of any chat template


class RemoteModel:
    """A chat model behind ``base_url`` (e.g. http://127.0.0.1:8000/v1)."""

    template_from_file = False

    def __init__(self, base_url: str, model: str, *, api_key: str = "none", n_ctx: int = 4096, seed: int = 0,
                 timeout: float = 300.0):
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.path = base_url  # what the UI shows as the loaded model's location
        self.name = f"{model} @ {base_url}"
        self.seed = seed
        self._n_ctx = n_ctx
        self.client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)
        self.lock = threading.RLock()
        self.closed = False
        self.last = Generation()
        self.sampling_overrides: dict[str, Any] = {}
        self.last_prompt: tuple[list[int], list[str]] = ([], [])

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count(self, messages: list[dict[str, str]]) -> int:
        return sum(len(m["content"].encode("utf-8")) + TEMPLATE_ALLOWANCE for m in messages) + TEMPLATE_ALLOWANCE

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float) -> Iterator[str]:
        import openai

        started = time.perf_counter()
        pieces = 0
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=temperature,
                seed=self.seed, stream=True, **self.sampling_overrides,
            )
            for chunk in response:
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    pieces += 1
                    yield text
        except openai.APIConnectionError as e:
            raise ModelError(f"The model server at {self.base_url} cannot be reached; start it or fix llm_base_url.") from e
        except openai.APIStatusError as e:
            raise ModelError(f"The model server at {self.base_url} refused the request ({e.status_code}); "
                             "check llm_model and the server's log.") from e
        self.last = Generation(prompt_tokens=self.count(messages), generated_tokens=pieces,
                               extra={"wall_ms": (time.perf_counter() - started) * 1000})

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 0.0) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens, temperature=temperature))

    def close(self) -> None:
        self.closed = True
        self.client.close()
