"""Turn the text of an investor-relations record (投资者关系活动记录表) into a :class:`Record`.

The readers give every format the same shape (see :mod:`ingest.readers`): a header (company, 证券代码,
编号), then the form's rows, each a label cell and a content cell. The content of the
"投资者关系活动主要内容介绍" row holds an optional opening presentation and the questions and answers,
which come in one of these styles::

    1、问题？            1.问题？答:回答        Q：问题          问：问题        问题1：问题
    回答……               2.问题？               A：回答          答：回答        答：回答
                         答:回答
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingest.form import ACTIVITY_TYPES, BOXES, FIELD_OF, FORM_LABELS, TICKS
from ingest.readers import read_document, text_lines
from rag.errors import ParseError
from rag.types import QAPair, Record

__all__ = ["parse_dates", "parse_file", "parse_text", "short_name_of"]

NO_PAIRS = "no question/answer pairs found: expected lines like '1、…' / 'Q：' / '问：'"
NO_RECORD = (
    "no record number (编号) and no meeting date found: expected a line like '编号：2024-013' or a 时间 row with a date"
)
NOT_A_RECORD = "not an investor-relations activity record: no 投资者关系活动 form found"


_SEP = r"[ \t\u3000]"
_LABEL_RE = re.compile(
    r"^(?P<label>"
    + "|".join(r"\s*".join(re.escape(ch) for ch in label) for label in sorted(FORM_LABELS, key=len, reverse=True))
    # a note printed after the label: 参与单位名称（排名不分先后）, 活动类别“选中项请打√”
    + r")(?:[（(][^）)]{0,24}[）)]|[“\"][^”\"]{0,24}[”\"])?"
    + rf"(?:{_SEP}*[：:；;])?(?:(?:{_SEP}+|(?<=[：:；;]))(?P<rest>.*))?$"
)

_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_PAGE_NUMBER = re.compile(
    r"^(?:[-—–]\s*)?\d{1,3}(?:\s*[-—–])?$|^\d{1,3}\s*/\s*\d{1,3}$|^第\s*\d{1,3}\s*页(?:\s*[,，]?\s*共\s*\d{1,3}\s*页)?$"
)
_STOCK_CODE = re.compile(r"(?:证券|股票|公司)代码\s*[：:]\s*([0-9]{6}|[0-9A-Z]{4,8})")
_SHORT_NAME = re.compile(r"(?:证券|股票|公司)简称\s*[：:]\s*([^\s：:，,；;]+)")
_RECORD_NO = re.compile(r"(?<!公告)编号\s*[：:]\s*(\S+)")
_TITLE = re.compile(r"投资者关系活动记录表|投资者关系活动记录|投资者关系管理信息")
_COMPANY = re.compile(r"([^\s：:，,]{2,40}?(?:股份有限公司|有限责任公司|有限公司|集团公司|公司))")
_HEADER_LINE = re.compile(r"^(?:(?:证券|股票)(?:代码|简称)\s*[：:]|编号\s*[：:])")

_Q_MARK = re.compile(
    r"^(?:[QＱ]\s*(?P<n1>\d{1,3})?\s*[：:;；.．、]|(?:问|提问)\s*[：:]|问题\s*(?:(?P<n2>\d{1,3})\s*[：:.．、]|[：:]))\s*"
)
_Q_LABEL = re.compile(r"^(?:问题|[QＱ])\s*(\d{1,3})\s*$")
_A_MARK = re.compile(r"^(?:[AＡ]\s*\d{0,3}\s*[：:;；.．]|(?:答|回答|答复|回复)\s*[：:])\s*")
_A_INLINE = re.compile(r"(?<=[？?。！!）)”\s])\s*(?:[AＡ]|答|回答|答复|回复)\s*[：:]\s*")
# "1." but not a decimal "1.5亿" (a year after the dot is fine: "34.2024年…")
_NUMBERED = re.compile(r"^(?:问题\s*)?(?P<n>\d{1,3})\s*(?:[、)）]|[．.](?!\d{1,3}(?!\d)))\s*")
# Numbers printed without their mark ("5 请正面答复…") or glued to a two-digit year ("5.24 年公司…"): taken only
# where the next question number is due.
_WEAK_NUMBER = re.compile(
    r"^(?P<n>\d{1,3})(?:[．.](?=\d{2}\s*年)|\s*(?=[\u4e00-\u9fff])(?![年月日号万亿元个家名台种项条次倍天周%％]))\s*"
)
# Records printing answers without a mark start them with the company's greeting, sometimes on the question's
# own line ("…市场占有率如何呢，您好，公司…").
_GREETING = re.compile(r"(?<=[，,。？?！!\s])(?=您好[，,！!。])|(?=尊敬的(?:投资者|股东)[，,]?您好)")
_QA_HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+|\d{1,2})?\s*[、.．]?\s*(?:Q\s*&\s*A|问答|互动|交流|提问)(?:环节|交流|部分|问答)?\s*[：:]?$",
    re.IGNORECASE,
)
_END_PUNCT = "。！？!?；;：:”」』）)…"
_CJK = "\u3400-\u9fff\uf900-\ufaff"


def parse_file(path: str | Path, company: str | None = None) -> Record:
    """Parse one record file (.txt, .docx, .pdf); every failure is a :class:`ParseError` naming the file."""
    path = Path(path)
    try:
        doc = read_document(path)
        try:
            return _parse(doc.lines, str(path), doc.sha256, company, doc.pages)
        except ParseError as e:
            if (
                doc.kind == "docx"
                and (e.reason in (NO_PAIRS, NO_RECORD) or e.reason.startswith(NOT_A_RECORD))
                and not any(ln.startswith("\t") for ln in doc.lines)
            ):
                # The reader gives table cells a leading tab: none means the form's table is missing.
                raise ParseError(
                    path, f"{e.reason}; the .docx has no table (the record form is a two-column table)", line=e.line
                ) from e
            raise
    except ParseError:
        raise
    except Exception as e:  # a bug here must still reach the user as "this file could not be parsed"
        raise ParseError(path, f"could not parse: {type(e).__name__}: {e}") from e


def parse_text(text: str, source: str, company: str | None = None) -> Record:
    """Parse the text of a record; ``source`` names it in errors and gives the folder fallback."""
    try:
        if not text.strip():
            raise ParseError(source, "empty file: expected an investor-relations record")
        sha = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
        return _parse(text_lines(text), source, sha, company, [])
    except ParseError:
        raise
    except Exception as e:
        raise ParseError(source, f"could not parse: {type(e).__name__}: {e}") from e


# --------------------------------------------------------------------------------------------- lines


@dataclass
class _Ln:
    text: str
    no: int  # 1-based line number in the reader's output
    page: int | None
    cell: bool  # starts a table cell (a leading tab in the reader's output)


def _clean(raw: str) -> str:
    text = _BOOKMARK.sub("", raw)
    text = text.replace("\u00a0", " ").replace("\u3000", " ")
    text = re.sub(r"[\u200b-\u200d\ufeff\u00ad]", "", text)
    return text.strip()


def _norm_label(text: str) -> str:
    return re.sub(r"[\s：:；;]", "", text)


def _match_label(text: str) -> tuple[str, str, str] | None:
    """(field, label, rest of line) when ``text`` starts with a form label then a separator or nothing."""
    m = _LABEL_RE.match(text)
    if not m:
        return None
    label = re.sub(r"\s", "", m.group("label"))
    return FIELD_OF[label], label, (m.group("rest") or "").strip()


def _label_fragments(text: str) -> set[str]:
    """Fields whose label contains ``text`` as a piece (labels broken over lines by a layout dump)."""
    norm = _norm_label(text)
    if len(norm) < 2:
        return set()
    return {FIELD_OF[label] for label in FORM_LABELS if norm in label and norm != label}


def _ends_body(matched: tuple[str, str, str]) -> bool:
    """Whether a label-like line inside the Q&A is the next row rather than a line of an answer
    (an answer may well have a line "时间：2024年…")."""
    field_, label, rest = matched
    if field_ == "attachments":
        return True
    if field_ == "release":
        return not rest or bool(parse_dates(rest))
    return not rest and len(label) >= 4


# --------------------------------------------------------------------------------------------- parse


@dataclass
class _Fields:
    header: list[_Ln] = field(default_factory=list)
    values: dict[str, list[_Ln]] = field(default_factory=dict)
    body: list[_Ln] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _parse(lines: list[str], source: str, sha: str, company: str | None, pages: list[int | None]) -> Record:
    if not any(ln.strip() for ln in lines):
        raise ParseError(source, "empty file: expected an investor-relations record")
    lns = [
        _Ln(_clean(raw), i + 1, pages[i] if i < len(pages) else None, _BOOKMARK.sub("", raw).startswith("\t"))
        for i, raw in enumerate(lines)
    ]
    meta = _metadata(lns)
    fields = _split_fields(lns)
    if not _is_record(lns, meta, fields):
        raise ParseError(source, _not_a_record(lns))
    record = _build(source, sha, company, meta, fields)
    # A presentation without questions (a roadshow's slides as text) is still a record; a stray line is not.
    if not record.pairs and len(re.findall(r"\w", record.intro)) < 20:
        where = fields.body[0] if fields.body else None
        raise ParseError(source, NO_PAIRS, line=where.no if where else None, page=where.page if where else None)
    if not record.pairs:
        record.warnings.append("no question/answer pairs: the record's text is indexed as its presentation")
    return record


# The rows that make a document an investor-relations record form (a report or a notice has none of them).
_FORM_FIELDS = frozenset({"types", "participants", "receptionists", "body"})
_DOCUMENT_TITLE = re.compile(
    r"[^\s，。：:]{0,40}(?:年度报告|季度报告|半年度报告|报告摘要|报告|公告|通知|决议|意见|说明书)"
)


def _is_record(lns: list[_Ln], meta: dict[str, str], fields: _Fields) -> bool:
    """A record prints the form's title or at least two of its rows; a plain Q&A file prints its 编号."""
    if any(_TITLE.search(ln.text) for ln in lns[:15] if ln.text):
        return True
    rows = _FORM_FIELDS & ({f for f, v in fields.values.items() if v} | ({"body"} if fields.body else set()))
    return len(rows) >= 2 or bool(meta.get("record") and fields.body)


