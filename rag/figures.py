"""Figures with units in Chinese or English text (``50.00%``, ``4,369.53万元``, ``160-170亿``, ``3个百分点``,
``14.8T``, ``RMB 1.2 billion``) and the metric each one is about, for checking a draft against past statements.

A :class:`Figure` keeps the value as written (exact, a ``Decimal``) and a canonical unit; ``base_value`` and
``dimension`` put it on a common scale so that ``1.2亿元`` and ``12,000万元`` compare equal, while a percentage,
percentage points and money never compare with each other. ``metric_text`` is the clause before the figure
(``境外收入同比增长`` for ``境外收入同比增长50.00%``); :func:`metric_subject` strips it to what is measured
(``境外收入``) and :func:`direction` says whether it went up or down.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from rag.cue_words import cue, named_change
from rag.data_files import read_json
from rag.intent import YEARLESS_ENDS, period_spans, sentence_periods

__all__ = [
    "Boundaries",
    "Figure",
    "FigureKind",
    "Qualifier",
    "direction",
    "extract_figures",
    "metric_similarity",
    "metric_subject",
    "periods",
    "periods_at",
    "periods_compatible",
    "same_metric",
    "short_measure_names",
    "without_measure_names",
]

FigureKind = Literal["percent", "points", "money", "count", "multiple", "tokens", "amount", "duration"]
"""``percent`` (%, 成), ``points`` (个百分点, basis points), ``money`` (元, 美元 ...), ``count`` (家, 个, 万座 ...),
``multiple`` (倍), ``tokens`` (14.8T tokens), ``amount`` (a bare 万/亿/billion: money or a count, unsaid),
``duration`` (2-4周, 3个月, 10 days: compared within one unit, a month not being a fixed number of days)."""

Qualifier = Literal["", "approx", "at_least", "at_most"]

INF = Decimal("Infinity")
# An approximate figure ("约50%", "50%左右") is taken to mean within this share of its value.
APPROX_SHARE = Decimal("0.05")
# A bound restated looser than this ("超过5.5亿元" for "超过55亿元", "不到100天" for "不到10天") is another figure, a
# digit or a unit slipped, not a bound rounded down for safety ("超过250家" for "超过300家").
BOUND_LOOSENESS = Decimal(2)
# Characters before (or after) a figure read for what it measures.
METRIC_WINDOW = 60

# -- units -------------------------------------------------------------------------------------------

_MAGNITUDES: dict[str, Decimal] = {
    "万亿": Decimal(10) ** 12,
    "千亿": Decimal(10) ** 11,
    "百亿": Decimal(10) ** 10,
    "十亿": Decimal(10) ** 9,
    "亿": Decimal(10) ** 8,
    "千万": Decimal(10) ** 7,
    "百万": Decimal(10) ** 6,
    "十万": Decimal(10) ** 5,
    "万": Decimal(10) ** 4,
    "千": Decimal(10) ** 3,
}
_EN_MAGNITUDES = {
    "trillion": "万亿",
    "tn": "万亿",
    "billion": "十亿",
    "bn": "十亿",
    "million": "百万",
    "mn": "百万",
    "thousand": "千",
}
_CURRENCIES = {
    "元": "元",
    "人民币": "元",
    "rmb": "元",
    "cny": "元",
    "yuan": "元",
    "¥": "元",
    "￥": "元",
    "美元": "美元",
    "usd": "美元",
    "us$": "美元",
    "$": "美元",
    "dollars": "美元",
    "dollar": "美元",
    "港元": "港元",
    "港币": "港元",
    "hk$": "港元",
    "hkd": "港元",
    "欧元": "欧元",
    "eur": "欧元",
    "日元": "日元",
}


def _units_table() -> dict[str, Any]:
    """Counters, durations, tenths and Chinese numerals (rag/data/units.json, which says where they come from)."""
    return read_json("units.json")


_TABLE = _units_table()
COUNTERS: str = _TABLE["counters"]
"""Measure words after a number (3家, 48路)."""
WORD_COUNTERS: dict[str, str] = _TABLE["word_counters"]
"""Measure words that also begin common words, each with the characters after which they do (支: 支持)."""
# Each word counter as a pattern that leaves its common words out (只 not of 只是).
WORD_COUNTER_PATTERN = "|".join(f"{w}(?![{after}])" for w, after in WORD_COUNTERS.items())
_TOKEN_SCALES = {"T": Decimal(10) ** 12, "B": Decimal(10) ** 9, "M": Decimal(10) ** 6, "K": Decimal(10) ** 3}

_D = "0-9０-９"
_NUMBER = rf"(?:[{_D}]{{1,3}}(?:,[{_D}]{{3}})+|[{_D}]+)(?:[.．][{_D}]+)?"
_SP = r"[ \t\u00a0\u3000]?"
_CN_MAG = "万亿|千亿|百亿|十亿|亿|千万|百万|十万|万"
_CN_CUR = "美元|港元|港币|欧元|日元|人民币|元"
_EN_MAG = r"(?:trillion|billion|million|thousand|tn|bn|mn)(?![A-Za-z])"
_EN_CUR = r"(?:yuan|RMB|CNY|USD|HKD|EUR|dollars?)(?![A-Za-z])"
_DURATION_UNIT = {form.lower(): unit for unit, forms in _TABLE["durations"].items() for form in forms}
_NOT_BEFORE = _TABLE["duration_not_before"]


def _duration_form(form: str) -> str:
    """A written form of a unit of time as a pattern: not where it begins another word."""
    if form.isascii():
        return rf"{re.escape(form)}(?![A-Za-z])"
    return re.escape(form) + (f"(?![{_NOT_BEFORE[form]}])" if form in _NOT_BEFORE else "")


_DURATION = "|".join(_duration_form(f) for f in sorted(_DURATION_UNIT, key=len, reverse=True))
_TENTH = f"成(?![{_TABLE['tenth_not_before']}])"
# One alternation, most specific first: "个百分点" before "个", "万亿" before "万", "T tokens" before "T".
_UNIT = (
    r"(?P<unit>"
    r"(?P<pct>%|％|percent(?![A-Za-z])|per[ ]cent(?![A-Za-z])|pct(?![A-Za-z]))"
    rf"|(?P<tenth>{_TENTH})"
    rf"|(?P<dur>{_DURATION})"
    r"|(?P<pp>个百分点|百分点|percentage[ ]points?(?![A-Za-z])|pp(?:ts?)?(?![A-Za-z]))"
    r"|(?P<bp>个基点|基点|bps?(?![A-Za-z])|basis[ ]points?(?![A-Za-z]))"
    r"|(?P<mult>倍|times(?![A-Za-z])|[x×](?![A-Za-z0-9]))"
    rf"|(?P<tok>(?P<tokmag>[TBMK])[ ]?tokens?(?![A-Za-z])|(?P<tokword>trillion|billion|million)[ ]tokens?(?![A-Za-z])"
    r"|(?-i:T)(?![A-Za-z0-9]))"
    rf"|(?P<cnmag>{_CN_MAG})?(?P<cncur>{_CN_CUR})"
    rf"|(?P<cnmag2>{_CN_MAG}|千)?(?P<counter>[{COUNTERS}]|{WORD_COUNTER_PATTERN})(?!月|季度|小时|工作日|百分点|基点)"
    rf"|(?P<enmag>{_EN_MAG})(?:{_SP}(?P<encur>{_EN_CUR}))?"
    rf"|(?P<encur2>{_EN_CUR})"
    rf"|(?P<cnmag3>{_CN_MAG})"
    r")"
)
# Small numbers are often written in Chinese numerals before a tenth, a multiple, points or a time ("七成以上",
# "两倍", "三个百分点", "两到四周"); a numeral inside a longer word or after 第/每/几 is no figure.
_CN_DIGITS: dict[str, int] = _TABLE["chinese_digits"]
_DIGIT_CLASS = "".join(_CN_DIGITS)
_CN_NUM = f"[{_DIGIT_CLASS}]?十[{_DIGIT_CLASS}]?|[{_DIGIT_CLASS}]"
_CN_DURATION = "|".join(_duration_form(f) for f in _TABLE["numeral_durations"])
_CN_FIGURE = re.compile(
    rf"(?<![{_DIGIT_CLASS}十百千万第每几数])(?:(?P<low>{_CN_NUM})[至到~～-])?(?P<num>{_CN_NUM})"
    rf"(?P<unit>(?P<tenth>{_TENTH})|(?P<mult>倍)|(?P<pp>个百分点)|(?P<dur>{_CN_DURATION}))"
)
_PREFIX = r"(?P<prefix>US\$|HK\$|RMB|CNY|USD|HKD|\$|¥|￥|人民币)"
_FIGURE = re.compile(
    rf"(?<![{_D}A-Za-z.．,_第])(?:{_PREFIX}{_SP})?(?P<sign>[-−])?(?P<num>{_NUMBER})(?P<more>多|余)?(?:{_SP}{_UNIT})?",
    re.IGNORECASE,
)
# A range's first number, right before a figure: "160-" in "160-170亿", "10%-" in "10%-15%".
_RANGE_HEAD = re.compile(rf"(?<![{_D}A-Za-z.．,_])(?P<num>{_NUMBER})(?P<unit>%|％)?{_SP}(?:[-－~～—–至到]){_SP}$")

_BEFORE_QUAL = [
    (
        re.compile(
            r"(?:超过|超|逾|高于|多于|大于|不低于|至少|over|more than|above|at least)(?:有|为|是|达到?)?\s*$", re.I
        ),
        "at_least",
    ),
    (
        re.compile(r"(?:不到|不足|低于|少于|小于|不超过|less than|under|below|at most)(?:有|为|是|达到?)?\s*$", re.I),
        "at_most",
    ),
    (
        re.compile(
            r"(?:约|大约|大概|大致|接近|将近|近|约为|about|around|approximately|nearly|roughly)(?:有|为|是|达到?)?\s*$",
            re.I,
        ),
        "approx",
    ),
]
_AFTER_QUAL = [
    (re.compile(r"^\s*(?:以上|多|余|\+|or more)", re.I), "at_least"),
    (re.compile(r"^\s*(?:以下|以内|不到|or less)", re.I), "at_most"),
    (re.compile(r"^\s*(?:左右|上下)", re.I), "approx"),
]

# Clause boundaries; a comma between digits is a thousands separator, not a boundary.
_CLAUSE_END = re.compile(r"[。！？!?；;，\n]|,(?![0-9])|(?<![0-9])\.(?=\s|$)")


@dataclass(frozen=True)
class Figure:
    """A number with its unit, as found in a text, and the words about what it measures."""

    value: Decimal
    """As written (the low end of a range), exact: ``Decimal("50.00")`` for ``50.00%``."""
    unit: str
    """Canonical unit: ``%``, ``个百分点``, ``倍``, ``T`` (tokens), ``亿元``, ``万美元``, ``万家``, ``亿`` ..."""
    kind: FigureKind
    metric_text: str
    """The clause before the figure (or after it, when nothing before says what is measured)."""
    span: tuple[int, int]
    """Where the figure is in the text it was extracted from."""
    high: Decimal | None = None
    """The high end of a range (``170`` of ``160-170亿``), else None."""
    qualifier: Qualifier = ""
    """``approx`` (约, 左右), ``at_least`` (超过, 以上, 多), ``at_most`` (不到, 以下), or empty."""
    text: str = ""
    """The figure as written."""

    @property
    def scale(self) -> Decimal:
        """What one ``unit`` is in the dimension's base unit (``1e8`` for ``亿元``, ``0.01`` for ``个基点``)."""
        if self.kind == "tokens":
            return _TOKEN_SCALES[self.unit]
        if self.unit == "成":
            return Decimal(10)
        if self.kind == "points":
            return Decimal("0.01") if self.unit == "个基点" else Decimal(1)
        if self.kind in ("money", "count", "amount"):
            for mag, factor in _MAGNITUDES.items():
                if self.unit.startswith(mag) and (self.kind != "amount" or self.unit == mag):
                    return factor
        return Decimal(1)

    @property
    def dimension(self) -> str:
        """What is measured: ``%``, ``pp``, ``x``, ``tokens``, ``amount``, ``money:元``, ``count:家`` ..."""
        if self.kind == "percent":
            return "%"
        if self.kind == "points":
            return "pp"
        if self.kind == "multiple":
            return "x"
        if self.kind == "tokens":
            return "tokens"
        if self.kind == "amount":
            return "amount"
        if self.kind == "duration":
            return f"duration:{self.unit}"
        base = self.unit
        for mag in _MAGNITUDES:
            if base.startswith(mag) and len(base) > len(mag):
                base = base[len(mag) :]
                break
        return f"{self.kind}:{base}"

    @property
    def base_value(self) -> Decimal:
        """The value in the dimension's base unit (元, 家, tokens, %), exact."""
        return self.value * self.scale

    @property
    def base_high(self) -> Decimal | None:
        """The high end of a range in the base unit, else None."""
        return None if self.high is None else self.high * self.scale

    @property
    def interval(self) -> tuple[Decimal, Decimal]:
        """The values the figure allows, in base units: its rounding (``50%`` is 49.5–50.5), range and qualifier."""
        lo = self.base_value
        hi = self.base_high if self.base_high is not None else lo
        if hi < lo:
            lo, hi = hi, lo
        lo -= _half_ulp(self.value) * self.scale
        hi += _half_ulp(self.high if self.high is not None else self.value) * self.scale
        if self.qualifier == "approx":
            lo -= abs(lo) * APPROX_SHARE
            hi += abs(hi) * APPROX_SHARE
        elif self.qualifier == "at_least":
            hi = INF
        elif self.qualifier == "at_most":
            lo = -INF
        return lo, hi

    def comparable(self, other: Figure) -> bool:
        """Whether the two measure the same kind of thing (a bare ``亿`` is taken as 元 or a count)."""
        a, b = self.dimension, other.dimension
        if a == b:
            return True
        if "amount" not in (a, b):
            return False
        rest = b if a == "amount" else a
        return rest == "money:元" or rest.startswith("count:")

    def agrees(self, other: Figure) -> bool:
        """Comparable, and the values they allow overlap (``1.2亿元`` agrees with ``12,000万元``)."""
        if not self.comparable(other):
            return False
        lo1, hi1 = self.interval
        lo2, hi2 = other.interval
        return lo1 <= hi2 and lo2 <= hi1

    def implies(self, other: Figure) -> bool:
        """Whether saying this figure backs saying ``other``: every value this one allows is one ``other`` allows,
        up to the coarser rounding of the two (``50.00%`` implies ``50%`` and ``约50%``; ``超过300家`` implies
        ``超过250家`` but not ``超过391家``, ``300家`` or ``超过30家``)."""
        if not self.comparable(other):
            return False
        lo, hi = self.interval
        lo_other, hi_other = other.interval
        slack = max(_half_ulp(self.value) * self.scale, _half_ulp(other.value) * other.scale)
        if self.high is not None and other.high is not None and self.qualifier == other.qualifier == "":
            # two ranges ("增长268.43%~291.30%"): a restatement gives both ends, each up to rounding
            ends, other_ends = (self.base_value, self.base_high), (other.base_value, other.base_high)
            return all(abs(a - b) <= slack for a, b in zip(ends, other_ends, strict=True))  # type: ignore[operator]
        if other.qualifier == "at_least" and lo_other > 0 and lo > BOUND_LOOSENESS * lo_other:
            return False
        if other.qualifier == "at_most" and hi > 0 and hi_other > BOUND_LOOSENESS * hi:
            return False
        return lo_other - slack <= lo and hi <= hi_other + slack

    def display(self) -> str:
        """The value and unit in canonical form: ``50.00%``, ``160-170亿``, ``4369.53万元``."""
        value = f"{self.value}" + (f"-{self.high}" if self.high is not None else "")
        sep = " " if self.unit[:1].isascii() and self.unit not in ("%", "T", "B", "M", "K") else ""
        return f"{value}{sep}{self.unit}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (values as strings, so ``50.00`` keeps its written precision)."""
        return {
            "value": str(self.value),
            "high": None if self.high is None else str(self.high),
            "unit": self.unit,
            "kind": self.kind,
            "qualifier": self.qualifier,
            "text": self.text,
            "display": self.display(),
            "metric_text": self.metric_text,
            "span": list(self.span),
        }


