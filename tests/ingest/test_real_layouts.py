"""Layouts seen across the real records, each checked on a real file (skipped when the file is not here)."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.parser import NOT_A_RECORD, parse_file, parse_text
from rag.errors import ParseError
from tests.ingest.conftest import require_record, shared_records_dir


def _parse(relative: str):
    return parse_file(require_record(relative))


@pytest.mark.parametrize(
    ("relative", "types"),
    [
        # Wingdings 2 glyphs in the text layer: U+F052 is a ticked box, U+F0A3 an empty one
        ("gaolan-300499/高澜股份：2021年11月10日投资者关系活动记录表.pdf", ["特定对象调研", "现场参观"]),
        # U+F050, a check mark, beside plain □ boxes
        ("huadajiutian-301269/华大九天：2022年11月22日投资者关系活动记录表.pdf", ["特定对象调研"]),
        # U+F0A2, a black square
        ("tongfu-002156/通富微电：002156通富微电投资者关系管理信息20240424.pdf", ["业绩说明会"]),
        # a plain letter X as the tick, □ on all the other options
        ("kema-301611/珂玛科技：301611珂玛科技投资者关系管理信息20240829.pdf", ["特定对象调研"]),
        # a label with a note (活动类别“选中项请打√”) and the other activity named after 其他
        ("xinyisheng-300502/新易盛：300502新易盛投资者关系管理信息20240423.pdf", ["其他（电话会议）"]),
        (
            "gaolan-300499/高澜股份：2022年4月25日投资者关系活动记录表.pdf",
            ["特定对象调研", "分析师会议", "其他（腾讯会议、电话会议）"],
        ),
    ],
)
def test_ticks_of_every_kind(relative: str, types: list[str]) -> None:
    r = _parse(relative)
    assert r.activity_types == types
    assert not any("activity type" in w for w in r.warnings)


def test_question_mark_glued_to_the_previous_answer_line() -> None:
    # "…解决方案。Q3、目前，公司有哪些整车热管理产品？": the line break before Q3 was lost in the text layer
    r = _parse("gaolan-300499/高澜股份：2021年11月10日投资者关系活动记录表.pdf")
    assert [p.index for p in r.pairs] == [1, 2, 3, 4, 5, 6]
    assert r.pairs[2].question == "目前，公司有哪些整车热管理产品？"
    assert "Q3" not in r.pairs[1].answer


def test_answers_without_a_mark() -> None:
    # an online meeting: every question numbered, every answer a plain paragraph; some questions end in "。"
    r = _parse("tongfu-002156/通富微电：002156通富微电投资者关系管理信息20240424.pdf")
    assert len(r.pairs) == 50 and [p.index for p in r.pairs] == list(range(1, 51))
    assert r.pairs[4].question.endswith("信心。") and r.pairs[4].answer.startswith("尊敬的投资者")
    # a question filling its last line: the answer that follows is not part of it
    r = _parse("jingjiawei-300474/景嘉微：300474景嘉微投资者关系管理信息20241101.pdf")
    assert r.pairs[3].question.endswith("进展如何？") and r.pairs[3].answer.startswith("公司高度重视本次定增")


def test_answer_on_the_question_line_after_the_greeting() -> None:
    r = _parse("jingjiawei-300474/景嘉微：300474景嘉微投资者关系管理信息20241010.pdf")
    assert r.pairs[1].question.endswith("市场占有率如何呢，") and r.pairs[1].answer.startswith(
        "您好，公司小型专用化雷达"
    )
    r = _parse("kema-301611/珂玛科技：301611珂玛科技投资者关系管理信息20251202.pdf")
    assert r.pairs[4].question.endswith("国内同行公司有哪些") and r.pairs[4].answer.startswith("尊敬的投资者您好")


def test_item_numbers_glued_to_a_year_or_printed_without_their_mark() -> None:
    r = _parse("huadajiutian-301269/华大九天：2025年7月11日投资者关系活动记录表.pdf")
    assert r.pairs[4].index == 5 and r.pairs[4].question == "2025年上半年业绩如何？"
    r = _parse("langchao-000977/浪潮信息：000977浪潮信息投资者关系管理信息20250509.pdf")
    assert r.pairs[4].index == 5 and r.pairs[4].question.startswith("24年公司资产负债率上升明显")
    r = _parse("jingjiawei-300474/景嘉微：300474景嘉微投资者关系管理信息20240515.pdf")
    assert [p.index for p in r.pairs] == list(range(1, 11)) and r.pairs[4].question.startswith("请正面答复")


def test_a_wrapped_line_that_only_looks_like_a_question_mark() -> None:
    # "…解决了超大尺寸下的产品翘曲 / 问题、产品散热问题。": a wrap, not a question
    r = _parse("tongfu-002156/通富微电：002156通富微电投资者关系管理信息20250916.pdf")
    assert len(r.pairs) == 5 and "产品翘曲问题、产品散热问题" in r.pairs[4].answer


def test_running_page_headers_and_wrapped_lines_inside_answers() -> None:
    # every page repeats "高澜股份投资者关系活动记录表（2021 年度）": none of it may land in an answer
    r = _parse("gaolan-300499/高澜股份：2021年11月2日投资者关系活动记录表.pdf")
    assert len(r.pairs) == 24
    assert not any("投资者关系活动记录表" in p.question + p.answer for p in r.pairs)
    # the body set further right than the form's other rows: its wrapped lines are still joined
    r = _parse("langchao-000977/浪潮信息：000977浪潮信息调研活动信息20230302.pdf")
    assert "\n" not in r.pairs[0].answer and "具体的细分情况" in r.pairs[-1].answer


def test_attachments_and_a_disclosure_row_after_the_last_answer() -> None:
    r = _parse("langchao-000977/浪潮信息：2024年6月13日投资者关系活动记录表.pdf")
    assert len(r.pairs) == 5 and "是否涉及应披露重大信息" not in r.pairs[-1].answer


def test_records_without_a_usable_number_and_presentations_without_questions() -> None:
    r = _parse("kema-301611/珂玛科技：301611珂玛科技投资者关系管理信息20240829.pdf")
    assert (r.record, r.number, r.dates) == ("2024-08-28", "2024-00X", [date(2024, 8, 28)])
    r = _parse("tongfu-002156/通富微电：投资者关系活动记录表2021年12月24日.pdf")
    assert r.pairs == [] and "封装测试" in r.intro and r.activity_types == ["路演活动"]


def test_meeting_days_listed_after_the_first_date() -> None:
    r = _parse("jingjiawei-300474/景嘉微：300474景嘉微投资者关系管理信息20250221.pdf")
    assert r.dates == [date(2025, 2, 18), date(2025, 2, 19), date(2025, 2, 21)]


def test_traditional_characters_are_kept_as_printed() -> None:
    # Taiwanese institutions among the participants print their names in Traditional characters
    r = _parse("hikvision-002415/海康威视：2024年4月20日投资者关系活动记录表.pdf")
    assert "群益證券" in r.participants and len(r.pairs) == 24


def test_reports_are_not_records() -> None:
    folder = shared_records_dir().parent / "not-records"
    files = sorted(folder.rglob("*.pdf"))
    if not files:
        pytest.skip(f"no {folder}")
    for path in files:
        with pytest.raises(ParseError) as e:
            parse_file(path)
        assert e.value.reason.startswith(NOT_A_RECORD) and "报告" in e.value.reason


def test_question_label_line_with_its_question_and_answer_below() -> None:
    # 问题3 on a line of its own, 问：/答： below (a layout of other companies' records; none of ../shared has it)
    lines = [
        "示例科技股份有限公司投资者关系活动记录表",
        "编号：2024-003",
        "\t投资者关系活动主要内容介绍",
        "\t交流内容如下：",
    ]
    for n in (1, 2, 3):
        lines += [f"问题{n}", f"问：第{n}个问题是什么？", f"答：第{n}个回答，增长{n}0%。"]
    r = parse_text("\n".join(lines) + "\n\t附件清单（如有）\n\t无\n", "r.txt")
    assert [(p.index, p.question, p.answer) for p in r.pairs] == [
        (n, f"第{n}个问题是什么？", f"第{n}个回答，增长{n}0%。") for n in (1, 2, 3)
    ]
