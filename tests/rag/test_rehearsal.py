"""IR rehearsal over the bundled records with the real embedding model: topic history, and draft checks that
find supported sentences, wrong figures and claims never made before."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from rag.assistant import Assistant
from rag.rehearsal import DraftCheck, Rehearsal, split_sentences
from tests.conftest import BUNDLED

HAITIAN_2024_013 = BUNDLED / "haitian-688787" / "haitian-2024-013.txt"


def test_split_sentences_on_chinese_and_english_punctuation():
    text = "境外收入增长50.00%。毛利率为70.34%！\nRevenue grew 4.5% in Q1. Margins held; 谢谢"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "境外收入增长50.00%。",
        "毛利率为70.34%！",
        "Revenue grew 4.5% in Q1.",
        "Margins held;",
        "谢谢",
    ]
    assert split_sentences("。。 \n ！") == []


@pytest.fixture(scope="module")
def rehearsal(real_index) -> Rehearsal:
    return Rehearsal(Assistant(index=real_index))


def statuses(check: DraftCheck) -> list[str]:
    return [s.status for s in check.sentences]


@pytest.mark.slow
def test_topic_history_of_overseas_revenue_has_haitian_2024_013_newest_first(rehearsal):
    for topic in ("境外收入", "overseas revenue"):
        groups = rehearsal.topic_history(topic)
        haitian = [g for g in groups if g.company == "海天瑞声" and g.record == "2024-013"]
        assert haitian, [(g.company, g.record) for g in groups]
        cited = {i.citation for i in haitian[0].items}
        assert {"[海天瑞声 2024-013 Q1]", "[海天瑞声 2024-013 Q3]"} <= cited, (topic, cited)
        keys = [(g.date, g.record) for g in groups]
        assert [d for d, _ in keys] == sorted((d for d, _ in keys), reverse=True), keys
        for g in groups:
            assert g.items and all(i.kind in ("qa", "intro") for i in g.items)
            numbers = [-1 if i.question is None else i.question for i in g.items]
            assert numbers == sorted(numbers)


@pytest.mark.slow
def test_topic_history_leaves_out_passages_off_the_topic(rehearsal):
    groups = rehearsal.topic_history("DeepSeek", k=30)
    items = [i for g in groups for i in g.items]
    # 30 passages retrieved; only the ones that speak of DeepSeek are listed.
    assert 1 <= len(items) < 10
    assert all("deepseek" in (i.question_text + i.text).lower() for i in items), [i.citation for i in items]
    assert rehearsal.topic_history("火星上的天气怎么样") == []


@pytest.mark.slow
def test_topic_history_keeps_filters_and_serialises(rehearsal):
    groups = rehearsal.topic_history("毛利率", filters={"company": "海康威视"})
    assert groups and {g.company for g in groups} == {"海康威视"}
    json.dumps([g.to_dict() for g in groups], ensure_ascii=False)


@pytest.mark.slow
def test_wrong_overseas_growth_is_flagged_with_the_past_figure(rehearsal):
    record = HAITIAN_2024_013.read_text(encoding="utf-8")
    assert "公司境外业务收入同比增长50.00%" in record  # Q1
    assert "境外业务收入较上年同期显著增长50.00%" in record  # Q3
    check = rehearsal.check_draft("海天瑞声上半年境外收入同比增长45%。")
    [s] = check.sentences
    assert s.status == "figure_differs", s
    assert s.citation in ("[海天瑞声 2024-013 Q1]", "[海天瑞声 2024-013 Q3]")
    assert (s.draft_figure.value, s.draft_figure.unit) == (Decimal("45"), "%")
    assert (s.past_figure.value, s.past_figure.unit) == (Decimal("50.00"), "%")
    assert "50.00%" in s.past_text and "45%" in s.note and "50.00%" in s.note


@pytest.mark.slow
def test_english_draft_with_the_wrong_figure_is_flagged_too(rehearsal):
    [s] = rehearsal.check_draft("Haitian's overseas revenue grew 45% in the first half of 2024.").sentences
    assert s.status == "figure_differs" and s.past_figure.value == Decimal("50.00"), s


@pytest.mark.slow
@pytest.mark.parametrize(
    ("draft", "citation", "past_figure"),
    [
        ("海天瑞声上半年境外收入同比增长50%。", {"[海天瑞声 2024-013 Q1]", "[海天瑞声 2024-013 Q3]"}, "50.00"),
        ("海天瑞声整体毛利率增加至70.34%。", {"[海天瑞声 2024-013 Q2]"}, "70.34"),
        (
            "海天瑞声智能驾驶数据领域的核心竞争力主要体现在三个方面，分别是平台能力、算法能力以及数据安全能力。",
            {"[海天瑞声 2024-013 Q9]"},
            None,
        ),
        ("2024年美的集团营业总收入为4,091亿元，较上年增长9.5%。", {"[美的集团 2025-2 Q4]"}, "4091"),
    ],
)
def test_a_sentence_said_before_is_supported_with_its_citation(rehearsal, draft, citation, past_figure):
    [s] = rehearsal.check_draft(draft).sentences
    assert s.status == "supported", s
    assert s.citation in citation
    assert s.past_text and s.past_text in rehearsal_record_text(rehearsal, s.citation)
    if past_figure is None:
        assert s.draft_figure is None
    else:
        assert s.past_figure is not None and s.past_figure.value == Decimal(past_figure)


def rehearsal_record_text(rehearsal: Rehearsal, citation: str) -> str:
    """The answer text the citation points to, read back from the index."""
    company, record, question = citation.strip("[]").split()
    chunks = rehearsal.assistant.index.store.get(where={"record": record, "question": int(question[1:])})
    return "\n".join(c.answer_text for c in chunks if (c.short_name or c.company) == company)


@pytest.mark.slow
@pytest.mark.parametrize(
    "draft",
    [
        "公司已在火星设立数据中心。",
        "海天瑞声已在火星设立数据中心。",
        "海康威视计划明年在德国建设新工厂。",
        "海康威视在海外设有22个研发中心。",  # Midea said this, not Hikvision
        "客户自建团队会影响海天在智能驾驶领域的整体收入体量和增长趋势。",  # Q8 says it will not
    ],
)
def test_a_claim_never_made_is_never_said(rehearsal, draft):
    [s] = rehearsal.check_draft(draft).sentences
    assert s.status == "never_said", s
    assert s.citation is None and s.note


@pytest.mark.slow
def test_a_word_counts_once_in_what_a_draft_sentence_is_about(rehearsal):
    # its parts and character pairs (数据, 中心, 据中) would weigh 数据中心 four times against 火星 once
    tokens = [t for c in rehearsal._concepts("公司已在火星设立数据中心。", rehearsal._names()) for t in c.tokens]
    assert {"数据中心", "火星", "设立"} <= set(tokens)
    assert not {"数据", "中心", "据中"} & set(tokens)


@pytest.mark.slow
def test_a_draft_is_checked_sentence_by_sentence(rehearsal):
    draft = "海天瑞声上半年境外收入同比增长50%。公司整体毛利率增加至72%。公司已在火星设立数据中心。"
    check = rehearsal.check_draft(draft)
    assert statuses(check) == ["supported", "figure_differs", "never_said"]
    # The second sentence names no company: it is about the one the draft named.
    assert check.sentences[1].citation == "[海天瑞声 2024-013 Q2]"
    assert check.sentences[1].past_figure.value == Decimal("70.34")
    assert [draft[s.span[0] : s.span[1]] for s in check.sentences] == [s.sentence for s in check.sentences]
    assert check.counts == {"supported": 1, "figure_differs": 1, "never_said": 1}
    data = json.loads(json.dumps(check.to_dict(), ensure_ascii=False))
    assert data["sentences"][1]["draft_figure"] == "72%" and data["sentences"][1]["past_figure"] == "70.34%"
    assert check.to_dict() == rehearsal.check_draft(draft).to_dict()  # deterministic


@pytest.mark.slow
def test_filters_limit_what_backs_a_draft(rehearsal):
    draft = "海天瑞声整体毛利率增加至70.34%。"
    assert statuses(rehearsal.check_draft(draft, filters={"company": "688787"})) == ["supported"]
    assert statuses(rehearsal.check_draft(draft, filters={"company": "美的集团"})) == ["never_said"]


def _past(rehearsal: Rehearsal, monkeypatch, *answers: str) -> None:
    """Make ``answers`` (one pair each, of a made-up company) the only past passages a draft sentence finds."""
    from rag.answering.features import Candidate
    from rag.types import Hit
    from tests.fakes import qa_chunk

    cands = []
    for q, answer in enumerate(answers, start=1):
        chunk = qa_chunk(q, answer, code="900001", record="2025-001", date="2025-04-30")
        cands.append(Candidate(Hit(chunk, 1.0 / (60 + q), {"dense": q, "bm25": q}, similarity=0.8), q - 1, [chunk]))
    monkeypatch.setattr(rehearsal, "_judged", lambda text, filters, k: [(c, 0.9) for c in cands])


@pytest.mark.slow
def test_a_figure_is_compared_with_the_figure_of_its_own_item_in_a_past_list(rehearsal, monkeypatch):
    _past(
        rehearsal,
        monkeypatch,
        "本次募集资金将用于三个方向：传感器模组扩产项目（拟投8亿元）、车载雷达研发项目（拟投10.55亿元）、"
        "补充流动资金（拟投3亿元）。",
    )
    [wrong] = rehearsal.check_draft("本次定增中，传感器模组扩产项目计划投入募集资金10.55亿元。").sentences
    assert wrong.status == "figure_differs" and wrong.past_figure.value == Decimal("8"), wrong
    [right] = rehearsal.check_draft("本次定增中，车载雷达研发项目计划投入募集资金10.55亿元。").sentences
    assert right.status == "supported", right


@pytest.mark.slow
def test_each_figure_of_a_sentence_is_matched_by_its_own_clause(rehearsal, monkeypatch):
    _past(
        rehearsal,
        monkeypatch,
        "公司预计2026年在厂房建设、产线设备和研发等方面共投入48亿元。其中：示例科技东区基地、"
        "示例科技西区基地合计投入22亿元，主要用于新产品产能建设。",
    )
    draft = "公司预计2026年共投入约48亿元，其中东区和西区两个基地合计约22亿元，主要用于新产品的产能建设。"
    [s] = rehearsal.check_draft(draft).sentences
    assert s.status == "supported", s
    [changed] = rehearsal.check_draft(draft.replace("约22亿元", "约25亿元")).sentences
    assert changed.status == "figure_differs" and changed.past_figure.value == Decimal("22"), changed


@pytest.mark.slow
def test_a_changed_figure_is_compared_with_the_past_figure_of_its_own_period_end(rehearsal, monkeypatch):
    _past(
        rehearsal,
        monkeypatch,
        "截至2023年6月30日，公司在手订单约为5.4亿元。",
        "截至2023年3月31日，公司在手订单约为4.1亿元。",
    )
    [s] = rehearsal.check_draft("2023年一季度末公司在手订单约4.6亿元。").sentences
    assert s.status == "figure_differs" and s.past_figure.value == Decimal("4.1"), s


@pytest.mark.slow
@pytest.mark.parametrize(
    ("past", "wrong", "past_value", "right"),
    [
        pytest.param(
            "2021年度，公司研发投入1.10亿元，占营业收入比例12.50%，2022年上半年，公司研发投入0.70亿元，占营业收入比例21.30%。",
            "2021年度公司研发投入1.10亿元，占营业收入的比例为21.30%。",
            "12.50",
            "2022年上半年公司研发投入占营业收入的比例为21.30%。",
            id="a past sentence naming two periods: each figure is its own period's",
        ),
        pytest.param(
            "上半年公司实现归属于上市公司股东的净利润5,000.00万元，较上年同期增长30.00%，实现归属于上市公司股东的扣除非"
            "经常性损益的净利润3,000.00万元，较上年同期增长10.00%。",
            "上半年公司扣非净利润约3,000万元，同比增长30.00%。",
            "10.00",
            "上半年公司扣非净利润约3,000万元，同比增长10%。",
            id="a growth rate is matched with the measure that grew, even abbreviated",
        ),
        pytest.param(
            # the draft's only words are the measure's short name: the past sentence must be found by it
            "2023年度公司实现营业收入20,000.00万元，归属于母公司股东的净利润4,500.00万元。",
            "归母净利润约4.5亿元。",
            "4500.00",
            "归母净利润约4,500万元。",
            id="a measure named in full in the past is the draft's abbreviated one",
        ),
        pytest.param(
            "公司2021年、2022年和2023年上半年的净利润分别为3.10亿元、2.40亿元和1.20亿元。",
            "2022年公司净利润约为3.10亿元。",
            "2.40",
            "2022年公司净利润约为2.4亿元。",
            id="in a respectively list each figure is its own period's",
        ),
        pytest.param(
            "2024年，甲业务收入120亿元，同比增长15.20%；乙业务收入90亿元，同比增长6.40%。",
            "2024年甲业务收入约120亿元，同比增长6.40%。",
            "15.20",
            "2024年甲业务收入约120亿元，同比增长15.2%。",
            id="a growth is compared with the growth the past gave for the same amount",
        ),
        pytest.param(
            "2025年第一季度公司实现营业收入12.40亿元，归属于母公司股东的净利润3.10亿元，同比分别增长40.50%和65.20%。",
            "2025年一季度公司归母净利润3.10亿元，同比增长40.50%。",
            "65.20",
            "2025年一季度公司归母净利润3.10亿元，同比增长65.2%。",
            id="respectively: the k-th growth is the k-th amount's",
        ),
        pytest.param(
            "公司预计2025年上半年净利润同比增长20.10%-28.30%。",
            "公司预计2025年上半年净利润同比增长18.10%-28.30%。",
            "20.10",
            "预计2025年上半年公司净利润同比增长20.1%-28.3%。",
            id="a range restated gives both its ends",
        ),
        pytest.param(
            "2023年度，公司研发费用占营业收入的比例为35.20%，较2022年提高了4.1个百分点。",
            "2023年公司研发费用占营业收入的比例为35.20%，较2022年提高了4.1%。",
            "4.1",
            "2023年公司研发费用占营业收入的比例为35.2%，较2022年提高了4.1个百分点。",
            id="a change in percentage points given in per cent",
        ),
        pytest.param(
            "公司海外收入占总收入的比重从2021年的12.0%提升至2024年的20.5%。",
            "2024年，公司海外收入占总收入的比重由2021年的12.0%升至22.5%。",
            "20.5",
            "2024年，公司海外收入占总收入的比重由2021年的12.0%升至20.5%。",
            id="the figure a change reaches is not of the period it started from",
        ),
        pytest.param(
            "上半年公司境外业务收入较上年同期增长40.00%至3,210.55万元。",
            "上半年公司境外业务收入同比增长40%，达到约3,800万元。",
            "3210.55",
            "上半年公司境外业务收入同比增长40%，达到约3,210万元。",
            id="the amount a growth reaches is a level, not a growth",
        ),
        pytest.param(
            "上半年公司实现归属于上市公司股东的净利润5,000.00万元，较上年同期增长30.00%，实现归属于上市公司股东的扣除非"
            "经常性损益的净利润3,000.00万元，较上年同期增长10.00%。",
            "上半年扣非后归母净利润同比增长30%。",
            "10.00",
            "上半年扣非后归母净利润同比增长10%。",
            id="a measure's name with its words in another order is the same measure",
        ),
        pytest.param(
            "报告期内公司经营性净现金流为1,820.40万元。",
            "报告期内公司经营性现金流净额约1.82亿元。",
            "1820.40",
            "报告期内公司经营性现金流净额约1,820万元。",
            id="net operating cash flow under its other usual name",
        ),
        pytest.param(
            "截至三季度末，公司实现营业收入500.00亿元，实现归属于上市公司股东的净利润60.00亿元；公司第三季度实现营业收入"
            "180.00亿元；实现归属于上市公司股东的净利润22.00亿元。",
            "前三季度公司归母净利润22.00亿元。",
            "60.00",
            "前三季度公司归母净利润60亿元。",
            id="a clause after a semicolon is of the period its sentence named last",
        ),
        pytest.param(
            "2025年上半年，公司经营稳健。与2024年全年相比，陶瓷部件收入占比提升了5个百分点。",
            "2025年上半年陶瓷部件收入占比较2024年提升了3个百分点。",
            "5",
            "2025年上半年陶瓷部件收入占比较2024年提升了5个百分点。",
            id="a period named only as the base is not the sentence's own",
        ),
        pytest.param(
            "2024年公司综合毛利率为31.50%，较上年提升1.20%。",
            "2024年公司综合毛利率为31.5%，较上年提升1.5个百分点。",
            "1.20",
            "2024年公司综合毛利率为31.5%，较上年提升1.2个百分点。",
            id="points restating a ratio's change the past gave loosely in per cent",
        ),
        pytest.param(
            "公司核心原材料的国产化率已达80%以上。",
            "公司核心原材料九成以上已实现国产化。",
            "80",
            "公司核心原材料八成以上已实现国产化。",
            id="tenths written in Chinese numerals",
        ),
        pytest.param(
            "目前公司标准产品的交货周期一般为3-5周。",
            "目前公司标准产品的交货周期一般为四到六周。",
            "3",
            "目前公司标准产品的交货周期一般在3至5周。",
            id="a lead time in weeks",
        ),
        pytest.param(
            "募投的传感器产能提升项目拟投资56,780.00万元。",
            "募投的传感器产能提升项目拟投资约56.8亿元。",
            "56780.00",
            "募投的传感器产能提升项目拟投资约5.68亿元。",
            id="a change word naming a project makes no growth of the figure after it",
        ),
        pytest.param(
            "2024年东方品牌在国内市场零售额超过48亿元，同比大幅提升。",
            "2024年东方品牌国内零售额超过4.8亿元。",
            "48",
            "2024年东方品牌国内零售额超过45亿元。",
            id="a bound restated ten times looser is a slip",
        ),
        pytest.param(
            "2024年度公司实现营业收入40.00亿元，归属于母公司股东的净利润8.00亿元，同比分别增长20.00%和150.00%。",
            "2024年公司营收达到40亿元，归属于母公司股东的净利润同比增长20%。",
            "150.00",
            "2024年公司营收达到40亿元，归属于母公司股东的净利润同比增长150%。",
            id="growths given respectively measure what their amounts measure",
        ),
    ],
)
def test_a_changed_figure_is_flagged_with_the_past_figure_of_the_same_measure_and_period(
    rehearsal, monkeypatch, past, wrong, past_value, right
):
    _past(rehearsal, monkeypatch, past)
    [flagged] = rehearsal.check_draft(wrong).sentences
    assert flagged.status == "figure_differs" and flagged.past_figure.value == Decimal(past_value), flagged
    [backed] = rehearsal.check_draft(right).sentences
    assert backed.status == "supported", backed


@pytest.mark.slow
def test_the_likeliest_passage_is_read_however_unlikely_the_model_finds_it(rehearsal, monkeypatch):
    _past(rehearsal, monkeypatch, "2023年度公司实现营业收入309,760.58万元。")
    cands = [c for c, _ in rehearsal._judged("", None, 1)]
    # a draft with a figure wrong is a question that passage answers less well: the model gives it little
    monkeypatch.setattr(rehearsal, "_judged", lambda text, filters, k: [(c, 0.05) for c in cands])
    draft = "2023年度公司实现营业收入约309.76亿元。"
    [flagged] = rehearsal.check_draft(draft).sentences
    assert flagged.status == "figure_differs" and flagged.past_figure.value == Decimal("309760.58"), flagged
    monkeypatch.setattr("rag.rehearsal.ALWAYS_READ", 0)
    [unread] = rehearsal.check_draft(draft).sentences
    assert unread.status == "never_said", unread


@pytest.mark.slow
def test_every_part_of_a_long_passage_is_read(rehearsal, monkeypatch):
    from rag.answering.features import Candidate
    from rag.types import Hit
    from tests.fakes import qa_chunk

    revenue = qa_chunk(1, "2024年公司实现营业收入128.40亿元。", code="900001", part=0, n_parts=2)
    profit = qa_chunk(1, "2024年公司实现归属于母公司股东的净利润9.60亿元。", code="900001", part=1, n_parts=2)
    # only the profit part is retrieved for the draft; the revenue part is read from the store
    cand = Candidate(Hit(profit, 1 / 61, {"dense": 1, "bm25": 1}, similarity=0.8), 0, [profit])
    monkeypatch.setattr(rehearsal, "_judged", lambda text, filters, k: [(cand, 0.9)])
    store = rehearsal.assistant.index.store
    monkeypatch.setattr(store, "get", lambda ids=None, where=None: [c for c in (revenue, profit) if c.id in ids])
    [s] = rehearsal.check_draft("2024年公司营收约128亿元，归母净利润约9.6亿元。").sentences
    assert s.status == "supported", s
    [changed] = rehearsal.check_draft("2024年公司营收约138亿元，归母净利润约9.6亿元。").sentences
    assert changed.status == "figure_differs" and changed.past_figure.value == Decimal("128.40"), changed


@pytest.mark.slow
def test_a_year_named_alone_is_the_whole_year_not_a_half_of_it(rehearsal, monkeypatch):
    _past(
        rehearsal,
        monkeypatch,
        "2024年上半年，乙事业群实现营收57.89亿元，同比增长0.64%。",
        "2024年全年，乙事业群实现营收119.71亿元，同比下降5.58%。",
    )
    [s] = rehearsal.check_draft("2024年乙事业群营收约110亿元。").sentences
    assert s.status == "figure_differs" and s.past_figure.value == Decimal("119.71"), s
    # a clause after a semicolon is of the year named before it
    [_, second] = rehearsal.check_draft("2024年甲事业群营收稳定；乙事业群营收约110亿元。").sentences
    assert second.status == "figure_differs" and second.past_figure.value == Decimal("119.71"), second
    # a citation's question number is no quarter ("Q2" of "[示例科技 2025-001 Q2]")
    cited_draft = "2024年甲事业群营收稳定；乙事业群营收约110亿元[示例科技 2025-001 Q2]。"
    [_, cited] = rehearsal.check_draft(cited_draft).sentences
    assert cited.status == "figure_differs" and cited.past_figure.value == Decimal("119.71"), cited


@pytest.mark.slow
@pytest.mark.parametrize(
    ("past", "unsaid", "said"),
    [
        pytest.param(
            "公司在射频电路设计领域已有全流程工具，在数字电路设计领域还未实现全流程覆盖。",
            "公司在数字电路设计领域已实现全流程覆盖。",
            "公司在射频电路设计领域已有全流程工具。",
            id="还未 negates",
        ),
        pytest.param(
            "公司正在推进新一代显示芯片的流片工作，流片后将开展客户测试。",
            "公司新一代显示芯片已完成流片工作。",
            "公司正在推进新一代显示芯片的流片工作。",
            id="a plan or work under way is not a thing done",
        ),
    ],
)
def test_a_claim_the_past_gave_negated_or_as_a_plan_is_never_said(rehearsal, monkeypatch, past, unsaid, said):
    _past(rehearsal, monkeypatch, past)
    [s] = rehearsal.check_draft(unsaid).sentences
    assert s.status == "never_said", s
    [backed] = rehearsal.check_draft(said).sentences
    assert backed.status == "supported", backed
