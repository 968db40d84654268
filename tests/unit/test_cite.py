"""Citation parsing and repair: bad numbers removed, unsupported citations dropped, uncited flagged."""

from __future__ import annotations

from chatbot.answers.cite import check_citations
from chatbot.search.glossary import load_glossary
from tests.conftest import passage

PASSAGES = [
    passage("梯度检查点在反向传播时重新计算激活值,以计算换显存。", 0),
    passage("LoRA 在原模型旁增加低秩矩阵,只训练这部分参数。", 1),
]


def test_valid_markers_are_kept_and_only_cited_passages_returned():
    checked = check_citations("LoRA 只训练低秩矩阵 [2]。", PASSAGES, None)
    assert checked.text == "LoRA 只训练低秩矩阵 [1]。"  # renumbered: the one cited passage is [1]
    assert [(c.n, c.note_id) for c in checked.citations] == [(1, "note1")]
    assert checked.citations[0].text == PASSAGES[1].text  # exactly as stored
    assert checked.uncited == [] and checked.removed == []


def test_marker_to_no_passage_is_removed_and_sentence_flagged():
    checked = check_citations("只训练低秩矩阵 [7].", PASSAGES, None)
    assert "[7]" not in checked.text and checked.citations == []
    assert checked.removed == ["[7]: no such passage"]
    assert checked.uncited == ["只训练低秩矩阵."]


def test_citation_sharing_nothing_with_its_sentence_is_dropped():
    checked = check_citations("Bananas are yellow [1]. LoRA adds 低秩矩阵 [2].", PASSAGES, None)
    assert [c.note_id for c in checked.citations] == ["note1"]
    assert checked.removed == ["[1]: shares nothing with its sentence"]
    assert checked.uncited == ["Bananas are yellow."]
    assert checked.text == "Bananas are yellow. LoRA adds 低秩矩阵 [1]."


def test_english_sentence_supports_chinese_passage_through_the_glossary():
    checked = check_citations("Gradient checkpointing recomputes activations [1].", PASSAGES, load_glossary())
    assert [c.n for c in checked.citations] == [1] and checked.removed == []


def test_marker_variants_and_markers_after_the_full_stop():
    text = "梯度检查点重新计算激活值。【1】LoRA 只训练低秩矩阵［2］，也可写 [1, 2]。"
    checked = check_citations(text, PASSAGES, None)
    assert [c.n for c in checked.citations] == [1, 2]
    assert checked.uncited == []


def test_supporting_span_is_located_in_the_passage():
    checked = check_citations("它以计算换显存 [1]。", PASSAGES, None)
    start, end = checked.citations[0].span
    assert "以计算换显存" in PASSAGES[0].text[start:end]


def test_decline_sentence_needs_no_citation():
    checked = check_citations("That is not in your notes.", PASSAGES, None, exempt=["That is not in your notes."])
    assert checked.uncited == [] and checked.citations == []


NUMBERS = [
    passage("Qwen1.5-7B-Chat 全参微调大约需要 160GB 显存。", 0),
    passage("Llama 3.1 支持 128K 的上下文长度。", 1),
]


def test_a_number_the_cited_passage_does_not_state_makes_the_sentence_unsupported():
    checked = check_citations("Full fine-tuning of Qwen1.5-7B-Chat needs about 220GB [1].", NUMBERS, None)
    assert checked.unsupported == ["Full fine-tuning of Qwen1.5-7B-Chat needs about 220GB."]
    assert checked.citations == [] and "[1]" not in checked.text
    assert checked.removed == ["[1]: does not state what its sentence claims"]


def test_a_claim_stated_by_another_passage_cites_that_one_instead():
    checked = check_citations("Llama 3.1 supports 128K tokens of context [1].", NUMBERS, None)
    assert [c.note_id for c in checked.citations] == ["note1"] and checked.recited == 1
    assert checked.text == "Llama 3.1 supports 128K tokens of context[1]."
    assert checked.unsupported == [] and checked.uncited == []


def test_an_uncited_sentence_whose_claims_a_passage_states_gets_that_citation():
    checked = check_citations("全参微调 Qwen1.5-7B-Chat 需要 160GB 显存。", NUMBERS, None)
    assert checked.text == "全参微调 Qwen1.5-7B-Chat 需要 160GB 显存[1]。"
    assert [c.note_id for c in checked.citations] == ["note0"] and checked.uncited == []


def test_a_unit_must_match_too_and_thousands_separators_do_not_matter():
    assert check_citations("It needs 160MB [1].", NUMBERS, None).unsupported == ["It needs 160MB."]
    wide = [passage("上下文长度为 128000 个 token。", 0)]
    assert check_citations("The context is 128,000 tokens [1].", wide, None).unsupported == []
