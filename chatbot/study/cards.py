"""Cards from the notes: each a question whose answer its cited passage states.

Offline, no model (``make_cards``), from the notes' own sentences:

* **cloze**: a sentence with one key term blanked out.  Key terms are found in the notes, never
  in a word list: what the author set in bold, the term pairs the notes write
  (``梯度检查点(Gradient Checkpointing)``, learned at ingest), names and identifiers (LoRA,
  Qwen1.5-7B) and numbers with a unit (160GB, 128K).  Rarer terms rank first (their document
  frequency in the index), and a term the section's heading already shows is never blanked;
* **definition**: the notes' own "X 是 …" / "X (English) 指 …" / "X is …" sentences: "什么是 X？",
  the rest of the sentence as the answer;
* **which note**: "Which section of your notes covers X?" for a term only one passage mentions;
  the answer is that section's heading as the passage writes it.

Every answer is a span of the passage (``Card.span``), and the card cites the passage with its
sentence marked, as an answer does.  Code blocks, table rows and near-empty sections give no
cards.  Cards are spread over notes and headings (round robin) and no two share an answer.

With a model (``model_cards``): the model writes a question and a short answer from one
passage; the card is kept only if the answer's content is in the passage (a span of it, or
every number and name of it stated there with most of its words), else dropped.

Written by hand: no library makes study cards from notes (the notes tools that had them made
them by hand or removed them).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..answers.cite import Citation, citation_for
from ..answers.claims import claims_of
from ..errors import UserError
from ..search.retrieve import Passage
from ..search.terms import common
from ..search.tokens import (
    CJK_RE,
    chinese_words,
    compact,
    detect_language,
    identifiers,
    sentence_spans,
    tokenize,
    word_pieces,
)

if TYPE_CHECKING:
    from ..models.llm import LocalModel

KINDS = ("cloze", "definition", "which-note")
MAX_CARDS = 200  # cards one 'study new' makes at most
PER_PASSAGE = 2  # candidates of each kind kept per passage (the best by rarity and kind)
MODEL_TRIES = 2  # passages a model may write cards from, per card asked for (the rest are dropped by the check)
MODEL_PASSAGE_CHARS = 500
BLANK = "＿＿＿"  # full-width: Markdown reads no emphasis into it

_BOLD_RE = re.compile(r"\*\*([^*\n]{2,40}?)\*\*|__([^_\n]{2,40}?)__")
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_MATH_RE = re.compile(r"\$\$[^$]+\$\$|\$[^$\n]+\$")  # display math (may span lines) and inline math
_QUANTITY_RE = re.compile(r"\d+(?:\.\d+)?[A-Za-z]{1,3}")  # 2GB, 14B: a number with its unit, no name
_LINK_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)|\[([^\]]+)\]\([^)]*\)")
# "X 是 …", "X（Y）指的是 …": a short subject, an optional bracketed alias, a defining verb.
_ZH_DEFINITION_RE = re.compile(
    r"^(?P<term>[^\s，,。：:；;！？!?（(、“”\"]{2,16}?)\s*(?:[（(][^）)]{1,40}[）)])?\s*"
    r"(?P<verb>是指|指的是|是|指|表示|即|称为|叫做)\s*(?P<body>[^\s，,。：:；;、是].{3,159})$"
)
# "**X**：…" / "**X**: …": a term the author set in bold, then what it is.
_BOLD_DEFINITION_RE = re.compile(r"^(?:\*\*|__)(?P<term>[^*_\n]{2,30}?)(?:\*\*|__)\s*[：:]\s*(?P<body>\S.{3,159})$")
_EN_DEFINITION_RE = re.compile(
    r"^(?:(?:The|A|An) )?(?P<term>[A-Za-z][\w\-+.]*(?: [\w\-+.]+){0,4}?)(?: \([^)]{1,40}\))? "
    r"(?:is|are|refers to|means|denotes) (?P<body>\S.{3,159})$"
)
# Characters of Chinese grammar, not of terms: a subject holding one is a clause ('与DCN不同的',
# '注意空字符串可被认为'), not the name of a thing.
_FUNCTION_CHARS = set("的了被与和用可让把将对在不就都也还说要能会为所以而从由到得着过很更最并及或即乃")
_MEASURE_CHARS = tuple("个种些一二三两几每各该本此第")  # numbers and classifiers: no term starts with one
# Subjects that point elsewhere ('这种方法是…', 'It is…'): the sentence defines nothing by itself.
_POINTING = ("这", "那", "它", "其", "该", "此", "我", "你", "他", "她", "本", "每", "因此", "所以", "但", "如果",
             "而", "也", "都", "还", "就", "可以", "需要", "主要", "一般", "通常", "既然", "虽然", "因为", "由于", "对于",
             "关于", "其中", "另外", "此外", "然后", "首先", "最后", "无论", "即使", "尽管", "不管", "只要", "只有",
             "除了", "通过", "根据", "基于", "第", "注意", "比如", "例如")
_EN_POINTING = {"this", "it", "they", "there", "that", "these", "those", "here", "we", "you", "he", "she", "which",
                "what", "one", "each", "its", "our", "your", "the", "a", "an", "so", "but", "if"}
_TEMPLATES = {
    "definition": {"zh": "什么是{term}？", "en": "What is {term}?"},
    "which-note": {"zh": "你的哪一节笔记讲到了「{term}」？", "en": "Which section of your notes covers “{term}”?"},
    "cloze": {"zh": "填空：{sentence}", "en": "Fill in the blank: {sentence}"},
}


@dataclass(frozen=True)
class Card:
    """One study card: its answer is ``passage[span[0]:span[1]]`` (model cards: the model's
    words, stated by the marked sentence ``context``)."""

    kind: str
    question: str
    answer: str
    chunk_id: str
    passage: str
    span: tuple[int, int]
    context: tuple[int, int]  # the sentence the card is about, within ``passage``
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    language: str = "zh"

    @property
    def card_id(self) -> str:
        """Stable across re-indexing: the card's kind, question and answer."""
        return hashlib.sha1(f"{self.kind}\n{self.question}\n{self.answer}".encode()).hexdigest()[:16]

    @property
    def sentence(self) -> str:
        return self.passage[self.context[0] : self.context[1]]

    def citation(self) -> Citation:
        """The cited passage as answers cite theirs, the card's sentence marked."""
        return citation_for(1, Passage(self.chunk_id, self.passage, self.metadata, 0.0, 0.0, 0.0), span=self.context)

    def to_json(self) -> dict[str, Any]:
        citation = self.citation()
        return {"id": self.card_id, "kind": self.kind, "question": self.question, "answer": self.answer,
                "language": self.language, "span": list(self.span), "where": citation.where(),
                "citation": citation.to_json()}