def _not_a_record(lns: list[_Ln]) -> str:
    title = next((m.group(0) for ln in lns[:10] if ln.text and (m := _DOCUMENT_TITLE.search(ln.text))), "")
    what = f" (it reads like {title!r})" if title else ""
    return f"{NOT_A_RECORD}{what}"


def _metadata(lns: list[_Ln]) -> dict[str, str]:
    """Header values, each from its first occurrence anywhere (page headers repeat them later)."""
    meta: dict[str, str] = {}
    for ln in lns:
        text = ln.text
        if not text:
            continue
        if "stock_code" not in meta and (m := _STOCK_CODE.search(text)):
            meta["stock_code"] = m.group(1)
        if "short_name" not in meta and (m := _SHORT_NAME.search(text)):
            meta["short_name"] = m.group(1)
        if "record" not in meta and (m := _RECORD_NO.search(text)):
            number = unicodedata.normalize("NFKC", m.group(1)).strip("：:，,。；;、)）(（")
            number = re.sub(r"^(?:No\.?|NO\.?|第)", "", number).removesuffix("号")
            if number:
                meta["record"] = number
        if "company" not in meta and _TITLE.search(text) and (m := _COMPANY.search(_TITLE.split(text)[0])):
            meta["company"] = m.group(1)
    if "company" not in meta:
        # the name on its own line above the title (Word form), before the first label
        for i, ln in enumerate(lns[:12]):
            if _match_label(ln.text):
                break
            if _TITLE.search(ln.text) and i > 0:
                prev = next((p.text for p in reversed(lns[:i]) if p.text), "")
                if (m := _COMPANY.fullmatch(prev)) and not _HEADER_LINE.match(prev):
                    meta["company"] = m.group(1)
                break
    return meta


