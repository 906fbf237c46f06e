"""The extractive answerer on hand-made passages: quotes with citations, English framing, abstention."""

from rag.extractive import EN_LEAD, NO_ANSWER, ExtractiveAnswerer, sentences
from rag.types import Chunk, Hit


def hit(q: int, question: str, answer: str, sim: float, ranks=None, record: str = "2024-013") -> Hit:
    chunk = Chunk(
        id=f"688787:{record}:q{q}:p0",
        kind="qa",
        text=f"问：{question}\n答：{answer}",
        company="北京海天瑞声科技股份有限公司",
        short_name="海天瑞声",
        stock_code="688787",
        record=record,
        question=q,
        question_text=question,
        answer_text=answer,
    )
    return Hit(chunk, 0.03, ranks or {"dense": q, "bm25": q}, similarity=sim)


HITS = [
    hit(
        1,
        "公司上半年收入增长的主要驱动因素是什么？",
        "受益于多模态大模型的发展。公司境外业务收入同比增长50.00%，拉动公司整体营业收入快速增长。",
        0.93,
    ),
    hit(3, "全球化业务增长的原因？", "公司境外业务收入较上年同期显著增长50.00%至4,369.53万元。", 0.91),
    hit(2, "净利润增长的原因？", "毛利率增加至70.34%。研发投入强度自然回落。", 0.88),
]


def test_quotes_answering_sentences_with_citations():
    a = ExtractiveAnswerer().answer("海天瑞声境外收入增长了多少？", HITS, "zh")
    assert a.mode == "extractive" and a.lang == "zh"
    assert "50.00%" in a.text and "[2024-013 Q1]" in a.text
    keys = [c.key() for c in a.citations]
    assert keys[0] == "[2024-013 Q1]" and len(keys) == len(set(keys))
    # every citation in the text is one of the passages given
    given = {h.chunk.citation.key() for h in HITS}
    assert set(keys) <= given
    assert a.passages == HITS


def test_company_in_citations_when_asked():
    a = ExtractiveAnswerer(with_company=True).answer("境外收入增长多少", HITS, "zh")
    assert "[海天瑞声 2024-013 Q1]" in a.text


def test_english_question_quotes_chinese_without_translating():
    a = ExtractiveAnswerer().answer("How much did overseas revenue grow?", HITS, "en")
    assert a.lang == "en" and a.text.startswith(EN_LEAD)
    assert "“" in a.text and "50.00%" in a.text and "[2024-013 Q1]" in a.text


def test_abstains_below_threshold_without_citations():
    low = [hit(1, "无关", "无关内容。", 0.70, ranks={"dense": 1, "bm25": 9})]
    for lang in ("zh", "en"):
        a = ExtractiveAnswerer().answer("特斯拉的电池产能？", low, lang)
        assert a.text == NO_ANSWER[lang] and a.citations == []
    assert ExtractiveAnswerer().answer("x", [], "zh").citations == []


def test_agreement_of_both_retrievers_lowers_the_bar():
    answerer = ExtractiveAnswerer({"zh": 0.86})
    agree = [hit(1, "q", "内容。", 0.83, ranks={"dense": 1, "bm25": 1})]
    disagree = [hit(1, "q", "内容。", 0.83, ranks={"dense": 1, "bm25": 20})]
    assert answerer.covered(agree, "zh") and not answerer.covered(disagree, "zh")


def test_sentences_split_on_chinese_punctuation():
    assert sentences("第一句。第二句！（1）第三点；\n末尾") == ["第一句。", "第二句！", "（1）第三点；", "末尾"]
