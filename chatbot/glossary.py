"""Bilingual ML glossary for offline cross-language query expansion.

English questions over Chinese notes cannot be matched lexically, and the bundled MiniLM
model knows little Chinese.  The glossary (``resources/glossary.tsv``: ``english<TAB>中文|中文``)
adds the Chinese terms of the English phrases in a question, and the English terms of the
Chinese phrases in a Chinese one.  A user may add their own file (setting ``glossary_file``).

Left out: translation of whole sentences (a loaded LLM can add that later).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .tokens import english_words

MAX_PHRASE_WORDS = 5


@dataclass(frozen=True)
class Glossary:
    """English phrase (stemmed words joined by spaces) <-> Chinese terms."""

    en_to_zh: dict[str, tuple[str, ...]]
    zh_to_en: dict[str, tuple[str, ...]]

    @classmethod
    def from_lines(cls, lines: list[str]) -> Glossary:
        en_to_zh: dict[str, list[str]] = {}
        zh_to_en: dict[str, list[str]] = {}
        for line in lines:
            if not line.strip() or line.startswith("#") or "\t" not in line:
                continue
            english, chinese = line.rstrip("\n").split("\t", 1)
            key = " ".join(english_words(english))
            terms = [t.strip() for t in chinese.split("|") if t.strip()]
            if not key or not terms:
                continue
            en_to_zh.setdefault(key, []).extend(t for t in terms if t not in en_to_zh.get(key, []))
            for term in terms:
                if len(term) >= 2:  # single characters would match nearly every question
                    zh_to_en.setdefault(term, []).append(english.strip())
        return cls({k: tuple(v) for k, v in en_to_zh.items()}, {k: tuple(v) for k, v in zh_to_en.items()})

    def english_matches(self, text: str) -> list[str]:
        """Glossary phrases found in the English words of ``text`` (all lengths, longest first)."""
        words = english_words(text)
        found: list[str] = []
        for n in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                phrase = " ".join(words[i : i + n])
                if phrase in self.en_to_zh and phrase not in found:
                    found.append(phrase)
        return found

    def expand(self, text: str) -> list[str]:
        """Terms in the other language for the phrases in ``text``, without repeats."""
        extra: list[str] = []
        for phrase in self.english_matches(text):
            extra += self.en_to_zh[phrase]
        for term, englishes in self.zh_to_en.items():
            if term in text:
                extra += englishes
        return list(dict.fromkeys(t for t in extra if t not in text))


def load_glossary(extra_file: Path | None = None) -> Glossary:
    """The bundled glossary, plus ``extra_file`` if given."""
    lines = resources.files("chatbot").joinpath("resources/glossary.tsv").read_text(encoding="utf-8").splitlines()
    if extra_file is not None:
        from .errors import UserError

        try:
            lines += extra_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"Glossary file {extra_file} cannot be read ({e}); fix the glossary_file setting.") from e
    return Glossary.from_lines(lines)
