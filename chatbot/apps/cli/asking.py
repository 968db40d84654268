"""``chatbot ask`` and ``chatbot chat``: answers in the terminal, streamed, with their sources."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ...errors import UserError
from . import main, settings_of


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
    answerer = Answerer.from_settings(settings_of(ctx), model_path)
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

    answerer = Answerer.from_settings(settings_of(ctx), model_path)
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
    from ...answers.result import Done, Retrieved, Token

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
    if answer.fallback:
        click.echo("\n" + answer.label + "\n" + answer.answer)
    elif answer.answer != "".join(streamed).strip():
        click.echo("\nChecked: " + answer.answer)
    for note in answer.removed:
        click.echo(f"  removed {note}")
    for sentence in answer.unsupported:
        click.echo(f"  NOT IN YOUR NOTES: {sentence[:80]}")
    for sentence in answer.uncited:
        if sentence not in answer.unsupported:
            click.echo(f"  uncited: {sentence[:80]}")
    if answer.caution:
        click.echo(f"\n{answer.caution}")
    if answer.citations:
        click.echo("\nSources:")
    elif answer.related:
        click.echo("\n" + answerer.prompts[answer.lang].messages["related"])
    for c in answer.citations or answer.related:
        click.echo(f"[{c.n}] {c.where()}  {c.title}")
        quote = c.text[c.span[0]:c.span[1]] if c.span else c.text[:160]
        click.echo(f"    {quote}")
    return answer


def _lang(question: str) -> str:
    from ...search.tokens import detect_language

    return detect_language(question)
