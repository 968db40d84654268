"""Checked citations: parse ``[n]`` markers in an answer, repair them, return cited passages.

Rules (applied to generated and extracted answers alike):

* a marker pointing to no passage is removed;
* a marker whose passage shares no term with its sentence (question-independent: tokens of
  the sentence and their glossary translations against the passage text) is removed;
* a sentence's checkable content (numbers with units, names, quoted terms: ``claims.py``) must be
  stated by a passage it cites; else it cites the retrieved passage that states it all (a sentence
  without markers too), else its markers go and it is *unsupported*;
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
from .claims import claims_of, missing, passage_form

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
    unsupported: list[str] = field(default_factory=list)  # sentences whose numbers/names no passage states
    sentences: int = 0  # sentences with words (the decline sentence excepted)
    recited: int = 0  # citations moved to (or added for) the passage that states the sentence's claims


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


@dataclass
class _Sentence:
    clean: str  # the sentence without its markers
    end: int  # where a citation added for it goes (before its closing punctuation)
    cited: list[int] = field(default_factory=list)  # passage numbers (1-based) kept so far
    markers: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of its markers in the answer


def _parse(text: str) -> tuple[list[_Sentence], list[tuple[int, int, _Sentence, list[int]]]]:
    """Sentences with words, and every marker as (start, end, the sentence it cites for, numbers).
    Markers before a sentence's first word were written after the previous one's full stop
    ("…水涨船高。[1]例如…"): they cite the previous sentence."""
    sentences: list[_Sentence] = []
    markers: list[tuple[int, int, _Sentence, list[int]]] = []
    orphans: list[tuple[int, int, list[int]]] = []  # markers before any sentence with words
    for start, end in sentence_spans(text):
        piece = text[start:end]
        clean = _SPACED_MARKER_RE.sub("", piece).strip()
        lead = _LEADING_RE.match(piece)
        lead_end = lead.end() if lead else 0
        own = _Sentence(clean, start + len(piece.rstrip("。.!?！？;；")))
        has_words = any(ch.isalnum() for ch in clean)
        for marker in MARKER_RE.finditer(piece):
            numbers = [int(x) for x in re.split(r"\s*[,，、]\s*", marker.group(1))]
            a, b = start + marker.start(), start + marker.end()
            target = sentences[-1] if marker.start() < lead_end and sentences else own if has_words else None
            if target is None:
                orphans.append((a, b, numbers))
            else:
                markers.append((a, b, target, numbers))
        if has_words:
            sentences.append(own)
    # A marker with no sentence to cite for is judged against the first one (none: it shares nothing).
    for a, b, numbers in orphans:
        markers.append((a, b, sentences[0] if sentences else _Sentence("", a), numbers))
    return sentences, markers


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
    forms = [passage_form(p) for p in passages]
    removed: list[str] = []
    sentences, markers = _parse(text)
    kept_at: dict[tuple[int, int], list[int]] = {}
    for a, b, sentence, numbers in markers:
        kept = []
        for number in numbers:
            if not 1 <= number <= len(passages):
                removed.append(f"[{number}]: no such passage")
            elif not supports(sentence.clean, passages[number - 1].text, glossary):
                removed.append(f"[{number}]: shares nothing with its sentence")
            else:
                kept.append(number)
        kept_at[(a, b)] = kept
        sentence.cited += [n for n in kept if n not in sentence.cited]
        sentence.markers.append((a, b))

    # Claims: each sentence's numbers, names and quotes must be in a passage it cites.
    unsupported: list[str] = []
    uncited: list[str] = []
    added: dict[int, list[int]] = {}  # insertion point -> passage numbers cited there
    recited = 0
    counted = [s for s in sentences if s.clean not in exempt]
    for sentence in counted:
        claims = claims_of(sentence.clean)
        if claims:
            cited_forms = [forms[n - 1] for n in sentence.cited]
            if missing(claims, cited_forms, glossary):
                holder = next((i + 1 for i, f in enumerate(forms) if not missing(claims, [f], glossary)
                               and supports(sentence.clean, passages[i].text, glossary)), None)
                removed += [f"[{n}]: does not state what its sentence claims" for n in sentence.cited]
                for key in sentence.markers:
                    kept_at[key] = []
                sentence.cited = [] if holder is None else [holder]
                if holder is not None:
                    added.setdefault(sentence.end, []).append(holder)
                    recited += 1
                else:
                    unsupported.append(sentence.clean)
        if not sentence.cited:
            uncited.append(sentence.clean)

    # Renumber in order of first citation in the text.
    events = sorted([(a, b, kept_at[(a, b)]) for a, b, _, _ in markers] +
                    [(at, at, numbers) for at, numbers in added.items()])
    renumber: dict[int, int] = {}
    for _, _, numbers in events:
        for n in numbers:
            renumber.setdefault(n, len(renumber) + 1)
    found_spans: dict[int, tuple[int, int] | None] = {}
    for sentence in sentences:
        for n in sentence.cited:
            if n not in found_spans:
                found_spans[n] = (spans or {}).get(n) or best_span(sentence.clean, passages[n - 1].text, glossary)
    for a, b, numbers in sorted(events, reverse=True):
        new = "".join(f"[{renumber[n]}]" for n in dict.fromkeys(numbers))
        if not new and a != b:  # drop the space before a removed marker too
            while a > 0 and text[a - 1] == " ":
                a -= 1
        text = text[:a] + new + text[b:]
    citations = [citation_for(new, passages[old - 1], found_spans.get(old)) for old, new in renumber.items()]
    return CheckedAnswer(text.strip(), sorted(citations, key=lambda c: c.n), uncited, removed, unsupported,
                         len(counted), recited)
