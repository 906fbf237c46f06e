"""Readers: encodings, .docx order, PDF text and layout clean-up, and the bad inputs each must refuse."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import pytest

from ingest.readers import _Char, _layout_page, _Row, _Rules, decode_text, read_document
from rag.errors import ParseError
from tests.ingest.conftest import (
    pdf_cell_lines,
    require_record,
    write_docx,
    write_encrypted_pdf,
    write_pdf,
    write_scanned_pdf,
)

FORM = (
    "测试科技股份有限公司\n投资者关系活动记录表\n编号：2024-001\n"
    "\t投资者关系活动类别\n\t√特定对象调研 □分析师会议\n\n"
    "\t参与单位名称及人员姓名\n\t甲基金 张三\n乙证券 李四\n\n"
    "\t时间\n\t2024年9月4日\n\n"
    "\t投资者关系活动主要内容介绍\n\t1、公司今年的收入增长来自哪里？\n主要来自海外市场，同比增长50%。\n"
    "2、毛利率为何提升？\n产品结构优化。\n\n"
    "\t日期\n\t2024年9月6日\n"
)


# --------------------------------------------------------------------------------------------- text


def test_utf8_bom_and_gbk_decode_to_the_same_text() -> None:
    assert decode_text(FORM.encode("utf-8")) == FORM
    assert decode_text(b"\xef\xbb\xbf" + FORM.encode("utf-8")) == FORM
    assert decode_text(FORM.encode("gbk")) == FORM
    assert decode_text(FORM.encode("gb18030")) == FORM
    assert decode_text(FORM.encode("utf-16")) == FORM


def test_utf16_mark_before_odd_bytes_is_a_parse_error() -> None:
    # Found by hypothesis: a UTF-16 byte-order mark followed by UTF-8 text used to raise UnicodeDecodeError.
    with pytest.raises(ParseError, match="UTF-16 byte-order mark"):
        decode_text(b"\xff\xfe" + "公司a".encode(), "x.txt")  # odd length


def test_big5_and_slightly_broken_utf8() -> None:
    traditional = "公司投資者關係活動記錄表\n編號：2024-001\n問：公司今年的發展如何？\n答：我們的業務穩定成長。\n"
    assert decode_text(traditional.encode("big5")) == traditional
    long_text = FORM * 20
    broken = long_text.encode("utf-8")[:-2]  # cut inside the last character
    assert decode_text(broken).startswith(FORM)


def test_binary_bytes_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "record.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2048))
    with pytest.raises(ParseError) as e:
        read_document(p)
    assert "binary" in e.value.reason
    assert e.value.file == str(p)


def test_control_characters_without_nul_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "record.txt"
    p.write_bytes(bytes(range(1, 9)) * 300)
    with pytest.raises(ParseError, match="binary"):
        read_document(p)


def test_empty_and_blank_files_are_refused(tmp_path: Path) -> None:
    for name, data in (("a.txt", b""), ("b.txt", b" \n\t\r\n"), ("c.pdf", b""), ("d.docx", b"")):
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ParseError, match="empty file"):
            read_document(p)


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "r.doc"
    p.write_bytes(b"x")
    with pytest.raises(ParseError, match=r"unsupported file type '\.doc'"):
        read_document(p)
    with pytest.raises(ParseError, match="cannot read file"):
        read_document(tmp_path / "missing.txt")


def test_txt_lines_keep_tab_cells() -> None:
    path = require_record("haitian-688787/haitian-2024-013.txt")
    doc = read_document(path)
    assert doc.kind == "txt"
    assert "\t会议时间" in doc.lines
    assert len(doc.sha256) == 64


# --------------------------------------------------------------------------------------------- docx


def test_docx_reads_paragraphs_and_table_rows_in_order(tmp_path: Path) -> None:
    doc = read_document(write_docx(FORM, tmp_path / "r.docx"))
    assert doc.kind == "docx"
    lines = doc.lines
    assert lines[:3] == ["测试科技股份有限公司", "投资者关系活动记录表", "编号：2024-001"]
    i = lines.index("\t参与单位名称及人员姓名")
    assert lines[i + 1 : i + 3] == ["\t甲基金 张三", "乙证券 李四"]
    assert lines.index("\t时间") < lines.index("\t投资者关系活动主要内容介绍") < lines.index("\t日期")


def test_docx_word_list_numbers_are_kept(tmp_path: Path) -> None:
    path = write_docx(FORM, tmp_path / "r.docx", auto_number=True)
    import docx

    texts = [p.text for c in docx.Document(str(path)).tables[0].columns[1].cells for p in c.paragraphs]
    assert "公司今年的收入增长来自哪里？" in texts  # the number is Word's, not in the text
    lines = read_document(path).lines
    assert "\t1、公司今年的收入增长来自哪里？" in lines
    assert "2、毛利率为何提升？" in lines


def test_word_number_formats() -> None:
    from ingest.readers import _format_number

    assert [_format_number(n, "chineseCounting") for n in (1, 10, 11, 20, 23)] == [
        "一",
        "十",
        "十一",
        "二十",
        "二十三",
    ]
    assert _format_number(3, "decimalEnclosedCircle") == "③"
    assert _format_number(4, "upperRoman") == "IV" and _format_number(2, "lowerLetter") == "b"
    assert _format_number(12, "decimal") == "12"


def test_truncated_docx_is_refused(tmp_path: Path) -> None:
    full = write_docx(FORM, tmp_path / "full.docx").read_bytes()
    p = tmp_path / "cut.docx"
    p.write_bytes(full[: len(full) // 2])
    with pytest.raises(ParseError, match=r"not a readable \.docx") as e:
        read_document(p)
    assert e.value.file == str(p)


def test_docx_that_is_a_zip_of_something_else_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "other.docx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "not word")
    with pytest.raises(ParseError, match=r"\.docx"):
        read_document(p)


def test_old_word_or_password_protected_docx_is_named(tmp_path: Path) -> None:
    p = tmp_path / "old.docx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000))  # a Compound File (OLE2) header
    with pytest.raises(ParseError) as e:
        read_document(p)
    assert "old Word .doc or a password-protected document" in e.value.reason


def test_damaged_utf8_is_not_called_binary() -> None:
    good = FORM.encode("utf-8")
    damaged = bytearray(good)
    for at in (40, 90, 150):  # inside Chinese characters: a bad copy, not another encoding
        damaged[at] = 0xFF
    with pytest.raises(ParseError) as e:
        decode_text(bytes(damaged), "r.txt")
    assert re.fullmatch(
        r"damaged UTF-8 text: invalid bytes in \d+ places, the first at byte 40; expected a UTF-8 or GBK text",
        e.value.reason,
    )


# --------------------------------------------------------------------------------------------- pdf


def test_pdf_text_comes_back_in_chinese(tmp_path: Path) -> None:
    p = write_pdf(FORM, tmp_path / "r.pdf")
    doc = read_document(p)
    assert doc.kind == "pdf"
    assert "编号：2024-001" in doc.lines
    assert "\t1、公司今年的收入增长来自哪里？" in doc.lines
    # the builder's font is extractable by pdfplumber too, which other tools may use
    import pdfplumber

    with pdfplumber.open(p) as pdf:
        assert "投资者关系活动记录表" in (pdf.pages[0].extract_text() or "")


def test_pdf_page_numbers_running_header_and_split_rows(tmp_path: Path) -> None:
    answer = "这是一段很长的回答，用来把表格撑到下一页。" * 120
    text = FORM.replace("主要来自海外市场，同比增长50%。", answer)
    doc = read_document(write_pdf(text, tmp_path / "r.pdf", running_header="证券代码：123456 证券简称：测试"))
    assert max(p for p in doc.pages if p) >= 2
    assert doc.lines.count("证券代码：123456 证券简称：测试") == 1  # kept once, as the record's header
    assert not any(line.strip().isdigit() for line in doc.lines)  # page numbers gone
    # the body row continues over the page break: one cell, the long answer one paragraph
    assert doc.lines.count("\t投资者关系活动主要内容介绍") == 1
    assert answer in doc.lines


def test_pdf_long_label_wraps_back_into_one_label(tmp_path: Path) -> None:
    doc = read_document(write_pdf(FORM, tmp_path / "r.pdf"))
    assert "\t参与单位名称及人员姓名" in doc.lines
    assert "\t投资者关系活动主要内容介绍" in doc.lines


def test_pdf_without_table_rules_is_read_as_lines(tmp_path: Path) -> None:
    doc = read_document(write_pdf(FORM, tmp_path / "r.pdf", table=False))
    assert "1、公司今年的收入增长来自哪里？" in doc.lines
    assert "投资者关系活动主要内容介绍" in doc.lines


def _answer_in_pdf(answer: str, tmp_path: Path) -> list[str]:
    """The lines read back from the form PDF with ``answer`` as the first answer of the body row.

    The second answer runs over several full lines, so that the reader sees where the margin is.
    """
    text = FORM.replace("主要来自海外市场，同比增长50%。", answer).replace(
        "产品结构优化。", "毛利率提升主要来自产品结构的优化和规模效应，以及原材料价格的回落。" * 4
    )
    return read_document(write_pdf(text, tmp_path / "r.pdf")).lines


def test_pdf_punctuation_hanging_over_the_cell_rule_stays_on_its_line(tmp_path: Path) -> None:
    # Closing punctuation never starts a line, so it hangs past the margin: here "），" runs over the
    # padding and the "，" across the table's right rule. Placed by the centre of its box, it was left
    # outside the table and came back after the row as a line of its own ("…（含税）一。" + "，").
    answer = "一" * 30 + "1111（含税），一。"
    assert [t for t, _ in pdf_cell_lines(answer)] == ["一" * 30 + "1111（含税），", "一。"]
    lines = _answer_in_pdf(answer, tmp_path)
    assert answer in lines
    assert "，" not in [ln.strip() for ln in lines]


def test_pdf_punctuation_hanging_over_an_inner_rule_stays_in_its_cell() -> None:
    # A label whose "）" hangs across the rule between label and content: the glyph's centre is in the
    # content cell, but its box starts right where the label's line ends, so it belongs to the label.
    # A glyph beside the table that does not continue a line stays outside it.
    top, bottom, left, divider, right = 700.0, 650.0, 50.0, 140.0, 545.0
    rules = _Rules(
        horizontal=[(top, left, right), (bottom, left, right)],
        vertical=[(x, bottom, top) for x in (left, divider, right)],
    )
    label = [_Char(ch, 63 + 10.5 * i, 73.5 + 10.5 * i, 680, 690.5) for i, ch in enumerate("附件清单（如有）")]
    assert label[-1].x0 < divider < label[-1].xc
    content = [_Char("无", 145, 155.5, 665, 675.5)]
    aside = [_Char("注", 570, 580.5, 680, 690.5)]
    items = _layout_page(1, label + content + aside, rules, 595, 842).items
    row = next(it for it in items if isinstance(it, _Row))
    assert [[ln.text for ln in cell.lines] for cell in row.cells] == [["附件清单（如有）"], ["无"]]
    assert [it.text for it in items if not isinstance(it, _Row)] == ["注"]


@pytest.mark.parametrize(
    ("answer", "second_line"),
    [
        # wrapped after "；" before a number that reads like a list item "240、"
        ("一" * 33 + "；240、二二二。", "240、二二二。"),
        # wrapped after "，": no list item follows a comma
        ("一" * 33 + "，277、二二二。", "277、二二二。"),
        # a number too long for the room left goes to the next line whole: the line before stops short
        ("一" * 30 + "281838047350，二二二。", "281838047350，二二二。"),
    ],
    ids=["semicolon-number", "comma-number", "long-number"],
)
def test_pdf_line_wrapped_before_a_number_is_joined(answer: str, second_line: str, tmp_path: Path) -> None:
    assert [t for t, _ in pdf_cell_lines(answer)][1] == second_line  # the builder wraps it there
    lines = _answer_in_pdf(answer, tmp_path)
    assert answer in lines
    assert "2、毛利率为何提升？" in lines  # a question, indented as the paragraphs are, still starts anew


def test_pdf_without_text_layer_looks_scanned(tmp_path: Path) -> None:
    p = write_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(ParseError, match="looks scanned: no text layer on any page; OCR it first") as e:
        read_document(p)
    assert e.value.page == 1


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    p = write_encrypted_pdf(FORM, tmp_path / "locked.pdf")
    with pytest.raises(ParseError, match="encrypted PDF"):
        read_document(p)


def test_corrupt_pdf_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "broken.pdf"
    p.write_bytes(b"%PDF-1.4\n" + os.urandom(500))
    with pytest.raises(ParseError, match="PDF"):
        read_document(p)


def test_hikvision_form_rows_are_rebuilt() -> None:
    path = require_record("hikvision-002415/海康威视：2024年8月17日投资者关系活动记录表.pdf")
    lines = read_document(path).lines
    for label in ("投资者关系活动类别", "参与单位名称及人员姓名", "时间", "地点", "上市公司接待人员姓名"):
        assert "\t" + label in lines
    # letter-spaced and wrapped label cells come back whole, not interleaved with the content
    assert "\t投资者关系活动主要内容介绍" in lines
    assert not any(line.strip() in ("投资者关系", "活动类别", "介绍", "投 资 者 关 系") for line in lines)
    assert "\t2024年8月17日" in lines  # no spaces from Word's CJK/Latin autospace