@dataclass(frozen=True)
class Chunk:
    """A passage of the index as cards are made from it."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]

    @property
    def note_id(self) -> str:
        return str(self.metadata.get("note_id", ""))

    @property
    def heading(self) -> str:
        return str(self.metadata.get("heading") or "")

    def matches(self, needle: str) -> bool:
        """``--notes-filter``: the text in the file path, title or heading (any case)."""
        haystack = " ".join([str(self.metadata.get("sources", "")), str(self.metadata.get("source", "")),
                             str(self.metadata.get("title", "")), self.heading]).casefold()
        return needle.casefold() in haystack


@dataclass(frozen=True)
class _Candidate:
    card: Card
    score: float
    heading: str
    note_id: str


# --------------------------------------------------------------------------- offline cards


def make_cards(
    chunks: Sequence[Chunk],
    n: int,
    document_frequency: Callable[[str], int],
    pairs: Iterable[str] = (),
    *,
    language: str = "notes",
    notes_filter: str = "",
    exclude: Iterable[str] = (),
) -> list[Card]:
    """Up to ``n`` cards from ``chunks`` (see the module doc).  ``document_frequency``: chunks
    holding a BM25 token; ``pairs``: the learned vocabulary's pair lines (``English\\t中文|…``);
    ``language``: 'notes' (each card in its passage's language), 'zh' or 'en' for the question
    templates; ``exclude``: answers (or card ids) already in the deck, not made again."""
    if not 1 <= n <= MAX_CARDS:
        raise UserError(f"Ask for between 1 and {MAX_CARDS} cards at a time (got {n}).")
    if language not in ("notes", "zh", "en"):
        raise UserError(f"Card language must be notes, zh or en (got {language!r}).")
    if not chunks:
        raise UserError("The index has no passages to make cards from; run 'chatbot ingest' first.")
    chosen = [c for c in chunks if c.matches(notes_filter)] if notes_filter else list(chunks)
    if not chosen:
        raise UserError(f"No indexed note matches {notes_filter!r} (the filter looks at file paths, titles and "
                        "headings); try a shorter filter or none.")
    terms = _pair_terms(pairs)
    total = max(len(chunks), 1)

    def rarity(term: str) -> float:
        tokens = tokenize(term)
        df = min((document_frequency(t) for t in tokens), default=total)
        return math.log((total + 1) / (df + 1)) / math.log(total + 1)

    candidates = [c for chunk in chosen for c in _candidates(chunk, terms, rarity, document_frequency, language)]
    return _spread(candidates, n, set(exclude))


def _pair_terms(lines: Iterable[str]) -> set[str]:
    """Both sides of the pairs the notes write (``vocabulary.Learned.pairs``)."""
    found: set[str] = set()
    for line in lines:
        english, _, chinese = line.partition("\t")
        found.update(t.strip() for t in [english, *chinese.split("|")] if len(t.strip()) >= 2)
    return found


def _usable(chunk: Chunk) -> bool:
    """No cards from code, tables of numbers or near-empty sections."""
    if chunk.metadata.get("kind", "prose") != "prose":
        return False
    prose = _display(_HEADING_RE.sub("", chunk.text))
    return len(prose) >= 40 and sum(ch.isdigit() for ch in prose) < 0.3 * len(prose)


def _sentence_ok(sentence: str) -> bool:
    return (12 <= len(sentence) <= 220 and sentence.count("|") < 2 and not sentence.lstrip().startswith(("#", ">", "```"))
            and "http" not in sentence and sum(ch.isalnum() or bool(CJK_RE.match(ch)) for ch in sentence) >= 10)


def _candidates(chunk: Chunk, pair_terms: set[str], rarity: Callable[[str], float],
                document_frequency: Callable[[str], int], language: str) -> list[_Candidate]:
    """The best cards of each kind this passage gives (none for code, tables, near-empty text)."""
    if not _usable(chunk):
        return []
    text = chunk.text
    heading_line = _HEADING_RE.match(text)
    body_start = heading_line.end() if heading_line else 0
    heading = chunk.heading
    shown = compact(heading)  # what the card's citation shows anyway: no blank may hide it
    best: dict[str, list[_Candidate]] = defaultdict(list)
    formulas = [m.span() for m in _MATH_RE.finditer(text)]

    lang = detect_language(text) if language == "notes" else language

    def offer(kind: str, score: float, question: str, answer_span: tuple[int, int], context: tuple[int, int]) -> None:
        card = Card(kind, question, text[answer_span[0]:answer_span[1]], chunk.chunk_id, text, answer_span, context,
                    chunk.metadata, lang)
        pool = [c for c in best[kind] if c.card.answer != card.answer or c.score >= score]
        if all(c.card.answer != card.answer for c in pool):
            pool.append(_Candidate(card, score, heading, chunk.note_id))
        best[kind] = sorted(pool, key=lambda c: -c.score)[:PER_PASSAGE]

    for start, end in sentence_spans(text):
        if start < body_start:
            continue
        sentence = text[start:end]
        if not _sentence_ok(sentence):
            continue
        # Definitions: the notes' own "X 是 …" and "**X**：…" sentences.
        bold = _BOLD_DEFINITION_RE.match(sentence)
        match = bold or (_ZH_DEFINITION_RE if CJK_RE.search(sentence[:24]) else _EN_DEFINITION_RE).match(sentence)
        if match and _defines(match.group("term"), bold is not None) and (bold or _verb_is_a_word(sentence, match)):
            body = match.group("body").rstrip("。.；;！!，,：: ")
            if len(body) >= 4 and any(ch.isalnum() for ch in body):
                b = start + match.start("body")
                term = _display(match.group("term"))
                offer("definition", 1.0 + rarity(term), _TEMPLATES["definition"][lang].format(term=term),
                      (b, b + len(body)), (start, end))
        if bold:
            continue  # a bold term that opens its own description: a definition card, no blank
        # Cloze: one key term of the sentence blanked out.
        for term, weight in _key_terms(sentence, pair_terms):
            if compact(term) in shown or not 2 <= len(compact(term)) <= 20:
                continue
            at = sentence.find(term)
            if at < 0 or not _standalone(sentence, at, term):
                continue
            if any(a <= start + at < b for a, b in formulas):
                continue  # a formula's variable (s_0, head_1) is no term to learn
            blanked = _blank(sentence, term)
            if len(compact(blanked)) < 8:
                continue
            length = 1.0 if 20 <= len(sentence) <= 150 else 0.6
            offer("cloze", (weight + rarity(term)) * length, _TEMPLATES["cloze"][lang].format(sentence=blanked),
                  (start + at, start + at + len(term)), (start, end))
            # Which note: a term only this passage mentions, answered by the passage's (short) heading.
            title = heading_line.group(2).strip() if heading_line else ""
            if title and len(title) <= 30 and weight >= 0.8 and _only_here(term, document_frequency):
                h = heading_line.start(2)
                offer("which-note", weight + rarity(term), _TEMPLATES["which-note"][lang].format(term=term),
                      (h, h + len(title)), (start, end))
    return [c for pool in best.values() for c in pool]


def _defines(term: str, bold: bool = False) -> bool:
    """A subject that names something (not '这种方法', 'It', a clause, a number)."""
    plain = term.strip()
    if not plain or plain.startswith(_POINTING) or plain.split(" ")[0].lower() in _EN_POINTING:
        return False
    if not bold and _FUNCTION_CHARS & set(plain):
        return False
    if common(plain, "zh" if CJK_RE.search(plain) else "en"):
        return False  # an everyday word ('优点', 'output') defined in passing is no term to learn
    return bool(re.search(r"[A-Za-z\u3400-\u9fff]", plain)) and not plain[0].isdigit()


def _verb_is_a_word(sentence: str, match: re.Match) -> bool:
    """'连贯性指数反映…' is no '连贯性 指 …': the subject and the defining verb must be whole words."""
    if "verb" not in match.groupdict() or not CJK_RE.search(match.group("verb")):
        return True
    ends, at = set(), 0
    for word in word_pieces(sentence[: match.end("verb") + 4]):
        at += len(word)
        ends.add(at)
    return match.end("term") in ends and match.end("verb") in ends


def _whole_term(term: str) -> bool:
    """A learned pair's side that is a term of its own, not a fragment jieba would split ('个框')."""
    if not CJK_RE.search(term):
        return True
    return not term.startswith(_MEASURE_CHARS) and (len(term) >= 3 or chinese_words(term) == [term])


def _standalone(sentence: str, at: int, term: str) -> bool:
    """Is the Latin term at ``at`` a whole term, not a piece of a longer Latin name ('Trust' of
    'Trust Region Policy Optimization', 'Multi' of 'Multi-head', 'Large' of 'Large language
    models')?  Numbers with a unit ('128K tokens') always are."""
    if _QUANTITY_RE.fullmatch(term) or not re.search(r"[A-Za-z]", term):
        return True
    before, after = sentence[:at], sentence[at + len(term):]
    if term[0].isascii() and term[0].isalnum() and re.search(r"(?:[A-Za-z0-9_-]|[A-Za-z][A-Za-z0-9.]* )$", before):
        return False
    return not (term[-1].isascii() and term[-1].isalnum() and re.match(r"(?:[A-Za-z0-9_]|-[A-Za-z]| [A-Za-z])", after))


def _random_id(name: str) -> bool:
    """An id or hash rather than a name ('ELukJdQS3vvCwYIfgsQf2C'): many case or digit switches."""
    switches = len(re.findall(r"[a-z](?=[A-Z])|[A-Za-z](?=\d)|\d(?=[A-Za-z])", name))
    return switches > 3 or len(name) > 30


def _key_terms(sentence: str, pair_terms: set[str]) -> list[tuple[str, float]]:
    """(term, weight) the sentence could be asked about: bold text, the notes' pair terms,
    names, numbers with a unit."""
    found: dict[str, float] = {}
    for match in _BOLD_RE.finditer(sentence):
        term = (match.group(1) or match.group(2)).strip().rstrip("：:，,。.")
        if term:
            found[term] = max(found.get(term, 0.0), 1.0)
    for term in pair_terms:
        if term in sentence and _whole_term(term):
            found[term] = max(found.get(term, 0.0), 1.0)
    for name in identifiers(sentence):
        if not _random_id(name) and not _QUANTITY_RE.fullmatch(name):
            found.setdefault(name, 0.8)
    for claim in claims_of(sentence):
        if claim.kind == "number" and claim.unit:
            found.setdefault(claim.text, 0.7)
    # A term inside a longer one ('LoRA' in 'QLoRA'): keep the longer, or the blank shows the rest.
    return [(t, w) for t, w in found.items() if not any(t != o and t in o for o in found)]


def _only_here(term: str, document_frequency: Callable[[str], int]) -> bool:
    tokens = tokenize(term)
    return bool(tokens) and min(document_frequency(t) for t in tokens) == 1


def _blank(sentence: str, term: str) -> str:
    """The sentence for display with every mention of ``term`` (and its bracketed gloss) blanked."""
    pattern = re.compile(rf"(?:\*\*|__)?{re.escape(term)}(?:\*\*|__)?(?:\s*[（(][^）)]{{1,40}}[）)])?")
    return _display(pattern.sub(BLANK, sentence))


def _display(text: str) -> str:
    """Markdown markup dropped for showing a sentence: emphasis, code ticks, links, bullets."""
    text = _LINK_RE.sub(lambda m: m.group(1) or "", text)
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _spread(candidates: list[_Candidate], n: int, exclude: set[str]) -> list[Card]:
    """Up to ``n`` cards, round robin over notes and, within a note, over headings; kinds
    mixed; no two cards with the same answer, none already in the deck (``exclude``)."""
    by_note: dict[str, dict[str, list[_Candidate]]] = defaultdict(lambda: defaultdict(list))
    for c in sorted(candidates, key=lambda c: -c.score):
        by_note[c.note_id][c.heading].append(c)
    # Notes in a fixed order that does not follow the folder's (so one folder does not come first).
    notes = sorted(by_note, key=lambda nid: hashlib.sha1(nid.encode()).hexdigest())
    seen = {compact(x) for x in exclude} | set(exclude)
    cards: list[Card] = []
    kinds: Counter = Counter()
    while len(cards) < n and any(by_note[nid] for nid in notes):
        for nid in notes:
            headings = by_note[nid]
            if not headings or len(cards) >= n:
                continue
            heading = next(iter(headings))
            pool = headings.pop(heading)
            # The kind made least so far, among this heading's best candidates.
            pool.sort(key=lambda c: (kinds[c.card.kind], -c.score))
            for c in pool:
                key = compact(c.card.answer)
                if key in seen or c.card.card_id in seen:
                    continue
                seen.add(key)
                cards.append(c.card)
                kinds[c.card.kind] += 1
                rest = [o for o in pool if o is not c and compact(o.card.answer) not in seen]
                if rest:
                    headings[heading] = rest  # back of the queue: other headings first
                break
    return cards


# --------------------------------------------------------------------------- model cards


# A question about the text itself rather than what it teaches.
_ABOUT_THE_TEXT_RE = re.compile(r"本章|本书|本文|本节|本篇|本项目|本教程|本补充|这段|该段|这篇|原文|作者|"
                                r"\b(?:passage|this (?:chapter|section|article|book|text)|the author)\b", re.I)
_YES_NO_RE = re.compile(r"^(?:是否|能否|可否)|吗[？?]$|(?<![什怎那这多])么[？?]$|"
                        r"^(?:is|are|does|do|did|can|could|will|should|was|were)\b", re.I)
_POINTS_ON_RE = re.compile(r"[:：]$|如下|下图|如图|见图|图\s?\d|as follows|(?:see|in) (?:the )?(?:figure|table) ", re.I)
_QA_RE = re.compile(r"(?:Q|问题|问)\s*[:：]\s*(?P<q>.+?)\s*\n+\s*(?:A|答案|答)\s*[:：]\s*(?P<a>.+)", re.S)


def card_messages(passage: str, language: str) -> list[dict[str, str]]:
    """The prompt asking a model for one question and its short answer from one passage."""
    if language == "en":
        system = ("You write one study flashcard from a passage of the user's notes. Ask about one fact the passage "
                  "states. The answer is a short phrase copied from the passage. Reply exactly as:\nQ: <question>\n"
                  "A: <answer>")
    else:
        system = ("你根据用户笔记中的一段文字写一张学习卡片。只问这段文字明确写出的一个事实，答案是从原文中摘出的短语。"
                  "严格按下面格式回复：\n问题：<问题>\n答案：<答案>")
    return [{"role": "system", "content": system}, {"role": "user", "content": passage}]


def model_cards(model: LocalModel, chunks: Sequence[Chunk], n: int, *, language: str = "notes",
                notes_filter: str = "", exclude: Iterable[str] = (),
                on_card: Callable[[Card | None, str], None] | None = None) -> tuple[list[Card], int]:
    """Up to ``n`` question–answer cards written by ``model``, one passage each, kept only if
    the passage states the answer (module doc); (cards, how many the model wrote in all).
    ``on_card(card or None, raw reply)`` follows each attempt."""
    if not 1 <= n <= MAX_CARDS:
        raise UserError(f"Ask for between 1 and {MAX_CARDS} cards at a time (got {n}).")
    chosen = [c for c in chunks if _usable(c) and not _file_lead(c) and (not notes_filter or c.matches(notes_filter))]
    if not chosen:
        raise UserError("No indexed passage to write cards from" + (f" matches {notes_filter!r}" if notes_filter else "")
                        + "; check the filter or run 'chatbot ingest'.")
    order = _spread([_Candidate(Card("model", "", c.chunk_id, c.chunk_id, c.text, (0, 0), (0, 0), c.metadata),
                                0.0, c.heading, c.note_id) for c in chosen], min(len(chosen), MAX_CARDS), set())
    by_id = {c.chunk_id: c for c in chosen}
    seen = {compact(x) for x in exclude} | set(exclude)
    cards: list[Card] = []
    written = 0
    for placeholder in order[: n * MODEL_TRIES]:
        if len(cards) >= n:
            break
        chunk = by_id[placeholder.chunk_id]
        lang = detect_language(chunk.text) if language == "notes" else language
        reply = model.complete(card_messages(_lead(chunk.text), lang), max_tokens=96, temperature=0.0)
        written += 1
        card = checked_card(reply, chunk, lang)
        if card is not None and compact(card.answer) not in seen:
            seen.add(compact(card.answer))
            cards.append(card)
        elif card is not None:
            card = None
        if on_card:
            on_card(card, reply)
    return cards, written


def _lead(text: str, limit: int = MODEL_PASSAGE_CHARS) -> str:
    """The passage's first sentences up to ``limit`` characters: what the model reads (its card
    is still checked against the whole passage).  On 2 cores a full 1,000-character section
    doubles the time to the card."""
    if len(text) <= limit:
        return text
    ends = [e for _, e in sentence_spans(text) if e <= limit]
    return text[: ends[-1]] if ends else text[:limit]


def _file_lead(chunk: Chunk) -> bool:
    """A Markdown file's opening, before its first section: it says what the file is about ('本章
    介绍…'), which the 1.5B model turned into questions about the document, not about its subject."""
    source = str(chunk.metadata.get("source", "")).lower()
    return source.endswith((".md", ".markdown")) and int(chunk.metadata.get("chunk_index", 0)) == 0 \
        and not re.match(r"#{2,6}\s", chunk.text)


def checked_card(reply: str, chunk: Chunk, language: str) -> Card | None:
    """The card a model's ``reply`` describes, if the passage states its answer; else None."""
    match = _QA_RE.search(reply.strip())
    if not match:
        return None
    question = match.group("q").strip().splitlines()[0].strip()
    answer = match.group("a").strip().splitlines()[0].strip().strip("。.\"“”「」")
    if not question.endswith(("?", "？")) or not answer or len(answer) > 120:
        return None  # no question asked, or no short answer
    if compact(answer) in compact(question):
        return None  # the question gives its answer away
    if _ABOUT_THE_TEXT_RE.search(question):
        return None  # about the document ('本章的主要内容', 'the author of the passage'), not its subject
    if _YES_NO_RE.search(question) or _POINTS_ON_RE.search(answer):
        return None  # a yes/no question, or an answer that points at what follows ('格式如下：', '如图5.1所示')
    text = chunk.text
    at = text.find(answer)
    spans = sentence_spans(text)
    if at >= 0:  # a span of the passage, as asked
        context = next(((s, e) for s, e in spans if s <= at < e), (at, at + len(answer)))
        return Card("model", question, answer, chunk.chunk_id, text, (at, at + len(answer)), context, chunk.metadata,
                    language)
    # Not verbatim: every number and name stated by one sentence, which holds most of its words.
    words = set(tokenize(answer))
    best, best_share = None, 0.0
    for s, e in spans:
        sentence = text[s:e]
        held = set(tokenize(sentence))
        share = len(words & held) / len(words) if words else 0.0
        claims_ok = all(compact(c.text) in compact(sentence) for c in claims_of(answer))
        if claims_ok and share > best_share:
            best, best_share = (s, e), share
    if best is None or best_share < 0.6:
        return None
    return Card("model", question, answer, chunk.chunk_id, text, best, best, chunk.metadata, language)


def chunks_of(reader) -> list[Chunk]:
    """Every passage of an open index (``search.index.IndexReader``), in id order."""
    ids = list(reader.manifest.get("chunk_ids", []))
    stored = reader.store.get(ids)
    return [Chunk(cid, text, meta) for cid, (text, meta) in sorted(stored.items())]


def dumps(cards: Iterable[Card]) -> str:
    return json.dumps([c.to_json() for c in cards], ensure_ascii=False, indent=2)
