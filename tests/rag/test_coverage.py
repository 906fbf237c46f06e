import json
import math
from importlib import resources

from rag.coverage import coverage, query_terms, question_concepts
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


def _idf():
    index = LexicalIndex.build(DOCS)
    return index.idf


def test_company_names_go_before_question_words_are_cut():
    idf = _idf()
    known = lambda t: idf(t) < idf("\x00")  # noqa: E731
    terms = query_terms("美的的分红政策是什么？", "美的的分红政策是什么？", known, ["美的"])
    assert "分红" in terms and "美" not in terms  # the 的 of 美的 is not a question word
    # A character pair across two words that no passage has (度营 of 一季度营收) is not a term.
    assert "度营" not in query_terms("海康一季度营收多少", "海康一季度营收多少", known, ["海康"])


def test_english_names_are_capitalised_words_inside_a_sentence():
    idf = _idf()
    known = lambda t: idf(t) < idf("\x00")  # noqa: E731
    terms = query_terms("Overseas revenue of Dahua in April?", "Overseas revenue of Dahua in April?", known)
    assert "dahua" in terms and "overseas" not in terms and "april" not in terms


def test_glossary_terms_are_one_concept_each():
    from rag.coverage import concept_coverage, question_concepts
    from rag.glossary import Glossary

    idf = _idf()
    glossary = Glossary({"revenue": ["营业收入", "收入"], "gross margin": ["毛利率"], "overseas": ["境外", "海外"]})
    concepts = question_concepts(
        "What was overseas revenue?", "What was overseas revenue? 营业收入 收入 境外", idf, (), glossary
    )
    # each rendering with the records' words for the same thing (question_words.json synonyms)
    assert sorted(c.forms for c in concepts) == [("境外", "海外"), ("营业收入", "收入", "营业总收入", "营收")]
    assert concept_coverage(concepts, DOCS[0][1]) == 1.0  # 境外 ... 收入: each concept by one rendering
    assert concept_coverage(concepts, DOCS[1][1]) == 0.0
    margin = question_concepts("gross margin and dividend", "", idf, (), glossary)
    assert [c.forms for c in margin] == [("毛利率",)]  # "dividend" is unknown English, not a name


def test_unknown_organisation():
    from rag.coverage import unknown_organisation
    from rag.glossary import Glossary

    idf = _idf()
    assert unknown_organisation("格力电器去年派息总额是多少？", idf) == "格力"
    assert unknown_organisation("What did Dahua Technology say?", idf) == "Dahua"
    assert unknown_organisation("美的集团的分红政策？", idf, ["美的集团", "美的"]) == ""
    assert unknown_organisation("海康威视的创新业务收入？", idf) == ""  # the corpus has 海康威视
    # A question opening with a time frame has its subject after it.
    assert unknown_organisation("截至2024年5月，海康威视的创新业务收入？", idf) == ""
    assert unknown_organisation("截至2024年5月，格力电器分红多少？", idf) == "格力"
    assert unknown_organisation("截至2024年5月，格力分红多少？", idf) == "格力"
    assert unknown_organisation("关于格力的分红政策？", idf) == "格力"
    g = Glossary({"digital": ["数字化"]})
    assert unknown_organisation("What does Hikvision Digital Technology say?", idf, ["Hikvision"], g) == ""


def test_a_place_is_no_organisation():
    from rag.coverage import named_organisations, proper_names, unknown_organisation

    idf = _idf()
    assert proper_names("Did Swiss investors meet the team?") == []
    assert proper_names("When did the Thailand plant start production?") == []
    assert named_organisations("How big is Dongguan's share of output?") == []
    assert unknown_organisation("What were the company's Middle East sales?", idf) == ""
    # a company named beside a place is still one
    assert proper_names("Did Zeta ship to Vietnamese customers?") == ["Zeta"]
    assert unknown_organisation("What are Zeta Electronics' Mexican plans?", idf) == "Zeta"


def test_currencies_figures_with_letters_and_acronym_plurals_are_no_names():
    from rag.coverage import proper_names

    assert proper_names("How much, in RMB, did Zeta invest? And in USD?") == ["Zeta"]
    assert proper_names("How fast did sales of 25G-and-faster lasers grow at Zeta?") == ["Zeta"]
    # the plural of an acronym is the acronym the records write (ASIC), so the index can say whether it knows it
    assert proper_names("How many ASICs did Zeta tape out?") == ["ASIC", "Zeta"]


