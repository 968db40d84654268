"""``chatbot eval`` and ``chatbot bench``: quality on a question set, and timings; figures go to ``--out``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import main, settings_of, write_json
from .studying import card_line


@main.group()
def eval() -> None:  # noqa: A001 - the command is called "eval"
    """Measure retrieval and answer quality on a question set."""


def _eval_settings(ctx: click.Context, notes: Path | None):
    """The settings to evaluate with: the user's index, or (``--notes DIR``) DIR indexed in a data
    dir of its own, brought up to date first."""
    settings = settings_of(ctx)
    if notes is None:
        return settings
    from ...measure.evaluate import notes_settings
    from ...search.ingest import ingest

    settings = notes_settings(settings, notes)
    click.echo(ingest(settings, progress=True).summary(), err=True)
    return settings


_NOTES_OPTION = click.option(
    "--notes", type=click.Path(file_okay=False, path_type=Path),
    help="Evaluate on this notes folder (indexed in a data dir of its own, reused while unchanged).")


@eval.command("retrieval")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL question set.")
@_NOTES_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/eval-retrieval.json"),
              show_default=True, help="Where to write the figures.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="GGUF model: also search each question in another language than the notes with its translation.")
@click.pass_context
def eval_retrieval(ctx, questions: Path | None, out: Path, notes: Path | None, model_path: Path | None) -> None:
    """hit@1, hit@5 and MRR per language for dense-only, BM25-only, the hybrid without its dense
    channel, and the hybrid (with --model: and the hybrid with the model's translation)."""
    from ...measure.evaluate import default_questions, evaluate_retrieval, format_retrieval, read_questions
    from ...search.retrieve import build_retriever

    items = read_questions(questions or default_questions())
    settings = _eval_settings(ctx, notes)
    retriever = build_retriever(settings)
    translate = None
    if model_path is not None:
        from ...answers.answer import Answerer
        from ...answers.rewrite import model_translate
        from ...search.tokens import detect_language

        answerer = Answerer(settings, retriever)
        answerer.set_model(model_path)
        target = retriever.index.main_language()

        def translate(question: str) -> str | None:
            return model_translate(question, target, answerer.model, answerer.prompts[detect_language(question)])
    results = evaluate_retrieval(retriever, items, translate=translate)
    click.echo(format_retrieval(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(f"Written to {out}")


@eval.command("answers")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL question set.")
@_NOTES_OPTION
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="GGUF model (default: extractive).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/eval-answers.json"),
              show_default=True, help="Where to write the figures.")
@click.option("--with-translations", is_flag=True,
              help="Also search each question's reference \"translation\" (what a model's translation step adds).")
@click.option("--first", "first", type=click.IntRange(min=1),
              help="Per language only the first N answerable and 0.3 N unanswerable questions (a model on a CPU is slow).")
@click.pass_context
def eval_answers(ctx, questions: Path | None, model_path: Path | None, out: Path, with_translations: bool,
                 notes: Path | None, first: int | None) -> None:
    """Evidence hit, correct citations, citation precision and decline rates per language."""
    from ...answers.answer import Answerer
    from ...measure.evaluate import (
        default_questions,
        evaluate_answers,
        first_per_language,
        format_answers,
        read_questions,
    )

    items = read_questions(questions or default_questions())
    if first:
        items = first_per_language(items, first)
    results = evaluate_answers(Answerer.from_settings(_eval_settings(ctx, notes), model_path), items, with_translations)
    click.echo(format_answers(results))
    write_json(out, results)


@eval.command("study")
@_NOTES_OPTION
@click.option("--n", "count", type=int, default=30, show_default=True, help="Cards to make (1-200).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="GGUF model writing the cards (default: offline cards).")
@click.option("--language", type=click.Choice(["notes", "zh", "en"]), default="notes", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/eval-study.json"),
              show_default=True)
@click.pass_context
def eval_study(ctx, notes: Path | None, count: int, model_path: Path | None, language: str, out: Path) -> None:
    """Cards from the notes, checked: answer spans of their passages, none shared, notes covered."""
    from ...measure.eval_study import evaluate_study

    settings = _eval_settings(ctx, notes)
    from ...models.llm import load_configured

    model = load_configured(model_path, settings) if model_path is not None else None
    try:
        results, cards = evaluate_study(settings, count, model, language)
    finally:
        if model is not None:
            model.close()
    for card in cards:  # to read here; the report keeps no note text
        click.echo(card_line(card))
    results["notes_folder"] = str(notes) if notes else str(settings.corpus_dir)
    rows = [("cards", results["cards"]), ("answer is a span of its cited passage", results["span_ok"]),
            ("cards sharing an answer span / an answer", f"{results['shared_spans']} / {results['shared_answers']}"),
            ("notes / files / headings", f"{results['notes']} / {results['files']} / {results['headings']}"),
            ("kinds", ", ".join(f"{k} {v}" for k, v in sorted(results["kinds"].items()))),
            ("seconds", results["seconds"])]
    if model is not None:
        rows.append(("written by the model / kept after the check",
                     f"{results['written']} / {results['cards']} ({results['kept_share']:.0%})"))
    for label, value in rows:
        click.echo(f"{label:44s} {value}")
    write_json(out, results)


@main.group(invoke_without_command=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/bench.json"),
              show_default=True)
@click.option("--synthetic", type=int, default=100_000, show_default=True, help="Chunks in the synthetic index (0: skip).")
@click.pass_context
def bench(ctx, out: Path, synthetic: int) -> None:
    """Time ingest, retrieval latency and embedding throughput; write the figures to --out.

    'chatbot bench generation' times answers from a GGUF model instead."""
    if ctx.invoked_subcommand is not None:
        return
    from ...measure.bench import run_bench

    results = run_bench(settings_of(ctx), synthetic=synthetic, echo=click.echo)
    write_json(out, results)


@bench.command("generation")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="GGUF to time (default: a random-weight Qwen2.5-0.5B-shaped Q4_K_M model, written once).")
@click.option("--runs", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--max-tokens", type=click.IntRange(8, 2048), default=64, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/bench-generation.json"),
              show_default=True)