def _half_ulp(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    return Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)


def _number(text: str) -> Decimal:
    folded = unicodedata.normalize("NFKC", text).replace(",", "")
    try:
        return Decimal(folded)
    except InvalidOperation:  # the pattern only lets digits through; kept so a bad match cannot raise
        return Decimal(0)


def _cn_number(text: str) -> Decimal:
    """The value of a Chinese numeral below 100 (七, 十五, 二十, 两)."""
    if "十" not in text:
        return Decimal(_CN_DIGITS[text])
    tens, _, ones = text.partition("十")
    return Decimal(_CN_DIGITS.get(tens, 1) * 10 + _CN_DIGITS.get(ones, 0))


def _unit(m: re.Match[str]) -> tuple[str, FigureKind]:
    g = m.groupdict()
    if g["pct"]:
        return "%", "percent"
    if g["tenth"]:
        return "成", "percent"
    if g["dur"]:
        return _DURATION_UNIT[g["dur"].lower()], "duration"
    if g["pp"]:
        return "个百分点", "points"
    if g["bp"]:
        return "个基点", "points"
    if g["mult"]:
        return "倍", "multiple"
    if g["tok"]:
        if g["tokword"]:
            return {"trillion": "T", "billion": "B", "million": "M"}[g["tokword"].lower()], "tokens"
        return (g["tokmag"] or "T").upper(), "tokens"
    prefix = _CURRENCIES.get((g["prefix"] or "").lower(), "")
    if g["cncur"]:
        return (g["cnmag"] or "") + _CURRENCIES[g["cncur"].lower()], "money"
    if g["counter"]:
        return (g["cnmag2"] or "") + g["counter"], "count"
    if g["enmag"]:
        mag = _EN_MAGNITUDES[g["enmag"].lower()]
        currency = _CURRENCIES.get((g["encur"] or "").lower(), "") or prefix
        return (mag + currency, "money") if currency else (mag, "amount")
    if g["encur2"]:
        return _CURRENCIES[g["encur2"].lower()], "money"
    mag = g["cnmag3"] or ""
    return (mag + prefix, "money") if prefix else (mag, "amount")


