"""The ``chatbot`` command line: parses input, calls the pipeline, prints results.

Every heavy import happens inside a command, so ``chatbot --help`` stays instant.  A
``UserError`` anywhere becomes one sentence on stderr and exit status 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ...errors import UserError
from ...settings import load_settings


class _Group(click.Group):
    """Turns UserError into one clear sentence and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise click.ClickException(str(e)) from e
        except KeyboardInterrupt:
            click.echo("Interrupted; the index is unchanged unless a run had finished.", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="TOML settings file.")
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), help="Notes folder (default: bundled corpus).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Where the index lives.")
@click.option("--embedding-model", help="sentence-transformers name or path (default: bundled MiniLM).")
@click.pass_context
def main(ctx: click.Context, config: Path | None, **overrides) -> None:
    """notes-chat: ask questions about your own notes, answered from the notes themselves."""
    ctx.obj = lambda: load_settings(config_file=config, **overrides)


def _settings(ctx: click.Context):
    return ctx.obj()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Re-embed everything into a fresh index.")
@click.option("--watch", is_flag=True, help="Keep running and re-index when files change.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, watch: bool, quiet: bool) -> None:
    """Index the notes folder (or PATHS): add new, re-embed changed, drop deleted files."""
    from ...search import ingest as ingesting

    settings = _settings(ctx)
    report = ingesting.ingest(settings, list(paths) or None, rebuild=rebuild, progress=not quiet)
    click.echo(report.summary())
    if watch:
        click.echo("Watching for changes; press Ctrl+C to stop.")

        def show(result: ingesting.IngestReport | Exception) -> None:
            if isinstance(result, Exception):
                click.echo(f"Error: {result}", err=True)
            elif result.index_changed or result.problems:
                click.echo(result.summary())

        ingesting.watch(settings, list(paths) or None, on_report=show)
    elif report.problems:
        sys.exit(1)


@main.command()
@click.argument("question", required=False)
@click.option("-k", "k", type=click.IntRange(1, 100), help="How many passages (default: top_k setting).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL file, 'q' per line.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True)
@click.pass_context
def retrieve(ctx, question: str | None, k: int | None, as_json: bool, questions: Path | None, mode: str) -> None:
    """Show the passages of your notes that best match QUESTION."""
    from ...measure.evaluate import read_questions
    from ...search.retrieve import build_retriever

    if (question is None) == (questions is None):
        raise UserError("Give one question, or --questions FILE (not both); see 'chatbot retrieve --help'.")
    asked = [question] if question is not None else [item["q"] for item in read_questions(questions)]
    retriever = build_retriever(_settings(ctx), mode=mode)
    for q in asked:
        passages = retriever.search(q, k=k)
        if as_json:
            record = {
                "question": q,
                "retrieved": [
                    {"rank": rank, "text": p.text, "source": p.source, "note_id": p.note_id, "score": p.score}
                    for rank, p in enumerate(passages, start=1)
                ],
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(f"Q: {q}")
            for rank, p in enumerate(passages, start=1):
                where = p.sources[0] if p.sources else p.source
                click.echo(f"[{rank}] {p.score:.3f}  {where}  {p.metadata.get('title', '')}")
                click.echo("    " + p.text.replace("\n", "\n    ")[:400])


@main.group()
def eval() -> None:  # noqa: A001 - the command is called "eval"
    """Measure retrieval and answer quality on a question set."""


@eval.command("retrieval")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL question set.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/eval-retrieval.json"),
              show_default=True, help="Where to write the figures.")
@click.pass_context
def eval_retrieval(ctx, questions: Path | None, out: Path) -> None:
    """hit@1, hit@5 and MRR per language for dense-only, BM25-only, the hybrid without its dense
    channel, and the hybrid."""
    from ...measure.evaluate import default_questions, evaluate_retrieval, format_retrieval, read_questions
    from ...search.retrieve import build_retriever

    items = read_questions(questions or default_questions())
    results = evaluate_retrieval(build_retriever(_settings(ctx)), items)
    click.echo(format_retrieval(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(f"Written to {out}")


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

    results = run_bench(_settings(ctx), synthetic=synthetic, echo=click.echo)
    _write(out, results)


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

    results = run_generation_bench(_settings(ctx.parent), model_path, runs=runs, max_tokens=max_tokens, echo=click.echo)
    _write(out, results)


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

    _write(out, run_load_bench(_settings(ctx.parent), users, seconds, questions, echo=click.echo))


def _write(out: Path, results: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    click.echo(f"Written to {out}")


@eval.command("answers")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL question set.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="GGUF model (default: extractive).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/eval-answers.json"),
              show_default=True, help="Where to write the figures.")
@click.option("--with-translations", is_flag=True,
              help="Also search each question's reference \"translation\" (what a model's translation step adds).")
@click.pass_context
def eval_answers(ctx, questions: Path | None, model_path: Path | None, out: Path, with_translations: bool) -> None:
    """Evidence hit, correct citations, citation precision and decline rates per language."""
    from ...answers.answer import Answerer
    from ...measure.evaluate import default_questions, evaluate_answers, format_answers, read_questions

    items = read_questions(questions or default_questions())
    results = evaluate_answers(Answerer.from_settings(_settings(ctx), model_path), items, with_translations)
    click.echo(format_answers(results))
    _write(out, results)


@main.command()
@click.argument("question", required=False)
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="GGUF model file (default: setting 'model').")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL file, 'q' per line.")
@click.pass_context
def ask(ctx, question: str | None, model_path: Path | None, as_json: bool, questions: Path | None) -> None:
    """Answer QUESTION from your notes, with numbered citations (streams when a model is loaded)."""
    from ...answers.answer import Answerer
    from ...errors import QuestionError
    from ...measure.evaluate import read_questions

    if (question is None) == (questions is None):
        raise UserError("Give one question, or --questions FILE (not both); see 'chatbot ask --help'.")
    answerer = Answerer.from_settings(_settings(ctx), model_path)
    if question is not None:
        _answer(answerer, question, [], as_json)
        return
    failed = False
    for item in read_questions(questions):
        try:
            _answer(answerer, item["q"], [], as_json=True)
        except QuestionError as e:  # one bad line does not stop the batch
            failed = True
            click.echo(json.dumps({"question": item["q"], "error": str(e)}, ensure_ascii=False))
    if failed:
        sys.exit(1)


@main.command()
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="GGUF model file (default: setting 'model').")
@click.option("--json", "as_json", is_flag=True, help="Print each answer as a JSON object.")
@click.pass_context
def chat(ctx, model_path: Path | None, as_json: bool) -> None:
    """Ask questions in a row; follow-ups ('and its context length?') use the conversation.

    Commands: /model PATH (or /model none) swaps the model, /reset forgets the conversation,
    /quit (or an empty line at the start, or Ctrl+D) ends."""
    from ...answers.answer import Answerer

    answerer = Answerer.from_settings(_settings(ctx), model_path)
    history: list[tuple[str, str]] = []
    click.echo(f"Mode: {answerer.mode}" + (f" ({answerer.model.name})" if answerer.model else "") + ". /quit to end.")
    while True:
        try:
            line = input("› ").strip()
        except EOFError:
            break
        if line in ("", "/quit", "/exit"):
            break
        try:
            if line == "/reset":
                history.clear()
                click.echo("Conversation forgotten.")
            elif line.startswith("/model"):
                arg = line[len("/model"):].strip()
                answerer.set_model(None if arg in ("", "none") else Path(arg))
                click.echo(f"Mode: {answerer.mode}" + (f" ({answerer.model.name})" if answerer.model else ""))
            else:
                answer = _answer(answerer, line, history, as_json)
                history.append((line, answer.answer))
        except UserError as e:  # a bad question or model file ends this turn, not the session
            click.echo(f"Error: {e}", err=True)


def _answer(answerer, question: str, history: list[tuple[str, str]], as_json: bool):
    """Ask, printing either one JSON object or the streamed answer with its sources."""
    from ...answers.answer import Done, Retrieved, Token

    if as_json:
        answer = answerer.ask(question, history)
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        return answer
    answer = None
    streamed = []
    for event in answerer.stream(question, history):
        if isinstance(event, Retrieved):
            if event.rewritten_question:
                click.echo(f"(searching for: {event.rewritten_question})")
            if event.translated_question:
                click.echo(f"(also searching for: {event.translated_question})")
            if answerer.model is None:
                click.echo(answerer.prompts[_lang(question)].messages["extractive_label"])
        elif isinstance(event, Token):
            streamed.append(event.text)
            click.echo(event.text, nl=False)
        elif isinstance(event, Done):
            answer = event.answer
    click.echo()
    if answer.answer != "".join(streamed).strip():
        click.echo("\nChecked: " + answer.answer)
    for note in answer.removed:
        click.echo(f"  removed {note}")
    for sentence in answer.uncited:
        click.echo(f"  uncited: {sentence[:80]}")
    if answer.caution:
        click.echo(f"\n{answer.caution}")
    if answer.citations:
        click.echo("\nSources:")
    elif answer.related:
        click.echo("\n" + answerer.prompts[answer.lang].messages["related"])
    for c in answer.citations or answer.related:
        where = c.sources[0] if c.sources else c.source
        click.echo(f"[{c.n}] {where}  {c.title}")
        quote = c.text[c.span[0]:c.span[1]] if c.span else c.text[:160]
        click.echo(f"    {quote}")
    return answer


def _lang(question: str) -> str:
    from ...search.tokens import detect_language

    return detect_language(question)


@main.group(invoke_without_command=True)
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), help="Folder to list (default: models_dir).")
@click.pass_context
def models(ctx, folder: Path | None) -> None:
    """List GGUF models with size and architecture (read from their headers, nothing loaded).

    'chatbot models pull REPO FILE' downloads one from the Hugging Face hub (needs offline=false)."""
    if ctx.invoked_subcommand is not None:
        return
    from ...models.llm import list_models

    settings = _settings(ctx)
    folder = folder or settings.effective_models_dir
    found = list_models(folder)
    if not found:
        click.echo(f"No .gguf files in {folder}; put models there or set models_dir.")
        return
    for info in found:
        size = f"{info.size_bytes / 2**20:8.1f} MiB"
        if info.error:
            click.echo(f"{size}  {'?':<10} {info.path}  ({info.error})")
        else:
            ctx_len = f"ctx {info.context_length}" if info.context_length else ""
            click.echo(f"{size}  {info.architecture:<10} {info.file_type:<10} {ctx_len:<10} {info.name}  {info.path}")


