"""Bilingual ML glossary for offline cross-language query expansion.

English questions over Chinese notes cannot be matched lexically, and the bundled MiniLM
model knows little Chinese.  The glossary (``resources/glossary.tsv``: ``english<TAB>中文|中文``)
adds the Chinese terms of the English phrases in a question, and the English terms of the
Chinese phrases in a Chinese one.  ``resources/vocabulary.tsv`` adds general words the notes use
(grow -> 增长), English -> Chinese only; the notes' own vocabulary, learned at ingest
(``vocabulary.py``), joins both when the retriever opens.  A user may add their own file
(setting ``glossary_file``).

It also renders text in English (``gloss``): the glossary's English for each Chinese term, the
Latin words as they are, in order.  The bundled MiniLM model reads English only, so the dense
channel embeds each chunk as a weighted mean of its own and its English rendering's vectors, and a
Chinese question as its rendering (see ``embed.dense_text``).

Left out: translation of whole sentences (a loaded LLM can add that later).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .tokens import english_words, stem

if TYPE_CHECKING:
    from ..settings import Settings
    from .vocabulary import Learned

MAX_PHRASE_WORDS = 5


@dataclass(frozen=True)
class Glossary:
    """English phrase (stemmed words joined by spaces) <-> Chinese terms."""

    en_to_zh: dict[str, tuple[str, ...]]
    zh_to_en: dict[str, tuple[str, ...]]
    signature: str = field(default="", compare=False)  # a hash of zh_to_en (what gloss renders with)
    # English words the notes never use in either language (``vocabulary.foreign_words``).
    foreign: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def from_lines(cls, lines: Sequence[str], one_way: Sequence[str] = (), foreign: Sequence[str] = ()) -> Glossary:
        """Entries of ``lines`` work both ways; those of ``one_way`` only English -> Chinese."""
        en_to_zh: dict[str, list[str]] = {}
        zh_to_en: dict[str, list[str]] = {}
        for line, both_ways in [*((x, True) for x in lines), *((x, False) for x in one_way)]:
            if not line.strip() or line.startswith("#") or "\t" not in line:
                continue
            english, chinese = line.rstrip("\n").split("\t", 1)
            key = " ".join(english_words(english))
            terms = [t.strip() for t in chinese.split("|") if t.strip()]
            if not key or not terms:
                continue
            en_to_zh.setdefault(key, []).extend(t for t in terms if t not in en_to_zh.get(key, []))
            for term in terms if both_ways else ():
                if len(term) >= 2:  # single characters would match nearly every question
                    zh_to_en.setdefault(term, []).append(english.strip())
        digest = hashlib.sha1(repr(sorted(zh_to_en.items())).encode()).hexdigest()[:12]
        return cls(
            {k: tuple(v) for k, v in en_to_zh.items()}, {k: tuple(v) for k, v in zh_to_en.items()}, signature=digest,
            foreign=frozenset(foreign),
        )

    @cached_property
    def _gloss_re(self) -> re.Pattern[str]:
        # The Chinese terms as a trie, so the longest wins (梯度累积 over 梯度 at the same
        # position) and each position costs one branch per character, not one per term: a flat
        # alternation of ~2,000 terms took 1.9 s to render 2,160 chunks, the trie 0.2 s.
        chinese = _trie_pattern(self.zh_to_en) or "(?!)"
        return re.compile(f"(?P<zh>{chinese})|(?P<latin>[A-Za-z][A-Za-z0-9]*(?:[.+-][A-Za-z0-9]+)*)")

    def gloss(self, text: str) -> str:
        """``text`` in English words: glossary terms for its Chinese phrases, its Latin words
        kept, in order; Chinese outside the glossary is dropped."""
        words = [
            self.zh_to_en[m.group("zh")][0] if m.group("zh") else m.group("latin")
            for m in self._gloss_re.finditer(text)
        ]
        return " ".join(words)

    @cached_property
    def _key_words(self) -> frozenset[str]:
        return frozenset(w for key in self.en_to_zh for w in key.split())

    def base_form(self, word: str) -> str:
        """``word`` as the glossary writes it: 'growing' -> 'grow', 'trained' -> 'train',
        'stopped' -> 'stop', 'used' -> 'use' - only when that form is a glossary word.
        Hand-written: a stemmer would also cut the technical terms, which the glossary lists whole."""
        if word in self._key_words or len(word) < 4:
            return word
        for suffix in ("ing", "ed", "es"):
            if word.endswith(suffix):
                base = word[: -len(suffix)]
                for candidate in (base, base + "e", base[:-1] if len(base) > 2 and base[-1] == base[-2] else ""):
                    if candidate in self._key_words:
                        return candidate
        return word

    def english_matches(self, text: str, nested: bool = True) -> list[str]:
        """Glossary phrases found in the English words of ``text`` (all lengths, longest first;
        inflected words in their glossary form).  ``nested=False`` leaves out a phrase where it
        only occurs inside a longer one: 'speculative decoding', not also 'decoding'."""
        words = [self.base_form(w) for w in english_words(text)]
        found: list[str] = []
        taken: set[int] = set()
        for n in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                phrase = " ".join(words[i : i + n])
                if phrase not in self.en_to_zh or (not nested and taken.issuperset(range(i, i + n))):
                    continue
                taken.update(range(i, i + n))
                if phrase not in found:
                    found.append(phrase)
        return found

    @cached_property
    def _by_initials(self) -> dict[str, list[str]]:
        initials: dict[str, list[str]] = {}
        for phrase in self.en_to_zh:
            words = phrase.split()
            if len(words) >= 2:
                initials.setdefault("".join(w[0] for w in words), []).append(phrase)
        return initials

    def spelled_out(self, acronym: str) -> list[str]:
        """Glossary phrases an all-capitals acronym may stand for ('NB' -> 'naive bayes'), each
        followed by its terms in the other language: a question may name a thing by the acronym
        while the notes spell it out."""
        if not re.fullmatch(r"[A-Z]{2,6}", acronym):
            return []
        return [form for phrase in self._by_initials.get(acronym.lower(), [])
                for form in (phrase, *self.en_to_zh[phrase])]

    def capitalised_word(self, name: str) -> list[str]:
        """The translations of a dictionary word that a question capitalises like a name
        ('Dataset' -> 数据集, as in "Dataset 里…"): the notes may say it in the other language."""
        if not re.fullmatch(r"[A-Z][a-z]{2,}", name):
            return []
        return list(self.en_to_zh.get(self.base_form(stem(name.lower())), ()))

    def mixed_forms(self, phrase: str) -> list[str]:
        """Chinese notes often keep the English head of a term and translate its last word:
        'beam search' -> 'beam 搜索', 'attention mechanism' -> 'attention 机制'."""
        head, _, last = phrase.rpartition(" ")
        return [f"{head} {zh}" for zh in self.en_to_zh.get(last, ())] if head else []

    def expand(self, text: str) -> list[str]:
        """Terms in the other language for the phrases in ``text``, without repeats."""
        return list(dict.fromkeys(t for _, terms in self.expand_groups(text) for t in terms))

    def expand_groups(self, text: str) -> list[tuple[str, list[str]]]:
        """Each outermost phrase of ``text`` the glossary knows, with its terms in the other
        language that ``text`` does not already hold: the phrase's own first, then those of the
        phrases inside it ('minimum spanning tree': 最小生成树, then 最小, 树 ...), so one span of
        the question is one group.  Groups left with no term are left out."""
        words = [self.base_form(w) for w in english_words(text)]
        spans = [(i, i + n, " ".join(words[i:i + n])) for n in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1)
                 for i in range(len(words) - n + 1)]
        english = _outermost([(a, b, phrase) for a, b, phrase in spans if phrase in self.en_to_zh])
        chinese = _outermost([(at, at + len(term), term) for term in self.zh_to_en
                              for at in [text.find(term)] if at >= 0])
        groups = [(top, [t for p in inner for t in self.en_to_zh[p]]) for top, inner in english]
        groups += [(top, [t for p in inner for t in self.zh_to_en[p]]) for top, inner in chinese]
        kept = [(source, [t for t in dict.fromkeys(terms) if t not in text]) for source, terms in groups]
        return [(source, terms) for source, terms in kept if terms]


def _outermost(spans: list[tuple[int, int, str]]) -> list[tuple[str, list[str]]]:
    """Matches (start, end, key) as groups: each match not inside a longer one, with the keys of
    the matches inside it (itself first, longer before shorter, no repeats)."""
    groups: list[tuple[int, int, list[str]]] = []
    for start, end, key in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
        outer = next((g for g in groups if g[0] <= start and end <= g[1]), None)
        if outer is None:
            groups.append((start, end, [key]))
        elif key not in outer[2]:
            outer[2].append(key)
    return [(keys[0], keys) for _, _, keys in sorted(groups)]


def embedding_glossary(settings: Settings) -> Glossary | None:
    """The glossary whose renderings are embedded with the chunks, or None (``gloss_embeddings`` off)."""
    return load_glossary(settings.glossary_file) if settings.gloss_embeddings else None


def load_glossary(extra_file: Path | None = None, learned: Learned | None = None) -> Glossary:
    """The bundled glossary and (English -> Chinese only) vocabulary, plus ``extra_file`` if given,
    plus the notes' ``learned`` vocabulary (pairs both ways, dictionary words one way)."""
    bundled = resources.files("chatbot").joinpath("resources")
    lines = bundled.joinpath("glossary.tsv").read_text(encoding="utf-8").splitlines()
    vocabulary = bundled.joinpath("vocabulary.tsv").read_text(encoding="utf-8").splitlines()
    if extra_file is not None:
        from ..errors import UserError

        try:
            lines += extra_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"Glossary file {extra_file} cannot be read ({e}); fix the glossary_file setting.") from e
    if learned is None:
        return Glossary.from_lines(lines, vocabulary)
    return Glossary.from_lines(lines + learned.pairs, vocabulary + learned.dictionary, foreign=learned.foreign)


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, longest first, built as a trie of characters."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here

    def emit(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body  # a word ends here too: longer ones first, then stop

    return emit(trie)
