"""Turn a record file (.txt, .docx, .pdf) into lines of text, undoing each format's own artefacts.

Every reader produces the same shape, the one Word's own text export gives for the form (and which the
``.txt`` records already have): free paragraphs one per line, and each table row as its cells, every cell
starting with a tab (label cell first, then content cell, one paragraph a line), then a blank line. The
parser therefore needs to know only one layout.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import re
import statistics
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.form import FORM_LABELS, symbol_glyph
from rag.errors import ParseError

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf")


@dataclass
class Document:
    """The text of one file as lines, with the page each line came from (PDF only) and the file's hash."""

    source: str
    kind: str
    lines: list[str]
    sha256: str
    pages: list[int | None] = field(default_factory=list)

    def page_of(self, index: int) -> int | None:
        """Page (1-based) of line ``index``, where known."""
        return self.pages[index] if 0 <= index < len(self.pages) else None

    @property
    def text(self) -> str:
        """All lines joined by newlines."""
        return "\n".join(self.lines)


def read_document(path: str | Path) -> Document:
    """Read ``path`` by its suffix; every failure is a :class:`ParseError` naming the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ParseError(path, f"unsupported file type {suffix or '(none)'!r}: expected .txt, .docx or .pdf")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ParseError(path, f"cannot read file: {e.strerror or e}") from e
    if not data.strip():
        raise ParseError(path, "empty file: expected an investor-relations record")
    sha = hashlib.sha256(data).hexdigest()
    try:
        if suffix == ".txt":
            lines, pages = text_lines(decode_text(data, path)), []
        elif suffix == ".docx":
            lines, pages = read_docx(path), []
        else:
            lines, pages = read_pdf(path)
    except ParseError:
        raise
    except Exception as e:  # a reader library failing in a way we did not foresee is still bad input
        raise ParseError(path, f"cannot read {suffix} file: {type(e).__name__}: {e}") from e
    return Document(source=str(path), kind=suffix[1:], lines=lines, sha256=sha, pages=pages)


# --------------------------------------------------------------------------------------------- text


def decode_text(data: bytes, path: str | Path = "<bytes>") -> str:
    """Decode a text record: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030/GBK as detected."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _checked(data[3:].decode("utf-8", errors="replace"), path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _checked(data.decode("utf-16"), path)
        except UnicodeDecodeError as e:
            raise ParseError(
                path, f"starts with a UTF-16 byte-order mark but byte {e.start} is not UTF-16; save it as UTF-8"
            ) from e
    first_bad = 0
    try:
        return _checked(data.decode("utf-8"), path)
    except UnicodeDecodeError as e:
        first_bad = e.start
    if b"\x00" in data:
        raise ParseError(path, "binary data, not text: the file contains NUL bytes; expected a UTF-8 or GBK text")
    # A UTF-8 file with a stray broken byte (cut off, or a bad copy) is still UTF-8, not GBK mojibake.
    loose = data.decode("utf-8", errors="replace")
    if loose.count("\ufffd") * 1000 <= len(loose):
        return _checked(loose, path)
    # Chinese Windows tools write GBK (GB18030 is its superset), Taiwanese ones Big5; both decode most
    # byte pairs, so pick the reading that looks like Chinese prose. A detector guesses worse on short
    # Chinese texts (it calls GBK Korean), so it only comes last.
    readings = []
    for encoding in ("gb18030", "big5"):
        text = data.decode(encoding, errors="replace")
        # a damaged byte or two in a GBK file still leaves a GBK file
        if text.count("\ufffd") * 200 <= len(text):
            try:
                readings.append(_checked(text, path))
            except ParseError:
                continue
    if readings:
        return max(readings, key=lambda t: _chinese_score(t) - 10 * t.count("\ufffd"))
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        bad = loose.count("\ufffd")
        if bad * 20 <= len(loose):  # mostly UTF-8: say it is damaged rather than not text at all
            raise ParseError(
                path,
                f"damaged UTF-8 text: invalid bytes in {bad} place{'s' if bad != 1 else ''}, the first at byte "
                f"{first_bad}; expected a UTF-8 or GBK text",
            )
        raise ParseError(path, "binary data, not text: no text encoding fits; expected a UTF-8 or GBK text")
    return _checked(str(best), path)


_COMMON_HAN = frozenset("的是在公司和有不了年业务投资者关系活动记录表编号问答我们发展市场产品")


def _chinese_score(text: str) -> int:
    return sum(1 for ch in text if ch in _COMMON_HAN)


def _checked(text: str, path: str | Path) -> str:
    """Reject decodings that are mostly control characters or private-use code points (binary data)."""
    sample = text[:20000]
    bad = sum(1 for ch in sample if _is_junk(ch))
    if sample and bad / len(sample) > 0.01:
        raise ParseError(path, "binary data, not text: too many control characters; expected a UTF-8 or GBK text")
    return text


def _is_junk(ch: str) -> bool:
    if ch in "\t\n\r\f\v":
        return False
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Co", "Cs", "Cn")


