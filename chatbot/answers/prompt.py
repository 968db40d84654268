"""Prompt stage: templates from ``prompts/<lang>/`` and fitting passages into the context.

Templates are files (see ``prompts/README.md``) turned into LangChain ``ChatPromptTemplate``s.
Passages are numbered ``[1]..[k]`` in retrieval order.  A small model follows a short prompt
better and evaluates it sooner (2 cores: ~50 prompt tokens/s), so ``fit_excerpts`` shows the
passages' sentences that best cover the question (whole sentences, best first, each passage's in
reading order, `` … `` where some are left out) while the prompt fits the ``prompt_tokens``
budget; the best-ranked passage fills first.  Citations and the claim check still use the whole passages.
Worked examples (``examples.toml``: a cited answer and a decline) come right after the system
prompt, so they are part of the fixed prefix whose KV cache llama.cpp reuses.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    from langchain_core.prompts import ChatPromptTemplate

    from ..search.retrieve import Passage

LANGUAGES = ("en", "zh")
# Fixed sentences each messages.toml must have ('absent' fills in {terms}).
MESSAGES = ("decline", "related", "extractive_label", "absent")
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class ContextTooSmallError(UserError):
    """Not even one passage fits the model's context next to the answer."""


@dataclass(frozen=True)
class PromptSet:
    """The templates and fixed sentences of one answer language."""

    lang: str
    answer: ChatPromptTemplate  # system + human(passages, question)
    rewrite: ChatPromptTemplate  # system + human(history, question)
    translate: ChatPromptTemplate  # system + human(question): this language -> the notes' language
    messages: dict[str, str]  # MESSAGES, and any others the file has
    examples: tuple[tuple[str, str, str], ...] = ()  # (passages, question, answer) shown before each question

    def answer_messages(self, question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
        """Chat messages (llama.cpp dicts) for ``question`` over numbered ``passages``: the system
        prompt, the worked examples as earlier turns, then the question."""
        messages = _to_dicts(self.answer.format_messages(passages=format_passages(passages), question=question))
        shots = []
        for shown, asked, answered in self.examples:
            shots += [_to_dicts(self.answer.format_messages(passages=shown, question=asked))[-1],
                      {"role": "assistant", "content": answered}]
        return messages[:1] + shots + messages[1:]

    def rewrite_messages(self, question: str, history: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        """Chat messages asking for a standalone version of the follow-up ``question``."""
        lines = "\n".join(f"Q: {q}\nA: {a}" for q, a in history)
        return _to_dicts(self.rewrite.format_messages(history=lines, question=question))

    def translate_messages(self, question: str) -> list[dict[str, str]]:
        """Chat messages asking for ``question`` in the notes' language (the same system prompt
        first, so the answer that follows reuses its KV cache)."""
        return _to_dicts(self.translate.format_messages(question=question))


def _to_dicts(messages: list[Any]) -> list[dict[str, str]]:
    return [{"role": _ROLES.get(m.type, m.type), "content": str(m.content)} for m in messages]


def format_passages(passages: Sequence[Passage]) -> str:
    """``[n] heading path`` (else the note's title, else the file's name) then the passage text,
    a blank line between passages.  No file name when there is a heading: small models copied
    names like ``000_7395808d.txt`` into their answers."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        where = str(p.metadata.get("heading") or p.metadata.get("title") or Path(p.source).stem)
        blocks.append(f"[{n}] {where}\n{p.text}")
    return "\n\n".join(blocks)


@lru_cache(maxsize=8)
def load_prompts(prompts_dir: Path) -> dict[str, PromptSet]:
    """Both languages' templates from ``prompts_dir``; one clear sentence if a file is missing or bad."""
    from langchain_core.prompts import ChatPromptTemplate

    sets = {}
    for lang in LANGUAGES:
        folder = prompts_dir / lang
        try:
            system = (folder / "system.txt").read_text(encoding="utf-8").strip()
            answer = (folder / "answer.txt").read_text(encoding="utf-8").strip()
            rewrite = (folder / "rewrite.txt").read_text(encoding="utf-8").strip()
            translate = (folder / "translate.txt").read_text(encoding="utf-8").strip()
            messages = tomllib.loads((folder / "messages.toml").read_text(encoding="utf-8"))
            shots = folder / "examples.toml"
            examples = tuple(
                (str(e["passages"]).strip(), str(e["question"]).strip(), str(e["answer"]).strip())
                for e in (tomllib.loads(shots.read_text(encoding="utf-8")).get("example", []) if shots.is_file() else [])
            )
            if lacking := [key for key in MESSAGES if key not in messages]:
                raise KeyError(f"messages.toml lacks {', '.join(lacking)}")
            sets[lang] = PromptSet(
                lang=lang,
                # The system text is literal (no variables), so its braces must not be parsed.
                answer=ChatPromptTemplate.from_messages([("system", _literal(system)), ("human", answer)]),
                rewrite=ChatPromptTemplate.from_messages([("system", _literal(system)), ("human", rewrite)]),
                translate=ChatPromptTemplate.from_messages([("system", _literal(system)), ("human", translate)]),
                messages={str(k): str(v) for k, v in messages.items()},
                examples=examples,
            )
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, KeyError) as e:
            raise UserError(f"Prompt templates in {folder} cannot be used ({e}); fix them or the prompts_dir setting.") from e
    return sets


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def excerpt(passage: Passage, spans: Sequence[tuple[int, int]]) -> Passage:
    """``passage`` cut to the sentences ``spans`` (character spans into its text), in reading
    order, `` … `` marking what is left out; the passage itself when nothing is."""
    pieces, last, cut = [], 0, False
    for start, end in sorted(spans):
        gap = passage.text[last:start]
        if gap.strip():  # something left out before this sentence
            pieces.append(" … " if pieces else "… ")
            cut = True
        elif pieces:
            pieces.append(gap)
        pieces.append(passage.text[start:end])
        last = end
    if passage.text[last:].strip():
        pieces.append(" …")
        cut = True
    return replace(passage, text="".join(pieces)) if cut and pieces else passage


def fit_excerpts(
    passages: Sequence[Passage], order: Sequence[tuple[int, int, int]], measure: Callable[[Sequence[Passage]], int],
    budget: int, chars: int,
) -> list[Passage]:
    """Excerpts of ``passages`` whose prompt (``measure``: its token count) fits ``budget``, filled
    sentence by sentence in ``order`` (``(passage index, start, end)`` of every sentence, best
    first: ``extract.ranked_sentences``, whose scores weigh retrieval's rank, so the first passage
    fills first), at most ``chars`` characters of one passage.  A sentence that does not fit is
    skipped and shorter ones are still tried.  The i-th result is an excerpt of ``passages[i]``,
    so a sentence joins only once every passage before its own shows one.

    Shrinking every passage alike and then dropping the last (stop 26) left the evidence out of
    the prompt far more often: the 600-token prompt held it for 0.78 / 0.52 / 0.42 of the
    bundled / daily-interview / happy-llm questions, against 0.95 / 0.78 / 0.62 filled so.
    Raises ContextTooSmallError when not even the first passage's best sentence fits."""
    if not passages:
        return []
    chosen: list[list[tuple[int, int]]] = [[] for _ in passages]
    shown: list[Passage] = []  # the excerpts of the passages showing a sentence: always a prefix
    pending = [item for item in order if 0 <= item[0] < len(passages)]
    progress = True
    while pending and progress:
        progress, later = False, []
        for i, start, end in pending:
            if i > len(shown):
                later.append((i, start, end))  # a passage before it shows nothing yet
                continue
            if chosen[i] and sum(e - s for s, e in chosen[i]) + end - start > chars:
                continue
            trial = [*shown[:i], excerpt(passages[i], [*chosen[i], (start, end)]), *shown[i + 1:]]
            if measure(trial) <= budget:  # only passage i's excerpt changed
                chosen[i].append((start, end))
                shown, progress = trial, True
        pending = later
    if not shown:
        first = next(((s, e) for i, s, e in order if i == 0), (0, len(passages[0].text)))
        raise ContextTooSmallError(
            f"The model's context leaves {budget} tokens for the prompt, too few for even one passage "
            f"({measure([excerpt(passages[0], [first])])} tokens); raise n_ctx or lower max_tokens."
        )
    return shown
