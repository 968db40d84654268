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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .terms import Term, coverage, covered
from .tokens import detect_language

if TYPE_CHECKING:
    from .index import IndexReader
    from .retrieve import Passage

SUPPORT_PASSAGES = 3  # support is the best of the top three passages


@dataclass(frozen=True)
class Assessment:
    """The evidence for answering, and the decision."""

    declined: bool
    reason: str
    support: float
    missing: list[str] = field(default_factory=list)
    version_mismatch: list[str] = field(default_factory=list)
    covered: list[str] = field(default_factory=list)


def _letters(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def assess(
    terms: Sequence[Term],
    passages: Sequence[Passage],
    index: IndexReader,
    *,
    min_support: float,
    rescue_support: float,
) -> Assessment:
    """Decide whether ``passages`` can answer the question whose ``terms`` they are
    (``HybridRetriever.terms``, the weights retrieval used); see the module docstring."""
    if not passages:
        return Assessment(True, "nothing in the notes matches the question", 0.0)
    corpus = index.compact_text()
    missing = [t for t in terms if t.is_name and not any(f in corpus for f in t.forms)]
    # 'qwen2' missing while 'qwen' occurs: the notes cover another version of the thing.
    mismatch = [t.label for t in missing if re.match(r"[A-Za-z]{2,}.*\d", t.label)
                and len(_letters(t.label)) >= 3 and _letters(t.label) in corpus]
    best, best_covered = 0.0, []
    for p in passages[:SUPPORT_PASSAGES]:
        share = coverage(terms, p.text)
        if share > best:
            best, best_covered = share, covered(terms, p.text)
    lang_missing = [t.label for t in missing]
    if mismatch:
        return Assessment(True, f"the notes mention other versions, not {', '.join(mismatch)}", best,
                          lang_missing, mismatch, best_covered)
    if missing and best < rescue_support:
        return Assessment(True, f"the notes never mention {', '.join(lang_missing)}", best, lang_missing, [],
                          best_covered)
    if best < min_support:
        return Assessment(True, "no passage covers enough of the question", best, lang_missing, [], best_covered)
    return Assessment(False, "", best, lang_missing, [], best_covered)


def answer_language(question: str) -> str:
    """The language answers and fixed sentences use for ``question``."""
    return detect_language(question)
