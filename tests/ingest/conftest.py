"""Fixtures and file builders for ingest tests; other tests import the builders from here.

Builders take a record as *form text* (the layout of the ``.txt`` records: header lines, then each row
of the form as a tab-led label cell and a tab-led content cell) or as a :class:`~rag.types.Record`, and
write it as a real ``.docx`` (python-docx, a two-column table) or ``.pdf`` (reportlab with its built-in
CID font ``STSong-Light``, so no font file is needed; the table is drawn with rules, split over pages the
way Word does it, with page numbers and an optional running header)::

    from tests.ingest.conftest import write_docx, write_pdf, form_text
    write_pdf(form_text(record), tmp_path / "r.pdf")
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from ingest.readers import FORM_LABELS
from rag.types import QAPair, Record

REPO = Path(__file__).resolve().parents[2]
BUNDLED_RECORDS = REPO / "data" / "records"


def shared_records_dir() -> Path:
    """Where the full set of real records is: ``$IRCHAT_RECORDS_DIR``, else ``<repo>/../shared/records``."""
    env = os.environ.get("IRCHAT_RECORDS_DIR")
    return Path(env) if env else REPO.parent / "shared" / "records"


def record_path(relative: str) -> Path | None:
    """A real record by path relative to the records dir, from the shared set or the repo's bundled copy."""
    for root in (shared_records_dir(), BUNDLED_RECORDS):
        p = root / relative
        if p.is_file():
            return p
    return None


def require_record(relative: str) -> Path:
    """Like :func:`record_path`, skipping the test when neither copy exists."""
    p = record_path(relative)
    if p is None:
        pytest.skip(f"record {relative} not available (no {shared_records_dir()} and not bundled)")
    return p


def hikvision_pdfs() -> list[Path]:
    """All Hikvision PDFs: the 45 of the shared set, else the ones bundled with the repo."""
    for root in (shared_records_dir(), BUNDLED_RECORDS):
        files = sorted((root / "hikvision-002415").glob("*.pdf"))
        if files:
            return files
    return []


@pytest.fixture
def records_dir() -> Path:
    d = shared_records_dir()
    if not d.is_dir():
        pytest.skip(f"shared records not available at {d}")
    return d


# --------------------------------------------------------------------------------------------- form text

STYLES = ("numbered", "dotted", "qa", "wenda", "wenti")


def render_pairs(pairs: Iterable[QAPair], style: str = "numbered", *, inline_answer: bool = False) -> list[str]:
    """Lines of a Q&A section in one of the supported styles.

    ``numbered``: ``1、问题`` then the answer lines (Haitian); ``dotted``: ``1.问题`` then ``答:回答``
    (Midea; with ``inline_answer`` the answer starts on the question's line); ``qa``: ``Q：``/``A：``;
    ``wenda``: ``问：``/``答：``; ``wenti``: ``问题1：``/``答：``.
    """
    out: list[str] = []
    for p in pairs:
        answer = p.answer.split("\n") if p.answer else []
        if style == "numbered":
            out.append(f"{p.index}、{p.question}")
            out.extend(answer)
            continue
        q, a = {
            "dotted": (f"{p.index}.", "答:"),
            "qa": ("Q：", "A："),
            "wenda": ("问：", "答："),
            "wenti": (f"问题{p.index}：", "答："),
        }[style]
        if inline_answer and answer:
            out.append(f"{q}{p.question}{a}{answer[0]}")
        else:
            out.append(q + p.question)
            if answer:
                out.append(a + answer[0])
        out.extend(answer[1:])
    return out


def form_text(record: Record, style: str = "numbered", *, inline_answer: bool = False) -> str:
    """A record as the text of the exchange's form (the Word export layout of the Haitian records)."""
    options = [
        "特定对象调研",
        "分析师会议",
        "媒体采访",
        "业绩说明会",
        "新闻发布会",
        "路演活动",
        "现场参观",
        "其他",
    ]
    ticks = " ".join(("√" if o in record.activity_types else "□") + o for o in options)
    body = ([record.intro] if record.intro else []) + render_pairs(record.pairs, style, inline_answer=inline_answer)
    rows = [
        ("投资者关系活动类别", [ticks]),
        ("参与单位名称及人员姓名", (record.participants or "").split("\n")),
        ("时间", [record.date_text]),
        ("地点", [record.place]),
        ("上市公司接待人员姓名", (record.receptionists or "").split("\n")),
        ("投资者关系活动主要内容介绍", body),
        ("附件清单（如有）", [""]),
        ("日期", [_cn_date(record.release_date) if record.release_date else ""]),
    ]
    lines = [record.company, "投资者关系活动记录表", f"编号：{record.record}"]
    for label, content in rows:
        lines.append("\t" + label)
        lines.append("\t" + (content[0] if content else ""))
        lines.extend(content[1:])
        lines.append("")
    return "\n".join(lines) + "\n"


