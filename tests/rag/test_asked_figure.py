"""The kind of figure a question asks for, and whether a passage gives one (examples of our own)."""

from __future__ import annotations

import pytest

from rag.asked_figure import AskedFigure, asked_figure, gives


@pytest.mark.parametrize(
    ("question", "kinds", "unit"),
    [
        ("公司今年新工厂预计能生产多少台设备？", ("count",), "台"),
        ("公司目前有几家海外子公司？", ("count",), "家"),
        ("数据中心的总算力是多少P？", (), "P"),
        ("新产线的额定功率是多少千瓦？", (), "千瓦"),
        ("这笔收购一共花了多少钱？", ("money",), ""),
        ("海外收入占比是多少？", ("percent",), ""),
        ("What was the company's gross margin in 2023?", ("percent",), ""),
        ("How many stores does the company operate?", ("count",), ""),
        ("How many GWh of storage did it ship?", (), "GWh"),
        ("认证一般需要多长时间？", ("duration",), ""),
        ("几个月能完成交付？", ("duration",), ""),
        ("How many months does qualification take?", ("duration",), ""),
        ("订单量比去年增长了几倍？", ("multiple",), ""),
        # a magnitude before the unit; 只 counts devices (but not in 只是)
        ("新基地二期每年能产多少万只模块？", ("count",), "只"),
        ("仓库能存放多少万吨原料？", ("count",), "吨"),
        # an amount a company reports asks for money, and how it changed for its growth rate as well
        ("去年的净利润是多少？", ("money",), ""),
        ("今年营收同比增长了多少？", ("money", "percent"), ""),
        ("What were the company's revenues in 2023?", ("money",), ""),
        ("研发投入占收入的比例是多少？", ("percent",), ""),  # a share of revenue, not revenue
        ("今年卖了多少台，收入多少？", ("count",), "台"),
        # what share one thing is of another, asked with 占
        ("海外业务占总收入多少？", ("percent",), ""),
        ("两条产品线各占多少？", ("percent",), ""),
        ("公司在合资企业中占多少股权？", ("percent",), ""),
        ("新产线建设占用了多少资金？", ("money",), ""),  # 占用: ties up, not a share
        ("What is the group's R&D expense ratio this year?", ("percent",), ""),
        ("What payout ratio does the final dividend imply?", ("percent",), ""),
        # amounts of money a company reports beyond revenue and profit
        ("去年的出口额是多少？", ("money",), ""),
        ("这次定增募集了多少资金？", ("money",), ""),
        ("收购确认了多少商誉？", ("money",), ""),
        ("目前在手订单有多少？", ("money",), ""),
        ("How much did the company spend on marketing last year?", ("money",), ""),
        ("How big was the one-off impairment charge?", ("money",), ""),
    ],
)
def test_kind_asked(question: str, kinds: tuple[str, ...], unit: str) -> None:
    assert asked_figure(question) == AskedFigure(kinds, unit)


@pytest.mark.parametrize(
    "question",
    [
        "毛利率为什么下降？",  # a measure named, a reason asked
        "公司和哪几家客户签了协议？",  # which ones, not how many
        "新工厂投产后最先做的几件事是什么？",  # the things counted are asked for
        "今年主推的几款新品有哪些？",
        "这几乎没有影响吗？",
        "How many Foxconn plants are there?",  # a capitalised name is not a unit
        "When did the company launch its Yuan platform?",
        "只是想了解一下公司的出海策略？",
        "营业收入增长的主要原因是什么？",  # an amount named, a reason asked
    ],
)
def test_no_unit_read_from_names_or_reasons(question: str) -> None:
    got = asked_figure(question)
    assert not got.unit
    assert "percent" not in got.kinds and "money" not in got.kinds


def test_which_ones_is_no_how_much() -> None:
    from rag.intent import asks_how_much

    assert not asks_how_much("公司和哪几家客户签了协议？")
    assert asks_how_much("公司和几家客户签了协议？")
    # a count in another clause than the list word is still asked
    assert asked_figure("公司有几家海外工厂，分别在哪里？") == AskedFigure(("count",), "家")


@pytest.mark.parametrize(
    ("question", "passage", "given"),
    [
        ("去年交付了多少台？", "全年共交付约1.2万台服务器。", True),
        ("去年交付了多少台？", "交付节奏良好，客户反馈积极。", False),
        ("去年交付了多少台？", "公司已与3家客户签约。", False),
        ("激励计划授予了多少人？", "向符合条件的215名激励对象授予股票。", True),
        ("一共有多少个实验室？", "已建成二十多个联合实验室。", True),
        ("算力规模是多少P？", "目前算力规模已达500P。", True),
        ("算力规模是多少P？", "算力规模持续扩大。", False),
        ("海外收入占比多少？", "海外收入占比约为36.5%。", True),
        ("海外收入占比多少？", "海外收入达到120亿元。", False),
        ("这次募集多少钱？", "拟募集资金不超过8.5亿元。", True),
        ("认证要多长时间？", "认证周期一般为1-2年。", True),
        ("认证要多长时间？", "公司于2023年开始认证。", False),
        ("一年能产多少万只？", "二期达产后年产能约1,200万只。", True),
        ("一年能产多少万只？", "二期只是在做设备调试。", False),
        ("去年净利润是多少？", "全年实现净利润3.2亿元。", True),
        ("去年净利润是多少？", "净利润稳步增长，经营质量持续改善。", False),
        ("今年营收增长了多少？", "营业收入同比增长18.6%。", True),
    ],
)
def test_gives(question: str, passage: str, given: bool) -> None:
    assert gives(asked_figure(question), passage) is given


def test_nothing_asked_gives_nothing() -> None:
    assert not asked_figure("公司的发展战略是什么？")
    assert gives(asked_figure("公司的发展战略是什么？"), "收入增长12%。") is False
