"""Extractive answers: the notes' own best sentences, when no language model is loaded.

Each sentence of the retrieved passages is scored by how much of the question it covers
(the same rarity-weighted terms as the decline check: names, glossary phrases with their
translations, content words; each also weighted by its rarity among these sentences, and a
term inside a longer one, 'actor' in 'actorcritic', not counted twice), plus the passage's
retrieval score relative to the best passage's (so the scale of the fused score does not
matter).  "See X for details" lines count half.  The best sentence is kept with the
sentence after it (answers tend to follow the sentence that restates the question; a question
there, "有没有言过其实？", is skipped: it asks, it does not answer), then up
to ``max_sentences`` in all that score close to it, with a higher bar for other passages (each
one adds a citation).  Nothing is generated, so every sentence is cited and its character span
in the passage is exact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..search.terms import Term
from ..search.tokens import compact, sentence_spans

if TYPE_CHECKING:
    from ..search.retrieve import Passage

# x retrieval score / best passage's score: retrieval ranks whole passages better than term overlap
# ranks sentences (swept 0.6-2.0 on the bundled set and both public folders: 1.0 cited fewer right
# passages in Chinese, 2.0 fewer in English).
RANK_WEIGHT = 1.5
REFERENCE_FACTOR = 0.5  # "see X for details" lines match the question's words but answer nothing
KEEP_RATIO = 0.6  # further sentences of the best passage must score at least this share of the best
OTHER_PASSAGE_RATIO = 0.9  # ... and sentences of other passages this share (each adds a citation)
FOLLOW_BEST = True  # the best sentence brings its successor: the answer often follows the matching sentence


# "see X for details" lines and bare links point elsewhere; they are not an answer.
_REFERENCE_RE = re.compile(
    r"^\W*(?:更详细|详细|更多|参考|论文地址|原文|代码地址|github|🔖)|https?://|请查阅|可以查阅", re.IGNORECASE
)


@dataclass(frozen=True)
class Extract:
    """One sentence taken from passage ``passage`` (0-based), ``text == passages[passage].text[start:end]``."""

    passage: int
    start: int
    end: int
    text: str
    score: float
    share: float = 0.0  # the weighted share of the question's terms the sentence holds (the score less its rank part)


def score_sentences(terms: Sequence[Term], passages: Sequence[Passage]) -> list[Extract]:
    """Every sentence of every passage with its score, best first."""
    sentences = [(i, start, end, compact(p.text[start:end])) for i, p in enumerate(passages)
                 for start, end in sentence_spans(p.text)]
    # Every form of every term, longest first (see _covered), sorted once for all sentences.
    forms = sorted(((len(f), t.label, f) for t in terms for f in t.forms), reverse=True)
    covered = [_covered(forms, form) for *_, form in sentences]
    n = len(sentences) or 1
    weights = {}
    for t in terms:
        count = sum(1 for labels in covered if t.label in labels)
        # Rarity among these sentences too: the topic every sentence repeats does not pick one.
        weights[t.label] = t.weight * (math.log(1 + n / count) / math.log(1 + n) if count else 1.0)
    total = sum(weights.values()) or 1.0
    scored = []
    top = max((p.score for p in passages), default=0.0) or 1.0  # the best passage counts 1
    for (i, start, end, _), labels in zip(sentences, covered):
        p = passages[i]
        text = p.text[start:end]
        share = sum(weights[label] for label in labels) / total
        if _REFERENCE_RE.search(text):
            share *= REFERENCE_FACTOR
        score = share + RANK_WEIGHT * p.score / top
        scored.append(Extract(i, start, end, text, score, share))
    scored.sort(key=lambda e: (-e.score, e.passage, e.start))
    return scored


def _lead(scored: Sequence[Extract]) -> list[Extract]:
    """The best sentence, and the one after it in its passage (``FOLLOW_BEST``).  A sentence
    holding none of the question's terms answers it only by its passage's rank: the best one
    holds some, when any does."""
    best = next((e for e in scored if e.share > 0), scored[0])
    following = [e for e in scored if e.passage == best.passage and e.start >= best.end
                 and not e.text.rstrip().endswith(("?", "？"))]
    return [best, min(following, key=lambda e: e.start)] if FOLLOW_BEST and following else [best]


def pick_sentences(terms: Sequence[Term], passages: Sequence[Passage], max_sentences: int = 3) -> list[Extract]:
    """The sentences of the extractive answer, in reading order (by passage rank, then position)."""
    scored = score_sentences(terms, passages)
    if not scored:
        return []
    chosen = _lead(scored)
    best = chosen[0]
    for e in scored:
        if len(chosen) >= max_sentences or e.score < KEEP_RATIO * best.score:
            break
        if e is best:
            continue
        ratio = KEEP_RATIO if e.passage == best.passage else OTHER_PASSAGE_RATIO
        if e.score >= ratio * best.score and not any(_same(e.text, c.text) for c in chosen):
            chosen.append(e)
    order = {p: rank for rank, p in enumerate(dict.fromkeys(e.passage for e in chosen))}
    return sorted(chosen[:max_sentences], key=lambda e: (order[e.passage], e.start))


def ranked_sentences(terms: Sequence[Term], passages: Sequence[Passage]) -> list[Extract]:
    """Every sentence, best first, the extractive answer's first two leading (its best sentence
    and the one after it): the order a model's excerpts are filled in (``prompt.fit_excerpts``)."""
    scored = score_sentences(terms, passages)
    if not scored:
        return []
    lead = _lead(scored)
    return lead + [e for e in scored if all(e is not x for x in lead)]


def _covered(forms: Sequence[tuple[int, str, str]], form: str) -> set[str]:
    """Labels of the terms whose ``(length, label, form)`` entries, longest first, occur in
    ``form`` (a compact sentence).  A matched form is used up, so 'actor' does not count inside
    'actorcritic'."""
    found = set()
    for _length, label, f in forms:
        if f in form:
            found.add(label)
            form = form.replace(f, "\0")
    return found


def _same(a: str, b: str) -> bool:
    """One sentence repeats the other (notes exported twice, once cut off with '...')."""
    a, b = compact(a), compact(b)
    return a in b or b in a


def extractive_text(extracts: Sequence[Extract]) -> str:
    """The answer text: one sentence per line, each followed by its passage number ``[n]``."""
    return "\n".join(f"{e.text} [{e.passage + 1}]" for e in extracts)
