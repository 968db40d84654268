"""``chatbot ingest`` and ``chatbot retrieve``: build the index, and search it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ...errors import UserError
from . import main, settings_of


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Re-embed everything into a fresh index.")
@click.option("--watch", is_flag=True, help="Keep running and re-index when files change.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, watch: bool, quiet: bool) -> None:
    """Index the notes folder (or PATHS): add new, re-embed changed, drop deleted files."""
    from ...search import ingest as ingesting
    from ...search import watch as watching

    settings = settings_of(ctx)
    report = ingesting.ingest(settings, list(paths) or None, rebuild=rebuild, progress=not quiet)
    click.echo(report.summary())
    if watch:
        click.echo("Watching for changes; press Ctrl+C to stop.")

        def show(result: ingesting.IngestReport | Exception) -> None:
            if isinstance(result, Exception):
                click.echo(f"Error: {result}", err=True)
            elif result.index_changed or result.problems:
                click.echo(result.summary())

        watching.watch(settings, list(paths) or None, on_report=show)
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
    retriever = build_retriever(settings_of(ctx), mode=mode)
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
