"""Checked citations: parse ``[n]`` markers in an answer, repair them, return cited passages.

Rules (applied to generated and extracted answers alike):

* a marker pointing to no passage is removed;
* a marker whose passage shares no term with its sentence (question-independent: tokens of
  the sentence and their glossary translations against the passage text) is removed;
* a sentence left without a marker is flagged as uncited (the decline sentence excepted);
* only passages still cited are returned, renumbered 1..m in order of first citation.

LangChain has no citation checker; this is the part written by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..search.tokens import compact, sentence_spans, tokenize

if TYPE_CHECKING:
    from ..search.glossary import Glossary
    from ..search.retrieve import Passage

_OPEN, _CLOSE = re.escape("[【［"), re.escape("]】］")
MARKER_RE = re.compile(rf"[{_OPEN}]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[{_CLOSE}]")
_SPACED_MARKER_RE = re.compile(r"\s*" + MARKER_RE.pattern)
_LEADING_RE = re.compile(r"(?:\s*" + MARKER_RE.pattern + r")+")


@dataclass(frozen=True)
class Citation:
    """One cited passage, as shown to the user."""

    n: int
    chunk_id: str
    text: str  # the passage exactly as stored
    source: str
    note_id: str
    title: str = ""
    category: str = ""
    date: str = ""
    sources: list[str] = field(default_factory=list)  # every file:lines the note appears in
    location: dict[str, int] = field(default_factory=dict)  # line_start/line_end (or page) in ``source``
    span: tuple[int, int] | None = None  # supporting sentence within ``text``, when known
    heading: str = ""  # heading path of the passage's section (Markdown: 'note › section › subsection')

    def where(self) -> str:
        """Where to find the passage: 'docs/a.md › 训练 › 显存 › L12-20', or 'notes.txt:L3-3'."""
        label = self.sources[0] if self.sources else self.source
        file, _, lines = label.rpartition(":")
        if not self.heading or not file:
            return label
        path = self.heading.split(" › ", 1)[1] if self.title and self.heading.startswith(self.title + " › ") else (
            "" if self.heading == self.title else self.heading)
        return " › ".join(x for x in (file, path, lines) if x)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["span"] = list(self.span) if self.span else None
        return data


def citation_for(n: int, passage: Passage, span: tuple[int, int] | None = None) -> Citation:
    meta = passage.metadata
    location = {k: int(meta[k]) for k in ("line_start", "line_end", "page") if k in meta}
    return Citation(
        n=n,
        chunk_id=passage.chunk_id,
        text=passage.text,
        source=passage.source,
        note_id=passage.note_id,
        title=str(meta.get("title", "")),
        category=str(meta.get("category", "")),
        date=str(meta.get("date", "")),
        sources=passage.sources,
        location=location,
        span=span,
        heading=str(meta.get("heading", "")),
    )


@dataclass(frozen=True)
class CheckedAnswer:
    text: str  # the answer with repaired, renumbered markers
    citations: list[Citation]
    uncited: list[str]  # sentences without a citation
    removed: list[str]  # what was removed and why, e.g. "[7]: no such passage"


def _terms(sentence: str, glossary: Glossary | None) -> set[str]:
    words = {compact(t) for t in tokenize(sentence) if len(t) > 1}
    if glossary is not None:
        words |= {compact(t) for t in glossary.expand(sentence)}
    return {w for w in words if w}


def supports(sentence: str, passage_text: str, glossary: Glossary | None) -> bool:
    """True if the passage shares at least one term with the sentence."""
    form = compact(passage_text)
    return any(term in form for term in _terms(sentence, glossary))


def best_span(sentence: str, passage_text: str, glossary: Glossary | None) -> tuple[int, int] | None:
    """The passage sentence sharing most terms with ``sentence`` (None if it shares none)."""
    terms = _terms(sentence, glossary)
    best, best_hits = None, 0
    for start, end in sentence_spans(passage_text):
        form = compact(passage_text[start:end])
        hits = sum(1 for t in terms if t in form)
        if hits > best_hits:
            best, best_hits = (start, end), hits
    return best


def check_citations(
    answer: str,
    passages: Sequence[Passage],
    glossary: Glossary | None,
    *,
    spans: Mapping[int, tuple[int, int]] | None = None,
    exempt: Sequence[str] = (),
) -> CheckedAnswer:
    """Repair ``answer``'s markers against ``passages`` (numbered from 1); see the module docstring.

    ``spans`` gives known supporting spans by original passage number (extractive answers);
    ``exempt`` lists sentences that need no citation (the decline sentence).
    """
    text = answer
    renumber: dict[int, int] = {}
    found_spans: dict[int, tuple[int, int] | None] = {}
    removed: list[str] = []
    uncited: list[str] = []
    replacements: list[tuple[int, int, str]] = []

    def judge(marker: re.Match, offset: int, sentence: str) -> list[int]:
        """New numbers kept for one marker cited by ``sentence``; records the replacement."""
        kept = []
        for number in (int(x) for x in re.split(r"\s*[,，、]\s*", marker.group(1))):
            if not 1 <= number <= len(passages):
                removed.append(f"[{number}]: no such passage")
                continue
            passage = passages[number - 1]
            if not supports(sentence, passage.text, glossary):
                removed.append(f"[{number}]: shares nothing with its sentence")
                continue
            if number not in renumber:
                renumber[number] = len(renumber) + 1
                found_spans[number] = (spans or {}).get(number) or best_span(sentence, passage.text, glossary)
            kept.append(renumber[number])
        replacements.append((offset + marker.start(), offset + marker.end(), "".join(f"[{k}]" for k in dict.fromkeys(kept))))
        return kept

    previous = ""
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        clean = _SPACED_MARKER_RE.sub("", sentence).strip()
        # Markers before a sentence's first word were written after the previous one's full stop
        # ("…水涨船高。[1]例如…"): they cite the previous sentence.
        lead = _LEADING_RE.match(sentence)
        lead_end = lead.end() if lead else 0
        kept_lead: list[int] = []
        kept_own: list[int] = []
        for marker in MARKER_RE.finditer(sentence):
            if marker.start() < lead_end and previous:
                kept_lead += judge(marker, start, previous)
            else:
                kept_own += judge(marker, start, clean)
        if kept_lead and uncited and uncited[-1] == previous:
            uncited.pop()
        if any(ch.isalnum() for ch in clean):
            if not kept_own and clean not in exempt:
                uncited.append(clean)
            previous = clean
    for a, b, new in sorted(replacements, reverse=True):
        if not new:  # drop the space before a removed marker too
            while a > 0 and text[a - 1] == " ":
                a -= 1
        text = text[:a] + new + text[b:]
    citations = [citation_for(new, passages[old - 1], found_spans.get(old)) for old, new in renumber.items()]
    return CheckedAnswer(text.strip(), sorted(citations, key=lambda c: c.n), uncited, removed)
