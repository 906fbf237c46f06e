"""Periods, places and metadata asks read from questions and from the sentences of passages."""

from rag.intent import (
    asked_periods,
    asks_how_much,
    asks_metadata,
    figure_periods,
    metadata_fields,
    names_period,
    period_spans,
    sentence_periods,
    states_period,
)


def test_sentence_periods_with_years_bare_years_and_kinds_without_a_year():
    assert sentence_periods("2025年一季度，公司营收185.32亿元") == ([(2025, "Q1")], set(), set())
    assert sentence_periods("截至 2024 年底，在全球拥有研发人员超过 2.3万名") == ([], {2024}, set())
    assert sentence_periods("一季度公司收入增长4.01%") == ([], set(), {"Q1"})
    assert not names_period("公司境外业务收入同比增长50.00%")


def test_a_period_without_its_year_as_analysts_and_reports_write_it():
    assert sentence_periods("前三季度营收增长8%")[2] == {"9M"}  # 三季度 inside 前三季度 is no third quarter
    assert sentence_periods("Q3单季度实现收入5.1亿元")[2] == {"Q3"}  # a label against Chinese
    assert sentence_periods("4Q revenue and 2H margin")[2] == {"Q4", "H2"}
    assert sentence_periods("Revenue in the second quarter rose")[2] == {"Q2"}
    assert sentence_periods("FAQ3 and HQ2 are no periods")[2] == set()


def test_period_spans_cut_a_list_of_periods_at_its_separators():
    text = "公司2021年、2022年和2023年上半年的净利润"
    assert [text[a:b] for a, b in period_spans(text)] == ["2021年", "2022年", "2023年上半年"]
    text = "截至2025年6月末，1H25 收入"
    assert [text[a:b] for a, b in period_spans(text)] == ["2025年6月末", "1H25"]


def test_a_sentence_about_another_period_does_not_state_the_one_asked():
    q1 = figure_periods("示例电器2025年第一季度的营业收入比上年同期增加了多少？")
    assert q1 == [(2025, "Q1")]
    assert not states_period("美的集团2024 年收入和净利润均实现同比增长", q1)
    assert states_period("2025年一季度公司营收增长4.01%", q1)
    assert states_period("一季度收入增长4.01%", q1)  # the kind agrees, the year is the passage's
    assert states_period("公司收入增长较快", q1)  # no period named: the passage's own
    fy = figure_periods("Zeta Systems sales full year 2023")
    assert not states_period("一季度公司收入增长4.01%", fy)
    assert not states_period("2023年上半年收入增长", fy)
    assert states_period("2023年，公司实现营业总收入215亿元", fy)


def test_a_bare_year_only_needs_the_year_to_agree():
    # "2021年股权激励" names a plan: a sentence about 二季度 expenses may still answer it.
    asked = figure_periods("示例科技取消2021年限制性股票激励时一次确认了多少费用？")
    assert asked == [(2021, "FY")]
    assert not states_period("这笔费用计入了二季度", asked)
    assert states_period("这笔费用计入了二季度", asked, bare_years=[2021])
    assert not states_period("2024年费用增加", asked, bare_years=[2021])


