"""A figure answers a question only for the period, place, subsidiary and quantity the question asks about."""

from rag.companies import Unit
from rag.extractive import ExtractiveAnswerer
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
    assert (
        answerer(total).judge("美的2024年度每10股派多少现金红利？", total, "zh", company_names=NAMES)[0] == "no figure"
    )
    per = [hit(39, "分红政策？", "2024年度利润分配预案为每10股派发现金红利35元，现金红利总额约268亿元。")]
    assert answerer(per).judge("美的2024年度每10股派多少现金红利？", per, "zh", company_names=NAMES)[0] == ""


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
