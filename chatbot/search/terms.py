"""What a question asks about, and how much of it a passage covers.

A question's **terms** are its identifiers (``Qwen2``, ``RMSNorm``, ``NF4``), its glossary
phrases with their translations (``policy gradient`` = 策略梯度), and its remaining content
words; each is weighted by its rarity in the notes, names twice.  A passage's **coverage** is
the weighted share of those terms it contains (any form of a term counts).

Three stages use them:

* retrieval fuses coverage with BM25 and the dense channel: BM25 rewards a frequent word
  as much as several distinct ones, so a passage that says 梯度 ten times can outrank the one
  that holds 样本量, 增大, OOM *and* 梯度累积;
* the decline check calls the best coverage among the top passages *support*;
* extractive answers score sentences by the terms they cover.

How rare a term is: the number of chunks holding it, from the BM25 index's document
frequencies (``token_frequency``), the standard idf.  A look-up per token, so it costs the same
on 100k chunks (counting substrings over all notes took ~270 ms per question at that size,
and counted a word repeated within one note many times).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .tokens import compact, identifiers, tokenize

if TYPE_CHECKING:
    from .glossary import Glossary

NAME_WEIGHT = 2.0  # a question hinges on the names it mentions (LoRA in "LoRA 的核心思想")

Frequency = Callable[[str], int]  # a term's form -> how often it occurs in the notes (0: never)


@dataclass(frozen=True)
class Term:
    """One thing the question asks about, with the forms that count as mentioning it."""

    label: str
    forms: tuple[str, ...]  # compact forms; any one occurring counts
    weight: float
    is_name: bool = False


def token_frequency(document_frequency: Callable[[str], int]) -> Frequency:
    """Chunks holding a form, estimated from its BM25 tokens: the rarest token's document
    frequency (an upper bound; 0 when a token never occurs)."""

    def frequency(form: str) -> int:
        return min((document_frequency(t) for t in tokenize(form)), default=0)

    return frequency


def question_terms(question: str, glossary: Glossary | None, frequency: Frequency, chunks: int) -> list[Term]:
    """Identifiers, glossary phrases and remaining content tokens of ``question``, each weighted
    by its rarity among ``chunks`` chunks (names twice)."""

    terms: list[Term] = []
    seen: set[str] = set()

    def add(label: str, forms: list[str], is_name: bool = False) -> None:
        if not is_name and not tokenize(label):  # question words (为什么, 多少, "use"): no evidence
            return
        by_compact = {c: f for f in forms if (c := compact(f))}
        if not by_compact or next(iter(by_compact)) in seen:
            return
        seen.update(by_compact)
        occurrences = max((frequency(f) for f in by_compact.values()), default=0)
        weight = math.log(1 + chunks / (1 + occurrences)) * (NAME_WEIGHT if is_name else 1.0)
        terms.append(Term(label, tuple(by_compact), weight, is_name))

    for name in identifiers(question):
        spelled = glossary.spelled_out(name) if glossary is not None else []
        if glossary is not None and not frequency(name):  # 'Dataset' where the notes say 数据集
            spelled += glossary.capitalised_word(name)
        add(name, [name, *_singular(name), *spelled], is_name=True)
    if glossary is not None:
        for phrase in glossary.english_matches(question, nested=False):  # as 核心思想 below
            add(phrase, [phrase, *glossary.en_to_zh[phrase], *glossary.mixed_forms(phrase)])
        found = [zh for zh in glossary.zh_to_en if zh in question]
        for zh in sorted(found, key=len, reverse=True):  # 核心思想, not also 核心 and 思想
            if not any(zh in longer for longer in found if longer != zh):
                add(zh, [zh, *glossary.zh_to_en[zh]])
    tokens = [t for t in dict.fromkeys(tokenize(question, min_acronym=3)) if len(t) > 1]
    for token in sorted(tokens, key=len, reverse=True):  # longest first: 起源于 before 起源
        if any(token in s for s in seen):
            continue
        if frequency(token) > 0:  # words the notes never use (plain English) carry no evidence
            add(token, [token])
    return terms


def absent_words(
    question: str, glossary: Glossary | None, document_frequency: Callable[[str], int], corpus: str, chunks: int,
    terms: Sequence[Term],
) -> list[Term]:
    """Distinctive words of ``question`` that occur nowhere in the notes, in neither language:
    Chinese words (jieba's precise cut) none of whose parts the notes use (红烧肉, but not
    视觉编码 when the notes say 视觉 and 编码), and English words the dictionary knows but the notes
    never use (``Glossary.foreign``: none of their translations occurs; 'buttermilk').  Words
    common in the language at large (``common``: 多久, 'much', 'hit') are no evidence either way,
    nor are words of a glossary phrase the notes hold ('spanning' in 'spanning tree' = 生成树), nor
    the question's ``terms`` (names are judged there).  Each weighs as a term found in no chunk."""
    from .tokens import CJK_RE, EN_STOPWORDS, ZH_STOPWORDS, chinese_words, dictionary_word, normalize, stem

    frequency = token_frequency(document_frequency)

    def occurs(form: str) -> bool:
        c = compact(form)
        return bool(c) and (frequency(form) > 0 or c in corpus)

    def part_occurs(word: str) -> bool:  # any two-character-or-longer piece of a Chinese word
        return any(len(t) >= 2 and document_frequency(t) > 0 for t in tokenize(word))

    taken = {f for t in terms for f in t.forms}
    held: set[str] = set()
    if glossary is not None:
        for phrase in glossary.english_matches(question):
            if any(occurs(f) for f in [phrase, *glossary.en_to_zh[phrase]]):
                held.update(phrase.split())
    weight = math.log(1 + chunks)
    found: list[Term] = []
    text = normalize(question)
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        for word in chinese_words(run):
            if (len(word) >= 2 and CJK_RE.match(word) and word not in ZH_STOPWORDS and word not in taken
                    and dictionary_word(word) and not common(word, "zh") and not occurs(word)
                    and not part_occurs(word)):
                found.append(Term(word, (compact(word),), weight))
    for word in re.findall(r"[A-Za-z]+", text):
        low = word.lower()
        if len(low) < 3 or low in EN_STOPWORDS or compact(low) in taken:
            continue
        base = glossary.base_form(stem(low)) if glossary is not None else stem(low)
        forms = {low, stem(low), base} | _inflections(low)
        if base in held or low in held or any(common(f, "en") for f in forms):
            continue
        if glossary is None or not forms & glossary.foreign:
            continue  # a word the dictionary does not know (a typo, a name written small): no evidence
        forms.update(zh for f in list(forms) for zh in glossary.en_to_zh.get(f, ()))
        if not any(occurs(f) for f in forms):
            found.append(Term(word, tuple(sorted(compact(f) for f in forms)), weight))
    return list({t.label.lower(): t for t in found}.values())


