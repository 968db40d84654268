"""The ``chatbot`` command line: parses input, calls the pipeline, prints results.

This module holds the ``main`` group (global options, the settings) and ``chatbot settings``;
each command group lives in a module of its own, imported at the end so it registers on
``main``: ``indexing`` (ingest, retrieve), ``asking`` (ask, chat), ``measuring`` (eval, bench),
``models`` (models, models pull), ``serving`` (ui, serve), ``studying`` (study).

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
            click.echo("Interrupted; the index and the models folder change only when a run finishes "
                       "(a model download resumes where it stopped).", err=True)
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


def settings_of(ctx: click.Context):
    """The effective ``Settings`` for a command (built on first use, so ``--help`` needs none)."""
    return ctx.obj()


def write_json(out: Path, results: dict) -> None:
    """Write a command's figures to ``out`` as JSON and say where."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    click.echo(f"Written to {out}")


@main.command("settings")
@click.pass_context
def show_settings(ctx) -> None:
    """Print the effective settings (defaults, config file, env vars and flags merged)."""
    for name, value in settings_of(ctx).model_dump().items():
        click.echo(f"{name} = {json.dumps(str(value) if isinstance(value, Path) else value, ensure_ascii=False)}")


def run() -> None:
    """The ``chatbot`` command: ``main``, then exit without the interpreter's teardown.

    Freeing every object one by one at exit (jieba's dictionary, a manifest, the libraries'
    modules) takes 0.3-0.5 s after a command's work is done, which a one-file ingest would
    otherwise spend waiting for nothing.  The atexit handlers (index leases, a reader's Chroma
    copy, logging) still run first; with a thread still running, Python exits as usual."""
    import atexit
    import os
    import threading

    code: int = 0
    try:
        main()
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            code = 1
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()  # what the interpreter would run before its teardown
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# The command groups register themselves on ``main``; imported last, once ``main`` exists.
from . import asking, indexing, measuring, models, serving, studying  # noqa: E402, F401