def _qualifier(text: str, start: int, end: int, more: bool) -> Qualifier:
    if more:
        return "at_least"
    after = text[end : end + 8]
    for pattern, qualifier in _AFTER_QUAL:
        if pattern.search(after):
            return qualifier  # type: ignore[return-value]
    before = text[max(0, start - 16) : start]
    for pattern, qualifier in _BEFORE_QUAL:
        if pattern.search(before):
            return qualifier  # type: ignore[return-value]
    return ""


def extract_figures(text: str) -> list[Figure]:
    """Every figure with a unit in ``text``, in order; never raises on any string."""
    found: list[_Found] = []
    for m in _FIGURE.finditer(text):
        if m.group("unit") is None and m.group("prefix") is None:
            continue  # a bare number: a year, a record number, an item of a list
        unit, kind = _unit(m)
        value, high = _number(m.group("num")), None
        start, end = m.start(), m.end()
        head = None if m.group("prefix") else _RANGE_HEAD.search(text, max(0, start - 40), m.start("num"))
        if head and (head.group("unit") is None or kind == "percent"):
            # "160-170亿", "70-80%", "10%-15%": one figure, the low end its value. The dash is no sign.
            value, high, start = _number(head.group("num")), value, head.start()
            while found and found[-1].end > start:
                found.pop()  # "10%" of "10%-15%" was taken as a figure of its own
        elif m.group("sign"):
            value = -value
        qualifier = _qualifier(text, start, end, bool(m.group("more")))
        found.append(_Found(start, end, value, high, unit, kind, qualifier))
    for m in _CN_FIGURE.finditer(text):
        g = m.groupdict()
        if g["tenth"]:
            unit, kind = "成", "percent"
        elif g["mult"]:
            unit, kind = "倍", "multiple"
        elif g["pp"]:
            unit, kind = "个百分点", "points"
        else:
            unit, kind = _DURATION_UNIT[g["dur"].lower()], "duration"
        value, high = _cn_number(g["num"]), None
        if g["low"]:
            value, high = _cn_number(g["low"]), value
        qualifier = _qualifier(text, m.start(), m.end(), False)
        found.append(_Found(m.start(), m.end(), value, high, unit, kind, qualifier))
    found.sort(key=lambda f: f.start)
    bounds = Boundaries(text)
    spans = _Spans([(f.start, f.end) for f in found])
    return [
        Figure(
            value=f.value,
            unit=f.unit,
            kind=f.kind,
            metric_text=_metric_text(text, f.start, f.end, spans, bounds),
            span=(f.start, f.end),
            high=f.high,
            qualifier=f.qualifier,
            text=text[f.start : f.end],
        )
        for f in found
    ]


