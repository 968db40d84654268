"""Random-weight GGUF models, for tests and the generation benchmark.

No real model can be downloaded here, yet the generative path must run on real llama.cpp.
llama.cpp's speed depends on tensor shapes, not weight values, and its plumbing (chat
template, streaming, tokenizer, context limit) on metadata, so a file with the right keys,
a SentencePiece-style ("llama") vocabulary and random tensors exercises everything but the
quality of the text.  Written with the ``gguf`` package; llama.cpp has no writer of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# ChatML, the template of Qwen-style instruct models; stored in the file's metadata so the
# bot must read it from there (as it does for any real GGUF).
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class Shape:
    """Transformer dimensions of a llama-architecture model."""

    layers: int = 2
    hidden: int = 64
    heads: int = 4
    kv_heads: int = 2
    ffn: int = 128
    vocab: int = 512  # 3 special + 256 byte tokens + normal pieces
    context: int = 2048


TINY = Shape()
# Qwen2.5-0.5B-Instruct's transformer shapes, with a reduced vocabulary (the real one has 151,936
# tokens; the output layer's size is stated in the benchmark report).
QWEN25_05B = Shape(layers=24, hidden=896, heads=14, kv_heads=2, ffn=4864, vocab=32_000, context=32_768)


def _pieces(n: int) -> list[str]:
    """``n`` distinct SentencePiece-style pieces: common English words, letters, then combinations."""
    words = (
        "the of and to in is that for it as with on be by this are or from at not an which we model "
        "attention transformer training data token layer learning notes answer question loss gradient "
        "memory context prompt fine tuning network"
    ).split()
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    # "▁" alone is the space piece every SentencePiece vocabulary has (without it a space falls
    # back to the bytes of "▁" and never detokenizes back to a space).
    pieces = ["▁"] + ["▁" + w for w in words] + letters + ["▁" + c for c in letters]
    i = 0
    while len(pieces) < n:  # filler pieces, so any vocabulary size can be reached
        a, b = letters[i % 26], letters[(i // 26) % 26]
        pieces.append(f"▁{a}{b}{i // 676}" if i >= 676 else f"{a}{b}")
        i += 1
    return list(dict.fromkeys(pieces))[:n]


def write_random_gguf(path: Path, shape: Shape = TINY, *, seed: int = 0, f16: bool = False,
                      chat_template: str | None = CHATML_TEMPLATE, name: str = "random-llama") -> Path:
    """Write a loadable llama-architecture GGUF with random weights to ``path``."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    dtype = np.float16 if f16 else np.float32
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.hidden)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_dimension_count(shape.hidden // shape.heads)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)

    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    normal = _pieces(shape.vocab - len(specials) - len(byte_tokens))
    tokens = specials + byte_tokens + normal
    types = (
        [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
        + [gguf.TokenType.BYTE] * 256
        + [gguf.TokenType.NORMAL] * len(normal)
    )
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * 259 + [-float(i) for i in range(len(normal))])
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    if chat_template:
        writer.add_chat_template(chat_template)

    def tensor(*dims: int, scale: float = 0.02):
        return (rng.standard_normal(dims, dtype=np.float32) * scale).astype(dtype)

    head_dim = shape.hidden // shape.heads
    vocab = len(tokens)
    writer.add_tensor("token_embd.weight", tensor(vocab, shape.hidden))
    writer.add_tensor("output_norm.weight", np.ones(shape.hidden, dtype=np.float32))
    writer.add_tensor("output.weight", tensor(vocab, shape.hidden))
    for i in range(shape.layers):
        block = f"blk.{i}"
        writer.add_tensor(f"{block}.attn_norm.weight", np.ones(shape.hidden, dtype=np.float32))
        writer.add_tensor(f"{block}.attn_q.weight", tensor(shape.hidden, shape.hidden))
        writer.add_tensor(f"{block}.attn_k.weight", tensor(shape.kv_heads * head_dim, shape.hidden))
        writer.add_tensor(f"{block}.attn_v.weight", tensor(shape.kv_heads * head_dim, shape.hidden))
        writer.add_tensor(f"{block}.attn_output.weight", tensor(shape.hidden, shape.hidden))
        writer.add_tensor(f"{block}.ffn_norm.weight", np.ones(shape.hidden, dtype=np.float32))
        writer.add_tensor(f"{block}.ffn_gate.weight", tensor(shape.ffn, shape.hidden))
        writer.add_tensor(f"{block}.ffn_up.weight", tensor(shape.ffn, shape.hidden))
        writer.add_tensor(f"{block}.ffn_down.weight", tensor(shape.hidden, shape.ffn))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def quantize(source: Path, target: Path, ftype: str = "Q4_K_M", threads: int = 0) -> Path:
    """Quantize a GGUF with llama-cpp-python's binding of llama.cpp's quantizer."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype}")
    params.nthread = threads
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if status != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source} to {ftype} (status {status}).")
    return target
