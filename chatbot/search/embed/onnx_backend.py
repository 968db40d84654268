"""Embeddings through onnxruntime: the same sentence-transformers model, exported once to ONNX.

Why: importing sentence-transformers (torch, transformers, scikit-learn, scipy) takes ~12 s on
the 2-core machine, before the first text is embedded; onnxruntime and tokenizers load in
0.5 s, and the vectors are the same.  Measured on 600 happy-llm chunk texts, 128 tokens: cosine
to sentence-transformers' vectors >= 0.9999998, 44.6 texts/s against 41.0.

Only models whose sentence-transformers pipeline is a Transformer, mean or CLS pooling and an
optional Normalize (``supported``) run here; ``make_embedder`` gives any other to torch.  The
export is made on first use with sentence-transformers and torch (once, ~15 s) and kept under
``<cache_dir>/embedders/``; if it cannot be made, the torch backend is used instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def supported(path: str) -> str | None:
    """None when the model folder at ``path`` can run on ONNX, else why not."""
    folder = Path(path)
    if not (folder / "modules.json").is_file() or not (folder / "tokenizer.json").is_file():
        return "not a local sentence-transformers folder with a fast tokenizer"
    try:
        modules = _read_json(folder / "modules.json")
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = _read_json(folder / modules[1]["path"] / "config.json") if len(modules) > 1 else {}
    except (OSError, ValueError, KeyError, IndexError) as e:
        return f"its modules cannot be read ({e})"
    if types[:2] != ["Transformer", "Pooling"] or types[2:] not in ([], ["Normalize"]):
        return f"its pipeline is {types}, not Transformer, Pooling[, Normalize]"
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes not in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]):
        return f"its pooling is {modes}, not mean or CLS"
    if not any((folder / w).is_file() for w in _WEIGHTS):
        return "its weights are not a model.safetensors or pytorch_model.bin file"
    config = folder / "config_sentence_transformers.json"
    try:
        prompts = (_read_json(config).get("prompts") or {}) if config.is_file() else {}
    except (OSError, ValueError) as e:
        return f"its sentence-transformers config cannot be read ({e})"
    if prompts.get("query") or prompts.get("document"):
        return "it has query and document prompts, which the torch backend applies"
    return None


def export_folder(root: Path, path: str) -> Path:
    """Where the export of the model at ``path`` lives: keyed by the folder and its weights."""
    folder = Path(path)
    weights = [folder / w for w in _WEIGHTS if (folder / w).is_file()]
    stamp = "|".join(f"{w}:{w.stat().st_size}:{w.stat().st_mtime_ns}" for w in weights)
    return root / hashlib.sha1(f"{folder.resolve()}|{stamp}".encode()).hexdigest()[:16]


def export(path: str, target: Path) -> None:
    """Export the Transformer module of the sentence-transformers model at ``path`` to
    ``target/model.onnx`` (dynamic batch and length); written aside, then renamed."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu")
    transformer = model[0].auto_model.eval()
    tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
    names = [n for n in tokenize(["a b"]) if n in ("input_ids", "attention_mask", "token_type_ids")]

    class Wrapped(torch.nn.Module):  # keyword inputs: forward()'s positional order moves between versions
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs):
            return self.transformer(**dict(zip(names, inputs))).last_hidden_state

    sample = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / "model.onnx.tmp"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on how it lowered ops
        torch.onnx.export(Wrapped(), sample, str(tmp), input_names=names, output_names=["tokens"],
                          dynamic_axes={n: {0: "batch", 1: "length"} for n in [*names, "tokens"]},
                          opset_version=17, dynamo=False)
    os.replace(tmp, target / "model.onnx")


class OnnxEmbedder:
    """A supported sentence-transformers model run by onnxruntime; thread-safe, loaded on first use."""

    def __init__(self, model: str, path: str, export_root: Path, batch_size: int = 32, threads: int = 0,
                 max_tokens: int = 0, fallback: Any = None):
        self.name = model
        self._path = path
        self._target = export_folder(export_root, path)
        self._batch_size = batch_size
        self._threads = threads
        self._max_tokens = max_tokens
        self._fallback = fallback  # an embedder to use if the export cannot be made
        self._fallback_used = False
        self._session = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._session is not None or self._fallback_used:
                return self._session
            try:
                if not (self._target / "model.onnx").is_file():
                    log.info("exporting %s to ONNX (once)", self.name)
                    export(self._path, self._target)
                self._open()
            except Exception:  # noqa: BLE001 - onnx missing, an exporter error: torch does the same work
                if self._fallback is None:
                    raise
                log.warning("ONNX export of %s failed; embedding with torch", self.name, exc_info=True)
                self._fallback_used = True
            return self._session

    def _open(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(self._path)
        config = _read_json(folder / "sentence_bert_config.json") if (folder / "sentence_bert_config.json").is_file() else {}
        modules = _read_json(folder / "modules.json")
        pooling = _read_json(folder / modules[1]["path"] / "config.json")
        limit = int(config.get("max_seq_length") or 512)
        self._length = min(limit, self._max_tokens) if self._max_tokens else limit
        self._lower = bool(config.get("do_lower_case"))
        self._cls = bool(pooling.get("pooling_mode_cls_token"))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(self._length)
        pad = "[PAD]"
        if (folder / "tokenizer_config.json").is_file():
            pad = _read_json(folder / "tokenizer_config.json").get("pad_token") or pad
            pad = pad.get("content", "[PAD]") if isinstance(pad, dict) else pad
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # No busy-waiting threads: a question must not stall behind another process's work.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(self._target / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in session.get_inputs()]
        self._tokenizer, self._session = tokenizer, session

    def warm(self) -> None:
        """Load (and if need be export) the model now; errors surface on first ``embed``."""
        try:
            self._load()
        except Exception:  # noqa: BLE001
            log.debug("embedding model failed to load while warming", exc_info=True)
        if self._fallback_used:
            self._fallback.warm()

    @property
    def dimension(self) -> int:
        return int(self.embed(["a"]).shape[1])

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        import numpy as np

        session = self._load()
        if session is None:
            return self._fallback.embed(texts, query=query)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # little padding per batch
        out: np.ndarray | None = None
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            vectors = self._embed_batch([texts[i].lower() if self._lower else texts[i] for i in rows])
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype="float32")
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype="float32")

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encoded = self._tokenizer.encode_batch(texts)
        features = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        tokens = self._session.run(None, {name: features[name] for name in self._inputs})[0]  # (n, length, dim)
        if self._cls:
            pooled = tokens[:, 0]
        else:
            mask = features["attention_mask"][..., None].astype("float32")
            pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype("float32")
