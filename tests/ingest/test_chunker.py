from datetime import date

import pytest

from ingest.chunker import chunk_record, split_list, split_sentences
from rag.errors import ParseError
from rag.types import QAPair, Record


def _record(**kw) -> Record:
    base = dict(
        company="北京海天瑞声科技股份有限公司",
        short_name="海天瑞声",
        stock_code="688787",
        record="2024-013",
        dates=[date(2024, 9, 4)],
        date_text="2024年9月4日",
        activity_types=["分析师会议"],
        place="券商策略会",
        participants="源乐晟资产管理有限公司 王雁杰",
        receptionists="证券部总经理：张哲",
        pairs=[
            QAPair(1, "公司上半年收入增长的主要驱动因素是什么？", "境外业务收入同比增长50.00%。"),
            QAPair(2, "净利润增长的原因？", "毛利率增加至70.34%。"),
        ],
        source="/x/haitian-2024-013.txt",
        source_hash="abc",
    )
    base.update(kw)
    return Record(**base)


def chars(text: str) -> int:
    return len(text)


def test_one_chunk_per_pair_plus_record_chunk():
    chunks = chunk_record(_record(), chars, 512)
    kinds = [c.kind for c in chunks]
    assert kinds == ["record", "qa", "qa"]
    meta, q1, q2 = chunks
    assert meta.citation.key() == "[2024-013]"
    assert meta.n_pairs == 2 and "券商策略会" in meta.text and "王雁杰" in meta.text
    assert q1.citation.key() == "[2024-013 Q1]" and q2.citation.key(with_company=True) == "[海天瑞声 2024-013 Q2]"
    assert q1.question_text.startswith("公司上半年") and "50.00%" in q1.text and "50.00%" in q1.answer_text
    assert (q1.date, q1.activity_type, q1.stock_code) == ("2024-09-04", "分析师会议", "688787")
    assert q1.id == "688787:2024-013:q1:p0" and q1.tokens > 0
    assert len({c.id for c in chunks}) == len(chunks)


def test_long_pair_splits_on_sentences_and_keeps_citation():
    answer = "".join(f"第{i}句话说明了一些业务情况。" for i in range(60)) + "\n（1）最后一点"
    chunks = chunk_record(_record(pairs=[QAPair(7, "长问题？", answer)]), chars, 200)
    parts = [c for c in chunks if c.kind == "qa"]
    assert len(parts) > 3
    assert all(chars(c.text) <= 200 for c in parts)
    assert all("长问题？" in c.text and c.citation.key() == "[2024-013 Q7]" for c in parts)
    assert [c.part for c in parts] == list(range(len(parts)))
    assert {c.n_parts for c in parts} == {len(parts)}
    assert "".join(c.answer_text for c in parts) == answer  # nothing lost or duplicated


def test_sentence_without_punctuation_is_cut_not_dropped():
    answer = "无标点" * 200
    parts = [c for c in chunk_record(_record(pairs=[QAPair(1, "问？", answer)]), chars, 150) if c.kind == "qa"]
    assert len(parts) > 1 and "".join(c.answer_text for c in parts) == answer
    assert all(chars(c.text) <= 150 for c in parts)


def test_intro_is_indexed_and_cited_as_intro():
    chunks = chunk_record(_record(intro="2024年上半年公司实现营业收入412.09亿元。同比增长5.61%。"), chars, 512)
    intro = [c for c in chunks if c.kind == "intro"]
    assert len(intro) == 1 and "412.09亿元" in intro[0].text
    assert intro[0].citation.key() == "[2024-013 intro]" and intro[0].id.endswith(":intro:p0")


def test_split_sentences_round_trips():
    text = "第一句。第二句！\n（1）第三句；末尾"
    assert "".join(split_sentences(text)) == text
    assert split_sentences(text)[0] == "第一句。"


def test_question_longer_than_limit_is_an_error():
    with pytest.raises(ParseError, match="question 1 is too long"):
        chunk_record(_record(pairs=[QAPair(1, "问" * 300, "答。" * 300)]), chars, 100)


def test_split_list_round_trips_and_never_cuts_a_name():
    text = "博时基金 谢泽林、陈鹏扬；长城证券 黄俊峰，刘浩然\n个人：张三"
    items = split_list(text)
    assert "".join(items) == text
    assert items[:2] == ["博时基金 谢泽林、", "陈鹏扬；"]


def _participants(n: int) -> str:
    return "；".join(f"机构{i:03d} 姓名{i:03d}、助理{i:03d}" for i in range(n))


def test_short_record_details_stay_one_chunk():
    (meta,) = [c for c in chunk_record(_record(), chars, 512) if c.kind == "record"]
    assert meta.id == "688787:2024-013:meta" and (meta.part, meta.n_parts) == (0, 1)
    assert "参与单位名称及人员姓名：源乐晟资产管理有限公司 王雁杰" in meta.text


def test_long_participant_list_gets_parts_of_its_own():
    """A conference call's hundreds of participants: the details first, then the list in numbered parts, none
    over the limit, nothing lost, each part carrying the record's citation and metadata."""
    participants = _participants(60)
    chunks = chunk_record(_record(participants=participants), chars, 200)
    parts = [c for c in chunks if c.kind == "record"]
    assert len(parts) > 3 and all(chars(c.text) <= 200 for c in parts)
    assert [c.part for c in parts] == list(range(len(parts))) and {c.n_parts for c in parts} == {len(parts)}
    assert parts[0].id == "688787:2024-013:meta" and parts[1].id == "688787:2024-013:meta:p1"
    assert "地点：券商策略会" in parts[0].text and "机构000" not in parts[0].text
    assert "上市公司接待人员姓名：证券部总经理：张哲" in parts[0].text and "问答：2个问题" in parts[0].text
    lists = [c.text.split("）：", 1)[1] for c in parts[1:]]
    assert "".join(lists) == participants  # every participant once, in order
    n = len(parts) - 1
    for j, c in enumerate(parts[1:], 1):
        assert c.text.startswith(f"参与单位名称及人员姓名（{j}/{n}）：")
        assert c.citation.key() == "[2024-013]" and c.n_pairs == 2 and c.record == "2024-013"
        assert (c.company, c.stock_code, c.date) == (parts[0].company, "688787", "2024-09-04")
    assert len({c.id for c in chunks}) == len(chunks)


def test_other_long_details_are_packed_too():
    chunks = chunk_record(_record(place="会议室" * 80, participants=_participants(30)), chars, 150)
    parts = [c for c in chunks if c.kind == "record"]
    assert all(chars(c.text) <= 150 for c in parts)
    text = "".join(c.text for c in parts)
    assert text.count("会议室") == 80 and all(f"机构{i:03d}" in text for i in range(30))
