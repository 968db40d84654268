"""Model stage: a local GGUF model run by llama-cpp-python, and the models folder.

The chat template comes from the GGUF's own metadata (``tokenizer.chat_template``), as
llama-cpp-python's own chat handler does; we format the prompt ourselves with the same
``Jinja2ChatFormatter`` so that the tokens counted against the context budget are exactly
the tokens evaluated.  llama-cpp-python keeps the KV cache of the longest common token prefix
between calls, so the fixed system prompt (first in every prompt) is evaluated once per model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    from ..settings import Settings

GGUF_MAGIC = b"GGUF"
# Used only when a GGUF carries no chat template of its own.
FALLBACK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class ModelError(UserError):
    """A model file that is missing, not GGUF, or that llama.cpp cannot load."""


def check_gguf(path: Path) -> None:
    """Raise ModelError (one sentence) unless ``path`` is a readable file starting with GGUF's magic."""
    if not path.exists():
        raise ModelError(f"Model file {path} does not exist; give the path of a .gguf file (see 'chatbot models').")
    if not path.is_file():
        raise ModelError(f"{path} is a folder, not a model file; give the path of a .gguf file.")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ModelError(f"Model file {path} cannot be read ({e.strerror}); check its permissions.") from e
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file; convert it to GGUF or pick another file.")


@dataclass(frozen=True)
class ModelInfo:
    """What 'chatbot models' shows for one file, read from its GGUF header (no weights loaded)."""

    path: Path
    size_bytes: int
    architecture: str = ""
    name: str = ""
    context_length: int | None = None
    file_type: str = ""
    has_chat_template: bool = False
    error: str = ""


def read_model_info(path: Path) -> ModelInfo:
    """Header metadata of a GGUF file; ``error`` set (never raised) when the header is unreadable."""
    size = path.stat().st_size if path.exists() else 0
    try:
        check_gguf(path)
        import gguf

        reader = gguf.GGUFReader(str(path), "r")

        def value(key: str) -> Any:
            f = reader.fields.get(key)
            return f.contents() if f is not None else None

        arch = str(value("general.architecture") or "")
        file_type = value("general.file_type")
        return ModelInfo(
            path=path,
            size_bytes=size,
            architecture=arch,
            name=str(value("general.name") or ""),
            context_length=value(f"{arch}.context_length"),
            file_type=gguf.LlamaFileType(file_type).name if file_type is not None else "",
            has_chat_template=value("tokenizer.chat_template") is not None,
        )
    except ModelError as e:
        return ModelInfo(path=path, size_bytes=size, error=str(e))
    except Exception:  # noqa: BLE001 - gguf raises many kinds on a damaged header
        return ModelInfo(path=path, size_bytes=size, error=damage_sentence(path, size))


def damage_sentence(path: Path, size: int) -> str:
    """Why a GGUF file whose header or tensor table cannot be read is unusable, and what to do."""
    from .catalog import find

    entry = find(path.name)
    if entry is not None and entry.sha256 and size != entry.size_bytes:
        return (f"truncated or damaged: {size / 1e6:.0f} of {entry.size_bytes / 1e6:.0f} MB; "
                f"run 'chatbot models pull {entry.name}' to fetch it again")
    return ("damaged or truncated: its GGUF header or tensor table cannot be read; "
            "delete it and download it again")


def list_models(folder: Path) -> list[ModelInfo]:
    """Every ``*.gguf`` under ``folder`` (sorted by path) with its header metadata."""
    if not folder.is_dir():
        return []
    return [read_model_info(p) for p in sorted(folder.rglob("*.gguf")) if p.is_file()]


