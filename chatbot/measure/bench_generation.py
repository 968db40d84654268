"""Generation bench: the bot's overhead over raw llama-cpp-python on the same prompt.

``chatbot bench generation`` writes ``reports/bench-generation.json``.  Without ``--model`` it
times a random-weight GGUF with Qwen2.5-0.5B-Instruct's transformer shapes (24 layers, hidden
896, 14 heads, 2 KV heads, FFN 4864; vocabulary reduced to 32,000), quantized to Q4_K_M with
llama-cpp-python's quantize binding and cached under ``<data_dir>/bench/``.  Speed depends on
shapes, not weight values, so the figures stand for a real model of that shape (except the
output layer, 4.7x smaller than the real 151,936-token one).

Per run, both sides start from an empty KV cache and generate exactly ``max_tokens`` tokens
(end-of-sequence is masked so a random model cannot stop early):

* **bot** - ``Answerer.stream`` on the bundled corpus (retrieve, decline check, prompt fitting,
  chat template, streaming, citation check).  TTFT is measured from the question.
* **raw** - ``Llama.create_completion(stream=True)`` on the bot's exact prompt tokens, in a
  second ``Llama`` instance of the same file.

Generation tokens/s is generated tokens over wall-clock generation time: from the call into
llama.cpp to the last piece received (by the bot's consumer, after the LangChain chain), minus
llama.cpp's own prompt-eval time.  (Timing from the first streamed piece is unreliable: a
piece is held back while it could be the start of a stop string or of a multi-byte character.)
Prompt-eval tokens/s is llama.cpp's own counter.  The bot's TTFT is compared with llama.cpp's own
prompt-eval time for that prompt.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings import Settings

QUESTION = "What is gradient checkpointing and why does it save GPU memory?"
BENCH_N_CTX = 2048  # keeps each run's prompt evaluation to seconds on 2 cores
TARGETS = {"generation_overhead_max": 0.05, "ttft_over_prompt_eval_max": 1.10}


def bench_model(data_dir: Path, echo: Callable[[str], None]) -> Path:
    """The cached random-weight Qwen2.5-0.5B-shaped Q4_K_M GGUF (written on first use, ~2 minutes)."""
    from ..models.random_gguf import QWEN25_05B, quantize, write_random_gguf

    folder = data_dir / "bench"
    target = folder / "random-qwen2.5-0.5b-shape-q4_k_m.gguf"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    f16 = folder / "random-qwen2.5-0.5b-shape-f16.gguf.tmp"
    echo("Writing a random-weight Qwen2.5-0.5B-shaped model (f16) ...")
    write_random_gguf(f16, QWEN25_05B, f16=True, name="random-qwen2.5-0.5b-shape")
    echo("Quantizing it to Q4_K_M ...")
    partial = target.with_suffix(".tmp")
    quantize(f16, partial, "Q4_K_M")
    partial.rename(target)
    f16.unlink()
    return target


def _no_eos(llama: Any) -> dict[str, Any]:
    return {"logit_bias": {llama.token_eos(): float("-inf")}}


def run_generation_bench(
    settings: Settings, model_path: Path | None, *, runs: int = 3, max_tokens: int = 64,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Time ``runs`` answers through the bot and through raw llama-cpp-python; see the module docstring."""
    import llama_cpp

    from ..answers.answer import Answerer
    from ..answers.result import Done, Token
    from .machine import machine_facts

    path = model_path or bench_model(settings.data_dir, echo)
    # The translation of an English question over Chinese notes is a separate short generation
    # before the answer; it is timed on its own below, so TTFT here compares like with like.
    settings = settings.model_copy(update={"n_ctx": BENCH_N_CTX, "max_tokens": max_tokens, "model": None,
                                           "translate_questions": False})
    answerer = Answerer.from_settings(settings, path)
    model = answerer.model
    n_ctx = model.n_ctx
    model.sampling_overrides = _no_eos(model.llama)
    answerer.ask(QUESTION)  # warm: embedding model, index, prompt formatting
    raw = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=settings.n_threads or None,
                          seed=settings.seed, verbose=False)
    bot_runs, raw_runs = [], []
    for _ in range(runs):
        model.llama.reset()  # empty KV cache: the whole prompt is evaluated, as on a first question
        start = time.perf_counter()
        first = last = None
        for event in answerer.stream(QUESTION):
            if isinstance(event, Token):
                last = time.perf_counter()
                first = first or last
            elif isinstance(event, Done):
                answer = event.answer
        gen = model.last
        bot_runs.append({
            "ttft_ms": (first - start) * 1000,
            "ttft_after_retrieval_ms": (first - start) * 1000 - answer.timings["retrieve_ms"] - answer.timings["rewrite_ms"],
            "prompt_tokens": gen.prompt_tokens,
            "prompt_eval_ms": gen.prompt_eval_ms,
            "generated_tokens": gen.generated_tokens,
            "gen_tokens_per_s": gen.generated_tokens / (last - gen.extra["called_at"] - gen.prompt_eval_ms / 1000),
        })
        tokens, stop = model.last_prompt  # the bot's exact prompt
        raw.reset()
        llama_cpp.llama_perf_context_reset(raw._ctx.ctx)
        start = time.perf_counter()
        first = last = None
        for _piece in raw.create_completion(prompt=tokens, max_tokens=max_tokens, temperature=settings.temperature,
                                            stop=stop or None, stream=True, **_no_eos(raw)):
            last = time.perf_counter()
            first = first or last
        perf = llama_cpp.llama_perf_context(raw._ctx.ctx)
        raw_runs.append({
            "ttft_ms": (first - start) * 1000,
            "prompt_tokens": len(tokens),
            "prompt_eval_ms": perf.t_p_eval_ms,
            "generated_tokens": perf.n_eval,
            "gen_tokens_per_s": perf.n_eval / (last - start - perf.t_p_eval_ms / 1000),
        })
    raw.close()
    model.sampling_overrides = {}
    translated = [e.answer for e in answerer.stream(QUESTION, translate_questions=True) if isinstance(e, Done)][0]
    answerer.set_model(None)

    def median(rows: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 2)

    bot = {k: median(bot_runs, k) for k in bot_runs[0]}
    raw_summary = {k: median(raw_runs, k) for k in raw_runs[0]}
    overhead = 1 - bot["gen_tokens_per_s"] / raw_summary["gen_tokens_per_s"]
    ttft_ratio = bot["ttft_ms"] / raw_summary["prompt_eval_ms"]
    results = {
        "machine": machine_facts(),
        "model": {"path": str(path), "size_mib": round(path.stat().st_size / 2**20, 1), "n_ctx": n_ctx},
        "question": QUESTION,
        "runs": runs,
        "max_tokens": max_tokens,
        "bot": bot,
        "raw": raw_summary,
        "prompt_eval_tokens_per_s": round(raw_summary["prompt_tokens"] / raw_summary["prompt_eval_ms"] * 1000, 1),
        "generation_overhead": round(overhead, 4),
        "ttft_over_prompt_eval": round(ttft_ratio, 4),
        "translate_ms": round(translated.timings["translate_ms"], 1),  # one translation step, when it runs
        "targets": TARGETS,
        "targets_met": {
            "generation_overhead": overhead <= TARGETS["generation_overhead_max"],
            "ttft": ttft_ratio <= TARGETS["ttft_over_prompt_eval_max"],
        },
        "all_runs": {"bot": bot_runs, "raw": raw_runs},
    }
    echo(f"prompt: {raw_summary['prompt_tokens']:.0f} tokens; llama.cpp prompt eval {raw_summary['prompt_eval_ms']:.0f} ms "
         f"({results['prompt_eval_tokens_per_s']} tokens/s)")
    echo(f"generation: bot {bot['gen_tokens_per_s']:.1f} tokens/s, raw {raw_summary['gen_tokens_per_s']:.1f} tokens/s "
         f"-> overhead {overhead:.1%} (target <= 5%)")
    echo(f"TTFT: bot {bot['ttft_ms']:.0f} ms from the question vs llama.cpp prompt eval {raw_summary['prompt_eval_ms']:.0f} ms "
         f"-> {ttft_ratio:.3f}x (target <= 1.10x); raw TTFT {raw_summary['ttft_ms']:.0f} ms")
    echo(f"translation of the question (English over Chinese notes, a separate step before the answer): "
         f"{results['translate_ms']:.0f} ms")
    return results