def test_chemical_formulas_and_smaller_places_are_no_names():
    from rag.coverage import is_formula, proper_names, unknown_organisation

    idf = _idf()
    assert proper_names("Does Zeta sell GaN and SiC wafers, or LiFePO4 cells?") == ["Zeta"]
    assert [w for w in ("InP", "Al2O3", "HfO2", "CNC", "ASIC", "Hon", "Co") if is_formula(w)] == [
        "InP",
        "Al2O3",
        "HfO2",
    ]
    # a county, a foreign state's city and a port the dictionary names as places (rag/data/place_names.txt)
    assert proper_names("Did Zeta open plants in Hunchun, Kuching and Rostock?") == ["Zeta"]
    assert unknown_organisation("How big is the Hunchun project of Zeta Technology?", idf) == "Zeta"
    # a listed company's brand word that the dictionary also names as a place stays a possible name (Tongwei)
    assert proper_names("What did Tongwei say about Zeta?") == ["Tongwei", "Zeta"]


def test_unknown_organisation_before_a_possessive():
    from rag.coverage import unknown_organisation

    idf = _idf()
    assert unknown_organisation("Has Haier Smart Home's management given a sales outlook?", idf) == "Haier"
    # Known names, question words and places before 's are no organisation.
    assert unknown_organisation("What is Midea's revenue?", idf, ["Midea"]) == ""
    assert unknown_organisation("What's China's share of revenue?", idf) == ""


def test_a_rendering_no_passage_writes_weighs_as_an_unknown_word():
    from rag.coverage import question_concepts
    from rag.glossary import Glossary

    idf = _idf()
    unknown = idf("\x00")
    glossary = Glossary({"capex": ["资本开支"], "revenue": ["收入"]})
    # 资本 and 开支 may each be common, but 本开 is in no passage: 资本开支 never is either.
    docs = [*DOCS, ("d", "公司资本充足，费用开支可控。")]
    idf = LexicalIndex.build(docs).idf
    weights = {c.forms[:1]: c.weight for c in question_concepts("Midea capex and revenue", "", idf, (), glossary)}
    assert weights[("资本开支",)] == idf("\x00") and weights[("收入",)] < idf("\x00")
    assert unknown > 0


def test_named_organisations_and_the_possessive_of_a_known_name():
    from rag.coverage import named_organisations, question_concepts

    # TCL is written in the records (a rival) but is no indexed company: still an organisation named.
    assert named_organisations("Does TCL Technology's new fab change the competition?", ["Hikvision"]) == ["TCL"]
    assert named_organisations("What was Hikvision's revenue in 2024?", ["Hikvision"]) == []
    # The "s" of a known name's possessive is no concept of the question (it weighed as an unknown word).
    concepts = question_concepts("What was Hikvision's revenue in 2024?", "revenue 营收", _idf(), ["Hikvision"])
    assert concepts and not any("s" in c.forms for c in concepts)


def test_synonyms_join_the_forms_of_a_concept():
    from rag.coverage import concept_coverage, question_concepts

    idf = LexicalIndex.build([("a", "价格战 价格竞争 行业"), ("b", "公司 业务")]).idf
    concepts = question_concepts("会不会出现价格战？", "会不会出现价格战？", idf)
    war = next(c for c in concepts if "价格战" in c.forms)
    assert "价格竞争" in war.forms
    assert concept_coverage([war], "确实存在进入者增多、价格竞争的情况") == 1.0
    # 同比 is what a report writes as 比上年同期 / 较去年同期
    concepts = question_concepts("净利润同比增长多少？", "净利润同比增长多少？", idf)
    yoy = next(c for c in concepts if "同比" in c.forms)
    assert concept_coverage([yoy], "净利润比上年同期增长12%") == 1.0


def test_a_plural_of_a_glossary_term_is_rendered_not_a_concept_of_its_own():
    from rag.coverage import question_concepts
    from rag.glossary import Glossary

    # the index holds "investors" in Latin letters (a fund's name): the question's plural is still the rendered key
    idf = LexicalIndex.build([("a", "投资者 交流"), ("b", "Global Investors Fund 参会")]).idf
    concepts = question_concepts("What did investors ask?", "", idf, (), Glossary({"investor": ["投资者"]}))
    assert [c.forms for c in concepts] == [("投资者",)]


def test_an_english_rendering_takes_the_records_other_words_for_it():
    from rag.coverage import concept_coverage, form_weight, question_concepts
    from rag.glossary import Glossary

    idf = _idf()
    glossary = Glossary({"operating revenue": ["营业收入"], "dividend payout": ["派息"]})
    concepts = question_concepts("What operating revenue and dividend payout were reported?", "", idf, (), glossary)
    revenue = next(c for c in concepts if "营业收入" in c.forms)
    # a Chinese question saying 营业收入 is answered by 营业总收入 or 营收; so is its English rendering
    assert concept_coverage([revenue], "本季度实现营业总收入120.5亿元") == 1.0
    assert concept_coverage([revenue], "本季度营收同比增长12%") == 1.0
    payout = next(c for c in concepts if "派息" in c.forms)
    assert concept_coverage([payout], "公司拟每10股派发现金红利3元") == 1.0
    # the weight stays the rendering's own: the group's commoner words do not make the concept lighter
    assert revenue.weight == form_weight("营业收入", idf) > form_weight("收入", idf)
    assert concept_coverage([revenue], "毛利率下降") == 0.0