def text_lines(text: str) -> list[str]:
    """Split text into lines (any newline convention), dropping the BOM and trailing blanks."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return [ln.rstrip() for ln in text.split("\n")]


# --------------------------------------------------------------------------------------------- docx


def read_docx(path: str | Path) -> list[str]:
    """Paragraphs and tables of a .docx in document order; a table row as tab-led cells, then a blank."""
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as e:  # pragma: no cover - python-docx is a declared dependency
        raise ParseError(path, "python-docx is not installed; cannot read .docx") from e
    _check_docx_container(path)
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError) as e:
        raise ParseError(path, f"not a readable .docx (damaged or truncated file): {e}") from e
    except Exception as e:  # a damaged part inside the zip: bad XML, bad compression, missing parts
        raise ParseError(path, f"not a readable .docx (damaged or truncated file): {type(e).__name__}: {e}") from e
    lines: list[str] = []
    _docx_block(document.element.body, lines, _Numbering(document))
    return lines


# Compound File Binary: Word 97-2003 .doc files, and .docx files saved with a password (encrypted package).
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _check_docx_container(path: str | Path) -> None:
    """Name the common ways a ".docx" is not one, before python-docx reports them as a missing package."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError) as e:
        with open(path, "rb") as f:
            head = f.read(len(_OLE2_MAGIC))
        if head == _OLE2_MAGIC:
            raise ParseError(
                path,
                "not a .docx: an old Word .doc or a password-protected document; "
                "open it in Word and save it as an unprotected .docx",
            ) from e
        raise ParseError(path, f"not a readable .docx (damaged or truncated file): {e}") from e
    if "word/document.xml" not in names:
        raise ParseError(path, "not a Word document (.docx): a zip archive without word/document.xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _docx_block(element, lines: list[str], numbering: _Numbering) -> None:
    """Walk body-level children in order: paragraphs, tables, and content controls (which wrap either)."""
    for child in element.iterchildren():
        name = _local(child.tag)
        if name == "p":
            text = numbering.prefix(child) + _docx_para(child)
            lines.extend(part.lstrip(" \t\u3000") for part in text.split("\n"))
        elif name == "tbl":
            _docx_table(child, lines, numbering)
        elif name in ("sdt", "sdtContent", "customXml"):
            _docx_block(child, lines, numbering)


def _docx_para(p) -> str:
    """Text of one ``w:p``: runs, tabs and breaks, including text inside hyperlinks and smart tags."""
    out: list[str] = []
    for el in p.iter():
        name = _local(el.tag)
        if name == "t" and el.text:
            out.append(el.text)
        elif name == "tab" and _local(el.getparent().tag) == "r":
            out.append("\t")
        elif name in ("br", "cr"):
            out.append("\n")
    return "".join(out)


def _docx_table(tbl, lines: list[str], numbering: _Numbering) -> None:
    for tr in (c for c in tbl.iterchildren() if _local(c.tag) == "tr"):
        cells = [c for c in tr.iterchildren() if _local(c.tag) == "tc"]
        row_lines: list[str] = []
        for tc in cells:
            if _vmerge_continues(tc):  # a vertically merged cell repeats nothing: its text sits in the first
                continue
            cell_lines: list[str] = []
            _docx_block(tc, cell_lines, numbering)
            # leading tabs mark cells in this layout, so a paragraph's own indentation must go
            cell_lines = _trim_blank([ln.lstrip(" \t\u3000") for ln in cell_lines])
            if not cell_lines:
                cell_lines = [""]
            row_lines.append("\t" + cell_lines[0])
            row_lines.extend(cell_lines[1:])
        lines.extend(row_lines)
        lines.append("")


class _Numbering:
    """Word's automatic list numbers: "1、" shown before a question is not in the paragraph's text."""

    def __init__(self, document) -> None:
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}  # numId → ilvl → (start, format, text)
        self.style_num: dict[str, tuple[str, int]] = {}  # paragraph style → (numId, ilvl)
        self.counts: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except Exception:  # no numbering part, or one python-docx cannot load: no automatic numbers
            root = None
        if root is not None:
            abstract = {_attr(a, "abstractNumId"): self._abstract_levels(a) for a in _children(root, "abstractNum")}
            for num in _children(root, "num"):
                ref = next(_children(num, "abstractNumId"), None)
                levels = dict(abstract.get(_attr(ref, "val"), {})) if ref is not None else {}
                for override in _children(num, "lvlOverride"):
                    start = next(_children(override, "startOverride"), None)
                    ilvl = int(_attr(override, "ilvl") or 0)
                    if start is not None and ilvl in levels:
                        levels[ilvl] = (int(_attr(start, "val") or 1), *levels[ilvl][1:])
                self.levels[_attr(num, "numId") or ""] = levels
        for style in _children(document.styles.element, "style"):
            num_pr = _find_path(style, ("pPr", "numPr"))
            if num_pr is not None:
                self.style_num[_attr(style, "styleId") or ""] = _num_ref(num_pr)

    @staticmethod
    def _abstract_levels(abstract) -> dict[int, tuple[int, str, str]]:
        levels = {}
        for lvl in _children(abstract, "lvl"):
            start = next(_children(lvl, "start"), None)
            fmt = next(_children(lvl, "numFmt"), None)
            text = next(_children(lvl, "lvlText"), None)
            levels[int(_attr(lvl, "ilvl") or 0)] = (
                int(_attr(start, "val") or 1) if start is not None else 1,
                _attr(fmt, "val") or "decimal" if fmt is not None else "decimal",
                _attr(text, "val") or "" if text is not None else "",
            )
        return levels

    def prefix(self, p) -> str:
        """The number Word shows before paragraph ``p`` (and counts it), or ""."""
        num_pr = _find_path(p, ("pPr", "numPr"))
        if num_pr is not None:
            num_id, ilvl = _num_ref(num_pr)
        else:
            style = _find_path(p, ("pPr", "pStyle"))
            num_id, ilvl = self.style_num.get(_attr(style, "val") or "", ("", 0)) if style is not None else ("", 0)
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counts = self.counts.setdefault(num_id, [0] * 9)
        counts[ilvl] = counts[ilvl] + 1 if counts[ilvl] else levels[ilvl][0]
        for deeper in range(ilvl + 1, 9):
            counts[deeper] = 0
        _, fmt, text = levels[ilvl]
        if fmt in ("bullet", "none"):
            return ""

        def level_number(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            value = counts[k] or levels.get(k, (1, "decimal", ""))[0]
            return _format_number(value, levels.get(k, (1, "decimal", ""))[1])

        return re.sub(r"%([1-9])", level_number, text)


def _children(el, name: str):
    return (c for c in el.iterchildren() if _local(c.tag) == name)


def _attr(el, name: str) -> str | None:
    if el is None:
        return None
    return next((v for k, v in el.attrib.items() if _local(k) == name), None)


def _find_path(el, names: tuple[str, ...]):
    for name in names:
        el = next(_children(el, name), None)
        if el is None:
            return None
    return el


def _num_ref(num_pr) -> tuple[str, int]:
    num_id = next(_children(num_pr, "numId"), None)
    ilvl = next(_children(num_pr, "ilvl"), None)
    return (_attr(num_id, "val") or "", int(_attr(ilvl, "val") or 0) if ilvl is not None else 0)


_CN_DIGITS = "零一二三四五六七八九"


def _format_number(n: int, fmt: str) -> str:
    """A list number in one of Word's formats (the ones Chinese documents use)."""
    chinese = fmt.startswith("chinese") or fmt in ("ideographDigital", "japaneseCounting")
    if chinese and 0 < n < 100:
        tens, ones = divmod(n, 10)
        head = "" if tens == 0 else ("十" if tens == 1 else _CN_DIGITS[tens] + "十")
        return head + (_CN_DIGITS[ones] if ones else "")
    if fmt.startswith("decimalEnclosedCircle") and 0 < n <= 20:
        return chr(0x2460 + n - 1)
    if fmt in ("lowerLetter", "upperLetter") and 0 < n <= 26:
        letter = chr(ord("a") + n - 1)
        return letter if fmt == "lowerLetter" else letter.upper()
    if fmt in ("lowerRoman", "upperRoman") and 0 < n < 40:
        roman = "".join(r * c for r, c in zip(("x", "ix", "v", "iv", "i"), _roman_counts(n), strict=True))
        return roman if fmt == "lowerRoman" else roman.upper()
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


def _roman_counts(n: int) -> tuple[int, ...]:
    out = []
    for value in (10, 9, 5, 4, 1):
        out.append(n // value)
        n %= value
    return tuple(out)


def _vmerge_continues(tc) -> bool:
    for el in tc.iterchildren():
        if _local(el.tag) == "tcPr":
            for sub in el.iterchildren():
                if _local(sub.tag) == "vMerge":
                    val = next((v for k, v in sub.attrib.items() if _local(k) == "val"), None)
                    return val != "restart"
    return False


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


# --------------------------------------------------------------------------------------------- pdf
#
# pdfplumber (pdfminer underneath) took ~100 s for the 45 Hikvision records; pdfium, already installed
# as pdfplumber's renderer, reads them in a few seconds. We take each character with its box, and the
# table rules drawn on the page: the rules give the form's rows and its label/content columns, which a
# plain text dump loses (labels such as "投资者关系 / 活动类别" end up interleaved with the content).

_PAGE_NUMBER = re.compile(
    r"^(?:[-—–]\s*)?\d{1,3}(?:\s*[-—–])?$|^\d{1,3}\s*/\s*\d{1,3}$|^第\s*\d{1,3}\s*页(?:\s*[,，]?\s*共\s*\d{1,3}\s*页)?$"
    r"|^(?:page|Page|PAGE)\s*\d{1,3}(?:\s*(?:of|/)\s*\d{1,3})?$"
)
# Lines that start a new paragraph whatever the geometry says (a question right after a full-width line):
# a Q/A mark, or a list number. Text wrapped at a number ("…；" / "240、…") looks the same as the latter,
# so a number gives way where the layout says the line goes on (see _paragraphs); a Q/A mark never does.
_QA_MARK = re.compile(
    r"^(?:[QAＱＡ]\d{0,3}\s*[：:;；]|[QＱ]\d{1,3}\s*[、.．]|问\s*[：:]|答\s*[：:]|问题\s*\d{0,3}\s*[：:]|问题\s*\d{1,3}\s*(?:[、.．]|$)"
    r"|(?:回答|回复|答复)\s*[：:])"
)
_NUMBER_MARK = re.compile(r"^(?:\d{1,3}\s*(?:[、)）]|[．.](?!\d{1,3}(?!\d)))|[（(]\d{1,2}[）)])")


class _Char:
    """One glyph and its loose box (PDF coordinates: y grows upwards); slots because there are ~10^5."""

    __slots__ = ("ch", "x0", "x1", "xc", "y0", "y1", "yc")

    def __init__(self, ch: str, x0: float, x1: float, y0: float, y1: float):
        self.ch, self.x0, self.x1, self.y0, self.y1 = ch, x0, x1, y0, y1
        self.xc = (x0 + x1) / 2
        self.yc = (y0 + y1) / 2


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    y0: float
    y1: float
    size: float
    page: int
    column_right: float | None = None  # right rule of the cell it sits in, for "is this line full?"
    trailing_space: bool = False  # wrapped at a real space ("鑫潮建筑 / 斯伟"), which a join must keep
    head: float = 0.0  # width of the Latin word or number it starts with, which line breaking keeps whole


@dataclass
class _Cell:
    lines: list[_Line]


@dataclass
class _Row:
    cells: list[_Cell]
    page: int
    top: float
    bottom: float


@dataclass
class _PageItems:
    number: int
    items: list[_Line | _Row]
    width: float
    height: float


def read_pdf(path: str | Path) -> tuple[list[str], list[int | None]]:
    """Text of a PDF as form lines; raises ParseError for encrypted or image-only files."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        if pdfium_c.FPDF_GetLastError() == pdfium_c.FPDF_ERR_PASSWORD or "password" in str(e).lower():
            raise ParseError(path, "encrypted PDF: it needs a password; save an unprotected copy first") from e
        raise ParseError(path, f"not a readable PDF (damaged or truncated file): {e}") from e
    try:
        pages: list[_PageItems] = []
        any_text = False
        for index in range(len(pdf)):
            try:
                page = pdf[index]
            except pdfium.PdfiumError as e:
                raise ParseError(path, f"not a readable PDF (damaged page): {e}", page=index + 1) from e
            try:
                chars = _page_chars(page)
                any_text = any_text or bool(chars)
                width, height = page.get_size()
                rules = _page_rules(page, pdfium_c)
                pages.append(_layout_page(index + 1, chars, rules, width, height))
            finally:
                page.close()
    finally:
        pdf.close()
    if not any_text:
        raise ParseError(path, "looks scanned: no text layer on any page; OCR it first", page=1)
    _drop_running_lines(pages)
    return _emit(pages)


def _page_chars(page) -> list[_Char]:
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        n = pdfium_c.FPDFText_CountChars(raw)
        if n <= 0:
            return []
        # One call for all code units; per-char GetUnicode calls cost more than the boxes.
        buf = ctypes.create_string_buffer((n + 1) * 2)
        got = pdfium_c.FPDFText_GetText(raw, 0, n, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
        units = buf.raw[: max(got - 1, 0) * 2].decode("utf-16-le", errors="replace")
        if len(units) != n:
            units = "".join(chr(pdfium_c.FPDFText_GetUnicode(raw, i)) for i in range(n))
        rect = pdfium_c.FS_RECTF()
        get_box = pdfium_c.FPDFText_GetLooseCharBox
        is_generated = pdfium_c.FPDFText_IsGenerated
        font_buf = ctypes.create_string_buffer(128)
        chars: list[_Char] = []
        for i, ch in enumerate(units):
            if ch in _SKIP_CHARS:
                continue
            if ch in "\x02\ufffe":
                ch = "-"  # pdfium's mark for a hyphen that ends a line; in these texts it is a real one
            if ch.isspace():
                if is_generated(raw, i):
                    continue  # pdfium's guesses (Word's CJK/Latin autospace gaps): not in the text
                ch = " "
            elif _MAYBE_SYMBOL.match(ch):
                ch = _symbol(raw, i, ch, font_buf)
            if not get_box(raw, i, ctypes.byref(rect)):
                continue
            y0, y1 = (rect.bottom, rect.top) if rect.bottom <= rect.top else (rect.top, rect.bottom)
            if y1 - y0 <= 0.1:
                continue
            chars.append(_Char(ch, rect.left, rect.right, y0, y1))
        return chars
    finally:
        textpage.close()


# What a symbol font's tick or box comes out as in a text layer: a private-use code point (U+F000 + the font's
# byte) or the Latin-1 letter of the byte. Only these are worth asking pdfium for the font.
_MAYBE_SYMBOL = re.compile("[\uf000-\uf0ff\u00a0-\u00ffA-Za-z]")


def _symbol(raw, i: int, ch: str, buf) -> str:
    """``ch`` as the tick or box its symbol font draws (Wingdings' ``\uf052`` → ☑), else ``ch`` itself."""
    import pypdfium2.raw as pdfium_c

    flags = ctypes.c_int()
    size = pdfium_c.FPDFText_GetFontInfo(raw, i, buf, len(buf), ctypes.byref(flags))
    if size <= 1 or size > len(buf):
        return ch
    font = buf.raw[: size - 1].decode("utf-8", errors="replace")
    return symbol_glyph(ch, font) or ch


_SKIP_CHARS = frozenset("\r\n\x00\u200b\u200c\u200d\ufeff\u00ad\uffff\ufffd") | frozenset(
    chr(c) for c in range(0xD800, 0xE000)
)


@dataclass
class _Rules:
    horizontal: list[tuple[float, float, float]]  # (y, x0, x1)
    vertical: list[tuple[float, float, float]]  # (x, y0, y1)


def _page_rules(page, pdfium_c) -> _Rules:
    """Thin rectangles and axis-aligned path segments: the borders of the form's table."""
    hs: list[tuple[float, float, float]] = []
    vs: list[tuple[float, float, float]] = []
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    # Raw calls: wrapping every page object in a Python helper object costs seconds over a few dozen files.
    stack = [(pdfium_c.FPDFPage_CountObjects(page.raw), lambda i: pdfium_c.FPDFPage_GetObject(page.raw, i), 0)]
    while stack:
        count, get, depth = stack.pop()
        for i in range(count):
            obj = get(i)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 3:
                stack.append(
                    (
                        pdfium_c.FPDFFormObj_CountObjects(obj),
                        lambda k, o=obj: pdfium_c.FPDFFormObj_GetObject(o, k),
                        depth + 1,
                    )
                )
                continue
            if kind != pdfium_c.FPDF_PAGEOBJ_PATH:
                continue
            if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
                continue
            x0, y0, x1, y1 = left.value, bottom.value, right.value, top.value
            w, h = x1 - x0, y1 - y0
            if h <= 2.5 and w > 3:
                hs.append(((y0 + y1) / 2, x0, x1))
            elif w <= 2.5 and h > 3:
                vs.append(((x0 + x1) / 2, y0, y1))
            elif w > 3 and h > 3 and _is_stroked(obj, pdfium_c):
                _path_segments(obj, pdfium_c, hs, vs)
    return _Rules(hs, vs)


def _is_stroked(obj, pdfium_c) -> bool:
    """Only stroked paths draw lines; a filled area (cell shading, highlight) is no border."""
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke)):
        return False
    return bool(stroke.value)


def _path_segments(obj, pdfium_c, hs: list, vs: list) -> None:
    """Axis-aligned straight segments of a path that is drawn as a grid or a box, in page space."""
    raw = obj
    n = pdfium_c.FPDFPath_CountSegments(raw)
    if n <= 0 or n > 2000:
        return
    matrix = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(raw, ctypes.byref(matrix)):
        return
    x, y = ctypes.c_float(), ctypes.c_float()
    prev: tuple[float, float] | None = None
    start: tuple[float, float] | None = None
    for i in range(n):
        seg = pdfium_c.FPDFPath_GetPathSegment(raw, i)
        if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y)):
            prev = None
            continue
        px = matrix.a * x.value + matrix.c * y.value + matrix.e
        py = matrix.b * x.value + matrix.d * y.value + matrix.f
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
            prev = start = (px, py)
            continue
        if kind == pdfium_c.FPDF_SEGMENT_LINETO and prev is not None:
            _add_segment(prev, (px, py), hs, vs)
            if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
                _add_segment((px, py), start, hs, vs)
        prev = (px, py)