def _split_fields(lns: list[_Ln]) -> _Fields:
    """Walk the lines once: header, then label → value rows, the body row ending at the next row."""
    out = _Fields()
    state = "header"
    current: str | None = None
    body_in_cells = False  # the body started as a cell of its own: a later cell after a blank line ends it
    blank_before = False
    join_next = False  # an artefact line was dropped: the next line may continue the one before it
    for ln in lns:
        text = ln.text
        if not text:
            blank_before = True
            continue
        was_blank, blank_before = blank_before, False
        if state == "body":
            if _PAGE_NUMBER.match(text) or _HEADER_LINE.match(text) or _is_title(text):
                join_next = True  # page furniture in the middle of the text
                continue
            ends = bool(body_in_cells and ln.cell and was_blank and out.body)
            matched = None
            if not ends:
                matched = _match_label(text)
                ends = matched is not None and _ends_body(matched)
            if not ends and matched is None:
                pieces = _label_fragments(text)
                if "body" in pieces:  # "投资者关系 / 活动主要内容 / 介绍" interleaved by a layout dump
                    join_next = True
                    continue
                tail = pieces & {"attachments", "release"}
                if tail and out.body:  # e.g. "有）", the end of a broken "附件清单（如有）"
                    state, current = "fields", sorted(tail)[0]
                    out.values.setdefault(current, [])
                    continue
            if not ends:
                if join_next and out.body and _continues(out.body[-1].text, text):
                    prev = out.body[-1]
                    prev.text = _glue(prev.text, text)
                else:
                    out.body.append(ln)
                join_next = False
                continue
            state, current = "fields", None
        matched = _match_label(text)
        if matched:
            current, _, rest = matched
            if current == "body":
                state = "body"
                body_in_cells = not rest
                join_next = False
                if rest:
                    out.body.append(_Ln(rest, ln.no, ln.page, False))
                continue
            state = "fields"
            out.values.setdefault(current, [])
            if rest:
                out.values[current].append(_Ln(rest, ln.no, ln.page, False))
            continue
        if _Q_MARK.match(text) and current not in (None, "body"):
            state, body_in_cells, join_next = "body", False, False  # the 主要内容 label is missing
            out.body.append(ln)
            continue
        if state == "header":
            out.header.append(ln)
        elif current is not None:
            if _PAGE_NUMBER.match(text) or _HEADER_LINE.match(text) or _is_title(text):
                continue
            out.values[current].append(ln)
    if not out.body:
        out.body = _body_without_label(lns)
    return out