def test_the_shipped_glossary_reads_bottoming_out_and_quarter_codes():
    from rag.coverage import concept_coverage, question_concepts
    from rag.glossary import default_glossary

    idf = LexicalIndex.build([("a", "Q3是否已经是压力最大的一个季 探底反弹"), ("b", "第三季度营业收入")]).idf
    concepts = question_concepts("Was Q3 the low point?", "", idf, (), default_glossary())
    # The record writes "Q3" and "探底" where the question says "Q3" and "low point".
    assert concept_coverage(concepts, "Q3是否已经是压力最大的一个季，希望实现探底反弹") == 1.0
    assert concept_coverage(concepts, "第三季度营业收入") == 0.5


def test_how_many_of_a_thing_is_answered_by_a_number_of_it():
    from rag.coverage import concept_coverage, question_concepts

    idf = LexicalIndex.build([("a", "三层架构 好几年"), ("b", "公司 业务 模型")]).idf
    question = "大模型为什么要分成好几层？"
    layers = next(c for c in question_concepts(question, question, idf) if "几层" in c.forms)
    assert concept_coverage([layers], "观澜大模型包括三层架构") == 1.0
    assert concept_coverage([layers], "包括2层结构") == 1.0
    # "好几" alone is "several" of anything.
    assert concept_coverage([layers], "观澜大模型我们已做了好几年") == 0.0
    # 几十 is a magnitude, not a count of tens.
    orders = question_concepts("拿到了好几十亿的订单？", "拿到了好几十亿的订单？", idf)
    assert not any("三十" in c.forms for c in orders)


def test_a_character_pair_straddling_two_words_is_not_a_concept():
    # every pair occurs somewhere in the corpus (idf known): 外收 of 境外|收入 still asks about nothing
    question = "示例科技一季度境外收入增长了多少？"
    concepts = question_concepts(question, question, _known, ["示例科技"])
    forms = {f for c in concepts for f in c.forms}
    assert {"一季度", "境外", "收入", "增长"} <= forms
    assert not {"度境", "外收", "入增"} & forms


def test_which_when_and_why_ask_and_are_no_topic_a_passage_must_hold():
    # the answer says the year, the customer, the cause: never 哪年, 哪家, 为何, 有何 themselves
    forms = lambda q: {f for c in question_concepts(q, q, _known, ["示例科技"]) for f in c.forms}  # noqa: E731
    assert forms("示例科技的固态电池哪年量产？") >= {"电池", "量产"}
    assert not {"哪年", "年量"} & forms("示例科技的固态电池哪年量产？")
    assert not {"哪一", "一类", "哪一类"} & forms("示例科技的存货主要是哪一类原料？")
    assert "原料" in forms("示例科技的存货主要是哪一类原料？")
    assert not {"哪家", "何时", "为何", "有何", "何展"} & (
        forms("示例科技的海外客户是哪家？何时签约？") | forms("示例科技为何调价，对明年有何展望？")
    )
    assert {"客户", "签约", "调价", "展望"} <= forms("示例科技的海外客户是哪家？何时签约？") | forms(
        "示例科技为何调价，对明年有何展望？"
    )


def _known(token: str) -> float:
    return 5.0 if token == "\x00" else 2.0


def test_a_period_label_is_no_concept_but_a_product_code_is():
    index = LexicalIndex.build([*DOCS, ("d", "公司H100服务器出货增长。")])
    known = lambda t: index.idf(t) < index.idf("\x00")  # noqa: E731
    terms = query_terms("Gross margin in FY2025 and 1H24?", "Gross margin in FY2025 and 1H24? 毛利率", known)
    assert "毛利率" in terms and not {"fy2025", "1h24"} & terms
    assert "h100" in query_terms("H100 shipments?", "H100 shipments? 出货", known)


def test_the_question_word_file_says_where_its_words_come_from_and_holds_each_word_once():
    table = json.loads((resources.files("rag") / "data" / "question_words.json").read_text(encoding="utf-8"))
    assert "no company's" in table["_comment"]
    for words in (table["question_words"]["zh"], table["question_words"]["en"], table["date_words"]):
        assert words and len(set(words)) == len(words)
    groups = [g.split() for g in table["synonyms"]]
    assert all(len(g) >= 2 for g in groups)
    # a word in two groups would join them: one group each
    assert len({w for g in groups for w in g}) == sum(len(g) for g in groups)