def _add_segment(a: tuple[float, float], b: tuple[float, float], hs: list, vs: list) -> None:
    (ax, ay), (bx, by) = a, b
    if abs(ay - by) < 0.5 and abs(ax - bx) > 3:
        hs.append(((ay + by) / 2, min(ax, bx), max(ax, bx)))
    elif abs(ax - bx) < 0.5 and abs(ay - by) > 3:
        vs.append(((ax + bx) / 2, min(ay, by), max(ay, by)))


def _cluster(values: list[float], tol: float) -> list[float]:
    """Representative positions of values closer than ``tol`` (rules drawn as two thin edges, etc.)."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(g) / len(g) for g in out]


def _layout_page(number: int, chars: list[_Char], rules: _Rules, width: float, height: float) -> _PageItems:
    """Split a page's characters into table cells (by the rules) and free lines, top to bottom."""
    rows = _table_rows(rules)
    in_rows: list[list[list[_Char]]] = [[[] for _ in cols] for _, _, cols in rows]
    beyond: list[list[_Char]] = [[] for _ in rows]  # right of a row's last rule, in its band
    free: list[_Char] = []
    for c in chars:
        y, x = c.yc, c.xc
        past: int | None = None
        for r, (top, bottom, cols) in enumerate(rows):
            if bottom <= y <= top and cols[0][0] <= x <= cols[-1][1]:
                for k, (left, right) in enumerate(cols):
                    if left <= x <= right:
                        in_rows[r][k].append(c)
                        break
                else:
                    continue
                break
            if past is None and bottom <= y <= top and x > cols[-1][1]:
                past = r
        else:
            (free if past is None else beyond[past]).append(c)
    for (_, _, cols), cell_chars, outside in zip(rows, in_rows, beyond, strict=True):
        _claim_hanging(cell_chars, outside, cols)
        free.extend(outside)
    items: list[_Line | _Row] = []
    for (top, bottom, cols), cell_chars in zip(rows, in_rows, strict=True):
        if not any(cell_chars):
            continue
        cells = [_Cell(_build_lines(cc, number, right)) for cc, (_, right) in zip(cell_chars, cols, strict=True)]
        if len(cells) > 2:
            # A label and a content area split into sub-columns (company | names): rebuild its lines.
            merged = _build_lines([c for cc in cell_chars[1:] for c in cc], number, cols[-1][1])
            cells = [cells[0], _Cell(merged)]
        items.append(_Row(cells, number, top, bottom))
    items.extend(_build_lines(free, number, None))
    items.sort(key=lambda it: -(it.top if isinstance(it, _Row) else it.y1))
    return _PageItems(number, items, width, height)


