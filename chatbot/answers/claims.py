"""What of an answer sentence can be checked against a passage, and whether a passage holds it.

A small model's typical error is fluent and specific: "about 220GB [1]" where passage [1] says
160GB.  Sharing a term with the passage (``cite.supports``) does not catch that, so a sentence's
*checkable content* must be found in the passage it cites:

* numbers, with the first letter of a unit that follows (``160GB`` needs 160 followed by G…,
  ``4K`` needs 4 followed by K…; ``70%`` needs ``70%``); ``128,000`` and ``128000`` are one number;
* names and identifiers (``identifiers``: Qwen1.5-7B-Chat, LoRA, Llama), found as written or
  through the glossary (an English answer naming a Chinese note's term);
* quoted terms (“…”, "…", 「…」, `…`).

A sentence with none of these is judged by term overlap alone, as before.
Written by hand: no library checks a generated sentence's facts against a source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..search.tokens import compact, identifiers, normalize

if TYPE_CHECKING:
    from ..search.glossary import Glossary
    from ..search.retrieve import Passage

# A number not inside a Latin word ('Qwen1.5'), and the first letter of a unit of up to three
# letters: right after it ('160GB', '4k'), or after a space if capitalised ('160 GB'; not the
# 'w' of '3.1 was' nor the 'l' of '2 layers').
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(\s*%|[A-Za-z](?=[A-Za-z]{0,2}(?![A-Za-z]))|\s[A-Z](?=[A-Za-z]{0,2}(?![A-Za-z])))?"
)
_QUANTITY_RE = re.compile(r"\d+(?:\.\d+)?[A-Za-z]{1,3}")
_QUOTED_RE = re.compile(r"“([^”]{2,40})”|\"([^\"]{2,40})\"|「([^」]{2,40})」|`([^`]{2,40})`")


@dataclass(frozen=True)
class Claim:
    """One checkable piece of a sentence: ``kind`` number / name / quote, and the text as written."""

    kind: str
    text: str
    number: str = ""  # numbers: the value without thousands separators
    unit: str = ""  # numbers: '%' or the unit's first letter, lower-case


def claims_of(sentence: str) -> list[Claim]:
    """The checkable content of ``sentence``, given without its citation markers (as
    ``cite.check_citations`` passes it)."""
    text = normalize(sentence)
    found: list[Claim] = []
    # '160GB' is a number, not a name, and so is the 'GB' of '160 GB'.
    names = [n for n in identifiers(text) if not _QUANTITY_RE.fullmatch(n)
             and not (len(n) <= 3 and re.search(rf"\d\s{re.escape(n)}\b", text))]
    for name in names:
        found.append(Claim("name", name))
    inside_names = [m.span() for name in names for m in re.finditer(re.escape(name), text)]
    for match in _NUMBER_RE.finditer(text):
        if any(a <= match.start() < b for a, b in inside_names):
            continue  # the 7 of Qwen1.5-7B is the name's, checked with it
        unit = (match.group(2) or "").strip().lower()
        found.append(Claim("number", match.group(0).strip(), match.group(1).replace(",", ""), unit[:1]))
    for match in _QUOTED_RE.finditer(text):
        quoted = next(g for g in match.groups() if g)
        if compact(quoted):
            found.append(Claim("quote", quoted))
    return list(dict.fromkeys(found))


def passage_form(passage: Passage) -> str:
    """What a claim is looked for in: the passage, its heading path and its note's title."""
    meta = passage.metadata
    return normalize("\n".join([str(meta.get("title", "")), str(meta.get("heading", "")), passage.text])).lower()


def holds(claim: Claim, form: str, glossary: Glossary | None = None) -> bool:
    """True if ``form`` (``passage_form``) states ``claim``."""
    if claim.kind == "number":
        digits = form.replace(",", "")  # 128,000 and 128000 are one number
        pattern = rf"(?<![\d.]){re.escape(claim.number)}(?![\d]|\.\d)"
        if claim.unit == "%":
            pattern += r"\s*%"
        elif claim.unit:
            pattern += rf"\s?{re.escape(claim.unit)}"
        return re.search(pattern, digits) is not None
    flat = compact(form)
    if compact(claim.text) in flat:
        return True
    if glossary is not None:
        return any(compact(t) in flat for t in glossary.expand(claim.text) if compact(t))
    return False


def missing(claims: list[Claim], forms: list[str], glossary: Glossary | None = None) -> list[Claim]:
    """The claims none of ``forms`` holds."""
    return [c for c in claims if not any(holds(c, f, glossary) for f in forms)]