@dataclass
class Generation:
    """Counters of the last generation, from llama.cpp's own performance data."""

    prompt_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens served from the KV cache of the previous call
    generated_tokens: int = 0
    prompt_eval_ms: float = 0.0  # llama.cpp's own timing of the prompt evaluation
    eval_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class LocalModel:
    """One loaded GGUF model.  Not thread-safe by itself: calls are serialised by a lock."""

    def __init__(self, path: Path, *, n_ctx: int = 4096, n_threads: int = 0, seed: int = 0):
        check_gguf(path)
        trained = read_model_info(path).context_length
        if trained and n_ctx > trained:  # beyond its training context a model degrades (llama.cpp warns)
            n_ctx = int(trained)
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        try:
            self.llama = Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads or None, seed=seed, verbose=False
            )
        except (ValueError, RuntimeError, OSError) as e:
            raise ModelError(
                f"llama.cpp could not load {path} (damaged, truncated or unsupported GGUF); "
                "re-download it or pick another model."
            ) from e
        self.path = path
        self.seed = seed
        # Extra create_completion arguments (a GBNF grammar, a logit bias): the benchmark forbids
        # end-of-sequence so every run generates the same count; tests force citation markers.
        self.sampling_overrides: dict[str, Any] = {}
        self.last_prompt: tuple[list[int], list[str]] = ([], [])  # tokens and stop strings of the last call
        self.lock = threading.RLock()
        self.closed = False
        self.last = Generation()
        meta = self.llama.metadata
        self.name = meta.get("general.name") or path.stem
        self.architecture = meta.get("general.architecture", "")
        self.template_from_file = "tokenizer.chat_template" in meta
        eos, bos = self.llama.token_eos(), self.llama.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=meta.get("tokenizer.chat_template") or FALLBACK_TEMPLATE,
            eos_token=self.llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=self.llama._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos] if eos != -1 else None,
        )

    def _check_open(self) -> None:
        # A freed llama.cpp context crashes the process when touched; a swap may race a question.
        if self.closed:
            raise ModelError(f"The model {self.path.name} was unloaded (swapped out); ask again.")

    @property
    def n_ctx(self) -> int:
        with self.lock:
            self._check_open()
            return self.llama.n_ctx()

    def prompt_tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The exact tokens evaluated for ``messages`` (via the GGUF's chat template), and stop strings."""
        result = self._formatter(messages=messages)
        with self.lock:
            self._check_open()
            tokens = self.llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return tokens, stop

    def count(self, messages: list[dict[str, str]]) -> int:
        return len(self.prompt_tokens(messages)[0])

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Text pieces of the model's reply to ``messages`` as llama.cpp produces them."""
        import llama_cpp

        tokens, stop = self.prompt_tokens(messages)
        with self.lock:
            self._check_open()
            self.last_prompt = (tokens, stop)
            reused = self.llama.longest_token_prefix(self.llama._input_ids.tolist(), tokens) if self.llama.n_tokens else 0
            llama_cpp.llama_perf_context_reset(self.llama._ctx.ctx)
            self.llama.set_seed(self.seed)
            called = time.perf_counter()
            pieces = self.llama.create_completion(
                prompt=tokens, max_tokens=max_tokens, temperature=temperature, stop=stop or None, stream=True,
                **self.sampling_overrides,
            )
            for piece in pieces:
                text = piece["choices"][0]["text"]
                if text:
                    yield text
            perf = llama_cpp.llama_perf_context(self.llama._ctx.ctx)
            self.last = Generation(
                prompt_tokens=len(tokens),
                reused_tokens=reused,
                generated_tokens=perf.n_eval,
                prompt_eval_ms=perf.t_p_eval_ms,
                eval_ms=perf.t_eval_ms,
                extra={"called_at": called},  # perf_counter() when llama.cpp was called
            )

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 0.0) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens, temperature=temperature))

    def close(self) -> None:
        """Free the model's memory now rather than at garbage collection."""
        with self.lock:
            if not self.closed:
                self.closed = True
                self.llama.close()


def load_configured(path: Path, settings: Settings) -> LocalModel:
    """``load_model`` of ``path`` (``~`` expanded) with the settings' context, threads and seed."""
    return load_model(Path(path).expanduser(), n_ctx=settings.n_ctx, n_threads=settings.n_threads, seed=settings.seed)


def load_model(path: Path, *, n_ctx: int, n_threads: int, seed: int) -> LocalModel:
    """Load ``path``, timing the load (for the UI's status line)."""
    start = time.perf_counter()
    model = LocalModel(path, n_ctx=n_ctx, n_threads=n_threads, seed=seed)
    model.last.extra["load_ms"] = (time.perf_counter() - start) * 1000
    return model
