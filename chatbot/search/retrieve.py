"""Stage 4 — retrieve: a LangChain retriever fusing the dense (Chroma) and lexical (BM25) channels.

Why not LangChain's EnsembleRetriever: it fuses by rank (RRF), which ignores how confident each
channel is.  On the bundled notes the MiniLM channel is weak for Chinese (most characters are
out of its vocabulary), and equal-weight RRF let its noise outvote clear BM25 wins.  Here
every candidate from either channel gets *both* scores (BM25 over the whole index; cosine from
its stored vector), each channel is normalised per question, and they are mixed with a
per-language weight (settings ``dense_weight_zh`` / ``dense_weight_en``) chosen on the eval set.

A third signal joins them (``coverage_weight``): the weighted share of the question's terms a
passage mentions (``terms.coverage``).  BM25 sums term scores, so a passage repeating one
frequent term (梯度 ten times) can outrank the passage that holds every distinct thing asked
about; coverage rewards breadth, the way Lucene's old ``coord`` factor did.

When the winner without the dense channel leads by more than that channel could ever make up,
the question is not embedded at all (``dense_gate``): same first passage, a fraction of the latency.

The lexical query is the question's tokens plus glossary terms in the other language, so an
English question can match Chinese notes offline: each glossary phrase of the question is one
group whose alternatives are the phrase itself and its translations, and a chunk scores the best
of them (``IndexReader.lexical_search``), so 'size' counts once whether a note says 大小, 规模 or
size, and a note saying both 'system design' and 系统设计 is not worth twice one saying 系统设计.
The dense channel meets Chinese notes in English too: chunks carry the weighted mean vector of
their text and its glossary rendering, and a Chinese question is embedded as its rendering
(``embed.dense_text``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from ..errors import QuestionError
from .sections import whole_sections
from .terms import Term, absent_words, coverage, question_terms, token_frequency
from .tokens import detect_language, tokenize

if TYPE_CHECKING:
    from ..settings import Settings
    from .embed import Embedder
    from .glossary import Glossary
    from .index import IndexReader, QueryGroup, StoredChunk

Mode = Literal["hybrid", "dense", "lexical"]
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk with its fused score and each channel's normalised score."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float
    dense: float
    lexical: float
    coverage: float = 0.0  # weighted share of the question's terms the passage mentions (terms.coverage)

    @property
    def note_id(self) -> str:
        return str(self.metadata.get("note_id", ""))

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))

    @property
    def sources(self) -> list[str]:
        return json.loads(self.metadata.get("sources", "[]"))


def check_question(question: str, max_chars: int) -> str:
    """The question stripped of control characters, or QuestionError with what to do."""
    question = _ANSI_RE.sub("", question)  # colour codes pasted from a terminal
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise QuestionError("The question is empty; type a question about your notes.")
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"The question is {len(cleaned)} characters, over the {max_chars}-character limit; shorten it."
        )
    return cleaned


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retriever over one index generation (a LangChain ``BaseRetriever``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any  # IndexReader
    embedder: Any  # Embedder
    glossary: Any  # Glossary: bundled, the user's file and the notes' learned vocabulary
    render_glossary: Any = None  # Glossary the chunks were rendered with for the dense view (None: ``glossary``)
    k: int = 5
    candidates: int = 30
    dense_weight_zh: float = 0.2
    dense_weight_en: float = 0.2
    expansion_weight_en: float = 0.6
    dense_gate: bool = True
    gloss_questions: bool = True
    expansion_weight_zh: float = 0.3
    translation_weight: float = 1.0
    coverage_weight: float = 0.35
    code_weight: float = 0.5
    section_passage_size: int = 1500
    section_merge_size: int = 3000
    max_question_chars: int = 2000
    mode: Mode = "hybrid"

    @classmethod
    def from_settings(
        cls, settings: Settings, index: IndexReader, embedder: Embedder, glossary: Glossary, **kw: Any
    ) -> HybridRetriever:
        return cls(
            index=index,
            embedder=embedder,
            glossary=glossary,
            k=settings.top_k,
            candidates=settings.candidates,
            dense_weight_zh=settings.dense_weight_zh,
            dense_weight_en=settings.dense_weight_en,
            expansion_weight_en=settings.expansion_weight_en,
            expansion_weight_zh=settings.expansion_weight_zh,
            translation_weight=settings.translation_weight,
            coverage_weight=settings.coverage_weight,
            code_weight=settings.code_weight,
            section_passage_size=settings.section_passage_size,
            section_merge_size=settings.section_merge_size,
            dense_gate=settings.dense_gate,
            gloss_questions=settings.gloss_embeddings,
            max_question_chars=settings.max_question_chars,
            **kw,
        )

    # -- the LangChain interface --------------------------------------------------------
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(
                page_content=p.text,
                id=p.chunk_id,
                metadata={**p.metadata, "score": p.score, "dense_score": p.dense, "lexical_score": p.lexical,
                          "coverage": p.coverage},
            )
            for p in self.search(query)
        ]

    # -- the work ---------------------------------------------------------------------------
    def lexical_queries(self, question: str, translation: str | None = None) -> list[QueryGroup]:
        """BM25 query groups: each glossary phrase of the question with its translations as
        alternatives of one group (one word, in whichever language a chunk uses it; the
        translations weighted ``expansion_weight_*``); the question's other tokens; and the
        model's translation of it when there is one."""
        weight = self.expansion_weight_zh if detect_language(question) == "zh" else self.expansion_weight_en
        groups: list[QueryGroup] = []
        phrased: set[str] = set()
        for source, terms in self.glossary.expand_groups(question) if self.glossary is not None else []:
            own = tokenize(source)
            phrased.update(own)
            groups.append([(own, 1.0), *((tokenize(t), weight) for t in terms)])
        rest = [t for t in tokenize(question) if t not in phrased]
        groups.insert(0, [(rest, 1.0)])
        if translation:
            groups.append([(tokenize(translation), self.translation_weight)])
        return groups

    def dense_query(self, question: str) -> str:
        """The text embedded for ``question``: a Chinese one in its English rendering when the
        chunks were embedded with theirs (``gloss_embeddings``), else the question itself."""
        render = self.render_glossary or self.glossary
        if self.gloss_questions and render is not None and detect_language(question) == "zh":
            return render.gloss(question) or question
        return question

    def dense_weight(self, question: str) -> float:
        return self.dense_weight_zh if detect_language(question) == "zh" else self.dense_weight_en

    def terms(self, question: str) -> list[Term]:
        """What ``question`` asks about, weighted by rarity among the indexed chunks."""
        return question_terms(
            question, self.glossary, token_frequency(self.index.document_frequency), max(self.index.count, 1)
        )

    def absent_words(self, question: str, terms: list[Term]) -> list[Term]:
        """Content words of ``question`` found nowhere in the notes (``terms.absent_words``)."""
        return absent_words(question, self.glossary, self.index.document_frequency, self.index.compact_text(),
                            max(self.index.count, 1), terms)

    def search(
        self, question: str, k: int | None = None, mode: Mode | None = None, translation: str | None = None
    ) -> list[Passage]:
        """Top ``k`` passages for ``question``, best first.  ``translation`` (the question in the
        notes' language, from a model) is searched too, in the BM25 channel; the dense channel
        embeds the question as before (the bundled model reads English, the language of the
        question or of its rendering)."""
        question = check_question(question, self.max_question_chars)
        k = k or self.k
        mode = mode or self.mode
        weight = {"dense": 1.0, "lexical": 0.0}.get(mode, self.dense_weight(question))
        if not self.index.embedded and mode == "hybrid":
            weight = 0.0  # no vectors yet (answerable first, ``ingest``): BM25 alone, no model load
        cover_weight = self.coverage_weight if mode == "hybrid" else 0.0
        n = max(self.candidates, k)

        scores = self.index.lexical_search(self.lexical_queries(question, translation)) if weight < 1 else None
        lexical = scores.top(n) if scores is not None else {}
        chunks = {cid: chunk for cid, (chunk, _) in self.index.fetch(list(lexical)).items()}
        terms = self.terms(question) if cover_weight else []
        cover = {cid: coverage(terms, chunk.text) for cid, chunk in chunks.items()} if terms else {}
        unseen = _unseen_share(lexical) if len(lexical) >= n else 0.0
        dense: dict[str, float] = {}
        if weight > 0 and not (
            self.dense_gate and _dense_cannot_change_first(lexical, cover, weight, cover_weight, unseen)
        ):
            vector = self.embedder.embed([self.dense_query(question)], query=True)[0]
            for chunk, similarity in self.index.dense_search(vector, n):
                dense[chunk.chunk_id] = similarity
                if chunk.chunk_id not in chunks:
                    chunks[chunk.chunk_id] = chunk
                    if terms:
                        cover[chunk.chunk_id] = coverage(terms, chunk.text)
            if scores is not None:  # BM25 scores of the dense candidates too
                lexical.update(scores.of([cid for cid in dense if cid not in lexical]))
            # Lexical-only candidates: their cosine from the stored vectors (None: none yet).
            lexical_only = [cid for cid in chunks if cid not in dense]
            fetched = self.index.fetch(lexical_only, vector)
            dense.update({cid: sim for cid, (_, sim) in fetched.items() if sim is not None})
            unembedded = {cid for cid, (_, sim) in fetched.items() if sim is None}
        else:
            unembedded = set()

        passages = _fuse(chunks, lexical, dense, cover, weight, cover_weight, unembedded)
        if self.code_weight < 1 and not asks_for_code(question):
            passages = _demote_code(passages, self.code_weight)
        passages = whole_sections(passages, self.index.note_chunks, self.section_passage_size,
                                  (lambda text: coverage(terms, text)) if terms else None, k,
                                  self.section_merge_size)
        return passages[:k]


