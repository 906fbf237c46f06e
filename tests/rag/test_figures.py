"""Figures with units in Chinese and English text: hand cases from the records, and hypothesis properties
(the extractor never raises; a generated figure written into a sentence comes back with its value and unit)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rag.figures import (
    Figure,
    companions,
    direction,
    extract_figures,
    metric_similarity,
    metric_subject,
    periods,
    periods_at,
    periods_compatible,
    same_metric,
)


def one(text: str) -> Figure:
    figures = extract_figures(text)
    assert len(figures) == 1, figures
    return figures[0]


# --------------------------------------------------------------------------------------------- hand cases


@pytest.mark.parametrize(
    ("text", "written", "value", "unit", "kind"),
    [
        ("公司境外业务收入同比增长50.00%，拉动公司整体营业收入快速增长。", "50.00%", "50.00", "%", "percent"),
        ("增长５０％", "５０％", "50", "%", "percent"),
        ("显著增长至4,369.53万元。", "4,369.53万元", "4369.53", "万元", "money"),
        ("净利润 385 亿元，同比增长", "385 亿元", "385", "亿元", "money"),
        ("每股派发现金红利3元", "3元", "3", "元", "money"),
        ("境外业务毛利率提升约3个百分点", "3个百分点", "3", "个百分点", "points"),
        ("预训练阶段的token使用量达到了14.8T，远超GPT4", "14.8T", "14.8", "T", "tokens"),
        ("trained on 14.8T tokens", "14.8T tokens", "14.8", "T", "tokens"),
        ("效率提升2倍", "2倍", "2", "倍", "multiple"),
        ("推动超过3 万家门店", "3 万家", "3", "万家", "count"),
        ("中国现在大概有60万座不同大小的桥梁", "60万座", "60", "万座", "count"),
        ("在海外设有22个研发中心", "22个", "22", "个", "count"),
        ("专项债发行额度是2.3万亿", "2.3万亿", "2.3", "万亿", "amount"),
        ("差不多做到70亿美元规模", "70亿美元", "70", "亿美元", "money"),
        ("revenue of RMB 1.2 billion", "RMB 1.2 billion", "1.2", "十亿元", "money"),
        ("a $300 million plant", "$300 million", "300", "百万美元", "money"),
        ("margin rose 3 percentage points", "3 percentage points", "3", "个百分点", "points"),
        ("revenue grew 45 percent", "45 percent", "45", "%", "percent"),
    ],
)
def test_figures_of_the_records(text, written, value, unit, kind):
    f = one(text)
    assert (f.text, f.value, f.unit, f.kind) == (written, Decimal(value), unit, kind)
    assert text[f.span[0] : f.span[1]] == written


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("预计全年收入160-170亿。", "160", "170", "亿"),
        ("前者占比约70-80%", "70", "80", "%"),
        ("同比增长10%-15%", "10", "15", "%"),
        ("增速在5～8个百分点之间", "5", "8", "个百分点"),
    ],
)
def test_ranges_are_one_figure(text, low, high, unit):
    f = one(text)
    assert (f.value, f.high, f.unit) == (Decimal(low), Decimal(high), unit)


@pytest.mark.parametrize(
    "text",
    [
        "2024年上半年",
        "编号：2024-013",
        "V3模型和R1模型",
        "同时具备2D、3D、4D标注能力",
        "美的 O2O 模式",
        "公司2005-2006年开始做视频",
        "排名第3名",
        "KR 12 R145",
    ],
)
def test_numbers_without_a_unit_are_not_figures(text):
    assert extract_figures(text) == []


def test_two_figures_of_one_clause_keep_their_own_metrics():
    growth, level = extract_figures("使得公司境外业务收入较上年同期显著增长50.00%至4,369.53万元。")
    assert (growth.unit, level.unit) == ("%", "万元")
    assert metric_subject(growth.metric_text) == metric_subject(level.metric_text) == "境外业务收入"
    assert direction(growth.metric_text) == 1  # the growth
    assert direction(level.metric_text) == 0  # the level reached ("增长……至")
    assert not growth.comparable(level)


def test_metric_comes_from_the_clause_before_when_this_one_only_says_how_it_moved():
    _, growth = extract_figures("营业收入4,369.53万元，同比增长50%")
    assert metric_subject(growth.metric_text) == "营业收入"
    rates = extract_figures("毛利率为30%、净利率为10%")
    assert [metric_subject(f.metric_text) for f in rates] == ["毛利率", "净利率"]


def test_metric_after_the_figure_when_nothing_comes_before():
    assert metric_subject(one("50% of revenue came from overseas").metric_text) == "revenue came overseas"


def test_metric_subject_drops_company_periods_and_change_words():
    f = one("海天瑞声上半年境外收入同比增长45%")
    assert metric_subject(f.metric_text, ["海天瑞声"]) == "境外收入"
    assert direction(one("境外收入同比下降5%").metric_text) == -1


@pytest.mark.parametrize(
    ("text", "qualifier"),
    [
        ("提效30%以上", "at_least"),
        ("超过10000个", "at_least"),
        ("10多个业务中心", "at_least"),
        ("美国业务占海外收入的3%不到", "at_most"),
        ("大概有60万座", "approx"),
        ("利润增长10%左右", "approx"),
        ("收入增长10%", ""),
    ],
)
def test_qualifiers(text, qualifier):
    assert one(text).qualifier == qualifier


def test_units_normalise_so_equal_amounts_compare_equal():
    yi, wan = one("1.2亿元"), one("12,000万元")
    assert yi.base_value == wan.base_value == Decimal("120000000")
    assert yi.agrees(wan) and yi.implies(wan) and wan.implies(yi)
    assert one("1.2亿").comparable(yi)  # a bare 亿 in Chinese speech is 元 unless a counter says otherwise
    assert not one("1.2亿美元").comparable(yi)


def test_percent_points_and_money_never_compare():
    pct, points, money, times = one("50%"), one("50个百分点"), one("50万元"), one("50倍")
    for a, b in [(pct, points), (pct, money), (points, money), (pct, times)]:
        assert not a.comparable(b) and not a.agrees(b) and not a.implies(b)


@pytest.mark.parametrize(
    ("past", "draft", "backed"),
    [
        ("50.00%", "50%", True),
        ("50%", "50.00%", True),  # the coarser rounding decides
        ("50.00%", "45%", False),
        ("50.00%", "约50%", True),
        ("4,369.53万元", "约4,400万元", True),
        ("4,369.53万元", "5,000万元", False),
        ("超过300家", "超过250家", True),
        ("超过300家", "超过391家", False),
        ("超过300家", "300家", False),
        ("3%不到", "不到5%", True),
        ("165亿", "160-170亿", True),
        ("160-170亿", "165亿", False),
        ("20.10%-28.30%", "20.1%-28.3%", True),  # a range restated: both ends, up to rounding
        ("20.10%-28.30%", "18.10%-28.30%", False),
        ("超过55亿元", "超过5.5亿元", False),  # a bound ten times looser is a slipped digit, not a rounding
        ("55亿元", "超过5.5亿元", False),
        ("不到10天", "不到100天", False),
        ("70%以上", "七成以上", True),
        ("2-4周", "两到四周", True),
        ("3-5周", "4-6周", False),
    ],
)
def test_a_past_figure_backs_a_draft_figure_when_it_implies_it(past, draft, backed):
    assert one(past).implies(one(draft)) is backed


@pytest.mark.parametrize(
    ("text", "value", "high", "unit", "kind"),
    [
        ("交货周期一般为2-4周", "2", "4", "周", "duration"),
        ("交期两到四周", "2", "4", "周", "duration"),
        ("lead times of 6-8 weeks", "6", "8", "周", "duration"),
        ("预计3个月内完成验证", "3", None, "个月", "duration"),
        ("审核需要十个工作日", "10", None, "工作日", "duration"),
        ("约7成来自境外", "7", None, "成", "percent"),
        ("境外收入约有三成", "3", None, "成", "percent"),
        ("七成以上已实现国产化", "7", None, "成", "percent"),
        ("产能提升至两倍", "2", None, "倍", "multiple"),
        ("毛利率提高三个百分点", "3", None, "个百分点", "points"),
    ],
)
def test_durations_tenths_and_small_chinese_numerals(text, value, high, unit, kind):
    f = one(text)
    assert (f.value, f.high, f.unit, f.kind) == (Decimal(value), high and Decimal(high), unit, kind)


@pytest.mark.parametrize(
    "text", ["华大九天的EDA工具", "一成不变", "第三周的会议", "成立3周年", "10天津", "控制3成本", "有一天会实现"]
)
def test_numerals_inside_names_and_words_are_not_figures(text):
    assert extract_figures(text) == []


def test_seven_tenths_is_seventy_per_cent():
    assert one("七成").agrees(one("70%")) and not one("七成").agrees(one("80%"))


def test_a_change_word_naming_a_project_is_no_change():
    assert direction(one("产能提升项目拟投资5.68亿元").metric_text) == 0
    assert direction(one("产能提升了20%").metric_text) == 1


def test_periods():
    assert periods("2024年上半年，公司境外业务收入同比增长50.00%") == {"Y2024", "H1"}
    assert periods("前三季度收入") == {"9M"} and periods("一季报显示") == {"Q1"}
    assert periods("revenue in 2023 H2") == {"Y2023", "H2"}
    assert periods_compatible(periods("上半年"), periods("2024年上半年"))
    assert not periods_compatible(periods("2023年"), periods("2024年上半年"))
    assert not periods_compatible(periods("一季度"), periods("上半年"))
    assert periods_compatible(frozenset(), periods("2024年"))
    # the date a period ends on names it: a balance at 6月30日 is the end of Q2 and of H1, not of Q1
    assert periods("截至2023年6月30日，在手订单5亿元") == {"Y2023", "Q2", "H1"}
    assert periods("截至9月底的存货") == {"Q3", "9M"} and periods("12月31日") == {"Q4", "FY"}
    assert not periods_compatible(periods("到2023年一季度末订单6亿元"), periods("截至2023年6月30日订单5亿元"))
    assert periods_compatible(periods("到2023年一季度末订单6亿元"), periods("截至2023年3月31日订单5亿元"))
    assert periods("2023年6月3日召开") == {"Y2023"} and periods("16月30日") == frozenset()
    # a quarter's end is the date it ends on: "截至三季度末" figures run from the start of the year
    assert periods("截至三季度末") == {"Q3", "9M"} and periods("二季度末") == {"Q2", "H1"}
    assert periods("前三季度末") == {"9M"}
    assert periods("2024年半年度报告") == {"Y2024", "H1"} and periods("半年报") == {"H1"}
    assert periods("2024年年度报告") == {"Y2024", "FY"}


def test_a_figure_period_is_read_as_a_question_period_is():
    # one reader for both (rag.intent): two-digit years, report names, runs of months, analysts' labels
    assert periods("22年中报毛利率为31%") == {"Y2022", "H1"}
    assert periods("2025年1-9月收入") == {"Y2025", "9M"} and periods("1H25 revenue") == {"Y2025", "H1"}
    assert periods("Q2单季度实现收入16.1亿元") == {"Q2"}
    text = "2024年公司收入50亿元，Q4单季度收入15亿元"
    assert periods_at(text, text.index("15亿元")) == {"Q4"}


def test_the_period_of_a_figure_is_the_last_one_named_before_it():
    text = "2021年度，研发投入1.10亿元，占营业收入比例12.50%，2022年上半年，研发投入0.70亿元，占营业收入比例21.30%。"
    assert periods_at(text, text.index("12.50")) == {"Y2021", "FY"}  # 年度: the full year
    assert periods_at(text, text.index("21.30")) == {"Y2022", "H1"}
    # a period named as what the figure is compared with is not its own
    text = "2023年订单8亿元，较2022年增长20%"
    assert "Y2023" in periods_at(text, text.index("20%"))
    assert periods_at("订单8亿元", 2) == frozenset()
    # a "respectively" list: the k-th figure is the k-th period's
    text = "公司2021年、2022年和2023年上半年的净利润分别为3.10亿元、2.40亿元和1.20亿元。"
    assert [periods_at(text, text.index(f)) for f in ("3.10", "2.40", "1.20")] == [
        {"Y2021"},
        {"Y2022"},
        {"Y2023", "H1"},
    ]


def test_a_period_named_as_a_starting_point_is_not_the_figure_reached():
    text = "2024年，海外收入占比由2021年的12.0%升至20.5%。"
    assert periods_at(text, text.index("12.0")) == {"Y2021"}
    assert periods_at(text, text.index("20.5")) == {"Y2024"}
    text = "占比从2021年的12.0%提升至2024年的20.5%"
    assert periods_at(text, text.index("20.5")) == {"Y2024"}


def test_a_growth_without_a_measure_of_its_own_is_the_change_of_the_amount_before_it():
    text = "甲业务收入120亿元，同比增长15.20%；乙业务收入90亿元，同比下降6.40%。毛利率为30%，净利率提升2个百分点。"
    figs = extract_figures(text)
    pairs = {figs[k].text: figs[v].text for k, v in companions(text, figs).items()}
    assert pairs == {"15.20%": "120亿元", "6.40%": "90亿元"}
    text = "营业收入12.40亿元，净利润3.10亿元，同比分别增长40.50%和65.20%。"
    figs = extract_figures(text)
    pairs = {figs[k].text: figs[v].text for k, v in companions(text, figs).items()}
    assert pairs == {"40.50%": "12.40亿元", "65.20%": "3.10亿元"}


def test_the_amount_a_growth_reaches_is_a_level():
    assert [direction(f.metric_text) for f in extract_figures("收入同比增长40%，达到约3,800万元")] == [1, 0]
    assert [direction(f.metric_text) for f in extract_figures("占比从2021年的12.0%提升至2024年的20.5%")][-1] == 0


def test_a_measure_written_in_full_and_abbreviated_is_one_measure():
    assert metric_subject("扣非后归母净利润") == metric_subject("归属于上市公司股东的扣除非经常性损益的净利润")
    assert metric_subject("经营性净现金流") == metric_subject("经营性现金流净额") == "经营性现金流"
    assert metric_subject("归属于上市公司股东的净利润") == metric_subject("归母净利润") == "归母净利润"
    assert metric_subject("扣除非经常性损益后的净利润同比增长") == metric_subject("扣非净利润") == "扣非净利润"
    full = metric_subject("归属于上市公司股东的扣除非经常性损益的净利润")
    assert metric_similarity(full, "扣非净利润") > metric_similarity("归母净利润", "扣非净利润")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("境外收入", "境外业务收入", True),
        ("毛利率", "整体毛利率", True),
        ("营业收入", "营业总收入", True),
        ("收入", "境外业务收入", False),
        ("毛利率", "创新业务毛利率", False),
        ("海外收入占比", "移动机器人 海外收入占比", False),
        ("净利润", "境外收入", False),
        ("overseas revenue", "overseas revenue", True),
    ],
)
def test_same_metric(a, b, same):
    assert same_metric(a, b) is same
    assert metric_similarity(a, b) == metric_similarity(b, a)


def test_to_dict_keeps_the_written_precision():
    d = one("增长50.00%").to_dict()
    assert d["value"] == "50.00" and d["unit"] == "%" and d["display"] == "50.00%" and d["span"] == [2, 8]


# --------------------------------------------------------------------------------------------- properties

_PIECES = st.sampled_from(
    [
        "增长",
        "万元",
        "亿",
        "%",
        "％",
        "个百分点",
        "-",
        "～",
        "至",
        ",",
        ".",
        "，",
        "。",
        "T",
        " tokens",
        "约",
        "超过",
        "以上",
        "第",
        "RMB",
        "$",
        " billion",
        "家",
        "个",
        "年",
        "Q1",
        "上半年",
        " ",
        "\n",
    ]
)
_DIGITS = st.text(alphabet="0123456789０５", min_size=1, max_size=6)
_NOISY = st.lists(st.one_of(_PIECES, _DIGITS, st.text(max_size=3)), max_size=25).map("".join)


def _check_invariants(text: str) -> None:
    previous_end = 0
    for f in extract_figures(text):
        start, end = f.span
        assert previous_end <= start < end <= len(text)
        assert text[start:end] == f.text
        lo, hi = f.interval
        assert lo <= hi
        assert f.implies(f) and f.agrees(f)
        previous_end = end


@given(st.text(max_size=200))
@example("4,369.53万元增长50.00%至160-170亿，10%-15%")
@example("１２，３４５万元")
@example("$-1 billion tokens%")
def test_extractor_never_raises_on_any_text(text):
    _check_invariants(text)


@given(_NOISY)
@example("10%-15%-20%")
@example("1-2-3亿")
@example("5,000,000.5.5万元")
def test_extractor_never_raises_on_figure_like_noise(text):
    _check_invariants(text)


_UNITS = [
    # (as written after the number, canonical unit, kind, space allowed before it)
    ("%", "%", "percent", True),
    ("％", "%", "percent", False),
    ("个百分点", "个百分点", "points", True),
    ("元", "元", "money", True),
    ("万元", "万元", "money", True),
    ("亿元", "亿元", "money", True),
    ("亿美元", "亿美元", "money", True),
    ("亿", "亿", "amount", True),
    ("万", "万", "amount", True),
    ("倍", "倍", "multiple", True),
    ("家", "家", "count", True),
    ("个", "个", "count", True),
    ("万座", "万座", "count", True),
    ("万家", "万家", "count", True),
    ("T", "T", "tokens", False),
    ("T tokens", "T", "tokens", False),
    (" percent", "%", "percent", False),
    (" billion yuan", "十亿元", "money", False),
]
_PREFIXES = ["", "境外收入同比增长", "公司整体毛利率增加至", "营业收入为", "门店数量", "Revenue grew ", "（", "其中，"]
_SUFFIXES = ["", "。", "，拉动整体增长。", "的规模", " in the first half.", "；", "）"]


@st.composite
def written_figures(draw):
    digits = draw(st.integers(min_value=0, max_value=10**9))
    places = draw(st.integers(min_value=0, max_value=3))
    value = Decimal(digits).scaleb(-places)
    number = f"{value:,}" if draw(st.booleans()) else f"{value}"
    written, canonical, kind, spaced = draw(st.sampled_from(_UNITS))
    space = " " if spaced and draw(st.booleans()) else ""
    return value, f"{number}{space}{written}", canonical, kind


@given(written_figures(), st.sampled_from(_PREFIXES), st.sampled_from(_SUFFIXES))
@example((Decimal("4369.53"), "4,369.53万元", "万元", "money"), "境外收入增长至", "。")
@example((Decimal("14.8"), "14.8T", "T", "tokens"), "", "，远超GPT4")
def test_a_figure_written_into_a_sentence_comes_back(figure, prefix, suffix):
    value, written, unit, kind = figure
    text = prefix + written + suffix
    f = one(text)
    assert (f.value, f.unit, f.kind) == (value, unit, kind)
    assert f.text == written and text[f.span[0] : f.span[1]] == written


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=2))
def test_yi_and_wan_of_the_same_amount_are_equal(digits, places):
    value = Decimal(digits).scaleb(-places)
    yi, wan = one(f"收入{value}亿元"), one(f"收入{value * 10000}万元")
    assert yi.base_value == wan.base_value
    assert yi.implies(wan) and wan.implies(yi)
    assert not yi.comparable(one(f"增长{value}%"))


@given(st.integers(min_value=0, max_value=10**5), st.integers(min_value=1, max_value=10**5), st.sampled_from("-～至"))
def test_a_range_is_one_figure_from_low_to_high(low, width, dash):
    f = one(f"预计收入{low}{dash}{low + width}亿元")
    assert (f.value, f.high, f.unit) == (Decimal(low), Decimal(low + width), "亿元")
    lo, hi = f.interval
    assert lo < Decimal(low) * 10**8 < Decimal(low + width) * 10**8 < hi


def test_a_long_line_of_figures_is_read_whole():
    # A table flattened into one line has no clause breaks; each figure still reads only the words near it.
    figures = extract_figures("1万" * 2000)
    assert len(figures) == 2000 and all(f.unit == "万" for f in figures)