@models.command("pull")
@click.argument("repo_id")
@click.argument("filename")
@click.pass_context
def models_pull(ctx, repo_id: str, filename: str) -> None:
    """Download FILENAME (a .gguf) of Hugging Face repo REPO_ID into models_dir."""
    from ...models.llm import pull_model

    settings = _settings(ctx.parent)
    path = pull_model(repo_id, filename, settings.effective_models_dir, offline=settings.offline)
    click.echo(f"Downloaded {path}; use it with --model {path} or pick it in the browser app.")


@main.command()
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="GGUF model to start with.")
@click.option("--host", help="Listen address (default: setting ui_host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: setting ui_port, 7860).")
@click.option("--auth", help="Require a login, given as user:password.")
@click.option("--share", is_flag=True, help="Also publish through a public Gradio link (off by default: private).")
@click.pass_context
def ui(ctx, model_path: Path | None, host: str | None, port: int | None, auth: str | None, share: bool) -> None:
    """Open the chat in your browser (http://127.0.0.1:7860 by default)."""
    from ..app import NotesApp
    from ..ui import launch_ui

    settings = _settings(ctx)
    if model_path is not None:
        settings = settings.model_copy(update={"model": model_path})
    credentials = None
    if auth is not None:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise UserError("Give --auth as user:password.")
        credentials = (user, password)
    app = NotesApp.from_settings(settings)
    host, port = host or settings.ui_host, port or settings.ui_port
    click.echo(f"notes-chat on http://{host}:{port} (Ctrl+C to stop)")
    launch_ui(app, host=host, port=port, auth=credentials, share=share)


@main.command()
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="GGUF model (default: extractive).")
@click.option("--host", help="Listen address (default: setting ui_host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: setting serve_port, 8080).")
@click.pass_context
def serve(ctx, model_path: Path | None, host: str | None, port: int | None) -> None:
    """Serve an OpenAI-compatible /v1/chat/completions over your notes (citations in extra fields)."""
    from ...answers.answer import Answerer
    from ..serve import run_server

    settings = _settings(ctx)
    host, port = host or settings.ui_host, port or settings.serve_port
    answerer = Answerer.from_settings(settings, model_path)
    click.echo(f"notes-chat API on http://{host}:{port}/v1 (model id 'notes-chat'; Ctrl+C to stop)")
    run_server(answerer, host, port)


@main.command("settings")
@click.pass_context
def show_settings(ctx) -> None:
    """Print the effective settings (defaults, config file, env vars and flags merged)."""
    for name, value in _settings(ctx).model_dump().items():
        click.echo(f"{name} = {json.dumps(str(value) if isinstance(value, Path) else value, ensure_ascii=False)}")