def _fuse(
    chunks: dict[str, StoredChunk],
    lexical: dict[str, float],
    dense: dict[str, float],
    cover: dict[str, float],
    weight: float,
    cover_weight: float = 0.0,
    unembedded: set[str] | frozenset[str] = frozenset(),
) -> list[Passage]:
    """All candidates, best first:
    [(1-w)·BM25/max(BM25) + w·min-max(cosine) + c·coverage] / (1 + c), in [0, 1].

    A chunk without a vector yet (``unembedded``: the fill is still running) takes its BM25
    share in place of the cosine, so it is neither favoured nor buried by the missing channel."""
    top = max(lexical.values(), default=0.0)
    lex_norm = {cid: s / top for cid, s in lexical.items()} if top > 0 else {}
    dense_norm = _scale(dense)
    dense_norm.update({cid: lex_norm.get(cid, 0.0) for cid in unembedded})
    fused = [
        Passage(
            chunk_id=cid,
            text=chunk.text,
            metadata=chunk.metadata,
            score=round(
                ((1 - weight) * lex_norm.get(cid, 0.0) + weight * dense_norm.get(cid, 0.0)
                 + cover_weight * cover.get(cid, 0.0)) / (1 + cover_weight),
                6,
            ),
            dense=round(dense.get(cid, 0.0), 6),
            lexical=round(lexical.get(cid, 0.0), 6),
            coverage=round(cover.get(cid, 0.0), 6),
        )
        for cid, chunk in chunks.items()
    ]
    fused.sort(key=lambda p: (-p.score, -p.lexical, p.chunk_id))
    return fused


