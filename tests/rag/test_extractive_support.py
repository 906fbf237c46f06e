"""A figure answers a question only for the period, place, subsidiary and quantity the question asks about."""

from rag.companies import Unit
from rag.extractive import ExtractiveAnswerer, figures
from rag.lexical import LexicalIndex
from rag.types import Chunk, Hit
from tests.rag.test_extractive import hit as extractive_hit

NAMES = ["美的集团", "美的"]


MIDEA = ("000333", "美的集团股份有限公司", "美的集团")


def hit(q: int, question: str, answer: str, sim: float = 0.93, record: str = "2025-2", date: str = "2025-04-10") -> Hit:
    return extractive_hit(q, question, answer, sim, record=record, date=date, company=MIDEA)


OTHER = [
    ("x1", "公司坚持长期主义，持续投入研发，保持技术领先。"),
    ("x2", "海康威视的创新业务增长较快，境外市场拓展顺利。"),
    ("x3", "公司营业收入同比增长，员工人数稳定，空调市场份额提升。"),
]
UNITS = [Unit("002415", "萤石网络", ("萤石", "EZVIZ")), Unit("002415", "海康机器人", ("Hikrobot",))]


def answerer(hits: list[Hit]) -> ExtractiveAnswerer:
    docs = [(h.chunk.id, h.chunk.text) for h in hits] + OTHER
    return ExtractiveAnswerer(idf=LexicalIndex.build(docs).idf, min_coverage={"zh": 0.2, "en": 0.2}, units=UNITS)


def why(hits: list[Hit], question: str) -> str:
    """Why the answerer refuses a Chinese question about Midea from ``hits`` ("" when it answers)."""
    return answerer(hits).judge(question, hits, "zh", company_names=NAMES)[0]


def test_a_figure_for_another_year_does_not_answer():
    hits = [hit(4, "2024年经营情况？", "2024 年，公司实现营业总收入 4,091亿元，同比增长 9.5%；营业收入创新高。")]
    a = answerer(hits)
    assert a.judge("美的2025年一季度营收同比增长多少？", hits, "zh", company_names=NAMES)[0] == "no figure"
    assert a.judge("美的2024年营收同比增长多少？", hits, "zh", company_names=NAMES)[0] == ""


def test_a_sentence_without_a_period_speaks_of_the_one_before_it():
    hits = [
        hit(
            34,
            "各业务收入？",
            "2024 年，工业技术业务收入 336 亿元，同比增长20.58%；楼宇业务收入 285亿元，同比增长9.86%。",
        )
    ]
    reason, _, _ = answerer(hits).judge("美的2025年一季度楼宇业务收入增长多少？", hits, "zh", company_names=NAMES)
    assert reason == "no figure"


def test_a_per_share_question_needs_a_per_share_figure():
    total = [hit(39, "分红政策？", "公司累计派现金额（包含2024年度拟进行的利润分配）超过 1,340亿元，与股东共享成长。")]
    assert why(total, "美的2024年度每10股派多少现金红利？") == "no figure"
    per = [hit(39, "分红政策？", "2024年度利润分配预案为每10股派发现金红利35元，现金红利总额约268亿元。")]
    assert why(per, "美的2024年度每10股派多少现金红利？") == ""


def test_a_figure_must_be_bound_to_the_subsidiary_asked_about():
    hits = [
        hit(
            1,
            "2024年经营情况？",
            "2024年，海康威视实现营业总收入924.96亿元，同比增长3.53%；海康机器人、萤石网络等创新业务均已取得领先地位。",
            record="2025-4-19",
        )
    ]
    a = answerer(hits)
    assert a.judge("萤石网络2024年营收多少？", hits, "zh")[0] == "no figure"
    assert a.judge("How much revenue did Hikrobot generate in 2024?", hits, "en")[0] == "no figure"
    own = [hit(2, "创新业务？", "2024年，萤石网络实现营业收入54.42亿元，同比增长12.40%。", record="2025-4-19")]
    assert answerer(own).judge("萤石网络2024年营收多少？", own, "zh")[0] == ""