def test_asks_how_much_beyond_how_much():
    from rag.intent import asks_how_much

    asked = [
        "海康现在有多少种硬件品类？",
        "What payout ratio did Zeta's final dividend for 2023 amount to?",
        "What was Zeta's first-half 2023 gross margin?",
        "What was Nanhu Zeta’s revenue in 2023?",  # a two-word name, a curly apostrophe
        "What is the automation rate at Zeta's new factory?",
        "Zeta Systems sales full year 2023",
        "海康2024年营收",
        "How are Zeta's domestic sales divided between distributors and direct accounts?",
        "How did Zeta's net margin move between 2021 and 2022?",
        "Compare Zeta's cloud revenue in Q1 2023 against Q1 2022.",
        "Zeta lowered its shipment target in mid-2023: from what to what?",
        # a search-box query keeps its question mark; an analyst's label names its period
        "Zeta 1H22 gross margin?",
        "What total operating revenue did Zeta report for the second quarter?",
        "How did Zeta's sales grow in 2022?",
        # a figure asked by name rather than by "how much"
        "泽塔 储能业务 净利率 具体数值",
        "请给出泽塔去年研发投入的具体金额",
        "What was Zeta's 2022 operating profit figure?",
        "What is the number of Zeta's overseas distributors?",
        "What is the average selling price of Zeta's inverters?",
        "What is the annual capacity of Zeta's Hefei base?",
    ]
    not_asked = [
        "What drove revenue growth?",
        "What is driving Hikvision's revenue?",
        "Why did Hikvision's gross margin fall in 2024?",
        "海康为什么要做OT？",
        "Will cheaper rivals squeeze the module business?",
        "What is Midea's overseas growth strategy?",
        "What is the revenue recognition policy?",
        "What are the sales channels of Midea?",
        "公司收入比较依赖海外市场吗？",
        "请介绍一下2024年收入增长的主要驱动因素",
        "How did Zeta's pricing strategy change?",
        "泽塔的数字化转型进展如何？",
        "Has Zeta signed a number of new distribution agreements?",
        "How did Zeta figure out its pricing for new markets?",
        "How does Zeta price its services against rivals' compared with last year?",
        "What is Zeta's biggest cost and how will it fall?",
    ]
    assert [q for q in asked if not asks_how_much(q)] == []
    assert [q for q in not_asked if asks_how_much(q)] == []


def test_asks_change_tells_a_change_from_a_level():
    from rag.intent import asks_change

    assert asks_change("利润涨了多少？") and asks_change("How fast did revenue grow?")
    assert asks_change("示例科技云业务收入从2021年到2022年变了多少？")
    assert not asks_change("境外业务收入是多少钱？") and not asks_change("What was the gross margin in 2024?")
    # Short words that also make level questions ("make up", "came from", 调整后) are no sign of a change.
    assert not asks_change("What share of revenue came from the US?")
    assert not asks_change("How much revenue did Midea get from overseas in 2024?")
    assert not asks_change("调整后净利润是多少？")
    assert asks_change("毛利率改善了多少？") and asks_change("By how much have large models cut false alarms?")


def test_periods_joined_to_a_dated_one_share_its_year():
    from rag.intent import asked_periods

    assert asked_periods("示例科技2022年前三季度和上半年的毛利率各是多少？") == [(2022, "9M"), (2022, "H1")]
    assert asked_periods("2024年一季度、二季度和三季度的收入") == [(2024, "Q1"), (2024, "Q2"), (2024, "Q3")]
    assert sorted(asked_periods("H1 and 9M 2024 net profit")) == [(2024, "9M"), (2024, "H1")]
    # A period with a year of its own keeps it.
    assert sorted(asked_periods("2024年上半年和2025年一季度")) == [(2024, "H1"), (2025, "Q1")]
    assert sorted(asked_periods("2024 H1 and 2025 Q1")) == [(2024, "H1"), (2025, "Q1")]
    assert sorted(asked_periods("H1 2024 and Q1 2025")) == [(2024, "H1"), (2025, "Q1")]
    assert sorted(asked_periods("FY2024 and H1 2025")) == [(2024, "FY"), (2025, "H1")]
    assert asked_periods("2024年上半年和Q3的收入") == [(2024, "H1"), (2024, "Q3")]
    assert asked_periods("2024年营收和利润") == []


def test_a_quarters_end_names_the_quarter_and_the_year_to_date():
    from rag.intent import asked_periods

    assert asked_periods("2024年三季度末的存货") == [(2024, "Q3")]
    # "截止三季度末，公司实现营业收入649.91亿元" is the first three quarters' revenue; "截至9月底，存货…" a balance
    # at the quarter's end: the sentence may answer a question about either.
    assert sentence_periods("截止三季度末，公司实现营业收入649.91亿元") == ([], set(), {"9M", "Q3"})
    assert sentence_periods("截至6月底，公司存货为120亿元") == ([], set(), {"H1", "Q2"})
    assert sentence_periods("公司第三季度实现营业收入237.82亿") == ([], set(), {"Q3"})
    assert states_period("截止三季度末，存货为120亿元", asked_periods("2024年三季度末存货是多少？"))
    assert states_period("截止三季度末，营收649.91亿元", asked_periods("2024年前三季度营收是多少？"))


