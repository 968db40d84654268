"""Evaluation of retrieval on a JSONL question set (``tests/eval/questions.jsonl`` by default).

Each line: ``{"q": ..., "lang": "zh"|"en", "answerable": bool, "evidence": "verbatim substring"}``.
A retrieved passage is a hit when its text contains the evidence.  Dense-only, BM25-only and
the shipped hybrid run on the same questions in one pass, so they compare like for like; so
does the hybrid without its dense channel (``no-dense``: BM25 plus term coverage), which shows
what the dense channel adds.
Questions without evidence (unanswerable ones) are skipped here; answers are evaluated later.

An item may also carry a ``"translation"``: the question in the notes' language, as a model
would translate it (``answers.rewrite.model_translate``).  Those items are also run through the
hybrid with that translation (mode ``translated``), which measures what the translation step
adds without a model: the bundled files hold reference translations written by hand.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..search.tokens import detect_language, english_words

if TYPE_CHECKING:
    from ..search.retrieve import HybridRetriever
    from ..settings import Settings

MODES = ("dense", "lexical", "hybrid")
NO_DENSE = "no-dense"  # the hybrid without its dense channel: BM25 + coverage (does dense earn its weight?)
TRANSLATED = "translated"  # the hybrid, also searching an item's "translation"
MODEL_TRANSLATED = "model-translated"  # the hybrid, also searching a real model's translation (--model)
ROWS = ("dense", "lexical", NO_DENSE, "hybrid", TRANSLATED, MODEL_TRANSLATED)


def default_questions() -> Path:
    """The bundled question set of the checkout."""
    return Path(__file__).resolve().parents[2] / "tests" / "eval" / "questions.jsonl"


def notes_settings(settings: Settings, notes: Path) -> Settings:
    """``settings`` for evaluating on the folder ``notes``: its own index in a data dir of its own
    (``<data_dir>/eval/<folder>-<hash>``), so the user's index is untouched and a second run reuses it;
    models (and catalog embedders) still come from the user's models folder."""
    root = notes.expanduser().resolve()
    if not root.is_dir():
        raise UserError(f"Notes folder {notes} does not exist; give --notes a folder of notes.")
    slug = re.sub(r"[^\w.-]+", "-", root.name)[:40] + "-" + hashlib.sha1(str(root).encode()).hexdigest()[:10]
    return settings.model_copy(update={"corpus_dir": root, "data_dir": settings.data_dir / "eval" / slug,
                                       "models_dir": settings.effective_models_dir})  # the user's models, pulled once


def group_of(item: dict[str, Any]) -> str:
    """The row an item counts in: its language, or ``follow-up`` for an item with ``history``."""
    if item.get("history"):
        return "follow-up"
    return item.get("lang") or detect_language(item["q"])


def read_questions(path: Path) -> list[dict[str, Any]]:
    """JSONL with a "q" field per line; blank lines ignored."""
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"Question file {path} cannot be read ({e}); give a UTF-8 JSONL file.") from e
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("q"), str):
                raise ValueError("no string field 'q'")
        except ValueError as e:
            raise UserError(f"{path}:{number} is not a JSON object with a 'q' field ({e}); fix that line.") from e
        items.append(item)
    return items