def test_a_total_is_not_answered_by_a_qualified_part():
    hits = [hit(5, "研发投入？", "截至 2024 年底，在全球拥有研发人员超过 2.3万名，占非生产人员比例超过50%。")]
    a = answerer(hits)
    assert a.judge("美的员工总数是多少？", hits, "zh", company_names=NAMES)[0] == "no figure"
    assert a.judge("美的研发人员有多少？", hits, "zh", company_names=NAMES)[0] == ""


def test_a_place_the_question_names_must_be_in_the_sentence():
    hits = [
        hit(
            1,
            "美国加征关税对公司有什么影响？",
            "家用空调产品在巴西、埃及的市场份额连续多年位居第一。其中美国收入占比很低。",
        ),
    ]
    a = answerer(hits)
    assert a.judge("美的在美国空调市场份额是什么情况？", hits, "zh", company_names=NAMES)[0] == "place not covered"
    assert a.judge("美国加关税，美的受影响大吗？", hits, "zh", company_names=NAMES)[0] == ""


def record_hit(record: str, date: str, rank: int, sim: float) -> Hit:
    chunk = Chunk(
        id=f"688787:{record}:meta",
        kind="record",
        text=f"北京海天瑞声科技股份有限公司（688787）\n编号：{record}\n时间：{date}\n地点：现场交流",
        company="北京海天瑞声科技股份有限公司",
        short_name="海天瑞声",
        stock_code="688787",
        record=record,
        date=date,
    )
    return Hit(chunk, 0.03, {"dense": rank, "bm25": rank}, similarity=sim)


def test_the_record_a_question_names_wins_outright():
    hits = [record_hit("2025-004", "2025-03-13", 1, 0.90), record_hit("2024-013", "2024-09-04", 2, 0.89)]
    a = ExtractiveAnswerer().answer("海天瑞声编号2024-013的那场交流是哪天开的？", hits, "zh")
    assert [c.key() for c in a.citations] == ["[2024-013]"]


def test_a_second_meeting_is_cited_only_for_another_period():
    hits = [
        hit(1, "定价方法？", "定制服务一般采用成本加成定价法。数据集产品以单个数据集为单位定价。", record="2025-004"),
        hit(
            2,
            "毛利率？",
            "标准化数据集产品收入占比提升，定制服务毛利率显著增长。",
            record="2024-013",
            date="2024-09-04",
        ),
    ]
    a = answerer(hits).answer("定制服务和数据集产品各用什么定价方法？", hits, "zh")
    assert [c.key() for c in a.citations] == ["[2025-004 Q1]"]


def test_a_change_does_not_say_how_much():
    change = [hit(5, "境外业务？", "2024年上半年，公司境外业务收入同比增长50.00%，拉动整体营收增长。")]
    level = [hit(6, "境外业务？", "2024年上半年，公司境外业务收入同比增长50.00%至4,369.53万元。")]
    question = "美的2024年上半年境外业务收入是多少钱？"
    assert why(change, question) == "no figure"
    assert why(level, question) == ""
    # Asked how it changed, the change is the answer.
    growth = "美的2024年上半年境外业务收入增长了多少？"
    assert why(change, growth) == ""


def test_a_count_is_answered_in_the_classifier_asked():
    orders = [hit(7, "柔性制造？", "工厂每天的订单要超过10000个，生产批次4500个左右，硬件品类很丰富。")]
    kinds = [hit(8, "产品布局？", "目前积累的硬件品类已经超过3万种，软件产品200多款。")]
    question = "美的现在有多少种硬件品类？"
    assert why(orders, question) == "no figure"
    assert why(kinds, question) == ""


def test_a_magnitude_in_words_is_a_figure_and_its_passage_frames_it():
    hits = [
        hit(
            9,
            "煤质快速分析仪有哪些功能？带来多少增量？",
            "仪器可分析煤炭中的有机物和无机物成分。未来几年，我们初步预计该产品市场空间可达几十亿元甚至更高。",
        )
    ]
    a = answerer(hits)
    assert "几十亿元" in figures("预计该产品市场空间可达几十亿元甚至更高")
    question = "美的煤质分析仪的市场能有多大？"
    assert a.judge(question, hits, "zh", company_names=NAMES)[0] == ""
    # The same passage without the estimate gives no figure for "how large".
    bare = [hit(9, hits[0].chunk.question_text, "仪器可分析煤炭中的有机物和无机物成分，市场前景广阔。")]
    assert why(bare, question) == "no figure"