def _is_title(text: str) -> bool:
    """A repeated title line ("XX公司投资者关系活动记录表"), not a sentence that mentions the form."""
    return bool(re.fullmatch(r"[^。，；！？,;!?]{0,40}(?:投资者关系活动记录表?|投资者关系管理信息)", text))


def _continues(before: str, after: str) -> bool:
    """Whether ``after`` carries on the sentence of ``before`` across a dropped page break."""
    if not before or before[-1] in _END_PUNCT:
        return False
    return not (_Q_MARK.match(after) or _A_MARK.match(after) or _NUMBERED.match(after))


def _glue(before: str, after: str) -> str:
    sep = " " if re.search(r"[A-Za-z0-9]$", before) and re.match(r"[A-Za-z0-9]", after) else ""
    return before + sep + after


def _body_without_label(lns: list[_Ln]) -> list[_Ln]:
    """No 主要内容 row: the Q&A is whatever follows the first question mark line (plain Q&A files)."""
    texts = [ln.text for ln in lns]
    start = next((i for i, t in enumerate(texts) if _Q_MARK.match(t)), None)
    if start is None:
        start = next((i for i, t in enumerate(texts) if (m := _NUMBERED.match(t)) and m.group("n") == "1"), None)
    if start is None:
        return []
    body = []
    for ln in lns[start:]:
        if ln.text and _match_label(ln.text):
            break
        if ln.text and not _PAGE_NUMBER.match(ln.text) and not _HEADER_LINE.match(ln.text):
            body.append(ln)
    return body


# --------------------------------------------------------------------------------------------- record


