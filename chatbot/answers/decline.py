"""Deciding "that is not in your notes" from evidence, before any model runs.

Four signals, computed from the notes rather than asked of a model:

* **missing names**: identifiers of the question (a model, a paper, a method: ``Qwen2``,
  ``RMSNorm``, ``NF4``) that occur nowhere in the notes;
* **version mismatch**: a missing name whose letters do occur with another version
  (the notes know ``Qwen1.5`` but the question asks about ``Qwen2``) - never rescued;
* **absent words**: content words found nowhere in the notes in either language (红烧肉; the
  dictionary word 'buttermilk', none of whose translations the notes use: ``terms.absent_words``),
  as a share of the question's weight, each weighing as a term no chunk holds;
* **support**: the share of the question's terms (identifiers, glossary phrases with their
  translations, other content words), weighted by rarity, that one of the top passages contains.

A question is declined on a version mismatch, on absent words carrying ``absent_share`` of its
weight, on a missing name unless support is very high (notes sometimes describe a thing without
naming it), or when support is low.  The thresholds are settings, calibrated together on
the bundled set and two public notes folders (all shares, so one calibration holds from 78 to
thousands of chunks)
(``chatbot eval answers`` reports the resulting rates; set them through env vars to see the trade-off).

A question that is answered may still ask about something the notes never mention (``clipping``
in "what clipping epsilon does PPO use?" while the notes only name PPO).  That alone cannot
decline it: answerable questions use words the notes lack too ("backbone" for the model a note
describes).  So the answer names those terms (``absent``) and the reader judges.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..search.terms import Term, coverage, covered, token_frequency
from ..search.tokens import CJK_RE, detect_language

if TYPE_CHECKING:
    from ..search.index import IndexReader
    from ..search.retrieve import Passage

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
    # Question terms found nowhere in the notes, each shown with the Chinese forms looked for (_shown):
    absent: list[str] = field(default_factory=list)


def _in_text(form: str, corpus: str) -> bool:
    """Does ``form`` occur in the notes' compact text?  A short acronym (LSM, HNSW) must occur as
    a BM25 token instead: inside text without spaces, four letters turn up by chance ('falsmth')."""
    if re.fullmatch(r"[a-z]{1,4}", form):
        return False
    return form in corpus


def _letters(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def assess(
    terms: Sequence[Term],
    passages: Sequence[Passage],
    index: IndexReader,
    *,
    min_support: float,
    rescue_support: float,
    absent_words: Sequence[Term] = (),
    absent_share: float = 1.0,
) -> Assessment:
    """Decide whether ``passages`` can answer the question whose ``terms`` they are
    (``HybridRetriever.terms``, the weights retrieval used); see the module docstring."""
    if not passages:
        return Assessment(True, "nothing in the notes matches the question", 0.0)
    corpus = index.compact_text()
    # Absent: neither its text nor its BM25 tokens occur (these include acronyms: 'TQ' for the
    # notes' "Transformer Quality").
    frequency = token_frequency(index.document_frequency)
    # The index look-ups first: a scan of all the notes' text only for terms they do not find.
    absent = [t for t in terms
              if not any(frequency(f) for f in t.forms) and not any(_in_text(f, corpus) for f in t.forms)]
    missing = [t for t in absent if t.is_name]
    # 'qwen2' missing while 'qwen' occurs: the notes cover another version of the thing.
    mismatch = [t.label for t in missing if re.match(r"[A-Za-z]{2,}.*\d", t.label)
                and len(_letters(t.label)) >= 3 and _letters(t.label) in corpus]
    best, best_covered = 0.0, []
    for p in passages[:SUPPORT_PASSAGES]:
        share = coverage(terms, p.text)
        if share > best:
            best, best_covered = share, covered(terms, p.text)
    lang_missing = [t.label for t in missing]
    shown = [_shown(t) for t in absent] + [t.label for t in absent_words]
    unknown = sum(t.weight for t in absent_words)
    share = unknown / (unknown + sum(t.weight for t in terms)) if unknown else 0.0
    if absent_words and share >= absent_share:
        return Assessment(True, f"the notes never mention {', '.join(t.label for t in absent_words)}", best,
                          lang_missing, [], best_covered, shown)
    if mismatch:
        return Assessment(True, f"the notes mention other versions, not {', '.join(mismatch)}", best,
                          lang_missing, mismatch, best_covered, shown)
    if missing and best < rescue_support:
        return Assessment(True, f"the notes never mention {', '.join(lang_missing)}", best, lang_missing, [],
                          best_covered, shown)
    if best < min_support:
        return Assessment(True, "no passage covers enough of the question", best, lang_missing, [], best_covered,
                          shown)
    return Assessment(False, "", best, lang_missing, [], best_covered, shown)


def _shown(term: Term) -> str:
    """A term as the reader knows it: 'clipping (裁剪 / 截断)' - the label, and for a Latin one the
    Chinese forms that were looked for too (its compact Latin forms would read badly)."""
    if CJK_RE.search(term.label):
        return term.label
    chinese = [f for f in term.forms if CJK_RE.search(f) and not re.search(r"[a-z0-9]", f)]
    return f"{term.label} ({' / '.join(chinese[:2])})" if chinese else term.label


def answer_language(question: str) -> str:
    """The language answers and fixed sentences use for ``question``."""
    return detect_language(question)
