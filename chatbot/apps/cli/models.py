"""``chatbot models``: the GGUF files in the models folder, and ``models pull`` from the hub."""

from __future__ import annotations

from pathlib import Path

import click

from . import main, settings_of


@main.group(invoke_without_command=True)
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), help="Folder to list (default: models_dir).")
@click.pass_context
def models(ctx, folder: Path | None) -> None:
    """List GGUF models with size and architecture (read from their headers, nothing loaded).

    'chatbot models pull REPO FILE' downloads one from the Hugging Face hub (needs offline=false)."""
    if ctx.invoked_subcommand is not None:
        return
    from ...models.llm import list_models

    settings = settings_of(ctx)
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

    settings = settings_of(ctx.parent)
    path = pull_model(repo_id, filename, settings.effective_models_dir, offline=settings.offline)
    click.echo(f"Downloaded {path}; use it with --model {path} or pick it in the browser app.")
