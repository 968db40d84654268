"""Deciding "that is not in your notes" from evidence, before any model runs.

Three signals, computed from the notes rather than asked of a model:

* **missing names**: identifiers of the question (a model, a paper, a method: ``Qwen2``,
  ``RMSNorm``, ``NF4``) that occur nowhere in the notes;
* **version mismatch**: a missing name whose letters do occur with another version
  (the notes know ``Qwen1.5`` but the question asks about ``Qwen2``) - never rescued;
* **support**: the share of the question's terms (identifiers, glossary phrases with their
  translations, other content words), weighted by rarity, that one of the top passages contains.

A question is declined on a version mismatch, on a missing name unless support is very high
(notes sometimes describe a thing without naming it), or when support is low.  The two
thresholds are settings, calibrated on the eval set's unanswerable questions
(``chatbot eval answers`` reports the resulting rates; set them through env vars to see the trade-off).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .tokens import compact, detect_language, identifiers, tokenize

if TYPE_CHECKING:
    from .glossary import Glossary
    from .index import IndexReader
    from .retrieve import Passage

SUPPORT_PASSAGES = 3  # support is the best of the top three passages
NAME_WEIGHT = 2.0  # a question hinges on the names it mentions (LoRA in "LoRA 的核心思想")


@dataclass(frozen=True)
class Term:
    """One thing the question asks about, with the forms that count as mentioning it."""

    label: str
    forms: tuple[str, ...]  # compact forms; any one occurring counts
    weight: float
    is_name: bool = False


@dataclass(frozen=True)
class Assessment:
    """The evidence for answering, and the decision."""

    declined: bool
    reason: str
    support: float
    missing: list[str] = field(default_factory=list)
    version_mismatch: list[str] = field(default_factory=list)
    covered: list[str] = field(default_factory=list)


def question_terms(question: str, glossary: Glossary | None, corpus: str, chunks: int) -> list[Term]:
    """Identifiers, glossary phrases and remaining content tokens, each weighted by rarity in ``corpus``."""

    def idf(forms: tuple[str, ...]) -> float:
        occurrences = max((corpus.count(f) for f in forms if f), default=0)
        return math.log(1 + chunks / (1 + occurrences))

    terms: list[Term] = []
    seen: set[str] = set()

    def add(label: str, forms: list[str], is_name: bool = False) -> None:
        forms_c = tuple(dict.fromkeys(f for f in (compact(x) for x in forms) if f))
        if not forms_c or forms_c[0] in seen:
            return
        seen.update(forms_c)
        terms.append(Term(label, forms_c, idf(forms_c) * (NAME_WEIGHT if is_name else 1.0), is_name))

    for name in identifiers(question):
        add(name, [name], is_name=True)
    if glossary is not None:
        for phrase in glossary.english_matches(question):
            add(phrase, [phrase, *glossary.en_to_zh[phrase], *glossary.mixed_forms(phrase)])
        found = [zh for zh in glossary.zh_to_en if zh in question]
        for zh in sorted(found, key=len, reverse=True):  # 核心思想, not also 核心 and 思想
            if not any(zh in longer for longer in found if longer != zh):
                add(zh, [zh, *glossary.zh_to_en[zh]])
    tokens = [t for t in dict.fromkeys(tokenize(question)) if len(t) > 1]
    for token in sorted(tokens, key=len, reverse=True):  # longest first: 起源于 before 起源
        if any(token in s for s in seen):
            continue
        if compact(token) in corpus:  # words the notes never use (plain English) carry no evidence
            add(token, [token])
    return terms


def _letters(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def assess(
    question: str,
    passages: Sequence[Passage],
    index: IndexReader,
    glossary: Glossary | None,
    *,
    min_support: float,
    rescue_support: float,
) -> Assessment:
    """Decide whether ``passages`` can answer ``question``; see the module docstring."""
    if not passages:
        return Assessment(True, "nothing in the notes matches the question", 0.0)
    corpus = index.compact_text()
    terms = question_terms(question, glossary, corpus, max(index.count, 1))
    missing = [t for t in terms if t.is_name and not any(f in corpus for f in t.forms)]
    # 'qwen2' missing while 'qwen' occurs: the notes cover another version of the thing.
    mismatch = [t.label for t in missing if re.match(r"[A-Za-z]{2,}.*\d", t.label)
                and len(_letters(t.label)) >= 3 and _letters(t.label) in corpus]
    total = sum(t.weight for t in terms) or 1.0
    best, covered = 0.0, []
    for p in passages[:SUPPORT_PASSAGES]:
        text = compact(p.text)
        hits = [t for t in terms if any(f in text for f in t.forms)]
        share = sum(t.weight for t in hits) / total
        if share > best:
            best, covered = share, [t.label for t in hits]
    lang_missing = [t.label for t in missing]
    if mismatch:
        return Assessment(True, f"the notes mention other versions, not {', '.join(mismatch)}", best,
                          lang_missing, mismatch, covered)
    if missing and best < rescue_support:
        return Assessment(True, f"the notes never mention {', '.join(lang_missing)}", best, lang_missing, [], covered)
    if best < min_support:
        return Assessment(True, "no passage covers enough of the question", best, lang_missing, [], covered)
    return Assessment(False, "", best, lang_missing, [], covered)


def answer_language(question: str) -> str:
    """The language answers and fixed sentences use for ``question``."""
    return detect_language(question)