@click.pass_context
def bench_generation(ctx, model_path: Path | None, runs: int, max_tokens: int, out: Path) -> None:
    """Prompt-eval and generation tokens/s and time to first token: 'chatbot ask' vs raw llama-cpp-python."""
    from ...measure.bench_generation import run_generation_bench

    results = run_generation_bench(settings_of(ctx.parent), model_path, runs=runs, max_tokens=max_tokens, echo=click.echo)
    write_json(out, results)


@bench.command("ingest")
@click.option("--notes", "notes", multiple=True, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A notes folder (repeat for several; copied, never changed).")
@click.option("--questions", "questions", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSONL question set; its first answerable question checks the first answers.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/bench-ingest.json"),
              show_default=True)
@click.pass_context
def bench_ingest(ctx, notes: tuple[Path, ...], questions: tuple[Path, ...], out: Path) -> None:
    """Time to answerable, to fully embedded (against one raw model pass), re-ingests and memory."""
    from ...measure.bench_ingest import format_ingest_bench, run_ingest_bench, write_report

    results = run_ingest_bench(settings_of(ctx), list(notes), list(questions), echo=click.echo)
    click.echo(format_ingest_bench(results))
    write_report(results, out)
    click.echo(f"Written to {out}")


@bench.command("load")
@click.option("--users", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option("--seconds", type=click.FloatRange(1, 3600), default=120, show_default=True)
@click.option("--questions", type=click.IntRange(0, 100_000), default=500, show_default=True,
              help="Long-session length in one process (0: skip).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/bench-load.json"),
              show_default=True)
@click.pass_context
def bench_load(ctx, users: int, seconds: float, questions: int, out: Path) -> None:
    """Concurrent users through the app's /ask API (loopback), and memory over a long session."""
    from ...measure.bench_load import run_load_bench

    write_json(out, run_load_bench(settings_of(ctx.parent), users, seconds, questions, echo=click.echo))
