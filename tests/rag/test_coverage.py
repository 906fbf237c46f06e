import math

from rag.coverage import coverage, query_terms
from rag.lexical import LexicalIndex

DOCS = [
    ("a", "公司境外业务收入同比增长50.00%，毛利率增加至70.34%。"),
    ("b", "美的集团坚持稳定的分红政策，累计派现超过1,340亿元。"),
    ("c", "海康威视的创新业务收入增长较快。"),
]


def test_idf_is_bm25_idf_and_unknown_tokens_get_the_maximum():
    index = LexicalIndex.build(DOCS)
    n = len(DOCS)
    assert index.idf("毛利率") == math.log(1 + (n - 1 + 0.5) / (1 + 0.5))
    assert index.idf("格力") == math.log(1 + (n + 0.5) / 0.5) > index.idf("毛利率")


def test_terms_drop_question_words_company_names_and_unknown_english():
    index = LexicalIndex.build(DOCS)
    known = lambda t: index.idf(t) < index.idf("\x00")  # noqa: E731
    zh = query_terms("海康威视的毛利率是多少？", "海康威视的毛利率是多少？", known, ["海康威视"])
    assert "毛利率" in zh and "多少" not in zh and "海康威视" not in zh
    en = query_terms("What did Dahua say about gross margin?", "What did Dahua say about gross margin? 毛利率", known)
    assert "毛利率" in en and "dahua" in en  # a capitalised unknown word is a name the records lack
    assert "say" not in en and "what" not in en


def test_coverage_is_the_idf_weighted_share_present():
    index = LexicalIndex.build(DOCS)
    assert coverage({"毛利率"}, DOCS[0][1], index.idf) == 1.0
    assert coverage({"毛利率"}, DOCS[1][1], index.idf) == 0.0
    share = coverage({"毛利率", "格力"}, DOCS[0][1], index.idf)
    assert 0 < share < 0.5  # the unknown name weighs more than the known word
    assert coverage(set(), "anything", index.idf) == 1.0