def test_a_quarters_last_day_is_the_period_ending_then():
    from rag.intent import asked_periods, mentioned_months

    assert asked_periods("截至2023年3月31日，示例公司的合同负债是多少？") == [(2023, "Q1")]
    assert asked_periods("示例公司2022年9月末的存货有多少") == [(2022, "9M")]
    assert asked_periods("What was the cash balance as of June 30, 2023?") == [(2023, "H1")]
    assert asked_periods("Order backlog at the end of December 2022?") == [(2022, "FY")]
    # not a month's meetings: the report of the period ending then
    assert mentioned_months("截至2023年3月31日的合同负债") == []
    # another day, or the same day without "as of", dates a meeting as before
    assert asked_periods("截至2023年4月30日的合同负债") == [] and mentioned_months("截至2023年4月30日") == [(2023, 4)]
    assert asked_periods("2023年6月30日的路演说了什么") == []
    assert mentioned_months("2023年6月30日的路演说了什么") == [(2023, 6)]
    # a balance stated at the quarter's end answers the quarter and the period to date
    assert sentence_periods("截至2023年9月30日，公司存货为8.2亿元")[0] == [(2023, "9M"), (2023, "Q3")]
    assert states_period("截至2023年6月30日，合同负债3亿元", asked_periods("2023年二季度末合同负债多少"))
    assert not states_period("截至2023年6月30日，合同负债3亿元", asked_periods("2023年一季度末合同负债多少"))


def test_every_reader_of_a_quarters_end_reads_the_same_periods():
    from rag.figures import periods
    from rag.intent import ENDED, asked_periods

    # one table for a quarter's end with its year (a question's and a sentence's periods), after 截至 without it
    # (a sentence's) and anywhere without it (a figure's): each reads the same periods, year to date first
    for month, day, ended in [(3, 31, ("Q1",)), (6, 30, ("H1", "Q2")), (9, 30, ("9M", "Q3")), (12, 31, ("FY", "Q4"))]:
        assert ENDED[month] == ended
        dated = f"截至2023年{month}月{day}日，示例公司存货为8.2亿元"
        assert sentence_periods(dated)[0] == [(2023, k) for k in ended]
        assert asked_periods(f"示例公司2023年{month}月底的存货有多少") == [(2023, ended[0])]
        assert sentence_periods(f"截至{month}月底，存货为8.2亿元") == ([], set(), set(ended))
        assert sentence_periods(f"截至{month}月{day}日，存货为8.2亿元") == ([], set(), set(ended))
        assert periods(f"{month}月末存货8.2亿元") == set(ended)
    assert sentence_periods("截至四季度末，存货为8.2亿元") == ([], set(), {"FY", "Q4"})
    assert periods("第四季度末存货8.2亿元") == {"FY", "Q4"}
    # in English, the month in full or abbreviated, with or without its stop
    for words, month, ended in [("March", 3, "Q1"), ("Jun.", 6, "H1"), ("Sept.", 9, "9M"), ("Dec", 12, "FY")]:
        day = {3: 31, 6: 30, 9: 30, 12: 31}[month]
        assert asked_periods(f"Example Corp's inventory at the end of {words} 2023?") == [(2023, ended)], words
        assert asked_periods(f"Example Corp's cash as of {words} {day}, 2023?") == [(2023, ended)], words
        assert asked_periods(f"Example Corp's cash as at {day} {words} 2023?") == [(2023, ended)], words
    assert asked_periods("Example Corp's cash as of Sept. 29, 2023?") != [(2023, "9M")]  # not the quarter's last day
    # without 截至 and a year, a month's end dates a plan, not a sentence's figures
    assert sentence_periods("预计12月底完成产线搬迁") == ([], set(), set())


