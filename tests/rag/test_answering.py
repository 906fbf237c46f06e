"""The answer layer's parts on hand-made passages: a question read once, candidates, features, selection,
verdicts and rendering. (The model itself: tests/evals/test_train.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rag.answering.answerer import ExtractiveAnswerer
from rag.answering.features import FEATURES, Candidate, Vectors, candidates, featurize
from rag.answering.question import analyse
from rag.answering.rendering import EN_LEAD, Quote, english_lead, quotes, record_fields, render
from rag.answering.selection import MAX_COMPANIES, ON_TOPIC, select, select_each_period
from rag.answering.text import clip, figure_clauses
from rag.answering.verdicts import VERDICTS, closest_line, explain
from rag.companies import Company
from rag.glossary import Glossary
from rag.serialize import answer_to_dict
from rag.types import Chunk, Hit
from tests.fakes import HashEmbedder
from tests.fakes import qa_chunk as chunk

ACME = Company("300001", "示例科技股份有限公司", "示例科技")
GLOSSARY = Glossary({"gross margin": ["毛利率"], "revenue": ["营业收入", "收入"]})


def hits(*chunks: Chunk) -> list[Hit]:
    return [Hit(c, 1.0 / (60 + i), {"dense": i + 1, "bm25": i + 1}, similarity=0.8) for i, c in enumerate(chunks)]


def idf(token: str) -> float:
    return 5.0 if token == "\x00" else 2.0


# --------------------------------------------------------------------------------------------- question


def test_a_question_is_read_once_into_what_later_stages_need():
    q = analyse("示例科技2024年上半年毛利率是多少？", companies=[ACME], idf=idf)
    assert q.lang == "zh" and q.companies == (ACME,) and q.periods == ((2024, "H1"),)
    assert q.asks_figure and not q.asks_change and not q.metadata and not q.now
    assert "毛利率" in {f for c in q.concepts for f in c.forms}
    assert not any("示例科技" in f for c in q.concepts for f in c.forms)  # the company is not a concept
    meta = analyse("示例科技2024年8月的交流会在哪里开的？", companies=[ACME])
    assert meta.metadata == ("地点",) and meta.months == ((2024, 8),)
    now = analyse("What is the current gross margin?", glossary=GLOSSARY, idf=idf)
    assert now.now and now.lang == "en" and "毛利率" in now.lexical_text
    plan = analyse("示例科技2026年的收入目标是多少？")
    assert plan.forward


def test_a_question_asking_for_several_periods_is_also_one_question_per_period():
    q = analyse("示例科技2023年上半年和前三季度的营业收入分别是多少？", companies=[ACME], idf=idf)
    assert q.periods == ((2023, "H1"), (2023, "9M"))
    h1, nine = q.per_period
    assert h1.periods == ((2023, "H1"),) and nine.periods == ((2023, "9M"),)
    words = [{f for c in sub.concepts for f in c.forms} for sub in (h1, nine)]
    # 前三季度 is read as the words 前三 and 三季度: both are the first three quarters' (三季度 alone is Q3)
    assert "上半年" in words[0] and not words[0] & {"前三", "三季度"} and "营业收入" in words[0]
    assert {"前三", "三季度"} <= words[1] and "上半年" not in words[1] and "2023" in words[1]  # both periods' year
    years = analyse("示例科技2022年和2023年的毛利率各是多少？", companies=[ACME], idf=idf).per_period
    assert [{f for c in sub.concepts for f in c.forms} & {"2022", "2023"} for sub in years] == [{"2022"}, {"2023"}]
    assert analyse("示例科技2023年上半年营业收入是多少？", companies=[ACME], idf=idf).per_period == ()


def test_a_dated_full_year_is_a_period_not_a_topic_word_the_passage_must_repeat():
    from rag.coverage import concept_coverage

    glossary = Glossary({"revenue": ["营业收入", "收入"], "full year": ["全年"], "annual": ["年度", "全年"]})
    said = "2023年公司实现营业收入12.5亿元。"
    for text in ("示例科技2023年全年营业收入是多少？", "What was the full-year 2023 revenue?", "2023 annual revenue?"):
        q = analyse(text, companies=[ACME], glossary=glossary, idf=idf)
        assert q.periods == ((2023, "FY"),)
        assert concept_coverage(q.concepts, said) == 1.0, text
    # Undated, 全年 says which span is asked about (not a half or a quarter): it stays a topic word.
    undated = analyse("示例科技全年营业收入目标是多少？", companies=[ACME], idf=idf)
    assert "全年" in {f for c in undated.concepts for f in c.forms}
    # A dated half year stays one too: half-year figures are stated with 上半年.
    half = analyse("示例科技2023年上半年营业收入是多少？", companies=[ACME], idf=idf)
    assert concept_coverage(half.concepts, said) < 1.0


def test_a_sentence_stating_the_figure_is_judged_on_the_topic_the_period_being_checked_apart():
    from rag.coverage import concept_coverage

    glossary = Glossary({"revenue": ["营业收入", "收入"], "first three quarters": ["前三季度"]})
    # the passage names the period once for the sentences after it
    stated = "截至三季度末，公司实现营业收入88.6亿元，同比增长4.2%；"
    for text in ("示例科技2023年前三季度营业收入是多少？", "Acme revenue first three quarters of 2023"):
        q = analyse(text, companies=[ACME], spelled=[("Acme", ACME)], glossary=glossary, idf=idf)
        assert q.periods == ((2023, "9M"),)
        assert concept_coverage(q.topics, stated) == 1.0, text
        assert concept_coverage(q.concepts, stated) < 1.0, text  # the passage's coverage still counts the period
    # a question naming no period: every concept is a topic
    plain = analyse("示例科技前三季度的经营情况怎么样？", companies=[ACME], idf=idf)
    assert plain.topics == plain.concepts


def test_an_english_organisation_the_index_does_not_know_is_kept_not_refused():
    q = analyse("What was Zeta Electronics' revenue in 2024?", known_names=["示例科技"], glossary=GLOSSARY, idf=idf)
    assert q.organisations == ("Zeta",) and q.companies == ()


def test_the_rest_of_a_resolved_company_name_is_not_another_organisation():
    def latin_unknown(token: str) -> float:  # Latin words never occur in the (Chinese) records
        return 5.0 if token == "\x00" or token.isascii() else 2.0

    def read(text: str):  # "Shili" spells 示例's pinyin: the words around it are the same company's English name
        return analyse(text, companies=[ACME], spelled=[("Shili", ACME)], glossary=GLOSSARY, idf=latin_unknown)

    q = read("What revenue did Suzhou Shili Micro report for FY2024?")
    assert q.companies == (ACME,) and q.organisations == () and q.unknown_org == ""
    other = read("Did Shili Micro win customers from Zeta Electronics in 2024?")
    assert other.organisations[0] == "Zeta" and other.unknown_org == "Zeta"
    assert not {"Shili", "Micro"} & set(other.organisations)


def test_the_company_name_as_the_question_writes_it_is_not_a_concept():
    def latin_unknown(token: str) -> float:  # Latin words never occur in the (Chinese) records
        return 5.0 if token == "\x00" or token.isascii() else 2.0

    q = analyse(
        "What revenue did Shili Micro report for 2024?",
        companies=[ACME],
        spelled=[("Shili", ACME)],
        glossary=GLOSSARY,
        idf=latin_unknown,
    )
    forms = {f for c in q.concepts for f in c.forms}
    assert "营业收入" in forms and not {"shili", "micro"} & forms
    from rag.coverage import concept_coverage

    assert concept_coverage(q.concepts, "2024年公司营业收入12.5亿元") == 1.0


def test_a_name_one_passage_writes_in_latin_letters_is_read_where_the_others_write_it_as_it_sounds():
    from rag.coverage import concept_coverage

    # one passage writes "Nuoka Robotics" in Latin letters; the others write the subsidiary as 诺卡
    weights = {"\x00": 9.0, "nuoka": 7.0, "诺卡": 5.0, "订单": 3.0, "欧洲": 3.0, "orders": 7.5}

    def some_latin(token: str) -> float:
        return weights.get(token, 9.0)

    def read(text: str):
        return analyse(
            text,
            companies=[ACME],
            glossary=Glossary({"orders": ["订单"], "europe": ["欧洲"]}),
            idf=some_latin,
            written_as_word=lambda pair: pair == "诺卡",
        )

    q = read("Did Nuoka's orders in Europe grow in 2024?")
    name = next(c for c in q.concepts if c.forms[0] == "nuoka")
    assert "诺卡" in name.forms and "诺卡" in q.lexical_text
    assert concept_coverage([name], "诺卡欧洲订单同比增长20%") == 1.0
    # the same letters written in lower case are an everyday word: its dictionary's senses only, never a sound
    lower = read("Did the nuoka orders grow in 2024?")
    assert "nuoka" in {c.forms[0] for c in lower.concepts}
    assert all("诺卡" not in c.forms for c in lower.concepts)


# --------------------------------------------------------------------------------------------- candidates


def test_candidates_join_the_parts_of_a_long_pair_and_keep_retrieval_order():
    a0 = chunk(1, "第一部分。", part=0, n_parts=2)
    a1 = chunk(1, "第二部分。", part=1, n_parts=2)
    b = chunk(2, "别的回答。")
    cands = candidates(hits(a1, b, a0), limit=8)
    assert [c.key for c in cands] == ["[示例科技 2024-005 Q1]", "[示例科技 2024-005 Q2]"]
    assert cands[0].body == "第一部分。\n第二部分。" and cands[0].rank == 0 and cands[1].rank == 1
    assert len(candidates(hits(*(chunk(i, "回答。") for i in range(1, 20))), limit=5)) == 5


def test_features_are_one_row_per_candidate_with_missing_values_where_they_do_not_apply():
    q = analyse("示例科技2024年上半年毛利率是多少？", companies=[ACME], idf=idf)
    cands = candidates(hits(chunk(1, "2024年上半年，公司毛利率为45.2%。"), chunk(2, "公司持续推进研发。")))
    rows = featurize(q, cands, Vectors.of(HashEmbedder(), q, cands))
    col = {name: rows[:, i] for i, name in enumerate(FEATURES)}
    assert rows.shape == (2, len(FEATURES)) and rows.dtype == np.float32
    assert col["cov"][0] > col["cov"][1] and col["n_figures"][0] == 1 and col["n_figures"][1] == 0
    assert col["in_window"][0] == 1.0 and col["company_match"].tolist() == [1.0, 1.0]
    assert math.isnan(col["in_month"][0]) and math.isnan(col["meta_field"][0])
    hidden = featurize(q, cands, Vectors.of(HashEmbedder(), q, cands), hide_asked=True)
    hcol = {name: hidden[:, i] for i, name in enumerate(FEATURES)}
    assert np.isnan(hcol["dense_question"]).all() and np.isnan(hcol["cov_question"]).all()
    assert not np.isnan(col["dense_question"]).any()


def test_a_passage_lacking_the_weightiest_thing_asked_says_so_whatever_else_it_holds():
    # Both passages are on the product; only one holds 量产 (mass production), the rarest word asked.
    q = analyse("示例科技的光电合封产品计划哪年量产？", companies=[ACME], idf=lambda t: 6.0 if t == "量产" else 2.0)
    lacking = chunk(1, "公司光电合封产品已通过可靠性测试，计划继续推进。")
    holding = chunk(2, "公司光电合封产品计划于2027年量产。")
    cands = candidates(hits(lacking, holding))
    rows = featurize(q, cands, Vectors.of(HashEmbedder(), q, cands))
    col = {name: rows[:, i] for i, name in enumerate(FEATURES)}
    assert col["absent_weightiest"][0] == 1.0 and col["absent_weightiest"][1] < 1.0
    assert col["absent_topics"][0] > col["absent_topics"][1]


def test_the_answer_is_compared_with_the_question_by_itself_and_only_a_pairs_answer():
    # An investor asked the very question, but the company's reply turns away from it: the whole chunk and the
    # investor's question match, the answer alone does not.
    q = analyse("示例科技的数据中心算力规模是多少？", companies=[ACME], idf=idf)
    dodged = chunk(1, "感谢关注，相关信息请以公司公告为准。", question_text="数据中心算力规模是多少？")
    answered = chunk(2, "公司数据中心算力规模约为500P。", question_text="请介绍业务进展。")
    intro = chunk(3, "公司数据中心算力规模约为500P。", kind="intro")
    cands = candidates(hits(dodged, answered, intro))
    embedder = HashEmbedder()
    vectors = Vectors.of(embedder, q, cands)
    col = {name: featurize(q, cands, vectors)[:, i] for i, name in enumerate(FEATURES)}
    expected = embedder.embed_passages([dodged.answer_text])[0] @ embedder.embed_query(q.dense_text)
    assert col["dense_answer"][0] == pytest.approx(float(expected), abs=1e-6)
    assert col["dense_answer"][1] > col["dense_answer"][0] and col["dense_question"][0] > col["dense_question"][1]
    assert col["dense_answer_gap"][1] == 0.0 and col["dense_answer_gap"][0] > 0.0
    assert math.isnan(col["dense_answer"][2]) and math.isnan(col["dense_answer_gap"][2])


def test_a_figure_of_the_kind_asked_is_looked_for_in_each_passage():
    # On the topic but with a figure of another kind (a count of customers for units delivered), or none: the
    # passage does not give what was asked.
    q = analyse("示例科技去年交付了多少台设备？", companies=[ACME], idf=idf)
    assert q.figure_asked.unit == "台"
    given = chunk(1, "公司去年交付设备约1.2万台，同比增长。")
    other = chunk(2, "公司去年设备交付给3家新客户。")
    none = chunk(3, "设备交付进度良好。")
    cands = candidates(hits(given, other, none))
    col = {name: featurize(q, cands, Vectors.of(HashEmbedder(), q, cands))[:, i] for i, name in enumerate(FEATURES)}
    assert col["figure_kind_given"].tolist() == [1.0, 0.0, 0.0]
    assert col["figure_kind_cov"][0] > 0.0 and col["figure_kind_cov"][1:].tolist() == [0.0, 0.0]
    why = analyse("示例科技的发展战略是什么？", companies=[ACME], idf=idf)
    rows = featurize(why, cands, Vectors.of(HashEmbedder(), why, cands))
    assert np.isnan(rows[:, FEATURES.index("figure_kind_given")]).all()
    assert np.isnan(rows[:, FEATURES.index("figure_kind_cov")]).all()


def test_a_long_answer_is_compared_with_the_question_sentence_by_sentence():
    # One sentence of a long answer is the reply; the rest is about other things, which dilutes the whole answer's
    # vector but not that sentence's.
    q = analyse("示例科技海外订单交付进度如何？", companies=[ACME], idf=idf)
    reply = "海外订单交付进度符合预期。"
    long = chunk(1, "公司今年新建两条产线，研发人员增加三成。" + reply + "分红政策保持稳定，现金流充裕。")
    short = chunk(2, "公司经营情况良好。")
    cands = candidates(hits(long, short))
    embedder = HashEmbedder()
    col = {name: featurize(q, cands, Vectors.of(embedder, q, cands))[:, i] for i, name in enumerate(FEATURES)}
    assert long.said == ["公司今年新建两条产线，研发人员增加三成。", reply, "分红政策保持稳定，现金流充裕。"]
    expected = embedder.embed_passages([reply])[0] @ embedder.embed_query(q.dense_text)
    assert col["dense_said"][0] == pytest.approx(float(expected), abs=1e-6)
    assert col["dense_said"][0] > col["dense_answer"][0] and col["dense_said"][0] > col["dense_said"][1]
    assert col["dense_said_gap"].tolist() == [0.0, pytest.approx(col["dense_said"][0] - col["dense_said"][1])]


# --------------------------------------------------------------------------------------------- selection


def _cands(*chunks: Chunk) -> list[Candidate]:
    return candidates(hits(*chunks))


def test_select_answers_the_likeliest_passage_or_says_why_not():
    q = analyse("示例科技毛利率是多少？", companies=[ACME])
    cands = _cands(chunk(1, "毛利率为45%。"), chunk(2, "研发投入加大。"))
    chosen = select(q, cands, np.array([0.3, 0.9]), 0.5, several_companies=False)
    assert chosen.verdict == "answered" and [c.chunk.question for c, _ in chosen.picks] == [2]
    assert select(q, cands, np.array([0.3, 0.4]), 0.5, several_companies=False).verdict == "low_confidence"
    assert select(q, [], np.zeros(0), 0.5, several_companies=False).verdict == "no_passage"
    words = _cands(chunk(1, "公司持续推进研发。"), chunk(2, "研发投入加大。"))
    assert select(q, words, np.array([0.1, 0.2]), 0.5, several_companies=False).verdict == "figure_not_given"
    # a figure of another kind (money for a share asked) is not the figure asked
    money = _cands(chunk(1, "公司收入达到12亿元。"), chunk(2, "研发投入加大。"))
    assert select(q, money, np.array([0.1, 0.2]), 0.5, several_companies=False).verdict == "figure_not_given"


def test_a_question_asking_in_a_unit_is_answered_only_by_a_passage_stating_one():
    q = analyse("示例科技的新产线设计产能是多少吨？", companies=[ACME])
    assert q.figure_asked.unit == "吨"
    on_topic = _cands(chunk(1, "新产线设计产能国内领先，预计明年投产。"), chunk(2, "新产线设计产能为每年3万吨。"))
    # the likelier passage states no tonnage: the one that does is cited, or none
    chosen = select(q, on_topic, np.array([0.9, 0.7]), 0.5, several_companies=False)
    assert chosen.verdict == "answered" and [c.chunk.question for c, _ in chosen.picks] == [2]
    assert select(q, on_topic, np.array([0.9, 0.4]), 0.5, several_companies=False).verdict == "low_confidence"
    words = on_topic[:1]
    assert select(q, words, np.array([0.9]), 0.5, several_companies=False).verdict == "figure_not_given"


def test_a_figure_asked_for_a_period_is_not_given_by_figures_of_other_periods():
    q = analyse("示例科技2023年一季度营业收入是多少？", companies=[ACME])
    # the second sentence continues the dated clause after "；": both are the full year's
    full_year = chunk(1, "2022年，公司营业收入30亿元；净利润3亿元。")
    quarter = chunk(2, "一季度营业收入8亿元。", date="2023-04-25")
    last_year = chunk(3, "2022年一季度营业收入7亿元。", date="2023-04-25")
    for other in (full_year, last_year):
        cands = _cands(other, quarter)
        assert select(q, cands, np.array([0.9, 0.7]), 0.5, several_companies=False).verdict == "figure_not_given"
    chosen = select(q, _cands(quarter, full_year), np.array([0.9, 0.7]), 0.5, several_companies=False)
    assert chosen.verdict == "answered" and [c.chunk.question for c, _ in chosen.picks] == [2]
    # a passage naming no period may be the period's
    plain = _cands(chunk(4, "营业收入8亿元，同比增长10%。", date="2023-04-25"))
    assert select(q, plain, np.array([0.9]), 0.5, several_companies=False).verdict == "answered"


def test_each_period_asked_is_answered_from_its_own_passage_when_none_answers_them_all():
    q = analyse("示例科技2023年上半年和前三季度的营业收入分别是多少？", companies=[ACME], idf=idf)
    cands = _cands(
        chunk(1, "2023年上半年，公司营业收入8亿元。", date="2023-08-20"),
        chunk(2, "2023年前三季度，公司营业收入13亿元。", date="2023-10-25"),
        chunk(3, "公司持续加大研发投入。"),
    )
    whole = np.array([0.4, 0.45, 0.1])  # neither passage answers both periods
    alone = [np.array([0.8, 0.2, 0.1]), np.array([0.3, 0.7, 0.1])]
    assert select(q, cands, whole, 0.5, several_companies=False).verdict == "low_confidence"
    chosen = select_each_period(q, cands, whole, alone, 0.5, several_companies=False)
    assert chosen.verdict == "answered" and [c.chunk.question for c, _ in chosen.picks] == [1, 2]
    # a period no passage answers alone is left out; none answered: the refusal stands
    partly = select_each_period(q, cands, whole, [alone[0], np.array([0.3, 0.4, 0.1])], 0.5, several_companies=False)
    assert [c.chunk.question for c, _ in partly.picks] == [1]
    low = [np.array([0.3, 0.2, 0.1])] * 2
    assert select_each_period(q, cands, whole, low, 0.5, several_companies=False).verdict == "low_confidence"
    # the passage likeliest to answer the whole question comes first; another period's own passage joins it
    both = select_each_period(q, cands, np.array([0.45, 0.9, 0.1]), alone, 0.5, several_companies=False)
    assert [c.chunk.question for c, _ in both.picks] == [2, 1]
    same = [np.array([0.3, 0.8, 0.1])] * 2
    assert [
        c.chunk.question for c, _ in select_each_period(q, cands, whole, same, 0.5, several_companies=False).picks
    ] == [2]


def test_a_label_beside_the_company_name_is_what_the_question_asks_about():
    def idf_of(token: str) -> float:  # the records write segment labels (XBG) and digits, not the English name
        return 5.0 if token == "\x00" or (token.isascii() and token.isalpha() and token != "xbg") else 2.0

    glossary = Glossary({**GLOSSARY.terms, "Q2": ["二季度"], "H1": ["上半年"]})

    def forms(text: str) -> set[str]:
        q = analyse(text, companies=[ACME], spelled=[("Shili", ACME)], glossary=glossary, idf=idf_of)
        assert q.organisations == ()
        return {f for c in q.concepts for f in c.forms}

    assert {"xbg", "营业收入"} <= forms("How much revenue did Shili XBG book in 2022?")
    assert {"二季度", "营业收入", "2022"} <= forms("Shili Q2 2022 revenue split")
    assert "micro" not in forms("Shili Micro Q2 2022 revenue split")


def test_analysts_period_labels_are_read_as_the_periods_they_name():
    from rag.intent import spelled_periods

    assert spelled_periods("Example Corp 1H22 revenue vs 3Q22") == "Example Corp H1 2022 revenue vs Q3 2022"
    assert spelled_periods("FY23 GPM and 1-3Q24 NP") == "full year 2023 GPM and first three quarters 2024 NP"
    assert spelled_periods("Q4'21 orders") == "Q4 2021 orders" and spelled_periods("2021年上半年") == "2021年上半年"
    glossary = Glossary({**GLOSSARY.terms, "H1": ["上半年"]})
    q = analyse("Example Corp 1H22 gross margin?", companies=[ACME], glossary=glossary, idf=idf)
    forms = {f for c in q.concepts for f in c.forms}
    assert {"上半年", "2022", "毛利率"} <= forms and "1" not in forms
    assert q.periods == ((2022, "H1"),)


def test_an_unknown_name_is_the_reason_only_when_no_company_was_resolved():
    def latin_unknown(token: str) -> float:
        return 5.0 if token == "\x00" or token.isascii() else 2.0

    cands = _cands(chunk(1, "研发投入加大。"), chunk(2, "渠道建设稳步推进。"))
    alone = analyse("What did Zeta Electronics say about channels?", glossary=GLOSSARY, idf=latin_unknown)
    assert alone.unknown_org == "Zeta"
    refused = select(alone, cands, np.array([0.2, 0.1]), 0.5, several_companies=True)
    assert refused.verdict == "company_not_indexed" and refused.details == {"name": "Zeta"}
    text = "What did 示例科技 say about its stake in Zeta Electronics?"
    beside = analyse(text, companies=[ACME], glossary=GLOSSARY, idf=latin_unknown)
    assert beside.unknown_org == "Zeta" and beside.companies == (ACME,)
    assert select(beside, cands, np.array([0.2, 0.1]), 0.5, several_companies=True).verdict == "low_confidence"


class _FixedModel:
    """Answer model stand-in: the given probabilities, one per candidate, whatever the rows."""

    threshold = 0.6

    def __init__(self, probs: list[float]):
        self.probs = np.asarray(probs)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return self.probs[: len(rows)]


def test_a_refusal_points_to_the_closest_passage_on_the_topic_without_citing_it():
    q = analyse("示例科技海外渠道建设进展如何？", companies=[ACME], idf=idf)
    cands = _cands(chunk(1, "研发投入加大。"), chunk(2, "海外渠道建设稳步推进。"), chunk(3, "分红政策不变。"))
    refused = select_each_period(q, cands, np.array([0.2, 0.4, 0.1]), [], 0.6, several_companies=False)
    assert refused.verdict == "low_confidence" and not refused.picks
    assert refused.closest is not None and refused.closest[0].chunk.question == 2 and refused.closest[1] == 0.4
    # under half the threshold nothing is on the topic; an answer cites, it points to nothing
    low = np.array([0.2, 0.25, 0.1])
    assert ON_TOPIC * 0.6 > 0.25
    assert select_each_period(q, cands, low, [], 0.6, several_companies=False).closest is None
    answered = select_each_period(q, cands, np.array([0.2, 0.7, 0.1]), [], 0.6, several_companies=False)
    assert answered.verdict == "answered" and answered.closest is None

    answerer = ExtractiveAnswerer(HashEmbedder(), model=_FixedModel([0.2, 0.4, 0.1]))  # type: ignore[arg-type]
    passages = hits(chunk(1, "研发投入加大。"), chunk(2, "海外渠道建设稳步推进。"), chunk(3, "分红政策不变。"))
    answer = answerer.answer(q, passages)
    assert answer.reason == "low_confidence" and answer.citations == []
    assert answer.closest == passages[1].chunk.citation and answer.confidence == pytest.approx(0.4)
    assert answer.text == explain("low_confidence", "zh") + "\n" + closest_line("[2024-005 Q2]", "zh")
    assert answer_to_dict(answer)["closest"]["citation"] == "[2024-005 Q2]"
    english = analyse("How is 示例科技's overseas channel build-out going?", companies=[ACME], glossary=GLOSSARY)
    assert answerer.answer(english, passages).text.endswith(closest_line("[2024-005 Q2]", "en"))
    far = ExtractiveAnswerer(HashEmbedder(), model=_FixedModel([0.2, 0.25, 0.1])).answer(q, passages)  # type: ignore[arg-type]
    assert far.closest is None and far.confidence is None and far.text == explain("low_confidence", "zh")


def test_a_refusal_for_a_company_not_indexed_points_nowhere():
    def latin_unknown(token: str) -> float:
        return 5.0 if token == "\x00" or token.isascii() else 2.0

    cands = _cands(chunk(1, "研发投入加大。"), chunk(2, "渠道建设稳步推进。"))
    q = analyse("What did Zeta Electronics say about channels?", glossary=GLOSSARY, idf=latin_unknown)
    refused = select_each_period(q, cands, np.array([0.4, 0.1]), [], 0.6, several_companies=True)
    assert refused.verdict == "company_not_indexed" and refused.closest is None


def test_a_period_not_over_by_the_newest_meeting_is_not_reported():
    q = analyse("示例科技2025年上半年营收多少？", companies=[ACME])
    one = _cands(chunk(1, "收入增长。", date="2025-04-20"))
    chosen = select(q, one, np.array([0.99]), 0.5, several_companies=False)
    assert chosen.verdict == "period_not_reported" and chosen.details["latest"] == "2025-04-20"
    assert "2025 H1" in explain(chosen.verdict, "en", **chosen.details)
    # the company's newer records could have reported it: the refusal says the passages found are older, not that
    # the records end before the period
    newer = Company(ACME.stock_code, ACME.name, ACME.short_name, latest="2026-01-20")
    found = select(
        analyse("示例科技2025年上半年营收多少？", companies=[newer]), one, [0.99], 0.5, several_companies=False
    )
    assert found.verdict == "period_not_found" and found.details["latest"] == "2025-04-20"
    assert "2025 H1" in explain(found.verdict, "en", **found.details)
    assert "2025-04-20" in explain(found.verdict, "zh", **found.details)
    # a period after the company's newest meeting is not reported, named with that meeting's date
    beyond = select(
        analyse("示例科技2026年上半年营收多少？", companies=[newer]), one, [0.99], 0.5, several_companies=False
    )
    assert beyond.verdict == "period_not_reported" and beyond.details["latest"] == "2026-01-20"
    # a question asking for several periods is refused when one of them is not in the passages found
    both = analyse("示例科技2024年全年和2025年上半年的营收分别是多少？", companies=[newer])
    assert set(both.dated) == {(2024, "FY"), (2025, "H1")}
    assert [sub.dated for sub in both.per_period] == [(p,) for p in both.periods]
    assert select(both, one, [0.99], 0.5, several_companies=False).verdict == "period_not_found"
    # passages of undated meetings say nothing of when the records end
    undated = _cands(chunk(1, "收入增长。", date=""))
    assert select(q, undated, np.array([0.99]), 0.5, several_companies=False).verdict == "answered"
    # a plan for that period may be stated before it ends
    plan = analyse("示例科技2025年上半年的营收目标是多少？", companies=[ACME])
    one = _cands(chunk(1, "目标增长10%。", date="2025-04-20"))
    assert select(plan, one, np.array([0.99]), 0.5, several_companies=False).verdict == "answered"


def test_a_question_naming_no_company_is_answered_per_company_or_asked_back():
    q = analyse("毛利率是多少？")
    spread = [chunk(1, "毛利率为45%。", code=f"30000{i}", short=f"公司{i}") for i in range(1, 6)]
    cands = _cands(*spread)
    two = select(q, cands, np.array([0.9, 0.8, 0.1, 0.1, 0.1]), 0.5, several_companies=True)
    assert two.verdict == "answered" and two.per_company and len(two.picks) == 2
    many = select(q, cands, np.full(5, 0.9), 0.5, several_companies=True)
    assert many.verdict == "ambiguous_company" and len(many.details["companies"].split("、")) == 5 > MAX_COMPANIES
    assert select(q, cands, np.full(5, 0.9), 0.5, several_companies=False).verdict == "answered"


def test_a_second_passage_only_for_another_period_asked_about():
    q = analyse("示例科技2024年上半年和2024年前三季度的毛利率分别是多少？", companies=[ACME])
    h1 = chunk(1, "上半年毛利率45%。", record="2024-005", date="2024-08-30")
    same = chunk(2, "上半年毛利率略升。", record="2024-005", date="2024-08-30")
    nine = chunk(3, "前三季度毛利率44%。", record="2024-007", date="2024-10-30")
    chosen = select(q, _cands(h1, same, nine), np.array([0.9, 0.85, 0.8]), 0.5, several_companies=False)
    assert [c.chunk.question for c, _ in chosen.picks] == [1, 3]
    plain = analyse("示例科技2024年上半年的毛利率是多少？", companies=[ACME])
    single = select(plain, _cands(h1, same, nine), np.array([0.9, 0.85, 0.8]), 0.5, several_companies=False)
    assert len(single.picks) == 1


def test_every_verdict_has_words_in_both_languages():
    for verdict in VERDICTS:
        zh = explain(verdict, "zh", period="2025 H1", latest="x", companies="A、B", name="X")
        en = explain(verdict, "en")
        assert (zh and en) or verdict == "answered"


# --------------------------------------------------------------------------------------------- rendering


def test_quotes_put_the_sentence_with_the_figure_first_and_keep_passage_order():
    q = analyse("示例科技上半年毛利率是多少？", companies=[ACME], idf=idf)
    cand = _cands(chunk(1, "公司重视毛利率管理。上半年毛利率为45.2%，同比提升2个百分点。其他业务稳定。"))[0]
    said = quotes(q, cand, 1)
    assert [s.text for s in said] == ["上半年毛利率为45.2%，同比提升2个百分点。"]


def test_quotes_take_the_sentence_stating_the_figure_over_the_one_naming_the_period():
    # the period's words weigh more than the measure's (they are rarer), as in a real index
    def rare_periods(token: str) -> float:
        return 4.0 if "季" in token or any(ch.isdigit() for ch in token) else idf(token)

    q = analyse("示例科技2023年前三季度营业收入是多少？", companies=[ACME], idf=rare_periods)
    body = "2023年前三季度，行业需求较为疲软；报告期内，公司实现营业收入88.6亿元，同比增长4.2%；"
    said = quotes(q, _cands(chunk(1, body))[0], 1)
    assert [s.text for s in said] == ["报告期内，公司实现营业收入88.6亿元，同比增长4.2%；"]


def test_quotes_take_the_figure_stated_beside_the_measure_asked():
    # the net profit is named by two sentences; only one states the net profit's own figure
    q = analyse("示例科技2024年净利润是多少？", companies=[ACME], idf=idf)
    body = (
        "净利润下降的原因主要是原材料涨价，对净利润影响较大。"
        "所得税费用同比减少830.5万元，对本期净利润有积极影响。"
        "全年实现净利润2,150.6万元。"
    )
    assert [s.text for s in quotes(q, _cands(chunk(1, body))[0], 1)] == ["全年实现净利润2,150.6万元。"]


def test_quotes_take_a_duration_when_the_question_asks_how_long():
    # "3-4年" is no figure of figures() (a year is mostly a date), but it is the time asked
    q = analyse("示例科技的新品导入周期要多久？", companies=[ACME], idf=idf)
    body = "各家客户对新品导入周期的要求并不一样。一般需要3-4年，主要取决于客户的验证流程。"
    said = quotes(q, _cands(chunk(1, body))[0], 2)
    assert [s.text for s in said] == [
        "各家客户对新品导入周期的要求并不一样。",
        "一般需要3-4年，主要取决于客户的验证流程。",
    ]


def test_english_lead_states_only_what_the_quoted_sentence_says():
    q = analyse("What was Acme's gross margin in H1 2024?", glossary=GLOSSARY, idf=idf)
    lead = english_lead(q, [Quote("2024年上半年，公司毛利率为45.2%，同比提升。")], "[示例科技 2024-005 Q1]", GLOSSARY)
    assert lead == "Gross margin (H1 2024): 45.2% [示例科技 2024-005 Q1]"
    assert english_lead(q, [Quote("公司毛利率保持稳定。")], "[k]", GLOSSARY) == ""  # no figure: no lead
    revenue = analyse("How much revenue did Acme make in 2024?", glossary=GLOSSARY, idf=idf)
    line = english_lead(revenue, [Quote("2024年公司实现营业收入12.5亿元。")], "[k]", GLOSSARY)
    assert line == "Revenue (FY 2024): 12.5亿元 (× 100 million yuan) [k]"


def test_english_lead_takes_the_figure_of_the_measure_and_change_asked():
    glossary = Glossary(
        {
            "overseas": ["海外", "境外"],
            "revenue": ["营业收入", "收入", "营收"],
            "growth": ["增长", "增速"],
            "grow": ["增长"],
            "increase": ["增长", "增加", "提升"],
            "decline": ["下降", "下滑"],
            "year on year": ["同比"],
            "h1": ["上半年"],
            "gross margin": ["毛利率"],
            "share": ["占比", "份额"],
        }
    )
    said = [
        Quote("国内业务方面，上半年营收总和18.9亿元，比上年同期下降0.3%。"),
        Quote("境外业务方面，上半年实现营收11.4亿元，同比增长15.5%，海外收入占比约28%。"),
    ]
    q = analyse("How fast did Acme's overseas revenue grow in H1 2024?", glossary=glossary, idf=idf)
    assert english_lead(q, said, "[k]", glossary) == "Overseas revenue (H1 2024): growth 15.5% year on year [k]"
    level = analyse("How much overseas revenue did Acme make in H1 2024?", glossary=glossary, idf=idf)
    assert english_lead(level, said, "[k]", glossary) == "Overseas revenue (H1 2024): 11.4亿元 (× 100 million yuan) [k]"
    # 增加至: increased to a level, which the figure is
    margin = analyse("What was Acme Robotics' gross margin in H1 2024?", glossary=glossary, idf=idf)
    assert margin.asks_figure
    lead = english_lead(margin, [Quote("公司整体毛利率增加至70.3%。")], "[k]", glossary)
    assert lead == "Gross margin (H1 2024): 70.3% [k]"


def test_render_in_each_language_and_per_company():
    q = analyse("What was Acme's gross margin in H1 2024?", glossary=GLOSSARY, idf=idf)
    cand = _cands(chunk(1, "2024年上半年，公司毛利率为45.2%。"))
    text = render(q, [cand[0]], with_company=True, per_company=False, glossary=GLOSSARY)
    lines = text.split("\n")
    assert lines[0].startswith("Gross margin (H1 2024): 45.2%") and lines[1] == EN_LEAD
    assert lines[2] == "- “2024年上半年，公司毛利率为45.2%。” [示例科技 2024-005 Q1]"
    zh = analyse("毛利率是多少？", idf=idf)
    two = _cands(chunk(1, "毛利率为45%。"), chunk(1, "毛利率为30%。", code="300002", short="另一家"))
    text = render(zh, two, with_company=True, per_company=True, glossary=None)
    assert text.split("\n") == [
        "示例科技：毛利率为45%。[示例科技 2024-005 Q1]",
        "另一家：毛利率为30%。[另一家 2024-005 Q1]",
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refusal_words_say_why(lang):
    assert explain("company_not_indexed", lang, name="Zeta") != explain("low_confidence", lang)
    assert "Zeta" in explain("company_not_indexed", lang, name="Zeta")
    assert "irchat alias" in explain("company_not_indexed", lang, name="Zeta")  # how to name an indexed company


def test_english_lead_never_labels_a_figure_of_another_period_with_the_period_asked():
    q = analyse("What was Acme's revenue in H1 2025?", glossary=GLOSSARY, idf=idf)
    said = [Quote("公司2024年营业收入为50.1亿元。"), Quote("2025年上半年，公司实现营业收入30.2亿元，同比增长8.4%；")]
    assert english_lead(q, said, "[k]", GLOSSARY) == "Revenue (H1 2025): 30.2亿元 (× 100 million yuan) [k]"
    assert english_lead(q, said[:1], "[k]", GLOSSARY) == ""  # 2024's revenue is not H1 2025's
    # a sentence naming no period is the passage's own: it may still answer
    assert "12.5亿元" in english_lead(q, [Quote("公司实现营业收入12.5亿元。")], "[k]", GLOSSARY)


def test_english_lead_keeps_a_range_whole_and_reads_a_measure_by_its_full_name():
    glossary = Glossary(
        {
            "net profit": ["净利润"],
            "shareholders": ["股东"],
            "listing": ["上市"],
            "growth": ["增长"],
            "year on year": ["同比"],
            "h1": ["上半年"],
        }
    )
    said = [Quote("预计2025年上半年归属于上市公司股东的净利润为8-9亿元，同比增长120.5%-150.2%。")]
    level = analyse("What was Acme's net profit in H1 2025?", glossary=glossary, idf=idf)
    # the words before 净利润 are its full name, not other measures; the range is given as printed
    assert english_lead(level, said, "[k]", glossary) == "Net profit (H1 2025): 8-9亿元 (× 100 million yuan) [k]"
    change = analyse("How much did Acme's net profit grow in H1 2025?", glossary=glossary, idf=idf)
    assert "120.5%-150.2%" in english_lead(change, said, "[k]", glossary)


def test_english_lead_does_not_give_a_share_of_an_amount_as_the_amount():
    glossary = Glossary(
        {"net profit": ["净利润"], "dividend": ["分红", "现金红利"], "share": ["占比"], "attributable": ["归母"]}
    )
    said = [Quote("派发的现金红利总额为12亿元，占2024年净利润的40.5%。")]
    amount = analyse("What was Acme's net profit in 2024?", glossary=glossary, idf=idf)
    assert english_lead(amount, said, "[k]", glossary) == ""  # the sentence gives no net profit
    assert english_lead(amount, [Quote("回报合计超过2024年净利润的70%。")], "[k]", glossary) == ""
    share = analyse("What share of Acme's 2024 net profit was paid as dividends?", glossary=glossary, idf=idf)
    assert "40.5%" in english_lead(share, said, "[k]", glossary)
    # the share is preferred to an amount of the same sentence when a share is asked, the measure written short
    both = [Quote("2024年每10股派发现金红利3元，合计12亿元，占2024年归母净利润的40.5%。")]
    assert english_lead(share, both, "[k]", glossary).endswith(": 40.5% [k]")


def test_a_figure_is_judged_on_the_words_of_its_own_clause():
    # One sentence names the measure asked (净利润) and states a figure of another (订单金额): the sentence holds the
    # question, the figure's clause does not. A change ("增长12%") is of the measure the clause before it names.
    q = analyse("示例科技去年净利润是多少？", companies=[ACME], idf=idf)
    other = chunk(1, "公司去年订单金额为5.2亿元，净利润有所改善。")
    given = chunk(2, "公司去年净利润为1.3亿元，同比增长12%。")
    cands = candidates(hits(other, given))
    col = {name: featurize(q, cands, Vectors.of(HashEmbedder(), q, cands))[:, i] for i, name in enumerate(FEATURES)}
    assert col["cov_figure_sentence"][0] == col["cov_figure_sentence"][1] > 0.0
    assert col["cov_figure_clause"][1] > col["cov_figure_clause"][0]
    assert figure_clauses("收入为1,200万元，同比增长12%；其他") == ["收入为1,200万元", "收入为1,200万元，同比增长12%"]


def test_quotes_leave_out_the_sentences_of_another_period_and_keep_a_continued_clause():
    q = analyse("示例科技2025年上半年营业收入和净利润增长多少？", companies=[ACME], idf=idf)
    body = (
        "2024年，公司实现营业收入50.1亿元，同比增长7.2%；公司实现净利润6.5亿元，同比增长30.1%。"
        "2025年上半年，公司实现营业收入28.3亿元，同比增长12.4%；公司实现净利润3.2亿元，同比增长18.8%。"
    )
    said = quotes(q, _cands(chunk(1, body))[0], 3)
    # the profit clause after "；" is the first half's, as its dated clause before it is
    assert [s.text for s in said] == [
        "2025年上半年，公司实现营业收入28.3亿元，同比增长12.4%；",
        "公司实现净利润3.2亿元，同比增长18.8%。",
    ]
    assert said[1].context == frozenset({"Y2025", "H1"})
    # a period named without its year ("去年下半年") says nothing of the clause after it
    yearless = "储能业务受去年下半年以来价格上涨的影响；公司实现净利润3.2亿元，同比增长18.8%。"
    assert "公司实现净利润3.2亿元，同比增长18.8%。" in [s.text for s in quotes(q, _cands(chunk(1, yearless))[0], 2)]


def test_english_lead_reads_a_figure_in_the_period_its_clause_continues():
    glossary = Glossary({"revenue": ["营业收入"], "growth": ["增长"], "grow": ["增长"], "year on year": ["同比"]})
    q = analyse("Acme H1 2025 revenue growth rate?", glossary=glossary, idf=idf)
    of_2024 = Quote("营业收入同比增长7.2%。", frozenset({"Y2024"}))
    assert english_lead(q, [of_2024], "[k]", glossary) == ""  # 2024's growth is not the first half's
    of_h1 = Quote("营业收入同比增长12.4%。", frozenset({"Y2025", "H1"}))
    assert english_lead(q, [of_2024, of_h1], "[k]", glossary) == "Revenue (H1 2025): growth 12.4% year on year [k]"


def test_a_record_field_is_quoted_whole_whatever_its_template_calls_it():
    text = (
        "示例科技股份有限公司（300001）\n投资者关系活动记录表 编号：2024-005\n活动类别：业绩说明会\n"
        "时间：2024年4月20日\n上市公司接待人员姓名：董事长 张三先生\n财务总监 李四女士\n董事会秘书：王五先生\n"
        "问答：3个问题"
    )
    assert record_fields(text)[1:3] == ["投资者关系活动记录表 编号：2024-005", "活动类别：业绩说明会"]
    hosts = "上市公司接待人员姓名：董事长 张三先生 财务总监 李四女士 董事会秘书：王五先生"  # a host's own colon
    assert hosts in record_fields(text)
    q = analyse("示例科技业绩说明会上公司由谁接待？", companies=[ACME], idf=idf)
    assert q.metadata == ("接待人员",)
    record = Chunk(**{**chunk(1, "").__dict__, "kind": "record", "text": text, "question": None})
    assert [s.text for s in quotes(q, _cands(record)[0], 1)] == [hosts]


def test_a_long_field_is_cut_around_the_name_asked_not_before_it():
    guests = (
        "参与单位名称及人员姓名：" + "".join(f"甲{i:02d}资本 某某 " for i in range(40)) + "乙方投资 王某 丙方基金 李某"
    )
    text = f"示例科技股份有限公司（300001）\n活动类别：特定对象调研\n{guests}\n问答：3个问题"
    q = analyse("示例科技调研的参与单位里有乙方投资吗？", companies=[ACME], idf=idf)
    record = Chunk(**{**chunk(1, "").__dict__, "kind": "record", "text": text, "question": None})
    said = [s.text for s in quotes(q, _cands(record)[0], 1)]
    assert len(said) == 1 and len(said[0]) <= 220
    # the field's label is kept, then the part of the list holding the name asked
    assert said[0].startswith("参与单位名称及人员姓名：甲00资本") and "乙方投资 王某" in said[0]
    # a sentence whose asked words are all within the first 220 characters is cut as before
    assert clip("示例" * 200, around=[(1.0, ("示例",))]) == "示例" * 109 + "示…"


def test_english_lead_of_a_question_asking_two_periods_names_the_figures_own():
    glossary = Glossary({"gross margin": ["毛利率"], "revenue": ["营业收入"]})
    q = analyse("Acme gross margin: 2021 versus 2022?", glossary=glossary, idf=idf)
    assert len(q.periods) == 2
    lead = english_lead(q, [Quote("2021年，公司毛利率为38.2%。")], "[k]", glossary)
    assert lead == "Gross margin (FY 2021): 38.2% [k]"
    # a figure whose sentence names no period is labelled with none of the two
    assert english_lead(q, [Quote("公司毛利率为38.2%。")], "[k]", glossary) == "Gross margin: 38.2% [k]"
