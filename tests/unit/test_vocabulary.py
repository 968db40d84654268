"""The notes' own bilingual vocabulary: written pairs, dictionary words they use, foreign words."""

from __future__ import annotations

from collections import Counter

from chatbot.search.glossary import Glossary
from chatbot.search.terms import absent_words, question_terms, token_frequency
from chatbot.search.tokens import compact, tokenize
from chatbot.search.vocabulary import dictionary_pairs, foreign_words, learn, note_pairs

NOTES = [
    "我们使用梯度检查点(Gradient Checkpointing)节省显存，训练步骤更慢。",
    "KV Cache（键值缓存）保存每一层的键和值。",
    "RPN（Region Proposal Network）生成候选框；广告的点击率（CTR）很重要。",
    "浮动(clear)属性是 CSS 的写法。",
]


def frequencies(texts):
    counts = Counter(t for text in texts for t in set(tokenize(text)))
    return lambda token: counts.get(token, 0)


def test_pairs_the_notes_write_both_ways_round():
    pairs = note_pairs(NOTES)
    assert pairs["Gradient Checkpointing"] == {"梯度检查点"}  # '我们使用' is not part of the term
    assert pairs["KV Cache"] == {"键值缓存"}
    assert pairs["Region Proposal Network"] == {"RPN"} or "RPN" not in pairs  # Latin in brackets: no pair
    assert pairs["CTR"] == {"点击率"}  # '广告的点击率': what follows the function word
    assert "clear" not in pairs  # a plain lower-case word in brackets is a value, not a translation


def test_dictionary_words_are_kept_only_where_the_notes_use_them():
    pairs = dictionary_pairs(frequencies(NOTES))
    assert "步骤" in pairs["step"]  # CC-CEDICT: 步骤 = step, and the notes say 步骤
    assert "buttermilk" not in pairs
    assert all(len(zh) >= 2 for senses in pairs.values() for zh in senses)


def test_foreign_words_are_dictionary_words_the_notes_never_use():
    foreign = set(foreign_words(frequencies(NOTES)))
    assert {"buttermilk", "pancake"} <= foreign
    assert "step" not in foreign and "cache" not in foreign


def test_learned_vocabulary_reaches_questions_through_the_glossary():
    learned = learn(NOTES, frequencies(NOTES))
    glossary = Glossary.from_lines(learned.pairs, learned.dictionary, learned.foreign)
    assert "梯度检查点" in glossary.expand("How does gradient checkpointing save memory?")
    assert "Gradient Checkpointing" in glossary.expand("梯度检查点是什么")


def test_words_found_nowhere_are_absent_names_and_typos_are_not():
    learned = learn(NOTES, frequencies(NOTES))
    glossary = Glossary.from_lines(learned.pairs, learned.dictionary, learned.foreign)
    frequency = token_frequency(frequencies(NOTES))
    corpus = compact("\n".join(NOTES))

    def absent(question):
        terms = question_terms(question, glossary, frequency, len(NOTES))
        return [t.label for t in absent_words(question, glossary, frequencies(NOTES), corpus, len(NOTES), terms)]

    assert {"buttermilk", "pancakes"} <= set(absent("What can I use instead of buttermilk when making pancakes?"))
    assert absent("红烧肉怎么做？") == ["红烧肉"]
    assert absent("What are the steps of gradient checkpointing, with the algoritm?") == []  # a typo is no evidence
    assert absent("How much does it hit?") == []  # everyday words ('much', 'hit') are no evidence
    assert absent("梯度显存怎么算？") == []  # a compound whose parts the notes use (梯度, 显存) is not absent
    # jieba glues 那题 out of 那 + 题 (no dictionary word): no evidence; the dictionary's 红烧肉 still is.
    assert absent("红烧肉那题怎么做？") == ["红烧肉"]


def test_relearning_after_an_edit_gives_what_learning_from_scratch_gives(tmp_path):
    from chatbot.search.vocabulary import relearn, text_pairs

    before, after = NOTES[:3], NOTES[1:] + ["buttermilk 不在这里。步骤(steps)和边缘都在。"]
    previous = learn([text_pairs(t) for t in before], frequencies(before), tmp_path)
    changed = {t for text in set(before) ^ set(after) for t in tokenize(text)}  # tokens of notes added or gone
    got = relearn(previous, [text_pairs(t) for t in after], frequencies(after), changed, tmp_path)
    assert got == learn([text_pairs(t) for t in after], frequencies(after), tmp_path)
    assert got != previous  # the edit did change the vocabulary