# A word at least this frequent in the language at large (Zipf scale: 4 = once per 100,000
# words, 'tune', 多大) is everyday vocabulary: its absence from the notes says nothing.
COMMON_ZIPF = 4.0


@lru_cache(maxsize=2)
def _frequencies(lang: str) -> dict[str, float]:
    """wordfreq's list of the language's common words (its 'small' list: ~30k words each)."""
    from wordfreq import get_frequency_dict

    return get_frequency_dict(lang, wordlist="small")


def common(word: str, lang: str) -> bool:
    """Is ``word`` everyday vocabulary of ``lang`` ('en' or 'zh'), by its general frequency?"""
    share = _frequencies(lang).get(word.lower(), 0.0)
    return share > 0 and math.log10(share * 1e9) >= COMMON_ZIPF


def _inflections(word: str) -> set[str]:
    """Base forms an English word may have: 'making' -> make, 'stopped' -> stop, 'tries' -> try."""
    out = set()
    for suffix, repl in (("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("es", ""), ("ies", "y"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)] + repl
            out.add(base)
            if len(base) > 3 and base[-1] == base[-2]:
                out.add(base[:-1])
    return out


def _singular(name: str) -> list[str]:
    """An acronym's plural also counts as the acronym: 'GPUs' -> ['GPU'], 'LLMs' -> ['LLM']."""
    return [name[:-1]] if re.fullmatch(r"[A-Z][A-Z0-9]+s", name) else []


def coverage(terms: Sequence[Term], text: str) -> float:
    """Weighted share of ``terms`` that ``text`` mentions, in [0, 1] (0 without terms)."""
    total = sum(t.weight for t in terms)
    if not total:
        return 0.0
    body = compact(text)
    return sum(t.weight for t in terms if any(f in body for f in t.forms)) / total


def covered(terms: Sequence[Term], text: str) -> list[str]:
    """Labels of the ``terms`` that ``text`` mentions."""
    body = compact(text)
    return [t.label for t in terms if any(f in body for f in t.forms)]