def test_this_period_is_the_period_the_meeting_reports():
    # A meeting in August reports the first half; 本期 in its opening is that half even after 二季度 was named.
    hits = [
        hit(
            10,
            "经营情况？",
            "股权激励费用计入了二季度销售、管理费用中。在汇率方面，本期的汇兑损失约为8100万元。",
            record="2024-8",
            date="2024-08-17",
        )
    ]
    a = answerer(hits)
    assert a.judge("美的2024年上半年汇兑损失是多少？", hits, "zh", company_names=NAMES)[0] == ""
    # A meeting outside the half's reporting window does not speak of it by 本期.
    late = [hit(11, "经营情况？", "二季度费用增加。本期的汇兑损失约为8100万元。", record="2024-12", date="2024-12-06")]
    assert why(late, "美的2024年上半年汇兑损失是多少？") == "no figure"


def test_now_prefers_the_latest_of_equally_good_passages():
    old = hit(12, "海外收入占比？", "海外主业收入占公司营收比重约28%。", record="2024-8", date="2024-08-17")
    new = hit(13, "海外收入占比？", "海外主业收入占公司营收比重约30%。", record="2025-4", date="2025-04-19")
    hits = [old, new]
    a = answerer(hits)
    assert [c.key() for c in a.answer("美的目前海外收入占比多少？", hits, "zh", company_names=NAMES).citations] == [
        "[2025-4 Q13]"
    ]
    assert a.answer("美的海外收入占比多少？", hits, "zh", company_names=NAMES).citations[0].key() == "[2024-8 Q12]"


def test_words_that_only_look_like_asks_change_nothing():
    hits = [hit(14, "收入？", "2024年公司境外业务收入为4,369.53万元，人员有所增加，营业收入创新高。")]
    # 多少人民币 asks for money, not for a count of people (人).
    assert why(hits, "美的2024年境外业务收入是多少人民币？") == ""
    # A level after a clause break is a level, even with a change word before the break.
    assert why(hits, "美的2024年境外业务收入是多少？") == ""


def test_this_period_does_not_override_a_period_the_sentence_names():
    hits = [hit(15, "经营情况？", "2023年报告期内，汇兑损失约为8100万元。", record="2024-8", date="2024-08-17")]
    assert why(hits, "美的2024年上半年汇兑损失是多少？") == "no figure"


def test_the_company_declining_to_put_a_number_on_it_answers_how_much():
    said = "AI是公司的核心能力之一，并非单独的产品或服务，难以做业绩拆分。"
    declines = hit(16, "AI的业绩贡献？", said, record="2024-12")
    share = "从收入的占比来看，去年创新业务收入占比增长到了20%。"
    other = hit(17, "少数股东权益？", share, record="2024-4", date="2024-04-20")
    hits = [declines, other]
    answer = answerer(hits).answer("美的AI贡献了多少收入？", hits, "zh", company_names=NAMES)
    assert [c.key() for c in answer.citations] == ["[2024-12 Q16]"]
    assert "难以做业绩拆分" in answer.text
    # Without the declining sentence the same passage gives no figure, so it cannot answer.
    vague = [hit(16, "AI的业绩贡献？", "AI是公司的核心能力之一，并非单独的产品或服务。", record="2024-12")]
    assert why(vague, "美的AI贡献了多少收入？") == "no figure"
    # An outlook nobody can forecast is not a figure withheld, nor is a spin-off or a disclaimer.
    unrelated = (
        "AI业务的汇率波动带来的不确定性难以预测。",
        "AI业务难以判断拆分后的影响。",
        "AI业务不能保证披露的数据准确。",
    )
    for said in unrelated:
        assert why([hit(18, "AI？", said, record="2024-12")], "美的AI贡献了多少收入？") == "no figure", said
    assert why([hit(18, "AI？", "AI业务的收入不对外披露。", record="2024-12")], "美的AI贡献了多少收入？") == ""