def _claim_hanging(cells: list[list[_Char]], outside: list[_Char], cols: list[tuple[float, float]]) -> None:
    """Give each cell back the glyphs that hang over its right rule.

    Line breaking never starts a line with closing punctuation ("，", "）", "。"), so Word and other
    typesetters let it run past the margin instead, over the cell's padding and even across the rule.
    Placed by its centre, such a glyph lands in the next cell, or outside the table where it becomes a
    free line of its own ("，" after the row). A glyph hangs when its box starts right where a line of
    the cell to its left ends: inside that cell (over an inner rule), or anywhere past the table's last
    rule, so that a run of hanging marks ("”，") follows the first.
    """
    for k, (_, right) in enumerate(cols):
        spill = cells[k + 1] if k + 1 < len(cols) else outside
        candidates = sorted((c for c in spill if c.x0 < right or spill is outside), key=lambda c: c.x0)
        for c in candidates:
            line = [d for d in cells[k] if d.y0 < c.yc < d.y1]
            if not line:
                continue
            end = max(line, key=lambda d: d.x1)
            size = c.y1 - c.y0
            if -0.5 * size <= c.x0 - end.x1 <= 0.45 * size:
                spill.remove(c)
                cells[k].append(c)


def _table_rows(rules: _Rules) -> list[tuple[float, float, list[tuple[float, float]]]]:
    """Rows of the page's tables as (top, bottom, [(left, right) per cell]), top first."""
    vertical = _merge_collinear(rules.vertical)
    if len(rules.horizontal) < 2 or len(vertical) < 2:
        return []
    horizontal = _merge_collinear(rules.horizontal)
    # The table's width is that of its longest horizontal rules; stray strokes elsewhere do not count.
    longest = max(x1 - x0 for _, x0, x1 in horizontal)
    full = [(y, x0, x1) for y, x0, x1 in horizontal if x1 - x0 >= longest - 6]
    left = min(x0 for _, x0, _ in full)
    right = max(x1 for _, _, x1 in full)
    # a row border runs across the whole table; shorter strokes are underlines, boxes or highlights
    ys = sorted(_cluster([y for y, x0, x1 in full if x0 <= left + 3 and x1 >= right - 3], 1.5), reverse=True)
    rows = []
    for top, bottom in itertools.pairwise(ys):
        if top - bottom < 4:
            continue
        xs = _cluster([x for x, y0, y1 in vertical if y0 <= bottom + 2 and y1 >= top - 2], 1.5)
        if len(xs) < 2:
            continue
        rows.append((top, bottom, list(itertools.pairwise(xs))))
    return rows