@dataclass
class _Found:
    start: int
    end: int
    value: Decimal
    high: Decimal | None
    unit: str
    kind: FigureKind
    qualifier: Qualifier


class Boundaries:
    """Clause boundaries of a text, found once (a text with many figures would otherwise be rescanned)."""

    def __init__(self, text: str):
        found = [(m.start(), m.end()) for m in _CLAUSE_END.finditer(text)]
        self.starts = [start for start, _ in found]
        self.ends = [end for _, end in found]

    def clause_start(self, pos: int) -> int:
        """Where the clause holding ``pos`` begins."""
        i = bisect.bisect_right(self.ends, pos) - 1
        return self.ends[i] if i >= 0 else 0

    def clause_end(self, pos: int, length: int) -> int:
        """Where the clause holding ``pos`` ends."""
        i = bisect.bisect_left(self.starts, pos)
        return self.starts[i] if i < len(self.starts) else length


# -- metric context ----------------------------------------------------------------------------------

_PERIOD = re.compile(
    r"(?:19|20)\d{2}\s*(?:年度|年|财年)?|FY\s?\d{2,4}|[上下]半年|(?:前|第)?[一二三四1-4]季度|[1-4]Q|Q[1-4]|H[12]"
    r"|前三季度|全年|今年|去年|上年同期|去年同期|同期|上年|本期|报告期内?|年底|年末|年初|截至|截止"
    r"|first[- ]half|second[- ]half|first[- ]quarter|second[- ]quarter|third[- ]quarter|fourth[- ]quarter|full year"
    r"|this year|last year|year[- ]on[- ]year|yoy|in 20\d{2}",
    re.I,
)
# The words that make a figure a change, not a level (rag/data/cue_words.json).
_CHANGE_UP = cue("figure_up")
_CHANGE_DOWN = cue("figure_down")
# "增长50%至4,369.53万元", "达到约4,370万元", "提升至2024年的25.5%": the figure is the level reached (the period
# reached or an approximation word may stand between).
# A change word naming a project ("产能提升项目计划投资88,837.47万元", "降本增效计划"): the figure is no change.
_NAMED_CHANGE = named_change()
_LEVEL = re.compile(
    r"(?:增至|降至|至|到|达|(?<![A-Za-z])to)\s*(?:(?:19|20)\d{2}\s*年(?:度|末|底)?(?:[上下]半年)?的?)?"
    r"\s*(?:约为|约|大约|近|超过|逾)?\s*$",
    re.I,
)
_FILLER = re.compile(
    r"本公司|公司|我司|我们|集团|其中|同时|此外|另外|以及|预计|使得|受益于|带动|推动|拉动|驱动|实现了?|达到了?|达|约为|大约|大概|大致"
    r"|接近|将近|超过|不到|不足|左右|以上|以下|显著|大幅|快速|明显|稳步|持续|进一步|分别|较|相比|同比|环比|增长|增加|提升|提高"
    r"|上升|上涨|下降|下滑|减少|降低|回落|下跌|增至|降至|增速|增幅|降幅|至|由|从|约|近|逾|超|已经|已|了|的|为"
    r"|\b(?:the|a|an|of|in|on|by|to|from|was|were|is|are|has|have|had|its|our|we|company|group|about|around|approximately"
    r"|nearly|over|more|than|reached|reach|grew|grow|growth|increased|increase|rose|rise|up|fell|down|declined|decline"
    r"|decreased|decrease|dropped|year|on|yoy|roughly|some|at|least|up|and)\b",
    re.I,
)
_UNITS_OF_TEXT = re.compile(r"[\u3400-\u9fff]|[A-Za-z][A-Za-z0-9&.-]*|[0-9]+")


