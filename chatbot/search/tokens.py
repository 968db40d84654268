"""Tokens for the lexical (BM25) channel, identical for notes and questions.

Chinese runs are cut with jieba's search mode (words plus their sub-words, so 梯度检查点 also
matches 检查点).  Latin runs are normalised so that the notes export, which dropped
punctuation, meets questions that keep it:

    Qwen1.5-7B-Chat -> qwen157bchat, qwen, chat     Qwen1.57BChat -> qwen157bchat, qwen, chat
    Prefix-Tuning   -> prefixtuning, prefix, tuning  PrefixTuning  -> prefixtuning, prefix, tuning

Left out: stemming beyond a plural "s" (technical terms suffer from aggressive stemmers) and
any weighting; BM25 does the weighting.
"""

from __future__ import annotations

import logging
import marshal
import os
import re
import tempfile
import threading
import unicodedata
from functools import lru_cache

_RUN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+(?:[.\-_+'][A-Za-z0-9]+)*")
# Split points inside a Latin run: punctuation, letter<->digit, and lower->Upper after 2+ lower
# letters (KimiVL -> Kimi|VL, PrefixTuning -> Prefix|Tuning, but LLaMA stays whole), and after a
# size suffix (57BChat -> 57B|Chat).
_SPLIT_RE = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z]{2})(?=[A-Z])|(?<=\d[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
# "Stable Diffusion 3" -> sd3, "Batch Normalization" -> bn: notes and questions mix both forms.
_PHRASE_RE = re.compile(r"\b[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)+(?:[ \-]?\d+)?\b")
# "LLaMA 2" / "Llama 3.1" / "GPT 4" -> llama2, llama31, gpt4: the notes write both spaced and glued.
_VERSIONED_RE = re.compile(r"\b([A-Za-z]{2,})[ ](\d+(?:\.\d+)*)(?![\d.]*[A-Za-z])")
CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z]")
# Complexity notation: O(N^2), O(n log n), O(1).  Its letters are too short for a name, yet a
# question asking about O(N^2) hinges on it as much as on a model name.
_BIG_O_RE = re.compile(r"(?<![A-Za-z])O\([^()]{1,20}\)")

EN_STOPWORDS = frozenset(
    """a an the and or of to in on at by for with from as is are was were be been being do does did
    what which who whom whose when where why how that this these those it its they them their there
    i me my we our you your he she his her can could should would will shall may might must
    about into than then so such not no yes any some all each more most other if but also just
    tell explain describe according notes note my mean means used use using get give list"""
    .split()
)
ZH_STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 吗 呢 吧 啊 么 什么 怎么 怎样 如何 为什么 哪些 哪个 哪 是否 有 有没有 "
    "请 一下 我 你 他 它 这 那 这个 那个 里 中 对 把 被 都 也 就 还 又 并 而 个 些 之 其 "
    "笔记 一个 可以 能 会 要 用 说 讲 多少 几 ， 。 ？ ！".split()
)

_jieba_lock = threading.Lock()


class _WholeFileMarshal:
    """``marshal`` as jieba uses it, reading a file whole before decoding it."""

    dump = staticmethod(marshal.dump)

    @staticmethod
    def load(file):
        return marshal.loads(file.read())


@lru_cache(maxsize=1)
def _jieba():
    """jieba, initialised once (its dictionary load takes ~0.5 s and logs to stderr)."""
    with _jieba_lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        # jieba's default cache, /tmp/jieba.cache, is shared by every user: one user's file makes
        # jieba print a traceback for the next.  A per-user cache file avoids that.
        jieba.dt.cache_file = os.path.join(tempfile.gettempdir(), f"jieba-notes-chat-{os.getuid()}.cache")
        # jieba reads its cached dictionary with marshal.load(file), which reads the 9 MB file in
        # small pieces: 0.9 s, against 0.3 s for marshal.loads of the bytes read at once.
        jieba.marshal = _WholeFileMarshal
        jieba.initialize()
        return jieba


def word_pieces(text: str) -> list[str]:
    """jieba's precise cut of ``text``, whitespace pieces kept: their lengths add up to the text's."""
    return list(_jieba().cut(text))


def chinese_words(text: str) -> list[str]:
    """The words of ``text`` in jieba's precise cut (no sub-words): 我们使用梯度检查点 -> 我们, 使用, 梯度, 检查点."""
    return [w for w in _jieba().cut(text) if w.strip()]


def dictionary_word(word: str) -> bool:
    """Is ``word`` in jieba's dictionary?  Its precise cut also glues unknown characters into
    'new words' by an HMM (单词接龙那题 -> 那题, 和 NSP 比难在哪里 -> 比难): those are no words a
    question hinges on."""
    return _jieba().dt.FREQ.get(word, 0) > 0


