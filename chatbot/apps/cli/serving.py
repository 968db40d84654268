"""``chatbot ui`` and ``chatbot serve``: the browser app and the OpenAI-compatible API."""

from __future__ import annotations

from pathlib import Path

import click

from ...errors import UserError
from . import main, settings_of


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

    settings = settings_of(ctx)
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

    settings = settings_of(ctx)
    host, port = host or settings.ui_host, port or settings.serve_port
    answerer = Answerer.from_settings(settings, model_path)
    click.echo(f"notes-chat API on http://{host}:{port}/v1 (model id 'notes-chat'; Ctrl+C to stop)")
    run_server(answerer, host, port)