def test_english_periods_as_words_hyphenated_year_first_or_as_analysts_labels():
    from rag.intent import asked_periods, figure_periods

    # A hyphenated half or quarter (a compound adjective) is that period, not the bare year's full year.
    assert figure_periods("What were Example Corp's first-half 2023 sales?") == [(2023, "H1")]
    assert figure_periods("Example Corp first-quarter 2022 net profit") == [(2022, "Q1")]
    assert asked_periods("the second-half 2021 outlook") == [(2021, "H2")]
    assert asked_periods("2022 third quarter shipments") == [(2022, "Q3")]
    assert asked_periods("2021 second half orders") == [(2021, "H2")]
    assert asked_periods("the 4th quarter of fiscal 2022") == [(2022, "Q4")]
    assert asked_periods("first nine months of 2023 revenue") == [(2023, "9M")]
    # Labels with a two-digit year are 20xx.
    assert asked_periods("1H23 margin") == [(2023, "H1")] and asked_periods("2Q22 orders") == [(2022, "Q2")]
    assert asked_periods("Q3'21 sales") == [(2021, "Q3")] and asked_periods("FY22 capex") == [(2022, "FY")]
    assert asked_periods("1H 2022 margin") == [(2022, "H1")] and asked_periods("9M23 profit") == [(2023, "9M")]
    # Numbers that are not periods stay so.
    assert asked_periods("a 2Q-shaped order book of 1,234 units") == [] and asked_periods("FY20234") == []


def test_metadata_questions_name_the_record_fields_they_ask_for():
    assert metadata_fields("那次交流会是在什么地方举行的？") == ("地点",)
    assert metadata_fields("Which analysts joined the call, and on which date?") == ("时间", "参与单位")
    assert metadata_fields("哪位高管接待了来访的基金？") == ("接待人员",)
    assert metadata_fields("What kind of chips does it sell?") == ()  # not about a meeting
    assert metadata_fields("What kind of meeting was it?") == ("活动类别",)
    # asking about the meeting without naming a field: any field may answer
    assert metadata_fields("Was an investor day held in May 2024?") == (
        "地点",
        "时间",
        "接待人员",
        "参与单位",
        "活动类别",
    )
    assert asks_metadata("Who hosted the roadshow?")
    assert not asks_metadata("公司今年的毛利率目标是多少？") and metadata_fields("What drove the margin decline?") == ()


def test_when_where_and_who_ask_for_metadata_only_about_a_meeting():
    assert metadata_fields("When did the new plant start mass production?") == ()
    assert metadata_fields("When was the earnings call held?") == ("时间",)
    assert metadata_fields("谁是公司在欧洲的主要竞争对手？") == ()
    assert metadata_fields("上次路演是谁介绍的业务？") == ("接待人员",)
    assert metadata_fields("新工厂建在哪里？") == ()
    assert metadata_fields("业绩说明会在哪里召开？") == ("地点",)


def test_chinese_periods_without_nian_or_with_a_two_digit_year():
    assert figure_periods("2016上半年海外收入占比多少？") == [(2016, "H1")]
    assert figure_periods("2019全年出货量是多少？") == [(2019, "FY")]
    assert figure_periods("23年三季度毛利率多少？") == [(2023, "Q3")]
    assert figure_periods("19年4季度营收增长多少？") == [(2019, "Q4")]
    assert figure_periods("22年上半年和前三季度的净利润分别是多少？") == [(2022, "H1"), (2022, "9M")]
    # a bare two-digit year is left alone: 10年 is as often ten years
    assert figure_periods("公司10年累计研发投入多少？") == []


def test_a_year_written_niandu_before_its_part_is_that_part():
    assert figure_periods("2021年度上半年的经营现金流是多少？") == [(2021, "H1")]
    assert asked_periods("18年度第二季度毛利率？") == [(2018, "Q2")]
    assert asked_periods("2019年度和2020年度一季度各签了多少订单？") == [(2020, "Q1"), (2019, "FY")]
    assert asked_periods("2017年度营业收入是多少？") == [(2017, "FY")]  # by itself, 年度 is the full year


def test_the_half_year_by_its_reports_names_and_mid_year():
    assert figure_periods("2021年半年度经营活动现金流是多少？") == [(2021, "H1")]
    assert figure_periods("22年中报的存货周转天数？") == [(2022, "H1")]
    assert asked_periods("2023半年报里研发人员有多少？") == [(2023, "H1")]
    assert asked_periods("2020年中期分红每股多少？") == [(2020, "H1")]
    assert asked_periods("截至2019年年中，合同负债有多少？") == [(2019, "H1")]
    assert asked_periods("What was the headcount at mid-2022?") == [(2022, "H1")]
    assert asked_periods("Interim 2021 dividend per share?") == [(2021, "H1")]
    assert asked_periods("Operating cash flow in the 2023 half-year report?") == [(2023, "H1")]
    # 年中 after a year without its 年 begins another word (中标, 中国), and a deadline is no period reported
    assert asked_periods("2021年中标的项目有多少个？") == []
    assert asked_periods("2022年中国区的收入是多少？") == []
    assert asked_periods("Will the line start production by mid-2027?") == []
    assert sentence_periods("公司半年度实现营业收入3.2亿元")[2] == {"H1"}