def detect_language(text: str) -> str:
    """'zh' if the text is mainly Chinese, else 'en'."""
    cjk = len(CJK_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    return "zh" if cjk >= 2 and cjk * 4 >= latin else "en"


def stem(word: str) -> str:
    """Plural 's' off ('models' -> 'model'), but not 'loss', 'bias', 'class'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        return word[:-1]
    return word


def latin_tokens(span: str) -> list[str]:
    """Tokens of one Latin run: the punctuation-free join plus its camel/letter parts."""
    parts = [p.lower() for p in _SPLIT_RE.split(span) if p]
    raw = re.sub(r"[.\-_+']", "", span).lower()
    joined = stem(raw)
    tokens = [joined] if raw not in EN_STOPWORDS and joined not in EN_STOPWORDS else []
    if len(parts) > 1:
        tokens += [stem(p) for p in parts if len(p) > 1 and not p.isdigit() and p not in EN_STOPWORDS]
    return tokens


def acronym(phrase: str) -> str:
    """Initials plus any trailing number: 'Stable Diffusion 3' -> 'sd3'."""
    words = re.split(r"[ \-]", phrase)
    return "".join(w[0] if not w.isdigit() else w for w in words if w).lower()


def normalize(text: str) -> str:
    """NFKC: full-width letters and punctuation, and styled letters (𝗣𝗿𝗲) become plain."""
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str, min_acronym: int = 1) -> list[str]:
    """BM25 tokens of ``text`` (notes and questions alike).  ``min_acronym`` leaves out shorter
    initials of capitalised phrases: 'sa' for "Stanford Alpaca" is a fine search token, but as a
    string to look for in a text ('sd3' is) two letters occur inside too many words."""
    text = normalize(text)
    tokens: list[str] = [a for m in _PHRASE_RE.finditer(text) if len(a := acronym(m.group())) >= min_acronym]
    tokens += [(m.group(1) + m.group(2).replace(".", "")).lower() for m in _VERSIONED_RE.finditer(text)]
    for match in _RUN_RE.finditer(text):
        run = match.group()
        if CJK_RE.match(run):
            tokens += [w for w in _jieba().cut_for_search(run) if w not in ZH_STOPWORDS]
        else:
            tokens += latin_tokens(run)
    return tokens


def english_words(text: str) -> list[str]:
    """Lower-case, stemmed English words in order (for glossary phrase matching)."""
    return [stem(w.lower()) for w in re.findall(r"[A-Za-z]+", normalize(text))]


# Sentence ends: Chinese and Latin terminators, semicolons, line ends.  A Latin "." ends a
# sentence only before whitespace (not in "Qwen1.5" or "0.5"), not as an ellipsis ("标...") and not
# after a list number ("分两步走: 1. 先训练").
_SENTENCE_END_RE = re.compile(r"[。！？；!?;]+[”」』\"')）]*|(?<!\.)(?<!\b\d)\.(?=\s)|\n+")
_BULLET_RE = re.compile(r"^(?:[-*+]\s+|[•·]\s*|\d+[.、)]\s+)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, terminator included, whitespace and list
    bullets trimmed.  Spans index ``text`` itself, so a citation can point at them exactly."""
    spans, start = [], 0
    for match in [*_SENTENCE_END_RE.finditer(text), None]:
        end = match.end() if match else len(text)
        if match and match.group().startswith("\n"):
            end = match.start()
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        bullet = _BULLET_RE.match(piece[lead:])
        lead += bullet.end() if bullet else 0
        s, e = start + lead, start + len(piece.rstrip())
        if e > s and any(ch.isalnum() for ch in text[s:e]):
            spans.append((s, e))
        start = match.end() if match else len(text)
    return spans


def compact(text: str) -> str:
    """Lower-case letters, digits and CJK only: the form used to test whether a term occurs
    anywhere in the notes (the export dropped punctuation, so 'Qwen1.5-7B' -> 'qwen157b')."""
    return re.sub(r"[\W_]+", "", normalize(text).lower())


def identifiers(text: str) -> list[str]:
    """Names in ``text`` a question hinges on: Latin runs with a digit, two capitals, or a
    capital not at the start (Qwen2, NF4, LoRA, Mistral); possessive 's dropped."""
    text = normalize(text)
    found = []
    for match in _RUN_RE.finditer(text):
        word = re.sub(r"'s$", "", match.group())
        # A compound with a plain word after its hyphen names its head: 'IO-bound' -> IO, while
        # '32-bit' and '768-dim' are quantities, no names ('Qwen1.5-7B-Chat' stays whole).
        word = re.sub(r"(?:-[a-z]+)+$", "", word)
        if not _LATIN_RE.search(word) or word.lower() in EN_STOPWORDS or len(word) < 2:
            continue
        capitals = sum(ch.isupper() for ch in word)
        if any(ch.isdigit() for ch in word) or capitals >= 2 or (capitals and match.start() > 0):
            found.append(word)
    found += [m.group() for m in _BIG_O_RE.finditer(text)]
    return list(dict.fromkeys(found))
