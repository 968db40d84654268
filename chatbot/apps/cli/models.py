"""``chatbot models``: the GGUF files in the models folder, the catalog, and ``models pull``."""

from __future__ import annotations

from pathlib import Path

import click

from . import main, settings_of


@main.group(invoke_without_command=True)
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), help="Folder to list (default: models_dir).")
@click.pass_context
def models(ctx, folder: Path | None) -> None:
    """List GGUF models with size and architecture (read from their headers, nothing loaded),
    then the catalog of models 'chatbot models pull NAME' fetches.

    'chatbot models pull REPO FILE' downloads any GGUF from the Hugging Face hub (needs offline=false)."""
    if ctx.invoked_subcommand is not None:
        return
    from ...models.catalog import CATALOG, EMBEDDERS
    from ...models.llm import list_models
    from ...models.pull import is_pulled

    settings = settings_of(ctx)
    folder = folder or settings.effective_models_dir
    found = list_models(folder)
    if not found:
        click.echo(f"No .gguf files in {folder}; put models there, or pull one of the catalog below.")
    for info in found:
        size = f"{info.size_bytes / 2**20:8.1f} MiB"
        if info.error:
            click.echo(f"{size}  {'?':<10} {info.path}  ({info.error})")
        else:
            ctx_len = f"ctx {info.context_length}" if info.context_length else ""
            click.echo(f"{size}  {info.architecture:<10} {info.file_type:<10} {ctx_len:<10} {info.name}  {info.path}")
    click.echo("\nCatalog ('chatbot models pull NAME'):")
    for title, entries in (("", CATALOG), ("Embedding models (setting embedding_model):", EMBEDDERS)):
        if title:
            click.echo(title)
        for entry in entries:
            mark = "pulled" if is_pulled(entry, folder) else ("offline ok" if entry.parts else "hub only")
            click.echo(f"  {entry.name:<30} {entry.size_bytes / 1e9:5.2f} GB  [{mark}]  {entry.description}")


@models.command("pull")
@click.argument("name")
@click.argument("filename", required=False)
@click.pass_context
def models_pull(ctx, name: str, filename: str | None) -> None:
    """Fetch catalog model NAME (see 'chatbot models'), or FILENAME (a .gguf) of Hugging Face
    repo NAME, into models_dir.  A catalog model's file is checked against its sha256."""
    from ...errors import UserError
    from ...models.catalog import CATALOG, find
    from ...models.pull import pull, pull_model

    settings = settings_of(ctx.parent)
    folder = settings.effective_models_dir
    if filename is not None:
        path = pull_model(name, filename, folder, offline=settings.offline)
    else:
        entry = find(name)
        if entry is None:
            names = ", ".join(m.name for m in CATALOG)
            raise UserError(f"'{name}' is not in the catalog ({names}); for a hub file give REPO and FILE.")
        path = pull(entry, folder, offline=settings.offline, cache_dir=settings.cache_dir, progress=True,
                    echo=click.echo)
        if entry.use:  # an embedder: a setting, and the next ingest embeds the notes with it
            click.echo(f"Ready: {path}; to use it, set {entry.use} (config.toml or NOTES_CHAT_* variables), "
                       "then run 'chatbot ingest'.")
            return
    click.echo(f"Ready: {path}; use it with --model {path} or pick it in the browser app's Model tab.")
