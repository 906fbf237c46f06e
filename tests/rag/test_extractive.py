"""The extractive answerer on hand-made passages: quotes with citations, English framing, abstention."""

from rag.extractive import EN_LEAD, NO_ANSWER, ExtractiveAnswerer, _level_figures, figures, sentences
from rag.lexical import LexicalIndex
from rag.types import Chunk, Hit

HAITIAN = ("688787", "北京海天瑞声科技股份有限公司", "海天瑞声")


def hit(
    q: int,
    question: str,
    answer: str,
    sim: float,
    ranks=None,
    record: str = "2024-013",
    date: str = "2024-09-04",
    *,
    company: tuple[str, str, str] = HAITIAN,
) -> Hit:
    """A retrieved pair of ``company`` (stock code, full name, short name)."""
    code, full_name, short_name = company
    chunk = Chunk(
        id=f"{code}:{record}:q{q}:p0",
        kind="qa",
        text=f"问：{question}\n答：{answer}",
        date=date,
        date_end=date,
        company=full_name,
        short_name=short_name,
        stock_code=code,
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


OTHER = [
    ("x1", "公司坚持长期主义，持续投入研发，保持技术领先。"),
    ("x2", "美的集团坚持稳定的分红政策，累计派现超过1,340亿元。"),
    ("x3", "海康威视的创新业务增长较快，境外市场拓展顺利。"),
]


NAMES = ["海天瑞声", "北京海天瑞声科技股份有限公司"]


def answerer(**kw) -> ExtractiveAnswerer:
    """An answerer whose idf comes from a small corpus of the test passages and a few others."""
    docs = [(h.chunk.id, h.chunk.text) for h in HITS] + OTHER
    return ExtractiveAnswerer(idf=LexicalIndex.build(docs).idf, min_coverage={"zh": 0.3, "en": 0.3}, **kw)


def test_one_citation_per_claim_unless_the_question_asks_several_things():
    a = answerer().answer("海天瑞声境外收入增长了多少？", HITS, "zh", company_names=NAMES)
    assert [c.key() for c in a.citations] == ["[2024-013 Q1]"]  # Q3 says the same 50.00% again
    both = answerer().answer("海天瑞声境外收入增长多少，毛利率分别是多少？", HITS, "zh", company_names=NAMES)
    keys = [c.key() for c in both.citations]
    assert len(keys) == 2 and "[2024-013 Q2]" in keys and "70.34%" in both.text and "50.00%" in both.text


def test_refuses_a_period_no_record_could_have_reported():
    # The passages are from a meeting on 2024-09-04: nothing there reports the first half of 2025.
    a = answerer().answer("海天瑞声2025年上半年境外收入增长了多少？", HITS, "zh", company_names=NAMES)
    assert a.text == NO_ANSWER["zh"] and a.citations == []
    reason, _, _ = answerer().judge("海天瑞声2025年上半年境外收入增长了多少？", HITS, "zh", company_names=NAMES)
    assert reason == "period not reported"
    assert answerer().answer("海天瑞声2024年上半年境外收入增长了多少？", HITS, "zh", company_names=NAMES).citations


def test_refuses_a_figure_question_when_no_passage_states_one():
    words = [hit(1, "公司如何看待行业竞争？", "公司境外业务收入保持快速增长，客户结构持续优化。", 0.93)]
    assert answerer().judge("海天瑞声境外收入是多少？", words, "zh", company_names=NAMES)[0] == "no figure"
    assert answerer().judge("海天瑞声境外收入是多少？", HITS, "zh", company_names=NAMES)[0] == ""


def test_refuses_a_company_the_records_never_mention():
    a = answerer().answer("格力电器境外收入增长了多少？", HITS, "zh")
    assert a.citations == [] and answerer().judge("格力电器境外收入增长了多少？", HITS, "zh")[0] == "unknown company"


def test_refuses_when_the_passages_hold_too_little_of_the_question():
    reason, _, _ = answerer().judge("海天瑞声的长期主义研发战略是什么？", HITS, "zh", company_names=NAMES)
    assert reason == "low coverage"


def test_metadata_question_answers_from_the_record_chunk():
    record = Hit(
        Chunk(
            id="688787:2024-013:meta",
            kind="record",
            text="北京海天瑞声科技股份有限公司（688787）\n时间：2024年9月4日\n地点：券商策略会\n上市公司接待人员姓名：张哲",
            company="北京海天瑞声科技股份有限公司",
            short_name="海天瑞声",
            stock_code="688787",
            record="2024-013",
            date="2024-09-04",
        ),
        0.03,
        {"dense": 4, "bm25": 4},
        similarity=0.9,
    )
    a = ExtractiveAnswerer().answer("海天瑞声的策略会是谁接待的？", [*HITS, record], "zh", company_names=NAMES)
    assert [c.key() for c in a.citations] == ["[2024-013]"] and "张哲" in a.text


def test_figures_are_normalised():
    assert figures("收入4,369.53 万元，增长50.00%，提升三成") == {"4369.53万元", "50.00%", "三成"}


def test_a_question_about_another_company_needs_a_passage_that_names_it():
    # The passages speak of 海天瑞声 only; TCL is named by the shape of a company name.
    q = "What is TCL Technology's overseas revenue growth?"
    reason, _, _ = answerer().judge(q, HITS, "en", "overseas revenue 境外 收入 增长", company_names=NAMES)
    assert reason in ("company not covered", "unknown company")
    named = [hit(4, "竞争格局？", "TCL科技境外业务收入增长30.00%。", 0.93), *HITS]
    docs = [(h.chunk.id, h.chunk.text) for h in named] + OTHER
    a = ExtractiveAnswerer(idf=LexicalIndex.build(docs).idf, min_coverage={"zh": 0.3, "en": 0.3})
    answer = a.answer(q, named, "en", "overseas revenue 境外 收入 增长", company_names=NAMES)
    assert [c.key() for c in answer.citations] == ["[2024-013 Q4]"]


def test_a_total_is_not_answered_by_a_change():
    assert _level_figures("员工数量大约增长了2%，即1000人左右。") == []
    assert _level_figures("实现营业总收入924.96亿元，比上年同期增长3.53%。") == ["924.96亿元"]
    assert _level_figures("收入增长10%，达到100亿元。") == ["100亿元"]