def _build(source: str, sha: str, company: str | None, meta: dict[str, str], f: _Fields) -> Record:
    warnings = f.warnings
    folder = Path(source).parent.name if source else ""
    m = re.fullmatch(r"(?P<slug>.+?)[-_](?P<code>\d{6})", folder)
    name = meta.get("company") or (company or "").strip() or (m.group("slug") if m else "")
    if not name:
        warnings.append("company name not found in the text, no company given, folder is not 'name-code'")
    stock_code = meta.get("stock_code") or (m.group("code") if m else "")
    short = meta.get("short_name") or short_name_of(name)

    values = {k: [ln.text for ln in v if ln.text] for k, v in f.values.items()}
    types_text = " ".join(values.get("types", []))
    types = _activity_types(types_text)
    if types_text and not types and any(b in types_text for b in BOXES):
        warnings.append("activity type: no ticked box found (the tick mark may have been lost)")
    date_lines = values.get("date", [])
    date_text = " ".join(date_lines)
    dates = parse_dates(date_text)
    if date_text and not dates:
        warnings.append(f"meeting date not understood: {date_text!r}")
    release = parse_dates(" ".join(values.get("release", [])))
    found = _identity(meta.get("record", ""), dates, release, warnings)
    if found is None:
        raise ParseError(source, NO_RECORD)
    number, identity = found

    body = [ln.text for ln in f.body]
    attachments = values.get("attachments", [])
    # A layout dump can flow the attachments cell ("无") onto the end of the last answer.
    if "attachments" in f.values and not attachments and body and re.search(rf"[{_END_PUNCT}]无$", body[-1]):
        body[-1] = body[-1][:-1]
    intro, pairs = _qa(body, warnings)
    return Record(
        company=name,
        record=identity,
        number=number,
        pairs=pairs,
        short_name=short,
        stock_code=stock_code,
        activity_types=types,
        participants="\n".join(values.get("participants", [])),
        dates=dates,
        date_text=date_text,
        place=" ".join(values.get("place", [])),
        receptionists="\n".join(values.get("receptionists", [])),
        release_date=release[0] if release else None,
        intro=intro,
        source=source,
        source_hash=sha,
        warnings=warnings,
    )


# A record number is a placeholder when it holds a letter or sign standing for digits ("2024-00X").
_PLACEHOLDER = re.compile(r"[XxＸｘ×*＊?？_＿]|^\D*$")


def _identity(printed: str, dates: list[date], release: list[date], warnings: list[str]) -> tuple[str, str] | None:
    """The record number as printed and the record's identity: the number, else the meeting date (else the release
    date) as ``YYYY-MM-DD``; None when there is neither."""
    if printed and not _PLACEHOLDER.search(printed):
        return printed, printed
    day = dates[0] if dates else (release[0] if release else None)
    if day is None:
        return None
    said = f"printed as {printed!r}" if printed else "none printed"
    warnings.append(f"no usable record number (编号: {said}): the record is identified by its date {day.isoformat()}")
    return printed, day.isoformat()


# Place prefixes of company names; "北京市" is tried before "北京".
_CITIES = ("北京", "上海", "天津", "重庆", "深圳", "广州", "杭州", "南京", "苏州", "武汉", "成都")
_CITIES += ("西安", "厦门", "宁波", "青岛", "大连", "合肥", "长沙", "郑州", "济南", "福州", "珠海")
_CITIES += ("东莞", "佛山", "无锡", "常州", "绍兴")
_PROVINCES = ("浙江", "江苏", "广东", "山东", "四川", "湖北", "湖南", "河南", "河北", "福建", "安徽")
_PROVINCES += ("江西", "辽宁", "吉林", "黑龙江", "山西", "陕西", "甘肃", "云南", "贵州", "海南", "青海")
_PLACES = (
    tuple(x for c in _CITIES for x in (c + "市", c))
    + tuple(x for p in _PROVINCES for x in (p + "省", p))
    + ("广西", "内蒙古", "新疆", "西藏", "宁夏")
)
_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司")
_TRADES = ("数字技术", "信息技术", "网络技术", "科技", "技术", "信息", "电子", "网络", "软件")
_TRADES += ("智能", "实业", "控股")


def short_name_of(company: str) -> str:
    """A short name derived from a full one, for records that print no 证券简称.

    北京海天瑞声科技股份有限公司 → 海天瑞声, 美的集团股份有限公司 → 美的集团.
    """
    name = company.strip()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            name = name[: -len(suffix)]
            break
    for place in _PLACES:
        if name.startswith(place) and len(name) - len(place) >= 2:
            name = name[len(place) :]
            break
    changed = True
    while changed:
        changed = False
        for trade in _TRADES:
            if name.endswith(trade) and len(name) - len(trade) >= 2:
                name, changed = name[: -len(trade)], True
    return name


_OPTION = re.compile("|".join(re.escape(t) for t in ACTIVITY_TYPES))
_NOTE = re.compile(r"\s*[（(]([^）)]*)[）)]|\s+([^\s（(].{0,39}?)\s*$")