def _metric_text(text: str, start: int, end: int, spans: _Spans, bounds: Boundaries) -> str:
    # What a figure measures is said within a few words of it; the window also keeps a text without clause
    # breaks (a table flattened into one line) linear to read.
    clause_start = max(bounds.clause_start(start), start - METRIC_WINDOW)
    previous = spans.last_end_between(clause_start, start)
    if previous is not None and not _is_weak(text[previous:start]):
        # "毛利率为30%、净利率为10%": the second figure is about what follows the first.
        return spans.without(text, previous, start).lstrip("、，, ")
    prefix = spans.without(text, clause_start, start)
    if _is_weak(prefix) and clause_start > 0 and text[clause_start - 1] in "，,":
        # "营业收入4,369.53万元，同比增长50%": what grew is named in the clause before.
        before = max(bounds.clause_start(clause_start - 1), clause_start - 1 - METRIC_WINDOW)
        extended = spans.without(text, before, clause_start - 1) + "，" + prefix
        if not _is_weak(extended):
            return extended.strip("， ")
    if _is_weak(prefix):
        # "50%的收入来自海外": what is measured comes after the figure.
        suffix = spans.without(text, end, min(bounds.clause_end(end, len(text)), end + METRIC_WINDOW))
        if not _is_weak(suffix):
            return suffix
    return prefix