def test_the_first_months_of_a_year_to_a_quarters_end_are_that_period():
    assert figure_periods("Net profit in the first six months of 2022?") == [(2022, "H1")]
    assert asked_periods("first 9 months of 2021 orders") == [(2021, "9M")]
    assert figure_periods("2023年前六个月的出货量是多少？") == [(2023, "H1")]
    assert asked_periods("21年前3个月新签订单多少？") == [(2021, "Q1")]
    assert asked_periods("2023年前两个月的销量如何？") == []  # no reporting period


def test_a_quarter_by_its_report():
    assert figure_periods("2021年一季报的应收账款是多少？") == [(2021, "Q1")]
    assert figure_periods("22年三季报净利润同比多少？") == [(2022, "Q3")]
    assert sentence_periods("三季报显示公司毛利率回升")[2] == {"Q3"}


def test_a_bare_year_is_the_full_year_of_any_question_asking_for_a_figure():
    assert figure_periods("What market share did the group reach in Europe in 2023?") == [(2023, "FY")]
    assert figure_periods("2022年研发投入对利润影响多大？") == [(2022, "FY")]
    assert figure_periods("Which product did the company launch in 2023?") == []
    assert figure_periods("What is the 2026 revenue target?") == []  # a plan, which can be stated before 2026 ends


def test_a_year_dating_a_corporate_event_is_no_period_asked():
    assert figure_periods("How many shares did Example Corp sell in its 2023 non-public offering?") == []
    assert figure_periods("What did the 2022 share buyback cost?") == []
    assert figure_periods("2023年定增募集了多少资金？") == [] and figure_periods("2022年公司回购了多少股？") == []
    # the year still dates the results beside the event, and "listed company" is no listing
    assert figure_periods("2023年营收和回购金额分别是多少？") == [(2023, "FY")]
    assert figure_periods("2023年上市公司平均毛利率是多少？") == [(2023, "FY")]
    assert figure_periods("What was revenue in 2023 after the acquisition?") == [(2023, "FY")]


def test_a_run_of_quarters_from_the_first_is_the_period_it_adds_up_to():
    from rag.intent import asked_periods

    assert figure_periods("Example Corp revenue for Q1-Q3 2022?") == [(2022, "9M")]
    assert asked_periods("1-3Q23 net profit") == [(2023, "9M")] and asked_periods("1Q-2Q23 sales") == [(2023, "H1")]
    assert asked_periods("sales from Q1 to Q4 2021") == [(2021, "FY")] and asked_periods("2022Q1-Q3") == [(2022, "9M")]
    assert asked_periods("2023年1-3季度营收") == [(2023, "9M")]
    assert asked_periods("2022年一季度至三季度的毛利率") == [(2022, "9M")]
    assert asked_periods("2021年1-6月净利润") == [(2021, "H1")] and asked_periods("22年1-9月出货量") == [(2022, "9M")]
    # a run that is no reporting period is not read as one
    assert asked_periods("2023年1-5月营收") == [] and asked_periods("Q2-Q3 2022 orders") == [(2022, "Q3")]
    assert sentence_periods("2023年1-9月公司营收增长12%") == ([(2023, "9M")], set(), set())


def test_periods_read_once_and_handed_on_give_the_same_reading():
    # A search-box query ("示例 revenue 2023") asks for a figure only because it names a period: the dated periods
    # read once and handed on must give what each reader finds by itself.
    for text in [
        "示例科技 revenue 2023",
        "示例科技2022年和2024年上半年的收入分别是多少？",
        "示例科技的2021年限制性股票激励计划",
    ]:
        dated = asked_periods(text)
        assert asks_how_much(text, dated) == asks_how_much(text)
        assert figure_periods(text, dated=dated) == figure_periods(text)
    assert asks_how_much("示例科技 revenue 2023") and figure_periods("示例科技 revenue 2023") == [(2023, "FY")]
    assert figure_periods("示例科技2022年和2024年上半年的收入分别是多少？") == [(2024, "H1"), (2022, "FY")]