def _activity_types(text: str) -> list[str]:
    """The ticked options of the activity-type row, in printed order.

    A tick is a known mark (√ ☑ ■ …) before the option, or after it where the form puts its boxes after the
    options. Any other mark is told apart by the form itself: on a form whose other options carry empty
    boxes (or another mark), a mark found on at most three options, fewer than the rest, is the tick
    ("X特定对象调研 □分析师会议 …"); where the tick glyph was lost, the one or two options without the box all
    the others have are the ticked ones.
    """
    text = " ".join(text.split())
    options = [m for m in _OPTION.finditer(text) if not _in_brackets(text, m.start())]
    if not options:
        return []
    marks = [_mark(text[(options[k - 1].end() if k else 0) : m.start()]) for k, m in enumerate(options)]
    # "☑其他 电话会议": an unmarked option word after 其他 is what the other activity was
    keep = [k for k in range(len(options)) if not (k and not marks[k] and options[k - 1].group(0) == "其他")]
    options, marks = [options[k] for k in keep], [marks[k] for k in keep]
    if not marks[0]:
        # boxes after the options: "特定对象调研√ 分析师会议□"
        after = [
            _mark_after(text[m.end() : options[k + 1].start() if k + 1 < len(options) else len(text)])
            for k, m in enumerate(options)
        ]
        if any(after):
            marks = after
    kinds = [_mark_kind(mark) for mark in marks]
    ticked = [k for k, kind in enumerate(kinds) if kind == "tick"]
    if not ticked:
        ticked = _ticked_by_form(kinds)
    out: list[str] = []
    for k in ticked:
        m = options[k]
        name = m.group(0)
        end = options[k + 1].start() if k + 1 < len(options) else len(text)
        note = _option_note(text[m.end() : end], last=k + 1 == len(options))
        if note:
            name = f"{name}（{note}）"
        if name not in out:
            out.append(name)
    return out


def _in_brackets(text: str, pos: int) -> bool:
    """An option word inside a note ("其他（电话会议）") is no option of its own."""
    before = text[:pos]
    return before.count("（") + before.count("(") > before.count("）") + before.count(")")


# Letters, digits and punctuation are never a mark (a lone Latin letter before an option is: "X特定对象调研").
_NOT_MARK = r"\s\w（）()“”\"、，。；：,.;:！？!?—\-/"


def _mark(between: str) -> str:
    """The mark printed right before an option: the last few non-space glyphs, none of them a word's."""
    m = re.search(rf"([^{_NOT_MARK}]{{1,3}}|(?<![A-Za-z])[A-Za-z])\s*$", between)
    return m.group(1) if m else ""


def _mark_after(between: str) -> str:
    m = re.match(rf"\s*([^{_NOT_MARK}]{{1,3}})", between)
    return m.group(1) if m else ""


def _mark_kind(mark: str) -> str:
    if not mark:
        return "none"
    if any(ch in TICKS for ch in mark):
        return "tick"
    if all(ch in BOXES for ch in mark):
        return "box"
    return mark  # a mark of its own: see _ticked_by_form


def _ticked_by_form(kinds: list[str]) -> list[int]:
    counts = Counter(kinds)
    styles = {k: n for k, n in counts.items() if k not in ("tick", "box", "none")}
    if styles:
        fewest = min(styles.values())
        rarest = [k for k, n in styles.items() if n == fewest]
        marked = sum(n for k, n in counts.items() if k != "none")
        if len(rarest) == 1 and fewest <= 3 and marked - fewest >= 2 * fewest:
            return [i for i, kind in enumerate(kinds) if kind == rarest[0]]
        return []
    unmarked = [i for i, kind in enumerate(kinds) if kind == "none"]
    if 1 <= len(unmarked) <= 2 and counts["box"] >= 3 and counts["box"] + len(unmarked) == len(kinds):
        return unmarked
    return []


def _option_note(after: str, last: bool) -> str:
    """What the form says after a ticked option: "其他（电话会议）", or "其他 腾讯会议" at the end of the row."""
    m = _NOTE.match(after)
    if not m:
        return ""
    note = (m.group(1) or (m.group(2) if last else "") or "").strip()
    note = re.sub(r"[□☐\s]+$", "", note)
    return "" if not note or "请文字说明" in note or note[0] in TICKS + BOXES else note