def test_a_meeting_in_the_month_the_question_names_is_preferred():
    may = hit(19, "PBG表现？", "PBG业务正在逐步筑底，最困难的阶段基本过去了。", record="2024-5", date="2024-05-07")
    aug = hit(20, "PBG表现？", "PBG业务受地方财政制约，最困难的阶段还没有过去。", record="2024-8", date="2024-08-17")
    hits = [aug, may]
    a = answerer(hits)
    cited = a.answer("截至2024年5月，美的PBG业务最困难的阶段过去了吗？", hits, "zh", company_names=NAMES).citations
    assert [c.key() for c in cited] == ["[2024-5 Q19]"]
    # Without a month the retrieval order stands.
    cited = a.answer("美的PBG业务最困难的阶段过去了吗？", hits, "zh", company_names=NAMES).citations
    assert [c.key() for c in cited] == ["[2024-8 Q20]"]


def test_a_passage_that_never_names_the_measure_gives_no_figure_for_it():
    hits = [hit(21, "库卡进展？", "2024年，库卡中国全年发布27款新品，库卡工业机器人国内市场份额达到8.2%左右。")]
    assert why(hits, "美的库卡2024年净利润多少？") == "no figure"
    named = [hit(22, "库卡利润？", "2024年，库卡中国实现净利润5.6亿元，库卡工业机器人国内市场份额达到8.2%左右。")]
    assert why(named, "美的库卡2024年净利润多少？") == ""
    # 盈利 and 归母净利润 are one measure in other words.
    profit = [hit(27, "经营情况？", "2024年，公司实现归母净利润385亿元，同比增长14.3%。")]
    assert why(profit, "美的2024年盈利多少？") == ""


def test_a_time_something_started_is_not_the_period_of_the_figures_after_it():
    text = (
        "2024年，公司实现营业总收入924.96亿元。"
        "从2024年下半年起，公司主动降低渠道库存水位。"
        "创新业务整体收入224.84亿元，同比增长21.19%。"
    )
    hits = [hit(23, "经营情况？", text, record="2025-4", date="2025-04-19")]
    _, candidates, _ = answerer(hits).judge("美的创新业务2024年全年收入多少？", hits, "zh", company_names=NAMES)
    (innovation,) = [s for s in candidates[0].sentences if "224.84亿元" in s.figures]
    assert innovation.supports
    # 自 of 自主 or 来自 starts no time phrase.
    from rag.extractive import _SINCE

    assert "2025年" in _SINCE.sub("", "公司自主研发的2025年新品开始放量")
    assert _SINCE.sub("", "从2024年下半年起，公司主动降低渠道库存") == "，公司主动降低渠道库存"


def test_a_figure_about_something_else_is_not_quoted_before_the_one_asked():
    text = "截止三季度末，汇兑损失共2.1亿元。实现归属于上市公司股东的净利润81.08亿元，比上年同期下降8.40%。"
    hits = [hit(24, "经营情况？", text, record="2024-10", date="2024-10-26")]
    answer = answerer(hits).answer("美的2024年前三季度归母净利润同比降了多少？", hits, "zh", company_names=NAMES)
    assert "8.40%" in answer.text and "2.1亿元" not in answer.text


def test_a_figure_the_question_states_itself_is_no_answer():
    plan = [hit(25, "股东回报？", "公司2024年底发布20-25亿的现金回购计划，目前回购正在进行之中。")]
    assert why(plan, "美的那个20-25亿的回购，已经回购了多少钱？") == "no figure"
    # The passage writes the unit the question leaves off.
    plan = [hit(25, "股东回报？", "公司发布20-25亿元的现金回购计划，目前回购正在进行之中。")]
    assert why(plan, "美的那个20-25亿的回购，已经回购了多少钱？") == "no figure"
    done = [hit(26, "股东回报？", "公司发布20-25亿的现金回购计划，截至目前已累计回购金额12.5亿元。")]
    assert why(done, "美的那个20-25亿的回购，已经回购了多少钱？") == ""