class _Spans:
    """The figures' spans in text order, looked up by position."""

    def __init__(self, spans: list[tuple[int, int]]):
        self.spans = spans
        self.starts = [s for s, _ in spans]

    def last_end_between(self, lo: int, hi: int) -> int | None:
        """End of the last figure lying wholly within ``[lo, hi)``."""
        i = bisect.bisect_left(self.starts, hi) - 1
        while i >= 0 and self.spans[i][1] > hi:
            i -= 1
        return self.spans[i][1] if i >= 0 and self.spans[i][0] >= lo else None

    def without(self, text: str, start: int, end: int) -> str:
        """``text[start:end]`` with the figures cut out and white space collapsed."""
        out = []
        pos = start
        i = max(0, bisect.bisect_left(self.starts, start) - 1)
        while i < len(self.spans) and self.spans[i][0] < end:
            s, e = self.spans[i]
            if e > start:
                out.append(text[pos : max(pos, s)])
                pos = max(pos, e)
            i += 1
        out.append(text[pos:end])
        return re.sub(r"\s+", " ", "".join(out)).strip()


def _is_weak(text: str) -> bool:
    return len(_UNITS_OF_TEXT.findall(metric_subject(text))) < 2


@functools.cache
def _measure_names() -> tuple[tuple[str, str], ...]:
    """(long form, short form) of report measure names, longest first (rag/data/measure_names.json)."""
    data = read_json("measure_names.json")
    return tuple(sorted(((k, v) for k, v in data.items() if not k.startswith("_")), key=lambda kv: -len(kv[0])))


def short_measure_names(text: str) -> str:
    """``text`` with report measure names in their short form (归属于上市公司股东的净利润 -> 归母净利润)."""
    for long, short in _measure_names():
        text = text.replace(long, short)
    return text