_DATE_RE = re.compile(
    r"(?P<y>\d{4})\s*(?:年|(?P<s>[-/.]))\s*(?P<m>\d{1,2})\s*(?:月|(?P=s))\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"|(?<![\d.])(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日"
    r"|(?<=[-－—–~～至到、，,和及])\s*(?P<d3>\d{1,2})\s*日"
)


def parse_dates(text: str) -> list[date]:
    """Dates as printed: ``2024年9月4日``, ranges ``2024年10月29日-2024年12月6日`` / ``2020年6月8日-6月24日``,
    several dates, ISO-like ``2024-09-04`` / ``2024/9/4``; a later date without year (or month) takes the
    previous one's. Returns them in order, without repeats."""
    text = unicodedata.normalize("NFKC", text)
    out: list[date] = []
    year = month = None
    for m in _DATE_RE.finditer(text):
        try:
            if m.group("y"):
                year, month, day = int(m.group("y")), int(m.group("m")), int(m.group("d"))
            elif m.group("m2"):
                if year is None:
                    continue
                month, day = int(m.group("m2")), int(m.group("d2"))
            else:
                if year is None or month is None:
                    continue
                day = int(m.group("d3"))
            d = date(year, month, day)
        except ValueError:
            continue
        if d not in out:
            out.append(d)
    return out


# --------------------------------------------------------------------------------------------- Q&A


@dataclass
class _Pair:
    number: int | None
    question: list[str]
    answer: list[str] = field(default_factory=list)
    answered: bool = False  # an answer mark was seen


def _qa(body: list[str], warnings: list[str]) -> tuple[str, list[QAPair]]:
    """Split the body into the opening text and the numbered pairs."""
    # Questions begin after a "二、Q&A环节" heading; before it is the management's presentation. With
    # Q：/问： marks only a heading before the first question counts (a later one would sit in an answer).
    first_q = next((i for i, t in enumerate(body) if _Q_MARK.match(t)), len(body))
    headings = [i for i, t in enumerate(body) if _QA_HEADING.match(t) and i < first_q]
    start = headings[-1] + 1 if headings else 0
    if first_q < len(body):
        intro_lines, pairs = _qa_marked(body, start)
    else:
        intro_lines, pairs = _qa_numbered(body, start, warnings)
    intro_lines = [t for t in intro_lines if not _QA_HEADING.match(t)]
    out: list[QAPair] = []
    prev_n: int | None = None
    for p in pairs:
        question, answer = _finish(p)
        if not question:
            continue
        n = p.number if p.number is not None else (prev_n or 0) + 1
        if prev_n is not None and p.number is not None:
            if n > prev_n + 1:
                missing = f"question {prev_n + 1}" if n == prev_n + 2 else f"questions {prev_n + 1}–{n - 1}"
                warnings.append(f"question numbering has a gap: {prev_n} → {n} (no {missing}); the pairs are kept")
            elif n <= prev_n:
                warnings.append(f"question numbering goes back: {prev_n} → {n}")
                n = prev_n + 1  # indexes must stay unique for citations
        if not answer:
            warnings.append(f"question {n} has no answer")
        out.append(QAPair(n, question, answer))
        prev_n = n
    return "\n".join(intro_lines).strip(), out


def _qa_marked(body: list[str], start: int) -> tuple[list[str], list[_Pair]]:
    """Q：/问：/问题N： questions, A：/答： answers; text before the first question is the intro."""
    intro = list(body[:start])
    pairs: list[_Pair] = []
    label: int | None = None  # "问题3" on a line of its own numbers the 问： below it
    for text in body[start:]:
        if m := _Q_LABEL.match(text):
            label = int(m.group(1))
            continue
        q = _Q_MARK.match(text)
        if q:
            n = q.group("n1") or q.group("n2")
            rest = text[q.end() :]
            p = _Pair(int(n) if n else label, [])
            label = None
            _question_line(p, rest)
            pairs.append(p)
            continue
        if not pairs:
            intro.append(text)
            continue
        p = pairs[-1]
        a = _A_MARK.match(text)
        if a:
            p.answered = True
            p.answer.append(text[a.end() :])
        elif p.answered:
            p.answer.append(text)
        else:
            _question_line(p, text)
    return intro, pairs


def _question_line(p: _Pair, text: str) -> None:
    """Add a line to a question, splitting off an answer that starts on the same line (…？答：…)."""
    m = _A_INLINE.search(text)
    if m and m.start() > 0:
        p.question.append(text[: m.start()])
        p.answered = True
        p.answer.append(text[m.end() :])
    else:
        p.question.append(text)


def _qa_numbered(body: list[str], start: int, warnings: list[str]) -> tuple[list[str], list[_Pair]]:
    """1、/1./问题1 numbered questions; answers either marked (答：) or simply the lines that follow."""
    marked = any(_A_MARK.match(t) or _A_INLINE.search(t) for t in body[start:])
    intro = list(body[:start])
    pairs: list[_Pair] = []
    expected = 1
    sub_next: int | None = None  # inside an answer's own "1、2、3、" list: the number it would go on with
    for i, text in enumerate(body[start:], start):
        m = _NUMBERED.match(text)
        if m is None and pairs and (weak := _WEAK_NUMBER.match(text)) and int(weak.group("n")) == expected:
            m = weak if marked or "？" in text or "?" in text else None
        if m:
            n, rest = int(m.group("n"), 10), text[m.end() :]
            if (q := _Q_MARK.match(rest)) and not (q.group("n1") or q.group("n2")):
                rest = rest[q.end() :]  # "1、问：…": the number and the mark both say question
            if marked:
                is_question = _answer_follows(rest, body, i)
            else:
                is_question = _is_question(n, expected, rest, sub_next, bool(pairs))
                if not is_question and pairs:
                    sub_next = n + 1 if n == 1 or n == sub_next else sub_next
            if is_question:
                p = _Pair(n, [])
                greeting = None if marked else _GREETING.search(rest, 4)
                if greeting:
                    p.question.append(rest[: greeting.start()])
                    p.answered = True
                    p.answer.append(rest[greeting.start() :])
                else:
                    _question_line(p, rest)
                pairs.append(p)
                expected, sub_next = n + 1, None
                continue
        if not pairs:
            intro.append(text)
            continue
        p = pairs[-1]
        a = _A_MARK.match(text)
        if a and not p.answered:
            p.answered = True
            p.answer.append(text[a.end() :])
        elif p.answered or not marked:
            if not marked and not p.answered and not _ends_question(p.question) and _ends_question([text]):
                p.question.append(text)  # a question wrapped onto a second line
                continue
            p.answered = True
            p.answer.append(text)
        else:
            _question_line(p, text)
    return intro, pairs


def _answer_follows(rest: str, body: list[str], i: int) -> bool:
    """With 答: marks, a question is a numbered line whose answer mark comes before the next number."""
    if not rest.strip():
        return False
    if _A_INLINE.search(rest):
        return True
    for t in body[i + 1 : i + 4]:
        if _A_MARK.match(t):
            return True
        if _NUMBERED.match(t):
            return False
    return False


def _is_question(n: int, expected: int, rest: str, sub_next: int | None, started: bool) -> bool:
    """Without answer marks: whether a numbered line is the next question or a point of an answer.

    An answer's own list restarts at 1 and counts on from there; a question asks (？) or at least does
    not end like a statement.
    """
    if not rest.strip():
        return False
    asks = "？" in rest or "?" in rest
    if not started:
        return n == 1 or (n <= 3 and asks)
    if n == 1:
        return asks  # numbering that restarts per section asks again; an answer's own list does not
    if n == sub_next and not asks:
        return False
    if n == expected:
        # the next number, with no list of the answer's own running, goes on the questions ("6、请问…询价。")
        return asks or sub_next is None or not rest.rstrip().endswith(("。", "；", ";", "，", "："))
    return expected < n <= expected + 3 and asks


def _ends_question(lines: list[str]) -> bool:
    return bool(lines) and lines[-1].rstrip().endswith(("？", "?"))


def _finish(p: _Pair) -> tuple[str, str]:
    if not p.answered and len(p.question) > 1:
        # no answer mark at all ("Q：…" then plain lines): the first line asks, the rest answers
        p.answer, p.question = p.question[1:], p.question[:1]
    question = ""
    for part in p.question:
        question = _glue(question, part.strip()) if question else part.strip()
    question = re.sub(r"\s+", " ", question).strip()
    answer_lines = [re.sub(r"[ \t]+", " ", a).strip() for a in p.answer]
    answer = "\n".join(a for a in answer_lines if a)
    return question, answer