# A question about code: it says so, or names an identifier only code has (snake_case, a.b, f()).
_CODE_QUESTION_RE = re.compile(
    r"\b(?:code|snippet|implement\w*|function|class|method|api|syntax|script)\b|代码|实现|函数|接口|语法|脚本|写法"
    r"|\w_\w|\w\.\w+\(|\w\(\)", re.IGNORECASE)


def asks_for_code(question: str) -> bool:
    """Does ``question`` ask about code (so code blocks compete on equal terms)?"""
    return bool(_CODE_QUESTION_RE.search(question))


def _demote_code(passages: list[Passage], weight: float) -> list[Passage]:
    """Code blocks (``kind`` code) scaled by ``weight``, so for a prose question a code block
    that shares its words does not outrank the prose that explains them."""
    scaled = [replace(p, score=round(p.score * weight, 6)) if p.metadata.get("kind") == "code" else p
              for p in passages]
    scaled.sort(key=lambda p: (-p.score, -p.lexical, p.chunk_id))
    return scaled


def _unseen_share(lexical: dict[str, float]) -> float:
    """BM25 share (of the best) that a chunk outside the lexical candidates can have at most."""
    top = max(lexical.values())
    return min(lexical.values()) / top if top > 0 else 0.0


def _dense_cannot_change_first(
    lexical: dict[str, float], cover: dict[str, float], weight: float, cover_weight: float = 0.0, unseen: float = 0.0
) -> bool:
    """True when no dense score could lift another passage above the winner without it.

    Without the dense channel a candidate scores B = (1-w)·lex/lex_max + c·coverage; dense adds
    w·dense_norm with dense_norm in [0, 1].  So another passage can only overtake the winner if
    B(winner) - B(it) < w.  A chunk outside the lexical candidates has at most BM25 share
    ``unseen`` and coverage 1.  Skipping the query embedding then saves most of the latency;
    ranks below the first follow the other signals alone.
    """
    if not lexical or weight >= 0.5:
        return False
    top = max(lexical.values())
    base = sorted(
        ((1 - weight) * s / top + cover_weight * cover.get(cid, 0.0) for cid, s in lexical.items()), reverse=True
    )
    rival = max(base[1] if len(base) > 1 else 0.0, (1 - weight) * unseen + cover_weight if cover_weight else 0.0)
    return base[0] - rival >= weight


def _scale(scores: dict[str, float]) -> dict[str, float]:
    """Min-max to [0, 1] within this question's candidates (a single candidate scores 1)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low < 1e-9:
        return {cid: 1.0 for cid in scores}
    return {cid: (s - low) / (high - low) for cid, s in scores.items()}


def open_reader(settings: Settings) -> IndexReader:
    """The current index generation for ``settings``' embedding model (leased until closed)."""
    from .embed import collection_name
    from .index import IndexReader

    return IndexReader.open(settings.data_dir, collection_name(settings.embedding_model), settings.chroma_url)


def open_current(settings: Settings) -> tuple[IndexReader, Glossary]:
    """``open_reader``, and the glossary its questions are expanded with (bundled, the user's
    file, the notes' learned vocabulary)."""
    from .glossary import load_glossary

    reader = open_reader(settings)
    return reader, load_glossary(settings.glossary_file, reader.learned_vocabulary())


def build_retriever(settings: Settings, **kw: Any) -> HybridRetriever:
    """The retriever over the current index generation for ``settings``' embedding model."""
    from .embed import make_embedder
    from .glossary import embedding_glossary

    reader, glossary = open_current(settings)
    return HybridRetriever.from_settings(
        settings, reader, make_embedder(settings), glossary, render_glossary=embedding_glossary(settings), **kw
    )
