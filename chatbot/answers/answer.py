"""Answer stage: question -> (follow-up rewrite) -> (translation) -> retriever -> decline check -> answer
-> checked citations.

The chain is LangChain LCEL: three ``RunnableLambda`` steps (rewrite, translate, retrieve + assess) and a
``RunnableGenerator`` that streams ``Token`` events and ends with a ``Done`` carrying the
``Answer`` (the data and its events: ``result.py``).  Generative mode runs the loaded GGUF model
(``models.llm``) on the prompt files; extractive mode (no model) returns the notes' own best
sentences (``extract.py``).
``Answerer.set_model`` swaps the model at run time; the index is untouched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..search.retrieve import check_question
from ..search.tokens import detect_language
from .cite import MARKER_RE, CheckedAnswer, check_citations, citation_for
from .decline import assess
from .extract import extractive_text, pick_sentences, ranked_sentences
from .prompt import ContextTooSmallError, PromptSet, fit_excerpts, load_prompts
from .result import Answer, Done, Event, Mode, Retrieved, Token
from .rewrite import carry_terms, model_rewrite, model_translate

if TYPE_CHECKING:
    from ..models.llm import LocalModel
    from ..search.retrieve import HybridRetriever, Passage
    from ..settings import Settings

RELATED = 3  # closest notes listed with a declined answer
HISTORY_ANSWER_CHARS = 300  # previous answers are cut to this in the rewrite prompt
# How models phrase a refusal besides the exact sentence the prompt asks for, in either language.
_MODEL_DECLINE_RE = re.compile(
    r"not in (?:your|the) notes|(?:notes|passages) do(?:es)? not (?:contain|mention|cover|say|state|include)|"
    r"(?:no|not enough) information (?:about|on|in)|(?:is|are) not (?:mentioned|stated|covered) in|"
    r"笔记(?:里|中)?(?:没有|未|并未|不包含|没提到)|段落(?:里|中)?(?:没有|未|并未)|(?:没有|未)(?:提到|提及|涉及)|无法(?:根据|从)",
    re.IGNORECASE,
)
_FILE_NAME_RE = re.compile(r"[\w./\\-]+\.(?:md|markdown|txt|pdf)\b", re.IGNORECASE)
UNSUPPORTED_SHARE = 0.5  # more unsupported sentences than this share: the extractive answer instead


def fallback_reason(raw: str, checked: CheckedAnswer, passages: Sequence[Passage]) -> str:
    """Why a generated answer is unusable ('' if it is usable): 'empty', 'files' (only markers
    or file names), or 'unsupported' (mostly sentences no passage states)."""
    words = _FILE_NAME_RE.sub(" ", MARKER_RE.sub(" ", raw))
    for p in passages:
        for name in {p.source, Path(p.source).name}:
            words = words.replace(name, " ") if name else words
    if not any(ch.isalnum() for ch in words):
        return "files" if any(ch.isalnum() for ch in raw) else "empty"
    if checked.sentences and len(checked.unsupported) > UNSUPPORTED_SHARE * checked.sentences:
        return "unsupported"
    return ""


class Answerer:
    """Holds the retriever, prompts and (optionally) a loaded model across questions."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, model: LocalModel | None = None):
        from langchain_core.runnables import RunnableGenerator, RunnableLambda

        self.settings = settings
        self.retriever = retriever
        self.model = model
        self.prompts = load_prompts(settings.prompts_dir)
        # Two halves, so a UI can run the first in parallel and queue the second per model.
        self.prepare_chain = (
            RunnableLambda(self._rewrite) | RunnableLambda(self._translate) | RunnableLambda(self._retrieve)
        )
        self.respond_chain = RunnableGenerator(self._respond)
        self.chain = self.prepare_chain | self.respond_chain

    @classmethod
    def from_settings(cls, settings: Settings, model_path: Path | None = None) -> Answerer:
        from ..search.retrieve import build_retriever

        answerer = cls(settings, build_retriever(settings))
        path = model_path or settings.model
        if path is not None:
            answerer.set_model(path)
        elif settings.llm_base_url:
            from ..models.llm_remote import RemoteModel

            answerer.model = RemoteModel(settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key,
                                         n_ctx=settings.llm_context, seed=settings.seed)
        return answerer

    # -- model swap ---------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return "generative" if self.model is not None else "extractive"

    def set_model(self, path: Path | None) -> None:
        """Load ``path`` (None: extractive mode) and free the previous model.  On a bad file
        the previous model stays loaded and ModelError says why."""
        from ..models.llm import load_configured

        new = load_configured(path, self.settings) if path is not None else None
        old, self.model = self.model, new
        if old is not None:
            old.close()

    def reload_index(self) -> None:
        """Serve the newest index generation; the model stays.  The caller makes sure no
        question is using the index meanwhile (``follow_index``)."""
        from ..search.retrieve import open_current

        old = self.retriever.index
        self.retriever.index, self.retriever.glossary = open_current(self.settings)
        old.close()

    def index_is_stale(self) -> bool:
        """Has an ingest (in any process) published a newer generation than the one served?"""
        from ..search.generations import current_generation

        gen = current_generation(self.retriever.index.gen.parent)
        return gen is not None and gen != self.retriever.index.gen

    def follow_index(self) -> bool:
        """Switch to a newer published generation, if any; call it between questions.  True
        when it switched."""
        if not self.index_is_stale():
            return False
        self.reload_index()
        return True

    # -- asking -------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[tuple[str, str]] = (), translation: str | None = None) -> Answer:
        """The finished answer to ``question`` (``history``: earlier (question, answer) pairs;
        ``translation``: the question in the notes' language, searched instead of asking the model)."""
        for event in self.stream(question, history, translation=translation):
            if isinstance(event, Done):
                return event.answer
        raise RuntimeError("the answer chain ended without an answer")  # pragma: no cover

    def stream(
        self, question: str, history: Sequence[tuple[str, str]] = (), translation: str | None = None, **overrides: Any
    ) -> Iterator[Event]:
        """Events for ``question``: Retrieved, then Token pieces, then Done.

        ``overrides`` change settings for this question only (temperature, max_tokens, answer_passages).
        """
        yield from self.respond(self.prepare(question, history, translation, **overrides))

    def prepare(
        self, question: str, history: Sequence[tuple[str, str]] = (), translation: str | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """First half of the chain: checks, follow-up rewrite, translation, retrieval and the decline decision."""
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        question = check_question(question, settings.max_question_chars)
        model = self.model
        if model is not None and settings.max_tokens >= model.n_ctx:
            raise ContextTooSmallError(
                f"max_tokens ({settings.max_tokens}) leaves no room in the model's {model.n_ctx}-token "
                "context; lower max_tokens or raise n_ctx."
            )
        state = {"question": question, "history": list(history), "start": time.perf_counter(),
                 "settings": settings, "model": model, "translated": translation}
        return self.prepare_chain.invoke(state)

    def respond(self, prepared: dict[str, Any]) -> Iterator[Event]:
        """Second half: the answer (generated or extracted) with checked citations, as events."""
        yield from self.respond_chain.stream(prepared)

    # -- chain steps ---------------------------------------------------------------------
    def _rewrite(self, state: dict[str, Any]) -> dict[str, Any]:
        question, history, model = state["question"], state["history"], state["model"]
        rewritten = None
        if history:
            if model is not None:
                lang = detect_language(question)
                trimmed = [(q, a[:HISTORY_ANSWER_CHARS]) for q, a in history]
                rewritten = model_rewrite(question, trimmed, model, self.prompts[lang])
            else:
                rewritten = carry_terms(question, history, self.retriever.glossary)
        return {**state, "rewritten": rewritten, "standalone": rewritten or question,
                "rewrite_ms": _ms(state["start"])}

    def _translate(self, state: dict[str, Any]) -> dict[str, Any]:
        """With a model, a question in another language than the notes gets the model's translation."""
        s, model, standalone = state["settings"], state["model"], state["standalone"]
        began, translated = time.perf_counter(), state["translated"]
        if translated is None and model is not None and s.translate_questions:
            lang, target = detect_language(standalone), self.retriever.index.main_language()
            if lang != target:
                translated = model_translate(standalone, target, model, self.prompts[lang])
        return {**state, "translated": translated, "translate_ms": (time.perf_counter() - began) * 1000}

    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        s, standalone = state["settings"], state["standalone"]
        began = time.perf_counter()
        passages = self.retriever.search(standalone, k=max(s.answer_passages, s.top_k), translation=state["translated"])
        terms = self.retriever.terms(standalone)  # for the decline check and an extractive answer
        assessment = assess(
            terms, passages, self.retriever.index, min_support=s.decline_support, rescue_support=s.decline_rescue,
            absent_words=self.retriever.absent_words(standalone, terms), absent_share=s.decline_absent,
        )
        return {**state, "passages": passages, "terms": terms, "assessment": assessment,
                "dense_coverage": self.retriever.index.dense_coverage,
                "retrieve_ms": (time.perf_counter() - began) * 1000}

    def _excerpts(self, prompt: PromptSet, state: dict[str, Any], passages: list[Passage]) -> tuple[PromptSet, list[Passage]]:
        """The prompt set and the passages as shown to the model: cut to their best sentences to
        fit ``prompt_tokens``; if even one excerpt does not, the model's context less the answer
        is the limit, and in a context too small for the worked examples they are left out."""
        s, model = state["settings"], state["model"]
        order = [(e.passage, e.start, e.end) for e in ranked_sentences(state["terms"], passages)]
        hard = model.n_ctx - s.max_tokens
        soft = min(s.prompt_tokens, hard)
        attempts = [(prompt, soft)] + ([(prompt, hard)] if soft < hard else [])
        if prompt.examples:
            attempts.append((replace(prompt, examples=()), hard))
        for i, (shots, budget) in enumerate(attempts):
            def measure(ps: Sequence[Passage], shots: PromptSet = shots) -> int:
                return model.count(shots.answer_messages(state["standalone"], ps))

            try:
                return shots, fit_excerpts(passages, order, measure, budget, s.passage_chars)
            except ContextTooSmallError:
                if i == len(attempts) - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises

    def _extract(self, answer: Answer, state: dict[str, Any], passages: list[Passage]) -> None:
        """The extractive answer: the passages' own best sentences, with their citations."""
        picks = pick_sentences(state["terms"], passages, state["settings"].extract_sentences)
        spans: dict[int, tuple[int, int]] = {}
        for e in picks:
            spans.setdefault(e.passage + 1, (e.start, e.end))
        _take(answer, check_citations(extractive_text(picks), passages, self.retriever.glossary, spans=spans))

    def _respond(self, states: Iterator[dict[str, Any]]) -> Iterator[Event]:
        for state in states:
            yield from self._respond_one(state)

    def _respond_one(self, state: dict[str, Any]) -> Iterator[Event]:
        s, model = state["settings"], state["model"]
        passages: list[Passage] = state["passages"][: s.answer_passages]
        lang = detect_language(state["question"])
        messages = self.prompts[lang].messages
        assessment = state["assessment"]
        yield Retrieved(state["rewritten"], passages, state["translated"])
        answer = Answer(
            question=state["question"], answer="", declined=False,
            mode="generative" if model is not None else "extractive",
            model=model.name if model is not None else None, rewritten_question=state["rewritten"],
            translated_question=state["translated"],
            citations=[], lang=lang, support=assessment.support, dense_coverage=state.get("dense_coverage", 1.0),
            label=messages["extractive_label"] if model is None else "",
        )
        first_token_ms = None
        if assessment.declined:
            answer.answer, answer.declined, answer.decline_reason = messages["decline"], True, assessment.reason
            yield Token(answer.answer)
            first_token_ms = _ms(state["start"])
        elif model is None:
            self._extract(answer, state, passages)
            yield Token(answer.answer)
            first_token_ms = _ms(state["start"])
        else:
            prompt = self.prompts[lang]
            prompt, shown = self._excerpts(prompt, state, passages)
            answer.shown = [p.text for p in shown]
            fitted = passages[: len(shown)]  # citations and the claim check use the whole passages
            pieces = []
            for piece in model.stream(prompt.answer_messages(state["standalone"], shown),
                                      max_tokens=s.max_tokens, temperature=s.temperature):
                if first_token_ms is None:
                    first_token_ms = _ms(state["start"])
                pieces.append(piece)
                yield Token(piece)
            raw = "".join(pieces).strip()
            declines = [self.prompts[x].messages["decline"] for x in self.prompts]
            checked = check_citations(raw, fitted, self.retriever.glossary, exempt=declines)
            _take(answer, checked)
            answer.model_check = {"sentences": checked.sentences, "unsupported": len(checked.unsupported),
                                  "recited": checked.recited}
            answer.timings.update(prompt_tokens=model.last.prompt_tokens, reused_tokens=model.last.reused_tokens,
                                  generated_tokens=model.last.generated_tokens,
                                  prompt_eval_ms=model.last.prompt_eval_ms, eval_ms=model.last.eval_ms)
            model_declined = any(d in raw for d in declines) or bool(_MODEL_DECLINE_RE.search(raw))
            if model_declined and assessment.support < s.decline_rescue:
                answer.declined, answer.decline_reason = True, "the model found no answer in the passages"
                answer.answer = messages["decline"]
            elif reason := ("declined" if model_declined else fallback_reason(raw, checked, fitted)):
                # The notes' own sentences instead, labelled with why.  A model's decline is taken
                # only where the passages cover the question less than a rescued name needs
                # (decline_rescue): the 1.5B model declined 3 of 20 answerable bundled questions.
                self._extract(answer, state, passages)
                answer.fallback = reason
                answer.label = messages.get(f"fallback_{reason}", messages["extractive_label"])
        answer.absent_terms = assessment.absent
        if answer.declined:
            answer.citations = []
            answer.related = [citation_for(n, p) for n, p in enumerate(passages[:RELATED], start=1)]
        elif assessment.absent:
            answer.caution = messages["absent"].format(terms=("、" if lang == "zh" else ", ").join(assessment.absent))
        answer.timings.update(
            rewrite_ms=state["rewrite_ms"], translate_ms=state["translate_ms"], retrieve_ms=state["retrieve_ms"],
            first_token_ms=first_token_ms if first_token_ms is not None else _ms(state["start"]),
            total_ms=_ms(state["start"]),
        )
        yield Done(answer)


def _take(answer: Answer, checked: CheckedAnswer) -> None:
    """The checked text and what the check found, into ``answer``."""
    answer.answer, answer.citations = checked.text, checked.citations
    answer.uncited, answer.removed = checked.uncited, checked.removed
    answer.unsupported, answer.sentences = checked.unsupported, checked.sentences


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
