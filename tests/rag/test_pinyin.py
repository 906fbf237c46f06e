"""Chinese words an English word spells in pinyin, as far as the index has them."""

from __future__ import annotations

from rag.answering.question import analyse
from rag.glossary import Glossary
from rag.pinyin import spelled

# An index that has these words (and their character pairs), earlier ones in more passages.
_WORDS = ("杭州", "宿州", "苏州", "东莞", "核心", "开心", "工厂")


def _idf(token: str) -> float:
    for n, word in enumerate(_WORDS):
        if token == word:
            return float(n + 1)
    return 9.0


def _known(token: str) -> bool:
    return _idf(token) < 9.0


def test_a_place_spelled_in_pinyin_is_the_word_the_index_writes():
    assert spelled("Hangzhou", _known, _idf) == ["杭州"]
    assert spelled("dongguan", _known, _idf) == ["东莞"]


def test_two_words_of_the_same_spelling_are_both_kept_commonest_first():
    assert spelled("Suzhou", _known, _idf) == ["宿州", "苏州"]
    assert spelled("Suzhou", _known, _idf, most=1) == ["宿州"]


def test_a_word_is_read_as_a_phrase_not_by_a_rare_reading_of_a_character():
    # 核 has a rare reading kai; 核心 as a phrase is hexin
    assert spelled("kaixin", _known, _idf) == ["开心"]
    assert spelled("hexin", _known, _idf) == ["核心"]


def test_english_words_and_words_the_index_lacks_spell_nothing():
    assert spelled("factory", _known, _idf) == []
    assert spelled("Shenzhen", _known, _idf) == []  # 深圳 is no word of this index
    assert spelled("PCB", _known, _idf) == []


def test_an_english_question_naming_a_place_in_pinyin_is_read_in_its_chinese():
    q = analyse("What does the Dongguan factory make?", glossary=Glossary({"factory": ["工厂"]}), idf=_idf)
    forms = [c.forms for c in q.concepts]
    assert ("dongguan", "东莞") in forms
    assert "东莞" in q.lexical_text.split()


def test_a_pair_no_dictionary_has_counts_only_where_the_passages_write_it_as_a_word():
    def idf(token: str) -> float:
        return {"芯跃": 2.0, "品销": 3.0}.get(token, 9.0)

    def known(token: str) -> bool:
        return idf(token) < 9.0

    assert spelled("Xinyue", known, idf) == []  # no dictionary word, and nothing says the pair is one
    assert spelled("Xinyue", known, idf, found=lambda pair: pair == "芯跃") == ["芯跃"]
    assert spelled("Pinxiao", known, idf, found=lambda pair: pair == "芯跃") == []
