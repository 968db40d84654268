"""Present stage: an ``Answer`` rendered for the browser (chat message, sources panel, note view).

Pure functions from data to Markdown/HTML strings, so they are tested without a browser.  Note
text is always HTML-escaped: notes are data and may contain markup.  Citation markers ``[n]``
become chips linking to ``#src-<turn>-<n>``; a small script (``CHIP_SCRIPT``) scrolls to and
highlights the passage on click.  Left out: any answer logic (that is ``chatbot.answers``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..answers.cite import Citation
    from ..answers.result import Answer
    from ..study.check import Verdict
    from ..study.deck import DeckCard

_MARKER_RE = re.compile(r"\[(\d+)\]")

CSS = """
a.chip { display:inline-block; min-width:1.4em; padding:0 .35em; margin:0 .1em; border-radius:.7em;
         background:#e0ecff; color:#1a4fb0 !important; font-size:.8em; text-align:center; text-decoration:none; }
.declined { border-left:4px solid #d97706; background:#fff7e6; padding:.4em .7em; border-radius:4px; }
.badge { display:inline-block; padding:.15em .6em; border-radius:1em; background:#eef2f7; font-size:.85em; }
.badge.gen { background:#e7f6ec; }
.src { border:1px solid #dde3ea; border-radius:6px; padding:.5em .7em; margin:.5em 0; scroll-margin:4em; }
.src.hl { outline:3px solid #f59e0b; background:#fffbeb; }
.src .meta { color:#5b6675; font-size:.85em; }
.src mark { background:#fde68a; }
.src.related { border-style:dashed; }
.caution { color:#92400e; }
s.unsupported { color:#9a3412; }
.note-view { white-space:pre-wrap; }
.study-card { border:1px solid #dde3ea; border-radius:8px; padding:.8em 1em; font-size:1.05em; }
.study-card .kind { color:#5b6675; font-size:.8em; text-transform:uppercase; letter-spacing:.05em; }
.study-answer .answer { font-size:1.1em; font-weight:600; margin:.3em 0; }
.flagged { border-left:4px solid #d97706; background:#fff7e6; padding:.3em .6em; margin:.4em 0; }
"""

# Chips link to "#src-<turn>-<n>"; intercept the click so the sources panel scrolls, not the page.
CHIP_SCRIPT = """
<script>
document.addEventListener('click', function (event) {
  const chip = event.target.closest('a[href^="#src-"]');
  if (!chip) return;
  event.preventDefault();
  event.stopPropagation();
  const target = document.getElementById(chip.getAttribute('href').slice(1));
  if (!target) return;
  document.querySelectorAll('.src.hl').forEach(function (el) { el.classList.remove('hl'); });
  target.classList.add('hl');
  target.scrollIntoView({behavior: 'smooth', block: 'center'});
}, true);
</script>
"""


def mode_badge(model_name: str | None) -> str:
    if model_name:
        return f'<span class="badge gen">model: {html.escape(model_name)}</span>'
    return '<span class="badge">extracted passages (no model loaded)</span>'


def chip(turn: int, n: int) -> str:
    return f'<a class="chip" href="#src-{turn}-{n}">{n}</a>'


def answer_markdown(answer: Answer, turn: int, related_label: str) -> str:
    """The chat message: label, answer with citation chips, or a marked decline with related notes."""
    text = html.escape(answer.answer, quote=False)
    if answer.declined:
        related = " ".join(chip(turn, c.n) + " " + html.escape(c.title) for c in answer.related)
        body = f'<div class="declined">{text}</div>'
        return body + (f"\n\n{html.escape(related_label)} {related}" if related else "")
    for sentence in answer.unsupported:  # struck through, with the reason on hover
        escaped = html.escape(sentence, quote=False)
        text = text.replace(escaped, f'<s class="unsupported" title="not stated in your notes">{escaped}</s>', 1)
    body = _MARKER_RE.sub(lambda m: chip(turn, int(m.group(1))), text).replace("\n", "  \n")
    label = f"*{html.escape(answer.label)}*\n\n" if answer.label else ""
    flags = f"\n\n<small>{len(answer.uncited)} sentence(s) cite no passage.</small>" if answer.uncited else ""
    if answer.unsupported:
        flags += (f"\n\n<small class=\"caution\">{len(answer.unsupported)} sentence(s) struck through: "
                  "their numbers or names are not in your notes.</small>")
    caution = f'\n\n<small class="caution">⚠️ {html.escape(answer.caution)}</small>' if answer.caution else ""
    return label + body + flags + caution


def _highlighted(citation: Citation) -> str:
    text = citation.text
    if citation.span:
        start, end = citation.span
        return (html.escape(text[:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
                + html.escape(text[end:]))
    return html.escape(text)


def _card(citation: Citation, turn: int, related: bool) -> str:
    where = html.escape(citation.where())
    extra = " · ".join(html.escape(x) for x in (citation.category, citation.date) if x)
    also = (f" · also in {len(citation.sources) - 1} more file(s)" if len(citation.sources) > 1 else "")
    return (
        f'<div class="src{" related" if related else ""}" id="src-{turn}-{citation.n}">'
        f'<div class="meta"><b>[{citation.n}]</b> {html.escape(citation.title)}<br>{where}'
        f'{" · " + extra if extra else ""}{also}</div>'
        f'<div class="text">{_highlighted(citation)}</div></div>'
    )


def sources_html(answer: Answer | None, turn: int, related_label: str) -> str:
    """The sources panel for one answer: cited passages (supporting sentence marked) or related notes."""
    if answer is None:
        return '<p class="meta">Sources of the current answer appear here.</p>'
    searched = "".join(
        f'<p class="meta">{label}: {html.escape(text)}</p>'
        for label, text in (("Searched for", answer.rewritten_question),
                            ("Also searched for", answer.translated_question))
        if text
    )
    if answer.declined:
        cards = "".join(_card(c, turn, related=True) for c in answer.related)
        return f"{searched}<p><b>{html.escape(related_label)}</b></p>{cards}"
    if not answer.citations:
        return searched + '<p class="meta">This answer cites no passage.</p>'
    return searched + "".join(_card(c, turn, related=False) for c in answer.citations)


def note_choices(answer: Answer | None) -> list[tuple[str, str]]:
    """(label, note_id) for the 'view note' picker: the notes cited by (or related to) the answer."""
    if answer is None:
        return []
    cited: Sequence[Citation] = answer.related if answer.declined else answer.citations
    return [(f"[{c.n}] {c.title}", c.note_id) for c in cited]


def note_html(text: str, title: str, locations: Sequence[str]) -> str:
    """A whole note, escaped, with every file and line span it appears in."""
    where = ", ".join(html.escape(x) for x in locations)
    return (f'<div class="src"><div class="meta"><b>{html.escape(title)}</b><br>{where}</div>'
            f'<div class="note-view">{html.escape(text)}</div></div>')


_KIND_LABELS = {"cloze": "fill in the blank", "definition": "definition", "which-note": "which note",
                "model": "question (model-written, checked)"}


def study_card_html(deck_card: DeckCard | None, status: str) -> str:
    """The card's question (no answer), with its flag if its passage changed."""
    if deck_card is None:
        return f'<div class="study-card" id="study-none"><p>No card is due.</p><p class="meta">{html.escape(status)}</p></div>'
    card = deck_card.card
    flag = (f'<div class="flagged">⚠️ {html.escape(deck_card.reason)}.</div>' if deck_card.status == "changed" else "")
    return (f'<div class="study-card" data-card="{card.card_id}"><div class="kind">{_KIND_LABELS.get(card.kind, card.kind)}'
            f"</div>{flag}<div class=\"question\">{html.escape(card.question)}</div></div>")


def study_answer_html(deck_card: DeckCard, verdict: Verdict | None) -> str:
    """The card's answer, the check of a typed answer, and the cited passage with its sentence marked."""
    card = deck_card.card
    judged = (f'<p class="meta">{html.escape(verdict.reason)} Suggested grade: <b>{verdict.grade}</b>.</p>'
              if verdict else "")
    return (f'<div class="study-answer"><div class="answer">{html.escape(card.answer)}</div>{judged}'
            f"{_card(card.citation(), 0, related=False)}</div>")
