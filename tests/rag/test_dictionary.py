"""The English-Chinese dictionary for question words the glossary lacks, and the script that writes its data."""

from __future__ import annotations

from rag.answering.question import analyse
from rag.dictionary import Dictionary, default_dictionary, read_entries
from rag.glossary import Glossary
from tests.conftest import load_script

BOOK = Dictionary({"register": ["登记", "注册", "报名"], "order": ["命令", "订单"], "user": ["用户"]})


def _used(*words: str):
    """An idf over passages that use ``words`` (earlier ones more often) and nothing else."""

    def idf(token: str) -> float:
        return float(words.index(token) + 1) if token in words else 9.0

    return idf


def test_a_word_is_looked_up_under_its_singular_or_bare_form():
    assert BOOK.lookup("Orders") == ["命令", "订单"]
    assert BOOK.lookup("registered") == BOOK.lookup("registering") == ["登记", "注册", "报名"]
    assert BOOK.lookup("users") == ["用户"] and BOOK.lookup("wafer") == []


def test_only_renderings_the_records_use_are_kept_most_used_first():
    idf = _used("订单", "注册")
    assert BOOK.renderings("orders", idf, 9.0) == ["订单"]  # 命令 ("command") is never written in the records
    assert BOOK.renderings("registered", idf, 9.0) == ["注册"]
    assert BOOK.renderings("users", idf, 9.0) == []


def test_an_english_question_searches_the_records_words_for_words_the_glossary_lacks():
    glossary = Glossary({"revenue": ["营业收入"]})
    idf = _used("营业收入", "订单", "用户", "注册")
    q = analyse(
        "How many registered users and new orders did Zeta report?",
        glossary=glossary,
        idf=idf,
        dictionary=lambda: BOOK,
    )
    searched = q.lexical_text.split()
    assert {"订单", "注册", "用户"} <= set(searched) and "命令" not in searched
    assert not any("订单" in c.forms for c in q.concepts)  # searched for, not required of a passage
    # a glossary term is rendered by the glossary alone; a Chinese question is not looked up
    plain = analyse("What was revenue?", glossary=glossary, idf=idf, dictionary=lambda: BOOK)
    assert plain.lexical_text.split()[3:] == ["营业收入"]
    zh = analyse("订单多少？", glossary=glossary, idf=idf, dictionary=lambda: BOOK)
    assert zh.lexical_text == "订单多少？"


def test_a_capitalised_name_is_a_concept_in_the_chinese_the_records_write_it_in():
    book = Dictionary({"order": ["订单"], "zeta": ["泽塔"], "thailand": ["泰国"]})
    idf = _used("订单", "泰国", "zeta")
    q = analyse(
        "Did Zeta report orders from its Thailand plant?", glossary=Glossary({}), idf=idf, dictionary=lambda: book
    )
    concepts = {c.forms[0]: c for c in q.concepts}
    # the records never write "Thailand": a passage saying 泰国 speaks of it, and it is searched so
    assert concepts["thailand"].forms == ("thailand", "泰国") and concepts["thailand"].weight == 2.0
    assert "泰国" in q.lexical_text.split()
    # the records write "Zeta" as it is: its dictionary sense (a Greek letter) is not looked up
    assert concepts["zeta"].forms == ("zeta",) and "泽塔" not in q.lexical_text


def test_an_everyday_word_a_few_passages_hold_in_latin_letters_is_also_present_in_chinese():
    # "value" is in the index only through a fund's name in a participants list: as a concept of that form alone,
    # no passage speaking of 价值 held it
    book = Dictionary({"value": ["价值"], "zeta": ["泽塔"]})
    idf = _used("价值", "value", "zeta")
    q = analyse("What is the value of Zeta's new plant?", glossary=Glossary({}), idf=idf, dictionary=lambda: book)
    concepts = {c.forms[0]: c for c in q.concepts}
    assert concepts["value"].forms == ("value", "价值") and concepts["value"].weight == 1.0
    # a capitalised word the records hold is a name as written
    assert concepts["zeta"].forms == ("zeta",)


def test_the_shipped_dictionary_reads():
    book = default_dictionary()
    assert len(book) > 10_000
    assert "订单" in book.lookup("orders") and "晶圆" in book.lookup("wafer")
    assert book.lookup("still") == []  # an English function word says how a question asks, not what about


def test_the_script_keeps_words_of_each_gloss_commonest_first(tmp_path):
    script = load_script("cedict")
    text = "\n".join(
        [
            "# CC-CEDICT",
            "訂單 订单 [ding4 dan1] /(purchase) order/",
            "命令 命令 [ming4 ling4] /order/command/CL:道[dao4]/",
            "註冊 注册 [zhu4 ce4] /to register/to enroll/",
            "仍 仍 [reng2] /still/",
            "仍然 仍然 [reng2 ran2] /still/yet/",
            "訂 订 [ding4] /to order/",
            "訂单 订单 [ding4 dan1] /variant of 訂單|订单/",
        ]
    )
    table = script.entries(text, {"订单": 50, "命令": 900, "注册": 80, "仍然": 999}, frozenset({"still", "yet"}))
    assert table["order"] == ["命令", "订单"]  # commonest first; the one-character 订 is not a word here
    assert table["register"] == ["注册"] and table["enroll"] == ["注册"]
    assert "still" not in table and "command" in table
    out = tmp_path / "d.tsv"
    out.write_text("# comment\norder\t命令 订单\n", encoding="utf-8")
    assert read_entries(out.read_text(encoding="utf-8").splitlines()) == {"order": ["命令", "订单"]}


def test_the_script_reads_place_names_but_not_ordinary_words_or_brands():
    script = load_script("cedict")
    text = "\n".join(
        [
            "# CC-CEDICT",
            "琿春 珲春 [Hun2 chun1] /Hunchun county-level city in Yanbian 延边[Yan2 bian1], Jilin/",
            "沙撈越 沙捞越 [Sha1 lao1 yue4] /Sarawak (state in Malaysia)/",
            "延邊 延边 [Yan2 bian1] /Yanbian, autonomous prefecture in Jilin/",
            "金山 金山 [Jin1 shan1] /Golden Hill, district of Shanghai/",
            "中山 中山 [Zhong1 shan1] /Zhongshan prefecture-level city in Guangdong/",
            "金色 金色 [jin1 se4] /golden/",
            "容 容 [Rong2] /Rong county/",
            "广州日报 广州日报 [Guang3 zhou1 Ri4 bao4] /Guangzhou Daily/",
        ]
    )
    # "golden" is written in lower case elsewhere, "rong" is a syllable, Zhongshan a listed company's brand
    assert script.place_words(text, frozenset({"zhongshan"}), frozenset({"rong"})) == [
        "hill",
        "hunchun",
        "sarawak",
        "yanbian",
    ]