def first_per_language(items: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """A sample for slow runs (a real model on a CPU): per language, in file order, the first
    ``n`` answerable questions and the first ``ceil(0.3 n)`` unanswerable ones; no follow-ups."""
    unanswerable = math.ceil(0.3 * n)
    picked = []
    for lang in sorted({group_of(i) for i in items if not i.get("history")}):
        mine = [i for i in items if not i.get("history") and group_of(i) == lang]
        picked += [i for i in mine if i.get("evidence")][:n] + [i for i in mine if i.get("answerable") is False][:unanswerable]
    return picked


def matchable(text: str) -> str:
    """The form evidence is compared in: NFKC, case-folded, all whitespace removed (so a passage
    that wraps a line, or a question set written with other spacing, still matches)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


def contains(text: str, evidence: str) -> bool:
    return matchable(evidence) in matchable(text)


def first_hit(texts: list[str], evidence: str) -> int | None:
    """1-based rank of the first text containing ``evidence``, or None."""
    return next((rank for rank, text in enumerate(texts, start=1) if contains(text, evidence)), None)


def standalone_question(retriever: HybridRetriever, item: dict[str, Any]) -> str:
    """An item's question as retrieval sees it: a follow-up (``history``: the earlier questions)
    goes through the chat path's rewrite without a model (``rewrite.carry_terms``)."""
    history = item.get("history") or []
    if not history:
        return item["q"]
    from ..answers.rewrite import carry_terms

    return carry_terms(item["q"], [(q, "") for q in history], retriever.glossary) or item["q"]


def evaluate_retrieval(retriever: HybridRetriever, items: list[dict[str, Any]], k: int = 5,
                       translate: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """{mode: {lang: {"n", "hit@1", "hit@5", "mrr"}}} plus per-question misses.  ``translate``
    (a loaded model's translation step, ``rewrite.model_translate``) adds the row of a question in
    another language than the notes searched with that translation too, as in the chat."""
    translations: list[dict[str, Any]] = []
    ranks: dict[str, dict[str, list[int | None]]] = {m: {} for m in ROWS}
    misses: list[dict[str, Any]] = []
    no_dense = retriever.model_copy(update={"dense_weight_en": 0.0, "dense_weight_zh": 0.0})
    for item in items:
        if not item.get("evidence"):
            continue
        lang = group_of(item)
        question = standalone_question(retriever, item)
        for mode in MODES:
            texts = [p.text for p in retriever.search(question, k=k, mode=mode)]
            rank = first_hit(texts, item["evidence"])
            ranks[mode].setdefault(lang, []).append(rank)
            if mode == "hybrid" and rank != 1:
                misses.append({"id": item.get("id"), "q": item["q"], "rank": rank})
        texts = [p.text for p in no_dense.search(question, k=k)]
        ranks[NO_DENSE].setdefault(lang, []).append(first_hit(texts, item["evidence"]))
        if item.get("translation"):
            texts = [p.text for p in retriever.search(item["q"], k=k, translation=item["translation"])]
            ranks[TRANSLATED].setdefault(lang, []).append(first_hit(texts, item["evidence"]))
        if translate is not None and lang != "follow-up" and detect_language(question) != retriever.index.main_language():
            translated = translate(question)
            texts = [p.text for p in retriever.search(question, k=k, translation=translated)]
            ranks[MODEL_TRANSLATED].setdefault(lang, []).append(first_hit(texts, item["evidence"]))
            translations.append({"id": item.get("id"), "translation": translated})
    for row in (TRANSLATED, MODEL_TRANSLATED):
        if not any(ranks[row].values()):
            del ranks[row]
    summary = {mode: {lang: _metrics(r) for lang, r in sorted(by_lang.items())} for mode, by_lang in ranks.items()}
    for mode, by_lang in ranks.items():
        if mode in (TRANSLATED, MODEL_TRANSLATED):
            continue  # only the languages with translations: no "all" row that mixes sets
        summary[mode]["all"] = _metrics([r for lang, rs in by_lang.items() if lang != "follow-up" for r in rs])
    return {"k": k, "metrics": summary, "hybrid_misses": misses, "model_translations": translations}


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    if not n:
        return {"n": 0, "hit@1": 0.0, "hit@5": 0.0, "mrr": 0.0}
    return {
        "n": n,
        "hit@1": round(sum(r == 1 for r in ranks) / n, 4),
        "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def format_retrieval(results: dict[str, Any]) -> str:
    """A side-by-side table: one row per language and mode."""
    metrics = results["metrics"]
    langs = sorted({lang for by_lang in metrics.values() for lang in by_lang}, key=lambda l: (l == "all", l))
    rows = [f"{'lang':<5} {'mode':<16} {'n':>4} {'hit@1':>7} {'hit@5':>7} {'MRR':>7}"]
    for lang in langs:
        for mode in ROWS:
            m = metrics.get(mode, {}).get(lang)
            if m:
                rows.append(f"{lang:<5} {mode:<16} {m['n']:>4} {m['hit@1']:>7.3f} {m['hit@5']:>7.3f} {m['mrr']:>7.3f}")
    if results["hybrid_misses"]:
        rows.append("hybrid not at rank 1: " + ", ".join(f"{m['id']}({m['rank']})" for m in results["hybrid_misses"]))
    return "\n".join(rows)


# -- answers -----------------------------------------------------------------------------
ANSWER_TARGETS = {"evidence_hit": 0.90, "correct_citation": 0.95, "citation_precision": 0.90,
                  "decline_rate": 0.90, "false_decline_rate": 0.03}


def answer_hit(answer: str, item: dict[str, Any], glossary: Any = None) -> bool:
    """The answer states the evidence or every keyword of it; a keyword also counts in one of
    its glossary translations (an English answer to Chinese notes says 'context' for 上下文)."""
    keywords = item.get("keywords") or []

    def said(keyword: str) -> bool:
        if contains(answer, keyword):
            return True
        if glossary is None:
            return False
        # Translations of the keyword as a whole (not of words inside it: 'patch' is no 'monkey patch').
        whole = [*glossary.zh_to_en.get(keyword, ()), *glossary.en_to_zh.get(" ".join(english_words(keyword)), ())]
        return any(contains(answer, t) for t in whole)

    return contains(answer, item["evidence"]) or bool(keywords) and all(said(k) for k in keywords)


def relevant(text: str, item: dict[str, Any]) -> bool:
    """A cited passage is relevant when it holds the evidence or one of its keywords."""
    return contains(text, item["evidence"]) or any(contains(text, k) for k in item.get("keywords") or [])


def evaluate_answers(answerer: Any, items: list[dict[str, Any]], translations: bool = False) -> dict[str, Any]:
    """Per language: evidence hit, correct citation, citation precision, (false) decline rates.

    Answerable questions (with evidence) score the first four; unanswerable ones the decline rate.
    With ``translations``, an item's ``"translation"`` is searched too, as a model's would be.
    """
    per_lang: dict[str, dict[str, list[float]]] = {}
    records = []
    for item in items:
        lang = group_of(item)
        # A follow-up is asked after its history, as in a chat: the earlier answers come first.
        history = [(q, answerer.ask(q).answer) for q in item.get("history") or []]
        answer = answerer.ask(item["q"], history, translation=item.get("translation") if translations else None)
        stats = per_lang.setdefault(lang, {k: [] for k in ("hit", "cited", "precise", "declined_na", "declined_a",
                                                            "latency", "caution_a", "caution_na", "sentences",
                                                            "unsupported", "raw_sentences", "raw_unsupported",
                                                            "fallback", "empty", "prompt_tokens", "first_token_ms",
                                                            "tokens_per_s", "in_prompt")})
        stats["latency"].append(answer.timings.get("total_ms", 0.0))
        record = {"id": item.get("id"), "q": item["q"], "declined": answer.declined, "support": round(answer.support, 3),
                  # Counts, not text: a report must not copy a notes folder's passages.
                  "absent_terms": answer.absent_terms, "fallback": answer.fallback,
                  "unsupported": len(answer.unsupported), "model_check": answer.model_check}
        if not answer.declined:
            stats["sentences"].append(answer.sentences)
            stats["unsupported"].append(len(answer.unsupported))
            stats["empty"].append(not any(ch.isalnum() for ch in answer.answer))
        if answer.model_check:  # a generated answer: its own sentences before the check moved or struck any
            stats["raw_sentences"].append(answer.model_check["sentences"])
            stats["raw_unsupported"].append(answer.model_check["unsupported"] + answer.model_check["recited"])
            stats["fallback"].append(bool(answer.fallback))
        if "prompt_tokens" in answer.timings:
            stats["prompt_tokens"].append(answer.timings["prompt_tokens"])
            stats["first_token_ms"].append(answer.timings["first_token_ms"])
            if answer.timings.get("eval_ms"):
                stats["tokens_per_s"].append(answer.timings["generated_tokens"] / answer.timings["eval_ms"] * 1000)
        if item.get("evidence"):
            hit = not answer.declined and answer_hit(answer.answer, item, answerer.retriever.glossary)
            cited = any(contains(c.text, item["evidence"]) for c in answer.citations)
            stats["hit"].append(hit)
            stats["cited"].append(cited)
            stats["precise"] += [relevant(c.text, item) for c in answer.citations]
            stats["declined_a"].append(answer.declined)
            record.update(hit=hit, correct_citation=cited, citations=len(answer.citations))
            if answer.shown:  # a model read excerpts: could it have said the evidence at all?
                record["evidence_in_prompt"] = any(contains(text, item["evidence"]) for text in answer.shown)
                stats["in_prompt"].append(record["evidence_in_prompt"])
            if not answer.declined:
                stats["caution_a"].append(bool(answer.caution))
        elif item.get("answerable") is False:
            stats["declined_na"].append(answer.declined)
            if not answer.declined:
                stats["caution_na"].append(bool(answer.caution))
        records.append(record)

    def rate(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    metrics = {
        lang: {
            "answerable": len(s["hit"]),
            "unanswerable": len(s["declined_na"]),
            "evidence_hit": rate(s["hit"]),
            "correct_citation": rate(s["cited"]),
            "citation_precision": rate(s["precise"]),
            "decline_rate": rate(s["declined_na"]),
            "false_decline_rate": rate(s["declined_a"]),
            # Answers not declined that name asked-about terms the notes never mention (Answer.caution):
            "caution_on_answerable": rate(s["caution_a"]),
            "caution_on_unanswerable": rate(s["caution_na"]),
            "unanswerable_answered": len(s["caution_na"]),
            "p50_total_ms": _median(s["latency"]),
            # Sentences whose numbers/names no passage states, over answer sentences (not declined):
            "unsupported_sentences": round(sum(s["unsupported"]) / sum(s["sentences"]), 4) if sum(s["sentences"]) else None,
            # ... in the model's own text, before the check re-cited or struck them (generative only):
            "unsupported_before_check": (round(sum(s["raw_unsupported"]) / sum(s["raw_sentences"]), 4)
                                         if sum(s["raw_sentences"]) else None),
            # Answerable questions whose evidence the model's excerpts held (generative only): its ceiling.
            "evidence_in_prompt": rate(s["in_prompt"]),
            "fallbacks": sum(s["fallback"]),
            "empty_answers": sum(s["empty"]),
            "p50_prompt_tokens": _median(s["prompt_tokens"]),
            "p50_first_token_ms": _median(s["first_token_ms"]),
            "p50_tokens_per_s": _median(s["tokens_per_s"]),
        }
        for lang, s in sorted(per_lang.items())
    }
    return {"mode": answerer.mode, "model": answerer.model.name if answerer.model else None,
            "reference_translations": translations,
            "targets": ANSWER_TARGETS, "metrics": metrics, "questions": records}


def _median(values: list[float]) -> float | None:
    return round(sorted(values)[len(values) // 2], 1) if values else None


def format_answers(results: dict[str, Any]) -> str:
    cols = ["evidence_hit", "correct_citation", "citation_precision", "decline_rate", "false_decline_rate"]
    rows = [f"mode: {results['mode']}" + (f" ({results['model']})" if results["model"] else "")
            + (", with the reference translations" if results.get("reference_translations") else ""),
            f"{'lang':<5} {'n':>4} {'na':>3} " + " ".join(f"{c:>19}" for c in cols)]
    for lang, m in results["metrics"].items():
        cells = " ".join(f"{m[c]:>19.3f}" if m[c] is not None else f"{'-':>19}" for c in cols)
        rows.append(f"{lang:<5} {m['answerable']:>4} {m['unanswerable']:>3} {cells}")
    for lang, m in results["metrics"].items():
        if m.get("unsupported_before_check") is not None:
            rows.append(f"{lang}: unsupported sentences {_share(m['unsupported_sentences'])} "
                        f"(model's own text: {_share(m['unsupported_before_check'])}), {m['fallbacks']} fallback(s) to "
                        f"extractive, {m['empty_answers']} empty; evidence in the prompt {_share(m['evidence_in_prompt'])}; p50 prompt {m['p50_prompt_tokens']} tokens, "
                        f"first token {m['p50_first_token_ms']} ms, {m['p50_tokens_per_s']} tokens/s")
    misses = [r["id"] for r in results["questions"] if r.get("hit") is False]
    wrong = [r["id"] for r in results["questions"] if r["id"] and r["id"].startswith("na-") and not r["declined"]]
    if misses:
        rows.append("evidence not in answer: " + ", ".join(misses))
    if wrong:
        rows.append("answered although not in the notes: " + ", ".join(wrong))
    for lang, m in results["metrics"].items():
        if m["caution_on_answerable"] is not None or m["caution_on_unanswerable"] is not None:
            rows.append(f"{lang}: a 'never mentioned' caution on {_share(m['caution_on_unanswerable'])} of the "
                        f"unanswerable questions answered ({m['unanswerable_answered']}), "
                        f"{_share(m['caution_on_answerable'])} of the answerable ones answered")
    return "\n".join(rows)


def _share(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.3f}"
