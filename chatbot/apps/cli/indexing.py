"""``chatbot ingest`` and ``chatbot retrieve``: build the index, and search it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ...errors import UserError
from . import main, settings_of


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Build a fresh index (vectors already computed come from the cache).")
@click.option("--watch", is_flag=True, help="Keep running and re-index when files change.")
@click.option("--wait", is_flag=True, help="Return only once every chunk has its vector (for scripts and CI).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, watch: bool, wait: bool, quiet: bool) -> None:
    """Index the notes folder (or PATHS): add new, re-embed changed, drop deleted files.

    The notes are answerable (by BM25) as soon as they are read; vectors are filled in next,
    here for a few hundred chunks, else in a background process (see --wait)."""
    from ...search import fill as filling
    from ...search import ingest as ingesting
    from ...search import watch as watching
    from ...search.embed import model_path

    settings = settings_of(ctx)
    model_path(settings)  # a catalog embedder not pulled yet: say so now, not from the fill afterwards
    started = time.perf_counter()
    helper: list[_FillProcess] = []

    def start_fill(new_chunks: int) -> None:
        # The fill runs in its own process from now on: torch and the model load on the other
        # core while this one builds the lexical side; it starts embedding once that is published.
        try:
            helper.append(_FillProcess(settings, foreground=wait or watch or new_chunks <= settings.background_fill_chunks))
        except OSError:  # no new process allowed (e.g. a sandbox): this one fills after publishing
            pass

    try:
        report = ingesting.ingest(settings, list(paths) or None, rebuild=rebuild, progress=not quiet,
                                  fill_now=False, echo=click.echo, wait=wait, on_new_chunks=start_fill)
    finally:
        for process in helper:
            process.go()  # published, or failed: the fill finds what is pending either way
    click.echo(report.summary())
    if helper and helper[0].foreground:
        if helper[0].wait() == 0:
            click.echo(f"Fully embedded after {time.perf_counter() - started:.1f} s.")
    elif report.pending and helper:
        click.echo(f"Embedding {report.pending} chunks in the background (pid {helper[0].pid}, log "
                   f"{helper[0].log}); 'chatbot ingest --wait' waits for it.")
    elif report.pending or (wait and filling.fill_running(settings)):
        click.echo("Waiting for the fill to finish…" if filling.fill_running(settings) else "Embedding…")
        filling.fill(settings, progress=not quiet, wait=True)  # left by an interrupted fill
        click.echo(f"Fully embedded after {time.perf_counter() - started:.1f} s.")
    if watch:
        click.echo("Watching for changes; press Ctrl+C to stop.")

        def show(result: ingesting.IngestReport | Exception) -> None:
            if isinstance(result, Exception):
                click.echo(f"Error: {result}", err=True)
            elif result.index_changed or result.problems:
                click.echo(result.summary())

        watching.watch(settings, list(paths) or None, on_report=show, echo=click.echo)
    elif report.problems:
        sys.exit(1)


class _FillProcess:
    """``chatbot fill`` in a process of its own: it loads the model at once and embeds the
    pending chunks once ``go`` is called.  In the foreground it shares this terminal and is
    waited for; in the background it outlives this command and logs to a file."""

    def __init__(self, settings, foreground: bool):
        import subprocess

        from ...search.embed import collection_name
        from ...search.generations import index_root

        root = index_root(settings.data_dir, collection_name(settings.embedding_model))
        root.mkdir(parents=True, exist_ok=True)
        config = root / "fill-settings.json"
        config.write_text(settings.model_dump_json(), encoding="utf-8")
        self.foreground, self.log = foreground, root / "fill.log"
        out = None if foreground else open(self.log, "w", encoding="utf-8")
        self._child = subprocess.Popen(
            [sys.executable, "-m", "chatbot.apps.cli", "fill", "--settings-json", str(config)],
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT if out else None,
            start_new_session=not foreground,
        )
        if out is not None:
            out.close()
        self.pid = self._child.pid

    def go(self) -> None:
        """The lexical side is published (or the ingest failed): start embedding."""
        if self._child.stdin and not self._child.stdin.closed:
            self._child.stdin.close()

    def wait(self) -> int:
        try:
            return self._child.wait()
        except KeyboardInterrupt:
            self._child.terminate()
            raise


@main.command(hidden=True)
@click.option("--settings-json", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
def fill(settings_json: Path) -> None:
    """Embed the chunks an ingest left pending (started by 'chatbot ingest' in the background)."""
    from ...search import fill as filling
    from ...search.embed import make_embedder
    from ...settings import load_settings

    settings = load_settings(**json.loads(settings_json.read_text(encoding="utf-8")))
    embedder = make_embedder(settings)
    embedder.warm()  # while the ingest that started us builds the lexical side
    import chromadb  # noqa: F401  (seconds of imports, also done before we are needed)
    sys.stdin.read()  # it closes our stdin once that is published (or it ended)
    filled = filling.fill(settings, embedder=embedder, progress=sys.stderr.isatty(), wait=True)
    if filled.chunks:
        click.echo(f"Embedded {filled.chunks} chunks ({filled.embedded} texts through the model) in "
                   f"{filled.seconds:.1f} s, {filled.chunks_per_s:.1f} chunks/s.")


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
                "dense_coverage": round(retriever.index.dense_coverage, 4),
                "retrieved": [
                    {"rank": rank, "text": p.text, "source": p.source, "note_id": p.note_id, "score": p.score}
                    for rank, p in enumerate(passages, start=1)
                ],
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(f"Q: {q}")
            if retriever.index.dense_coverage < 1:
                click.echo(f"(vectors for {retriever.index.dense_coverage:.0%} of the chunks so far: "
                           "the rest are found by BM25 alone)")
            for rank, p in enumerate(passages, start=1):
                where = p.sources[0] if p.sources else p.source
                click.echo(f"[{rank}] {p.score:.3f}  {where}  {p.metadata.get('title', '')}")
                click.echo("    " + p.text.replace("\n", "\n    ")[:400])
