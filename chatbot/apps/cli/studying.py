"""``chatbot study``: make cards from the notes, review them on their schedule, export them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from ...errors import UserError
from . import main, settings_of

GRADES = {"1": "again", "2": "hard", "3": "good", "4": "easy"}


@main.group("study", invoke_without_command=True)
@click.option("--max", "limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Cards to review in this session at most.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="GGUF model that also judges a typed answer the letters do not match (default: none).")
@click.pass_context
def study(ctx: click.Context, limit: int, model_path: Path | None) -> None:
    """Review the cards that are due (make some first with 'chatbot study new')."""
    if ctx.invoked_subcommand is not None:
        return
    from ...models.llm import load_configured
    from ...study.check import suggest
    from ...study.session import Study

    settings = settings_of(ctx)
    session = Study(settings)
    model = load_configured(model_path, settings) if model_path is not None else None
    due = session.due()
    counts = session.deck.counts()
    if not due:
        if not counts["cards"]:
            raise UserError("Your study deck is empty; make cards from your notes with 'chatbot study new'.")
        upcoming = session.deck.cards()
        click.echo(f"No card is due. {counts['cards']} cards in your deck; the next is due "
                   f"{_when(upcoming[0].due)}.")
        return
    shown = due[:limit]
    click.echo(f"{len(due)} cards due; reviewing {len(shown)} (type your answer, or just press Enter to see it).")
    for i, deck_card in enumerate(shown, 1):
        card = deck_card.card
        citation = card.citation()
        click.echo(f"\n[{i}/{len(shown)}] {card.kind} · {citation.where()}")
        if deck_card.status == "changed":
            click.secho(f"Flagged: {deck_card.reason}.", fg="yellow")
        click.secho(card.question, bold=True)
        try:
            typed = click.prompt("Your answer", default="", show_default=False)
        except click.Abort:
            click.echo("\nStopped; what you graded is saved.")
            return
        click.echo(f"Answer: {card.answer}")
        start, end = card.context
        text = card.passage
        before, after = text[max(0, start - 160):start], text[end:end + 160]
        click.echo("Passage: " + ("…" if start > 160 else "") + before
                   + click.style(text[start:end], bold=True, underline=True) + after
                   + ("…" if end + 160 < len(text) else ""))
        verdict = suggest(typed, card, model)
        suggested = verdict.grade if verdict else "good"
        if verdict:
            click.echo(f"{verdict.reason} Suggested grade: {verdict.grade}.")
        choices = "1 again, 2 hard, 3 good, 4 easy, r retire" + (", k keep (the answer still holds)"
                                                                  if deck_card.status == "changed" else "") + ", q quit"
        default = next(k for k, v in GRADES.items() if v == suggested)
        while True:
            try:
                choice = click.prompt(f"Grade [{choices}]", default=default).strip().lower()
            except click.Abort:
                click.echo("\nStopped; what you graded is saved.")
                return
            if choice in GRADES or choice in ("r", "k", "q"):
                break
            click.echo("Type 1, 2, 3 or 4 (or r, q).")
        if choice == "q":
            click.echo("Stopped; what you graded is saved.")
            return
        if choice == "r":
            session.deck.retire(card.card_id)
            click.echo("Retired: it will not be shown again.")
            continue
        if choice == "k":
            session.deck.keep(card.card_id)
            choice = default
        graded = session.deck.review(card.card_id, GRADES[choice])
        click.echo(f"Next review {_when(graded.due)}.")
    left = len(session.deck.due())
    click.echo(f"\nDone: {len(shown)} reviewed" + (f", {left} still due." if left else "; nothing else is due."))


@study.command("new")
@click.option("--n", "count", type=int, default=20, show_default=True, help="How many cards to make (1-200).")
@click.option("--notes-filter", default="", help="Only notes whose file path, title or heading contains TEXT.")
@click.option("--language", type=click.Choice(["notes", "zh", "en"]), default="notes", show_default=True,
              help="Language of the questions: each note's own, or Chinese / English.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="GGUF model to write question-answer cards with (checked against the passage); default: none.")
@click.option("--json", "as_json", is_flag=True, help="Print the new cards as JSON.")
@click.pass_context
def new(ctx: click.Context, count: int, notes_filter: str, language: str, model_path: Path | None,
        as_json: bool) -> None:
    """Make study cards from your indexed notes, each citing its passage."""
    from ...study.session import Study

    from ...models.llm import load_configured

    settings = settings_of(ctx)
    session = Study(settings)
    model = load_configured(model_path, settings) if model_path is not None else None
    try:
        made = session.new_cards(count, notes_filter=notes_filter, language=language, model=model)
    finally:
        if model is not None:
            model.close()
    if as_json:
        click.echo(json.dumps({"cards": [c.to_json() for c in made.cards], "asked": made.asked,
                               "written": made.written}, ensure_ascii=False, indent=2))
        return
    for card in made.cards:
        click.echo(card_line(card))
    click.echo(made.summary() + (" Review them with 'chatbot study'." if made.cards else ""))


@study.command("export")
@click.option("--anki", "anki", type=click.Path(path_type=Path), help="Write an Anki package (.apkg) here.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Write a CSV file here.")
@click.pass_context
def export(ctx: click.Context, anki: Path | None, csv_path: Path | None) -> None:
    """Export the study deck (cards not retired) with each card's citation."""
    from ...study.deck import Deck
    from ...study.export import write_anki, write_csv

    if not anki and not csv_path:
        raise UserError("Say where to export: --anki FILE.apkg and/or --csv FILE.csv.")
    cards = Deck(settings_of(ctx).data_dir).cards()
    if anki:
        click.echo(f"{write_anki(cards, anki)} cards written to {anki}.")
    if csv_path:
        click.echo(f"{write_csv(cards, csv_path)} cards written to {csv_path}.")


@study.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """How many cards are due, flagged or retired."""
    from ...study.session import Study

    session = Study(settings_of(ctx))
    session.refresh()
    counts = session.deck.counts()
    if as_json:
        click.echo(json.dumps(counts))
        return
    click.echo(f"{counts['due']} due of {counts['cards']} cards ({counts['changed']} flagged: their passage "
               f"changed), {counts['retired']} retired, {counts['reviews']} reviews done.")


def card_line(card) -> str:
    """A card in two lines: its kind and question, then its answer and where it comes from."""
    return f"[{card.kind}] {card.question}\n    → {card.answer}   ({card.citation().where()})"


def _when(due: datetime) -> str:
    """'now', 'in 10 minutes', 'in 3 days' (and the date)."""
    seconds = (due - datetime.now(timezone.utc)).total_seconds()
    if seconds <= 60:
        return "now"
    if seconds < 3600:
        return f"in {round(seconds / 60)} minutes"
    if seconds < 86400:
        return f"in {round(seconds / 3600)} hours"
    return f"in {round(seconds / 86400)} days ({due.astimezone().strftime('%Y-%m-%d')})"