@functools.cache
def _measure_qualifiers() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The long forms whose short form is part of a longer one (归属于上市公司股东的 -> 归母, in 归母扣非净利润), and
    those short forms, longest first: read once, not at every figure."""
    table = _measure_names()
    shorts = {short for _, short in table}
    qualifiers = {short for short in shorts if any(short != other and short in other for other in shorts)}
    longs = tuple(long for long, short in table if short in qualifiers)
    return longs, tuple(sorted(qualifiers, key=len, reverse=True))


def without_measure_names(text: str) -> str:
    """``text`` with the qualifiers of report measure names blanked, long or short (归属于上市公司股东的 and 归母 of
    归母净利润: a short form part of a longer one): their words (上市, 股东) qualify the measure, they name no other."""
    longs, shorts = _measure_qualifiers()
    for form in (*longs, *shorts):  # 归母净利润 as written short: 归母 qualifies it too
        text = text.replace(form, " " * len(form))
    return text


def metric_subject(metric_text: str, names: Iterable[str] = ()) -> str:
    """What a metric text measures, without company names, periods, change words and fillers, with report
    measure names in their short form: ``海天瑞声上半年境外收入同比增长`` -> ``境外收入``."""
    text = short_measure_names(unicodedata.normalize("NFKC", metric_text))
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = re.sub(re.escape(name), " ", text, flags=re.I)
    text = re.sub(r"['’]s(?![A-Za-z])", " ", text)
    text = _PERIOD.sub(" ", text)
    text = _FILLER.sub(" ", text)
    text = re.sub(r"[^\w&]+|_", " ", text)
    return " ".join(text.split())


def _units(subject: str) -> list[str]:
    return [u.lower() for u in _UNITS_OF_TEXT.findall(subject)]


def metric_similarity(a: str, b: str) -> float:
    """Dice similarity of two metric subjects by their longest common subsequence of characters (Chinese)
    and words (Latin): ``境外收入`` vs ``境外业务收入`` is 0.8, ``收入`` vs ``境外业务收入`` is 0.5."""
    ua, ub = _units(a), _units(b)
    if not ua or not ub:
        return 0.0
    return 2 * _lcs(ua, ub) / (len(ua) + len(ub))


def same_metric(a: str, b: str, *, min_similarity: float = 0.6, max_extra: int = 2) -> bool:
    """Whether two metric subjects name the same metric: similar (:func:`metric_similarity`), and neither adds
    more than ``max_extra`` characters or words to what they share. ``境外收入`` / ``境外业务收入`` and ``毛利率`` /
    ``整体毛利率`` are the same; ``毛利率`` / ``创新业务毛利率`` and ``海外收入占比`` / ``移动机器人的海外收入占比``
    are not (the longer one is about a part)."""
    ua, ub = _units(a), _units(b)
    if not ua or not ub:
        return False
    common = _lcs(ua, ub)
    return 2 * common / (len(ua) + len(ub)) >= min_similarity and max(len(ua), len(ub)) - common <= max_extra


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def direction(metric_text: str) -> int:
    """+1 when the metric text says the figure is a rise (增长, grew), -1 a fall (下降, fell), 0 neither, both, or
    a level reached (增长至, 降至, rose to: the figure is the new level, not the change)."""
    tail = _NAMED_CHANGE.sub("", metric_text[-12:])
    if _LEVEL.search(tail):
        return 0
    up, down = bool(_CHANGE_UP.search(tail)), bool(_CHANGE_DOWN.search(tail))
    return 0 if up == down else (1 if up else -1)


# The periods a figure is of are read as a question's are (rag.intent: periods with or without their year, years,
# months), and besides by a full year's words with no year (全年, 年报) and by the date a reporting period ends: a
# balance "截至2025年6月30日" is the one at the end of Q2, the end of H1 too, and a draft's "一季度末" figure is not the
# same figure.
_FULL_YEAR = re.compile(r"全年|(?<!半)年度报告|(?<!半)年报|full[- ]year", re.I)
_FIGURE_PERIODS = [(_FULL_YEAR, ("FY",)), *YEARLESS_ENDS]


def periods(text: str) -> frozenset[str]:
    """The reporting periods a text names: years (``Y2024``) and parts of a year (``H1``, ``Q3``, ``9M``, ``FY``)."""
    explicit, bare, kinds = sentence_periods(text)
    found = {f"Y{year}" for year in bare} | {f"Y{year}" for year, _ in explicit} | {k for _, k in explicit} | kinds
    for pattern, tags in _FIGURE_PERIODS:
        if pattern.search(text):
            found.update(tags)
    return frozenset(found)


def _mentions(text: str, end: int) -> list[tuple[int, int]]:
    """Where ``text[:end]`` names a period (:func:`periods`), in order, mentions that touch or overlap joined."""
    return period_spans(text[:end], more=[pattern for pattern, _ in _FIGURE_PERIODS])


# What separates the items of a list of periods ("2022年、2023年和2024年上半年"), and the word saying the figures
# after it follow that list in order (分别为: respectively).
_LIST_SEPARATOR = re.compile(r"\s*(?:[、,，及与和]|以及|and)\s*", re.I)
_RESPECTIVELY = re.compile(r"分别|respectively", re.I)
# A period named as what a figure is compared with ("较2023年增长20%") is not the figure's own period.
_BASE_BEFORE = re.compile(r"(?:较|比|与|相比|同比|than|from|vs\.?)\s*$", re.I)
# "由2020年的18.5%升至25.5%": a period after 由 / 从 is the starting point's; a figure after 至 is not of it.
_FROM_BEFORE = re.compile(r"(?:由|从)\s*$")
_TO = re.compile(r"至|到")


def periods_at(text: str, pos: int) -> frozenset[str]:
    """The periods named by the last mention of a period before ``pos`` (with the mentions written next to it:
    2023年前三季度), or empty: in "2022年度…27.33%，2023年前三季度…50.98%" the second figure is 2023's 9M. In a
    "respectively" list ("2022年、2023年的净利润分别为5.02亿元、1.69亿元") the k-th figure is the k-th period's."""
    mentions: list[tuple[int, int]] = []
    others: list[tuple[int, int]] = []
    for m in _mentions(text, pos):
        before = text[max(0, m[0] - 4) : m[0]]
        # "与2024年全年相比": 全年 continues the base 2024年 began
        continues = bool(others) and others[-1][1] == m[0]
        if continues or _BASE_BEFORE.search(before) or (_FROM_BEFORE.search(before) and _TO.search(text, m[1], pos)):
            others.append(m)
        else:
            mentions.append(m)
    if not mentions:
        return frozenset()
    # the run of mentions ending with the last one, cut into items where a separator stands between two mentions
    items = [[mentions[-1]]]
    for m in reversed(mentions[:-1]):
        gap = text[m[1] : items[0][0][0]]
        if len(gap) > 2:
            break
        if _LIST_SEPARATOR.fullmatch(gap):
            items.insert(0, [m])
        else:
            items[0].insert(0, m)
    start = items[0][0][0]
    respectively = _RESPECTIVELY.search(text, items[-1][-1][1], pos)
    if respectively and len(items) > 1:
        k = len(extract_figures(text[respectively.end() : pos]))
        if k < len(items):
            return periods(text[items[k][0][0] : items[k][-1][1]])
    # a period named as a base or a starting point inside the run is not the figure's
    own = text[start:pos]
    for a, b in others:
        if a >= start:
            own = own.replace(text[a:b], " ", 1)
    return periods(own)