def _merge_collinear(segments: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Join rule pieces on one line that touch (Word draws a cell border once per text line)."""
    groups: list[list[tuple[float, float, float]]] = []
    for seg in sorted(segments):
        if groups and seg[0] - groups[-1][-1][0] <= 1.5:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    out: list[tuple[float, float, float]] = []
    for group in groups:
        pos = sum(p for p, _, _ in group) / len(group)
        pieces = sorted((a, b) for _, a, b in group)
        start, end = pieces[0]
        for a, b in pieces[1:]:
            if a <= end + 2:
                end = max(end, b)
            else:
                out.append((pos, start, end))
                start, end = a, b
        out.append((pos, start, end))
    return out


def _build_lines(chars: list[_Char], page: int, column_right: float | None) -> list[_Line]:
    """Group characters into lines by vertical overlap, then order each line left to right."""
    if not chars:
        return []
    chars = sorted(chars, key=lambda c: -c.yc)
    groups: list[list[_Char]] = []
    lo = float("inf")
    for c in chars:
        # sorted by height, so a glyph either sits in the current line's band or starts the next line
        if c.yc >= lo:
            groups[-1].append(c)
            if c.ch != " " and c.y0 < lo:
                lo = max(c.y0, lo - 2)
        else:
            groups.append([c])
            lo = c.y0
    lines = []
    for g in groups:
        g.sort(key=lambda c: c.x0)
        ink = [c for c in g if c.ch != " "]
        if not ink:
            continue
        size = statistics.median(c.y1 - c.y0 for c in ink)
        parts: list[str] = []
        prev: _Char | None = None
        pending = False
        head: float | None = None  # the line's first word: Latin letters, digits, ASCII signs, up to a space
        for c in g:
            if c.ch == " ":
                pending = prev is not None
                continue
            spaced = False
            if prev is not None:
                gap = c.x0 - prev.x1
                latin = prev.ch.isascii() and prev.ch.isalnum() and c.ch.isascii() and c.ch.isalnum()
                # Word's autospace between CJK and Latin/digits is a visual gap only: not a space
                spaced = pending or gap > 0.45 * size or (latin and gap > 0.15 * size)
                if spaced:
                    parts.append(" ")
            if head is None and (spaced or not (c.ch.isascii() and c.ch.isprintable())):
                head = prev.x1 - ink[0].x0 if prev is not None else 0.0
            parts.append(c.ch)
            prev, pending = c, False
        if head is None and prev is not None:  # the whole line is one word
            head = prev.x1 - ink[0].x0
        lines.append(
            _Line(
                "".join(parts),
                ink[0].x0,
                max(c.x1 for c in ink),
                min(c.y0 for c in ink),
                max(c.y1 for c in ink),
                size,
                page,
                column_right,
                pending,
                head or 0.0,
            )
        )
    return lines


def _drop_running_lines(pages: list[_PageItems]) -> None:
    """Remove page numbers and running headers/footers (the same free line at the top or bottom of pages).

    The first copy of a running header stays when it sits above the form on its page: on page 1 it is
    the record's own header ("证券代码：002415 证券简称：海康威视").
    """
    edge_texts: Counter[str] = Counter()
    for p in pages:
        for it in _edge_lines(p):
            edge_texts[_norm_edge(it.text)] += 1
    seen: set[str] = set()
    for p in pages:
        edges = {id(it) for it in _edge_lines(p)}
        first_row = next((i for i, it in enumerate(p.items) if isinstance(it, _Row)), len(p.items))
        kept: list[_Line | _Row] = []
        for i, it in enumerate(p.items):
            if isinstance(it, _Line) and id(it) in edges:
                key = _norm_edge(it.text)
                if _PAGE_NUMBER.match(it.text.strip()):
                    continue
                if len(pages) >= 2 and edge_texts[key] >= 2 and len(key) >= 6:
                    if key in seen or i > first_row:
                        continue
                    seen.add(key)
            kept.append(it)
        p.items = kept


def _edge_lines(p: _PageItems) -> Iterator[_Line]:
    """Free lines above the first table row or body text block and below the last: header/footer zone."""
    items = p.items
    top_zone = p.height * 0.12
    for i, it in enumerate(items):
        if not isinstance(it, _Line):
            continue
        first_or_last = i in (0, len(items) - 1)
        near_edge = it.y1 > p.height - top_zone or it.y0 < top_zone
        if first_or_last or near_edge:
            yield it


def _norm_edge(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _emit(pages: list[_PageItems]) -> tuple[list[str], list[int | None]]:
    """Merge table rows split by page breaks, join wrapped lines into paragraphs, write form lines."""
    blocks: list[_Line | list[list[_Line]]] = []  # a free line, or a row as the lines of each cell
    for p_index, p in enumerate(pages):
        for i, it in enumerate(p.items):
            if isinstance(it, _Line):
                blocks.append(it)
                continue
            cells = [list(c.lines) for c in it.cells]
            prev = blocks[-1] if blocks else None
            # a row's piece at the top of a page carries on the row that ended the page before
            if (
                isinstance(prev, list)
                and i == 0
                and p_index > 0
                and len(prev) == len(cells)
                and (len(cells) == 1 or _same_row_labels(_join_label(prev[0]), _join_label(cells[0])))
            ):
                for k, c in enumerate(cells):
                    prev[k].extend(c)
            else:
                blocks.append(cells)
    margins = _column_margins(pages)
    out: list[str] = []
    page_of: list[int | None] = []
    free_run: list[_Line] = []

    def flush_free() -> None:
        for text, page in _paragraphs(free_run, margins):
            out.append(text)
            page_of.append(page)
        free_run.clear()

    for block in blocks:
        if isinstance(block, _Line):
            free_run.append(block)
            continue
        flush_free()
        for k, cell in enumerate(block):
            if k == 0 and len(block) > 1:
                out.append("\t" + _join_label(cell))
                page_of.append(cell[0].page if cell else None)
                continue
            paras = _paragraphs(cell, margins) or [("", cell[0].page if cell else None)]
            for j, (text, page) in enumerate(paras):
                out.append(("\t" if j == 0 else "") + text)
                page_of.append(page)
        out.append("")
        page_of.append(None)
    flush_free()
    return out, page_of


def _same_row_labels(before: str, after: str) -> bool:
    """Whether two label cells either side of a page break belong to one row of the form.

    Word prints a row's label once, in whichever part of the split row it falls, or splits the label
    itself ("投资者关系活动主要内容" / "介绍").
    """
    if not before or not after:
        return True
    joined = before + after
    return any(label.startswith(joined) for label in FORM_LABELS)


_CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"


def _join_label(lines: list[_Line]) -> str:
    """A label cell's text: its wrapped pieces joined, letter-spacing removed (labels never hold spaces)."""
    text = "".join(ln.text.strip() for ln in lines)
    # some files end each label line with a stray "；"
    return re.sub(rf"(?<=[{_CJK}])[\s；;]+(?=[{_CJK}])|[\s；;]+$", "", text)


def _column_margins(pages: list[_PageItems]) -> dict[float | None, tuple[float, float]]:
    """Left edge and right edge of text per column (keyed by the cell's right rule), over the whole file."""
    lefts: dict[float | None, list[float]] = {}
    rights: dict[float | None, list[float]] = {}
    sizes: list[float] = []
    for p in pages:
        for it in p.items:
            lines = [ln for c in it.cells for ln in c.lines] if isinstance(it, _Row) else [it]
            for ln in lines:
                key = None if ln.column_right is None else round(ln.column_right)
                lefts.setdefault(key, []).append(ln.x0)
                rights.setdefault(key, [])
                # a line with punctuation hanging over its cell's rule says nothing of where the margin is
                if ln.column_right is None or ln.x1 <= ln.column_right:
                    rights[key].append(ln.x1)
                sizes.append(ln.size)
    size = statistics.median(sizes) if sizes else 12.0
    out: dict[float | None, tuple[float, float]] = {}
    # free lines (headers, titles) are full only when they reach the page's text margin
    if None in lefts:
        lefts[None] = lefts[None] + [x for k, v in lefts.items() if k is not None for x in v]
        rights[None] = rights[None] + [x for k, v in rights.items() if k is not None for x in v]
    for key in lefts:
        # a few lines overrun the margin (into the cell padding); the bulk of full lines defines it
        if not rights[key]:  # every line of the column hangs over its rule, which is then the margin
            rights[key] = [float(key or 0)]
        found = sorted(rights[key])
        ends = [x for x in found if x >= found[-1] - 3 * size]
        # A handful of lines running far past the rest (text set wider than its cell) are not the margin: it is
        # where a tenth of the lines at least end.
        while len(ends) < 0.1 * len(found) and len(ends) < len(found):
            found = found[: len(found) - len(ends)]
            ends = [x for x in found if x >= found[-1] - 3 * size]
        # the left edge likewise: a stray line or two further left (another table's cell) does not move it
        starts = sorted(lefts[key])
        left = starts[int(0.05 * (len(starts) - 1))] if key is not None else starts[0]
        out[key] = (left, ends[int(0.8 * (len(ends) - 1))])
    return out


def _paragraphs(lines: list[_Line], margins: dict[float | None, tuple[float, float]]) -> list[tuple[str, int]]:
    """Join wrapped lines: a new paragraph starts indented, after a short line, or with a Q/A/number mark.

    A line that starts with a list number only looks like a new paragraph where the text around it does
    not say otherwise: after a "，" it goes on, and so it does at the left margin of text whose paragraphs
    start indented (wrapping put "240、" there).
    """
    lines = [ln for ln in lines if ln.text.strip()]
    own = _own_left(lines, margins)
    at_left = [
        ln.x0 <= (own if own is not None else margins.get(_column_key(ln), (ln.x0, ln.x1))[0]) + 0.9 * ln.size
        for ln in lines
    ]
    # (line breaking keeps "。" with the word before it, so a full line can stop two glyphs short)
    room = [margins.get(_column_key(ln), (ln.x0, ln.x1))[1] - ln.x1 for ln in lines]
    full = [r <= 2.5 * ln.size for r, ln in zip(room, lines, strict=True)]
    # a line ending mid-clause goes on, however short it is or wherever the next one starts
    open_end = [ln.text.rstrip()[-1:] in "、，,（(“‘《" for ln in lines]
    # Does this text indent the first line of its paragraphs (the body of a record, not a list of names)?
    sure_starts = [k for k in range(len(lines)) if k == 0 or not (full[k - 1] or open_end[k - 1])]
    flush = sum(at_left[k] for k in sure_starts)
    indented = len(sure_starts) - flush >= max(1, 2 * flush)
    if indented:
        # Then a line at the left margin starts no paragraph: it wraps the one before, which had no room
        # for its first word (a number or Latin word goes to the next line whole, leaving the line short by
        # as much), whatever it starts with ("…；" / "240、…" only looks like a list item).
        for k in range(len(lines) - 1):
            full[k] = full[k] or room[k] <= 2.5 * lines[k].size + lines[k + 1].head
    paras: list[tuple[str, int]] = []
    for k, ln in enumerate(lines):
        text = ln.text.strip()
        if k > 0:
            wraps = (full[k - 1] and at_left[k]) or open_end[k - 1]
            if wraps and _QA_MARK.match(text):
                wraps = False
            elif wraps and _NUMBER_MARK.match(text):
                # a list item never follows a "，" or "、"; after a full line it starts indented if others do
                wraps = open_end[k - 1] or (indented and at_left[k])
            elif wraps and _asks(paras[-1][0]) and lines[k - 1].text.rstrip().endswith(("？", "?")):
                # a numbered question that fills its last line still ends at its question mark: what follows
                # is the answer (records that print answers without a mark)
                wraps = False
            if wraps:
                joined = paras[-1][0]
                latin = re.search(r"[A-Za-z0-9,.;:)]$", joined) and re.match(r"[A-Za-z0-9(]", text)
                sep = " " if latin or lines[k - 1].trailing_space else ""
                paras[-1] = (joined + sep + text, paras[-1][1])
                continue
        paras.append((text, ln.page))
    return paras


def _own_left(lines: list[_Line], margins: dict[float | None, tuple[float, float]]) -> float | None:
    """The left edge of a cell's text when the cell sets all its text clearly right of its column's edge (a
    record's body against the form's metadata rows above it, in one column): its own leftmost line."""
    if len(lines) < 2 or lines[0].column_right is None:
        return None
    own = min(ln.x0 for ln in lines)
    column = margins.get(_column_key(lines[0]), (own, 0.0))[0]
    size = statistics.median(ln.size for ln in lines)
    return own if own > column + 2 * size else None


def _asks(paragraph: str) -> bool:
    """A paragraph opened by a question's number or mark ("3、…", "Q3、…", "问：…")."""
    return bool(_NUMBER_MARK.match(paragraph) or re.match(r"[QＱ]\d{0,3}\s*[、.．：:]|问\s*[：:]|问题\s*\d", paragraph))


def _column_key(ln: _Line) -> float | None:
    return None if ln.column_right is None else round(ln.column_right)
