"""The ``chatbot`` command line: parses input, calls the pipeline, prints results.

Every heavy import happens inside a command, so ``chatbot --help`` stays instant.  A
``UserError`` anywhere becomes one sentence on stderr and exit status 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import UserError
from .settings import load_settings


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
    from . import ingest as ingesting

    settings = _settings(ctx)
    report = ingesting.ingest(settings, list(paths) or None, rebuild=rebuild, progress=not quiet)
    click.echo(report.summary())
    if watch:
        click.echo("Watching for changes; press Ctrl+C to stop.")

        def show(result: ingesting.IngestReport | Exception) -> None:
            if isinstance(result, Exception):
                click.echo(f"Error: {result}", err=True)
            elif result.index_changed or result.skipped:
                click.echo(result.summary())

        ingesting.watch(settings, list(paths) or None, on_report=show)
    elif report.skipped:
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
    from .evaluate import read_questions
    from .retrieve import build_retriever

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
    """Measure retrieval quality on a question set."""


@eval.command("retrieval")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL question set.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/eval-retrieval.json"),
              show_default=True, help="Where to write the figures.")
@click.pass_context
def eval_retrieval(ctx, questions: Path | None, out: Path) -> None:
    """hit@1, hit@5 and MRR per language for dense-only, BM25-only and hybrid retrieval."""
    from .evaluate import default_questions, evaluate_retrieval, format_retrieval, read_questions
    from .retrieve import build_retriever

    items = read_questions(questions or default_questions())
    results = evaluate_retrieval(build_retriever(_settings(ctx)), items)
    click.echo(format_retrieval(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(f"Written to {out}")


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("reports/bench.json"),
              show_default=True)
@click.option("--synthetic", type=int, default=100_000, show_default=True, help="Chunks in the synthetic index (0: skip).")
@click.pass_context
def bench(ctx, out: Path, synthetic: int) -> None:
    """Time ingest, retrieval latency and embedding throughput; write the figures to --out."""
    from .bench import run_bench

    results = run_bench(_settings(ctx), synthetic=synthetic, echo=click.echo)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    click.echo(f"Written to {out}")


@main.command("settings")
@click.pass_context
def show_settings(ctx) -> None:
    """Print the effective settings (defaults, config file, env vars and flags merged)."""
    for name, value in _settings(ctx).model_dump().items():
        click.echo(f"{name} = {json.dumps(str(value) if isinstance(value, Path) else value, ensure_ascii=False)}")


if __name__ == "__main__":  # pragma: no cover
    main()