def companions(text: str, figures: Sequence[Figure]) -> dict[int, int]:
    """For each change figure (同比增长20%) that names no measure of its own, the index in ``figures`` (those of
    ``text``, in order) of the level figure it is the change of: the last figure of the clause before it
    ("收入336亿元，同比增长20.58%"), or, after "respectively", the k-th of as many level figures before it
    ("营业收入40.52亿元，净利润15.73亿元，同比分别增长264.13%和384.54%": 384.54% is the profit's)."""
    bounds = Boundaries(text)
    spans = _Spans([f.span for f in figures])
    out: dict[int, int] = {}
    for i, f in enumerate(figures):
        if not direction(f.metric_text):
            continue
        start = bounds.clause_start(f.span[0])
        own = spans.without(text, start, f.span[0])
        respectively = _RESPECTIVELY.search(own)
        if respectively:
            group = [k for k, g in enumerate(figures) if start <= g.span[0] and bounds.clause_start(g.span[0]) == start]
            levels = [k for k, g in enumerate(figures) if g.span[1] <= start and not direction(g.metric_text)]
            if i in group and len(levels) >= len(group):
                out[i] = levels[len(levels) - len(group) + group.index(i)]
            continue
        if start == 0 or not _is_weak(own) or text[start - 1] in "。！？!?\n":
            continue
        before = bounds.clause_start(start - 1)
        inside = [k for k, g in enumerate(figures[:i]) if before <= g.span[0] < start]
        if inside and not direction(figures[inside[-1]].metric_text):
            out[i] = inside[-1]
    return out


def periods_compatible(a: frozenset[str], b: frozenset[str]) -> bool:
    """False when both name a year (or both a part of the year) and they share none: figures for different
    periods are not the same metric."""
    for family in (lambda p: p.startswith("Y"), lambda p: not p.startswith("Y")):
        fa = {p for p in a if family(p)}
        fb = {p for p in b if family(p)}
        if fa and fb and not fa & fb:
            return False
    return True