def _cn_date(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def form_rows(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Split form text into its header lines and its rows (label, content lines)."""
    header: list[str] = []
    cells: list[list[str]] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = re.sub(r"\[bookmark:[^\]]*\]", "", raw).rstrip()
        if line.startswith("\t"):
            cells.append([line[1:]])
        elif cells:
            cells[-1].append(line)
        elif line.strip():
            header.append(line.strip())
    cells = [_trim(c) for c in cells]
    labels = {re.sub(r"\s", "", lab) for lab in FORM_LABELS}
    rows: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(cells):
        text = "".join(cells[i]).strip()
        if text not in labels:
            rows.append(("", cells[i]))
            i += 1
            continue
        following = cells[i + 1] if i + 1 < len(cells) else None
        if following is not None and "".join(following).strip() not in labels:
            rows.append((text, following))
            i += 2
        else:
            rows.append((text, []))
            i += 1
    return header, rows


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    while len(lines) > 1 and not lines[0].strip():
        lines.pop(0)
    return lines


def _source_text(source: str | Record) -> str:
    return form_text(source) if isinstance(source, Record) else source


# --------------------------------------------------------------------------------------------- docx


def write_docx(source: str | Record, path: str | Path, *, auto_number: bool = False) -> Path:
    """Write a record as a Word form: header paragraphs, then a two-column table (label | content).

    With ``auto_number`` the questions "1、…" of the body are Word list paragraphs instead: the number
    is drawn by Word ("%1、") and is not in the paragraph's text.
    """
    import docx

    header, rows = form_rows(_source_text(source))
    document = docx.Document()
    num_id = _add_list_numbering(document) if auto_number else None
    for line in header:
        document.add_paragraph(line)
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for row, (label, content) in zip(table.rows, rows, strict=True):
        row.cells[0].paragraphs[0].add_run(label)
        cell = row.cells[1]
        for k, line in enumerate(content or [""]):
            paragraph = cell.paragraphs[0] if k == 0 else cell.add_paragraph()
            m = re.match(r"\d+、", line) if num_id and label.startswith("投资者关系活动主要内容") else None
            if m:
                line = line[m.end() :]
                _number_paragraph(paragraph, num_id)
            if line:
                paragraph.add_run(line)
    path = Path(path)
    document.save(str(path))
    return path


def _add_list_numbering(document) -> str:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    numbering = document.part.numbering_part.element
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
            '<w:numFmt w:val="decimal"/><w:lvlText w:val="%1、"/></w:lvl></w:abstractNum>'
        ),
    )
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    return "90"


def _number_paragraph(paragraph, num_id: str) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    paragraph._p.get_or_add_pPr().append(
        parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>')
    )


# --------------------------------------------------------------------------------------------- pdf

_FONT = "STSong-Light"
_SIZE = 10.5
_LEADING = 15.0
_PAGE_W, _PAGE_H = 595.0, 842.0
_LEFT, _DIVIDER, _RIGHT = 50.0, 140.0, 545.0
_TOP, _BOTTOM = 790.0, 70.0
_PAD = 5.0


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    try:
        pdfmetrics.getFont(_FONT)
    except KeyError:
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    return _FONT


def _width(text: str) -> float:
    from reportlab.pdfbase import pdfmetrics

    return pdfmetrics.stringWidth(text, _font(), _SIZE)


_CLOSERS = "，。、；：？！）》」』”’%,.;:?!)"


def wrap(text: str, width: float, indent: float = 0.0) -> list[str]:
    """Break a paragraph into lines the way Word does: Latin words and numbers stay whole, a space
    stays at the end of its line, closing punctuation never starts a line."""
    tokens = re.findall(r"[!-~]+|\s|.", text.replace("\t", "    "))
    lines: list[str] = []
    line, used, limit = "", 0.0, width - indent
    for tok in tokens:
        w = _width(tok)
        if tok.isspace() or used + w <= limit or not line or tok in _CLOSERS:
            line, used = line + tok, used + w
            continue
        lines.append(line)
        line, used, limit = tok, w, width
    if line or not lines:
        lines.append(line)
    return lines


_LABEL_W = _DIVIDER - _LEFT - 2 * _PAD
_CONTENT_W = _RIGHT - _DIVIDER - 2 * _PAD - 8


def pdf_cell_lines(paragraph: str, *, body: bool = True, indent_body: bool = True) -> list[tuple[str, float]]:
    """The lines :func:`write_pdf` draws for one paragraph of a content cell, each with its indent.

    Paragraphs of the body row ("投资者关系活动主要内容介绍") start indented by two characters.
    """
    indent = 2 * _width("中") if body and indent_body and paragraph else 0.0
    return [(text, indent if k == 0 else 0.0) for k, text in enumerate(wrap(paragraph, _CONTENT_W, indent))]


def write_pdf(
    source: str | Record,
    path: str | Path,
    *,
    running_header: str | None = None,
    page_numbers: bool = True,
    indent_body: bool = True,
    table: bool = True,
) -> Path:
    """Write a record as a PDF form: a ruled two-column table split across pages, labels once per row.

    ``running_header`` is drawn at the top of every page; page numbers at the bottom. With ``table``
    false the form is written as plain lines (label, then its content) without rules.
    """
    from reportlab.pdfgen import canvas

    header, rows = form_rows(_source_text(source))
    font = _font()
    path = Path(path)
    c = canvas.Canvas(str(path), pagesize=(_PAGE_W, _PAGE_H))
    state = {"page": 1, "y": _TOP}

    def start_page() -> None:
        c.setFont(font, _SIZE)
        if running_header:
            c.drawString(_LEFT, _PAGE_H - 30, running_header)
        if page_numbers:
            c.drawCentredString(_PAGE_W / 2, 35, str(state["page"]))
        state["y"] = _TOP

    def new_page() -> None:
        c.showPage()
        state["page"] += 1
        start_page()

    start_page()
    for line in header:
        c.drawString(_LEFT, state["y"], line)
        state["y"] -= _LEADING * 1.4
    for label, content in rows:
        body = label.startswith("投资者关系活动主要内容")
        label_lines = (wrap(label, _LABEL_W) if table else [label]) if label else []
        content_lines = [
            ln for para in content or [""] for ln in pdf_cell_lines(para, body=body, indent_body=indent_body)
        ]
        if not table:
            for text in label_lines:
                _ensure_room(state, new_page)
                c.drawString(_LEFT, state["y"], text)
                state["y"] -= _LEADING
            for text, indent in content_lines:
                _ensure_room(state, new_page)
                c.drawString(_LEFT + indent, state["y"], text)
                state["y"] -= _LEADING
            continue
        first_part = True
        while first_part or content_lines:
            room = int((state["y"] - _BOTTOM - 2 * _PAD) // _LEADING)
            if room < 2 and first_part:
                new_page()
                continue
            take = content_lines[: max(room, 1)]
            content_lines = content_lines[len(take) :]
            n = max(len(take), len(label_lines) if first_part else 0, 1)
            top = state["y"] + _SIZE + _PAD
            bottom = top - n * _LEADING - 2 * _PAD
            y = state["y"] + 0.0
            if first_part:
                for text in label_lines:
                    c.drawString(_LEFT + _PAD, y, text)
                    y -= _LEADING
            y = state["y"]
            for text, indent in take:
                c.drawString(_DIVIDER + _PAD + indent, y, text)
                y -= _LEADING
            c.setLineWidth(0.5)
            c.line(_LEFT, top, _RIGHT, top)
            c.line(_LEFT, bottom, _RIGHT, bottom)
            for x in (_LEFT, _DIVIDER, _RIGHT):
                c.line(x, top, x, bottom)
            state["y"] = bottom - _SIZE - _PAD
            first_part = False
            if content_lines:
                new_page()
    c.save()
    return path


def _ensure_room(state: dict, new_page) -> None:
    if state["y"] < _BOTTOM:
        new_page()


def write_scanned_pdf(path: str | Path, pages: int = 2) -> Path:
    """A PDF of shapes only (what a scan without OCR looks like to a text extractor)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(_PAGE_W, _PAGE_H))
    for _ in range(pages):
        c.rect(_LEFT, _BOTTOM, _RIGHT - _LEFT, _TOP - _BOTTOM, stroke=1, fill=0)
        for k in range(30):
            c.setFillGray(0.2 + (k % 5) / 10)
            c.rect(_LEFT + 10, _TOP - 20 - 20 * k, 300 + (k * 37) % 150, 9, stroke=0, fill=1)
        c.showPage()
    c.save()
    return Path(path)


def write_encrypted_pdf(source: str | Record, path: str | Path, password: str = "secret") -> Path:
    """A text PDF that needs a password to open."""
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    header, rows = form_rows(_source_text(source))
    c = canvas.Canvas(str(path), encrypt=StandardEncryption(password, canPrint=0))
    c.setFont(_font(), _SIZE)
    y = _TOP
    for line in header + [t for _, content in rows for t in content][:30]:
        c.drawString(_LEFT, y, line[:40])
        y -= _LEADING
    c.save()
    return Path(path)
