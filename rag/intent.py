"""What a question asks about beyond its words: the months it names, and whether it asks for a meeting's
metadata (who attended, when, where, what kind of event) rather than what was said."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from rag.cue_words import cue
from rag.data_files import read_json

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_EN_MONTH = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?(20\d\d)\b",
    re.I,
)
_EN_MONTH_AFTER = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+of\s+(20\d\d)\b",
    re.I,
)
_ISO_MONTH = re.compile(r"\b(20\d\d)[-/.](\d{1,2})\b")
_ZH_MONTH = re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月")


# A quarter's last day, or its last month's end, is the reporting period ending then, not a meeting's date:
# "截至2025年3月31日", "2024年6月底", "as of June 30, 2024", "at the end of September 2025". What a company states
# at that date is in the report of the period from January (a flow to date; a balance at the quarter's end is in
# the same report): Q1, H1, the first three quarters, the full year. Another month's end or another day is a
# date as before. One table (rag/data/quarter_ends.json) for every reader of a quarter's end: with a year here, and
# without one in a sentence (_TO_DATE) and in a figure's periods (rag.figures).
_ENDS_TABLE = read_json("quarter_ends.json")["ends"]
_END_DAY = {e["month"]: e["day"] for e in _ENDS_TABLE}
ENDED: dict[int, tuple[str, ...]] = {e["month"]: tuple(e["ended"]) for e in _ENDS_TABLE}
"""The reporting periods a quarter's last month ends, by month: the year to date first, then the quarter."""
_ZH_MONTH_NUM = {e["zh"]: e["month"] for e in _ENDS_TABLE}


def _digits(month: int) -> str:
    """A month in digits as written, with or without its leading zero (03月, 3月)."""
    return f"0?{month}" if month < 10 else str(month)


_DIGIT_MONTH_ALT = "|".join(_digits(m) for m in _END_DAY)
_MONTH_ALT = "|".join([_DIGIT_MONTH_ALT, *_ZH_MONTH_NUM])
_EN_END_NUM = {word: e["month"] for e in _ENDS_TABLE for word in e["en"]}
_EN_END_MONTH = rf"(?P<en>{'|'.join(sorted(_EN_END_NUM, key=len, reverse=True))})\.?"
# A day is read so only after "as of" / 截至 ("会议于2024年6月30日召开" dates a meeting); a month's end always.
_AS_OF = r"(?:(?:截至|截止)(?:到|于)?\s*|\bas\s+(?:of|at)\s+(?:the\s+)?)"
_QUARTER_ENDS = [
    re.compile(rf"(?P<year>20\d\d)\s*年\s*(?P<month>{_MONTH_ALT})\s*月\s*[底末]"),
    re.compile(rf"{_AS_OF}(?P<year>20\d\d)\s*年\s*(?P<month>{_DIGIT_MONTH_ALT})\s*月\s*(?P<day>\d\d)\s*[日号]"),
    re.compile(rf"{_AS_OF}(?P<year>20\d\d)[-/.](?P<month>{_DIGIT_MONTH_ALT})[-/.](?P<day>\d\d)(?!\d)"),
    re.compile(rf"\bend[\s-]+(?:of\s+)?{_EN_END_MONTH},?\s+(?P<year>20\d\d)\b", re.I),
    re.compile(rf"{_AS_OF}{_EN_END_MONTH}\s+(?P<day>\d\d)(?:st|th)?,?\s+(?P<year>20\d\d)\b", re.I),
    re.compile(rf"{_AS_OF}(?P<day>\d\d)(?:st|th)?\s+(?:of\s+)?{_EN_END_MONTH},?\s+(?P<year>20\d\d)\b", re.I),
]


def _yearless_end(end: dict[str, Any]) -> str:
    """A quarter's end written without its year: 9月底, 9月30日, 九月末, 三季度末, 第三季度末, 上半年末."""
    quarter = "一二三四"[end["quarter"] - 1]
    alternatives = [
        rf"(?<![0-9]){_digits(end['month'])}\s*月\s*(?:{end['day']}\s*[日号]|[末底])",
        rf"{end['zh']}月[末底]",
        rf"(?<!前)第?[{quarter}{end['quarter']}]\s*季度[末底]",
        *(rf"{word}[末底]" for word in end["also"]),
    ]
    return "|".join(alternatives)


YEARLESS_ENDS = [(re.compile(_yearless_end(e)), ENDED[e["month"]]) for e in _ENDS_TABLE]
"""Each quarter's end written without a year, and the periods it ends (a figure's periods, rag.figures)."""


def quarter_ends(text: str) -> list[tuple[int, int, tuple[int, int]]]:
    """(year, month, span) of each quarter's last day or last month's end ``text`` names."""
    out = []
    for pattern in _QUARTER_ENDS:
        for m in pattern.finditer(text):
            named = m.groupdict()
            if named.get("en"):
                month = _EN_END_NUM[named["en"].lower()]
            else:
                month = _ZH_MONTH_NUM.get(named["month"]) or int(named["month"])
            if named.get("day") is None or int(named["day"]) == _END_DAY[month]:
                out.append((int(named["year"]), month, m.span()))
    return out


def mentioned_months(text: str) -> list[tuple[int, int]]:
    """(year, month) pairs the text names: "April 2024", "Apr 20, 2024", "2024-04", "2024年4月"; a quarter's end
    ("2024年6月30日") names its reporting period (:func:`asked_periods`), not a month."""
    return _mentioned_months(text, quarter_ends(text))


def _mentioned_months(text: str, ends: Sequence[tuple[int, int, tuple[int, int]]]) -> list[tuple[int, int]]:
    spans = [span for _, _, span in ends]
    found: list[tuple[int, int]] = []
    for m in [*_EN_MONTH.finditer(text), *_EN_MONTH_AFTER.finditer(text)]:
        if not any(a <= m.start() < b for a, b in spans):
            found.append((int(m.group(2)), _MONTHS[m.group(1).lower()]))
    for m in [*_ISO_MONTH.finditer(text), *_ZH_MONTH.finditer(text)]:
        if not any(a <= m.start() < b for a, b in spans):
            found.append((int(m.group(1)), int(m.group(2))))
    out: list[tuple[int, int]] = []
    for year, month in found:
        if 1 <= month <= 12 and (year, month) not in out:
            out.append((year, month))
    return out


def _alternatives(words: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(words), re.I) if words else None


@cache
def _meeting_fields() -> tuple[
    list[tuple[str, re.Pattern[str] | None, re.Pattern[str] | None]], re.Pattern[str], re.Pattern[str]
]:
    table = read_json("meeting_fields.json")
    fields = [(name, _alternatives(f["alone"]), _alternatives(f["at_meeting"])) for name, f in table["fields"].items()]
    return fields, re.compile("|".join(table["meeting"]), re.I), re.compile("|".join(table["any_field"]), re.I)


def metadata_fields(text: str) -> tuple[str, ...]:
    """The record fields (地点, 时间, 接待人员 …) a question about a meeting's metadata asks for, all of them when it
    asks about the meeting without naming one; () when it asks what was said."""
    fields, meeting, any_field = _meeting_fields()
    at_meeting = bool(meeting.search(text))
    named = tuple(
        name
        for name, alone, asked in fields
        if (alone and alone.search(text)) or (at_meeting and asked and asked.search(text))
    )
    if named:
        return named
    return tuple(name for name, _, _ in fields) if any_field.search(text) else ()


def asks_metadata(text: str) -> bool:
    """Whether the question asks for a meeting's participants, hosts, date, place or kind."""
    return bool(metadata_fields(text))


def in_months(date_from: str, date_to: str, months: list[tuple[int, int]]) -> bool:
    """Whether the ISO date range ``date_from``..``date_to`` overlaps any of ``months``."""
    if not date_from or not months:
        return False
    start = date_from[:7]
    end = (date_to or date_from)[:7]
    return any(start <= f"{y:04d}-{m:02d}" <= end for y, m in months)


# A reporting period with its year: the quarter, half, first three quarters or full year it names.
_ZH_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
# Month counts written out, as :data:`_MONTHS_TO` keys.
_EN_COUNT = {"three": "3", "six": "6", "nine": "9"}
_ZH_COUNT = {"三": "3", "六": "6", "九": "9"}
_PERIOD_END = {"Q1": (3, 31), "Q2": (6, 30), "Q3": (9, 30), "Q4": (12, 31), "H1": (6, 30), "H2": (12, 31)}
_PERIOD_END.update({"9M": (9, 30), "FY": (12, 31)})
_EN_ORD = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
# English writes a period before or after its year, as words ("first-half 2025", "the first quarter of 2025",
# "2025 first half") or as analysts' labels ("H1 2025", "1H25", "2Q24", "Q1'25", "FY24"); a two-digit year is
# 20xx. The ordinal and its half or quarter may be joined by a hyphen (a compound adjective: "first-half results").
_ORD = r"(first|second|third|fourth|1st|2nd|3rd|4th)"
_YY = r"'?(\d\d)(?![\d])"


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


_EN_PERIODS = [
    (re.compile(r"\bQ([1-4])\s*(?:of\s+)?(?:FY\s*)?'?(20\d\d)\b", re.I), lambda m: (int(m[2]), f"Q{m[1]}")),
    (re.compile(r"\bQ([1-4])\s*(?:FY\s*)?'(\d\d)\b", re.I), lambda m: (_year(m[2]), f"Q{m[1]}")),
    (re.compile(r"\b(20\d\d)\s*Q([1-4])\b", re.I), lambda m: (int(m[1]), f"Q{m[2]}")),
    (re.compile(r"\b([1-4])Q\s*(?:of\s+)?(20\d\d)\b", re.I), lambda m: (int(m[2]), f"Q{m[1]}")),
    (re.compile(rf"\b([1-4])Q{_YY}\b", re.I), lambda m: (_year(m[2]), f"Q{m[1]}")),
    (
        re.compile(rf"\b{_ORD}[\s-]+quarter\s+(?:of\s+)?(?:fiscal\s+)?(20\d\d)\b", re.I),
        lambda m: (int(m[2]), f"Q{_EN_ORD[m[1].lower()]}"),
    ),
    (
        re.compile(rf"\b(20\d\d)\s+{_ORD}[\s-]+quarter\b", re.I),
        lambda m: (int(m[1]), f"Q{_EN_ORD[m[2].lower()]}"),
    ),
    (re.compile(r"\bH([12])\s*(?:of\s+)?(20\d\d)\b", re.I), lambda m: (int(m[2]), f"H{m[1]}")),
    (re.compile(r"\bH([12])\s*'(\d\d)\b", re.I), lambda m: (_year(m[2]), f"H{m[1]}")),
    (re.compile(r"\b(20\d\d)\s*H([12])\b", re.I), lambda m: (int(m[1]), f"H{m[2]}")),
    (re.compile(r"\b([12])H\s*(?:of\s+)?(20\d\d)\b", re.I), lambda m: (int(m[2]), f"H{m[1]}")),
    (re.compile(rf"\b([12])H{_YY}\b", re.I), lambda m: (_year(m[2]), f"H{m[1]}")),
    (
        re.compile(r"\b(first|second)[\s-]+half\s+(?:of\s+)?(?:fiscal\s+)?(20\d\d)\b", re.I),
        lambda m: (int(m[2]), "H1" if m[1].lower() == "first" else "H2"),
    ),
    (
        re.compile(r"\b(20\d\d)\s+(first|second)[\s-]+half\b", re.I),
        lambda m: (int(m[1]), "H1" if m[2].lower() == "first" else "H2"),
    ),
    (re.compile(r"\bfirst[\s-]+(?:three|3)\s+quarters\s+(?:of\s+)?(20\d\d)\b", re.I), lambda m: (int(m[1]), "9M")),
    (re.compile(r"\b(?:9M|nine[\s-]+months)\s*(?:of\s+)?(20\d\d)\b", re.I), lambda m: (int(m[1]), "9M")),
    # the months from January to a quarter's end are that period to date ("the first six months of 2024")
    (
        re.compile(r"\bfirst\s+(three|six|nine|3|6|9)\s+months\s+(?:of\s+)?(?:fiscal\s+)?(20\d\d)\b", re.I),
        lambda m: (int(m[2]), _MONTHS_TO[_EN_COUNT.get(m[1].lower(), m[1])]),
    ),
    (re.compile(rf"\b9M{_YY}\b", re.I), lambda m: (_year(m[1]), "9M")),
    # the half-year by its report's names ("interim 2024", "2024 half-year results") and mid-year ("mid-2024", not
    # a deadline "by mid-2026"): its figures are the half-year report's
    (
        re.compile(
            r"(?<!\bby\s)(?<!first\s)(?<!second\s)(?<![\w-])(?:mid|half|interim)[\s-]*(?:year\s+)?(?:of\s+)?(20\d\d)\b",
            re.I,
        ),
        lambda m: (int(m[1]), "H1"),
    ),
    (re.compile(r"\b(20\d\d)\s+(?:half[\s-]year|mid[\s-]year|interim)\b", re.I), lambda m: (int(m[1]), "H1")),
    (re.compile(r"\b(?:full[- ]year|FY)\s*(?:of\s+)?(20\d\d)\b", re.I), lambda m: (int(m[1]), "FY")),
    (re.compile(rf"\bFY\s*{_YY}\b", re.I), lambda m: (_year(m[1]), "FY")),
    (re.compile(r"\b(20\d\d)\s+(?:full[- ]year|annual|fiscal[- ]year)\b", re.I), lambda m: (int(m[1]), "FY")),
]
# A run of quarters from the first is the half, the first three quarters or the year it adds up to ("Q1-Q3 2025",
# "1-3Q25", "2025年1-3季度"), not its last quarter; a run starting later ("Q2-Q3 2025") is no reporting period
# and keeps its dated quarter.
_RUN_END = {"2": "H1", "3": "9M", "4": "FY", "二": "H1", "三": "9M", "四": "FY"}
_TO_Q = r"\s*(?:[-–—~～]|to|至|到)\s*"
_RUNS = [
    (
        re.compile(rf"\bQ1{_TO_Q}Q([2-4])\s*(?:of\s+)?(?:FY\s*)?'?(20\d\d)\b", re.I),
        lambda m: (int(m[2]), _RUN_END[m[1]]),
    ),
    (re.compile(rf"\bQ1{_TO_Q}Q([2-4])\s*(?:FY\s*)?'(\d\d)\b", re.I), lambda m: (_year(m[2]), _RUN_END[m[1]])),
    (re.compile(rf"\b(20\d\d)\s*Q1{_TO_Q}Q?([2-4])\b", re.I), lambda m: (int(m[1]), _RUN_END[m[2]])),
    (re.compile(rf"\b1Q?{_TO_Q}([2-4])Q\s*(?:of\s+)?(20\d\d)\b", re.I), lambda m: (int(m[2]), _RUN_END[m[1]])),
    (re.compile(rf"\b1Q?{_TO_Q}([2-4])Q{_YY}", re.I), lambda m: (_year(m[2]), _RUN_END[m[1]])),
]
# Chinese writes a period after its year, with or without 年 between ("2024年上半年", "2017全年"); investors also
# write a two-digit year ("24年一季度", "17年4季度"), which is 20xx when a period follows its 年 — bare, "10年" is
# as often ten years. The year may be written 年度 before its part ("2024年度上半年", "2023年度一季度").
_ZH_YEAR = r"(?:(20\d\d)\s*(?:年度?)?|(?<![\d.])([1-3]\d)\s*年度?)\s*"


def _zh_year(m: re.Match[str]) -> int:
    return int(m[1]) if m[1] else 2000 + int(m[2])


# Months from January to a quarter's end are that period to date ("2025年1-9月" is the first three quarters).
_MONTHS_TO = {"3": "Q1", "6": "H1", "9": "9M", "12": "FY"}
_ZH_RUNS = [
    (
        re.compile(rf"{_ZH_YEAR}(?:第)?[一1]\s*(?:季度)?{_TO_Q}(?:第)?([二三四2-4])\s*季度"),
        lambda m: (_zh_year(m), _RUN_END[m[3]]),
    ),
    (
        re.compile(rf"{_ZH_YEAR}(?:0?1|一)\s*月?{_TO_Q}(3|6|9|12)\s*月(?![0-9]|\s*[0-9]+\s*日)"),
        lambda m: (_zh_year(m), _MONTHS_TO[m[3]]),
    ),
]


# The half-year report's names, with or without a year before them.
_HALF_REPORT = "半年度|半年报|中报"

# What follows a year written 年度 when it names a part of that year, not the full year.
_YEAR_PART = r"(?:上半年|下半年|第?[一二三四1-4]\s*季|前三季度|前\s*[369三六九]\s*个\s*月|[Qq][1-4])"

_ZH_PERIODS = [
    # a quarter, or its report (一季报, 三季报)
    (re.compile(rf"{_ZH_YEAR}(?:第)?([一二三四1-4])\s*季[度报]"), lambda m: (_zh_year(m), f"Q{_ZH_NUM[m[3]]}")),
    (re.compile(rf"{_ZH_YEAR}Q([1-4])", re.I), lambda m: (_zh_year(m), f"Q{m[3]}")),
    (re.compile(rf"{_ZH_YEAR}上半年"), lambda m: (_zh_year(m), "H1")),
    # the half-year report's names (半年报, 中报), and mid-year (2024年年中, not 2024年中标: its figures are the
    # half-year report's)
    (
        re.compile(rf"{_ZH_YEAR}(?:{_HALF_REPORT}|(?<=年)年中|中期(?:报告|业绩|分红|利润分配))"),
        lambda m: (_zh_year(m), "H1"),
    ),
    (re.compile(rf"{_ZH_YEAR}下半年"), lambda m: (_zh_year(m), "H2")),
    (re.compile(rf"{_ZH_YEAR}前三季度"), lambda m: (_zh_year(m), "9M")),
    (
        re.compile(rf"{_ZH_YEAR}前\s*([369三六九])\s*个\s*月"),
        lambda m: (_zh_year(m), _MONTHS_TO[_ZH_COUNT.get(m[3], m[3])]),
    ),
    (
        re.compile(rf"(?:{_ZH_YEAR}(?:全年|年度)|(20\d\d)\s*年\s*年度)(?!\s*{_YEAR_PART})"),
        lambda m: (_zh_year(m) if m[3] is None else int(m[3]), "FY"),
    ),
]
# Words that name the full year. A bare year means its full year, so a passage states annual results as
# "2024年营业收入…" and rarely writes 全年: asking for a dated full year, these words are not topic words.
FULL_YEAR_WORDS = frozenset(["全年", "年度", "全年度", "整年", "整个年度"])
# Asking what is planned or expected for a period, which can be said before the period ends (rag/data/cue_words.json).
_FORWARD = cue("forward")


def forward_looking(text: str) -> bool:
    """Whether the question asks about plans, targets or expectations."""
    return bool(_FORWARD.search(text))


_YEAR = re.compile(r"(?<![\d-])(20\d\d)(?![\d-])(?!\s*年\s*\d{1,2}\s*月)")
# 几家 / 几个 ask how many; 哪几家 asks which ones.
_HOW_MANY_ZH = r"(?<!哪)几[个家款种项年倍成]"
_FIGURE_ASK = re.compile(
    rf"多少|{_HOW_MANY_ZH}|比例|占比|增速|增长了|下降了|下滑了|幅度|毛利率|利润|营收|收入|份额|市占率|"
    r"how (?:much|many|fast|big|large)|what (?:share|percentage|proportion|ratio)|\brate\b|%|"
    r"revenue|profit|margin|earnings|sales|market share|分红|派息|dividend|payout|ratio",
    re.I,
)


def asks_figure(text: str) -> bool:
    """Whether the question is about figures (how much, what share, a revenue, a margin, a dividend), so a
    bare year in it means that year's results."""
    return bool(_FIGURE_ASK.search(text))


# The question itself asks for a number, so only a passage stating one answers it.
_HOW_MUCH = re.compile(
    rf"多少|{_HOW_MANY_ZH}|多大(?!程度)|比例|占比|增速|增长了|下降了|幅度|具体(?:的)?(?:数字|数值|数据|金额|数额)|"
    r"how (?:much|many|fast|big|large)|what (?:share|percentage|proportion|ratio)|\brate\b|%|"
    # "the 2024 revenue figure", "the number of stores"; "a number of" is several, "figure out" to work out
    r"(?<!\ba )\b(?:figure|number)s?\b(?!\s+out\b)|"
    r"\bhow (?:is|are|was|were)\b.{0,80}?\b(?:split|divided|broken down)\b|\bbreakdown\b",
    re.I,
)
_EN_MEASURE = (
    r"(?:(?:total |net |gross |operating )*(?:revenue|sales|turnover|profit|income|margin)|earnings|ratio|rate|density|"
    r"payout|headcount|capex|eps|valuation|market share|growth|target|guidance)s?"
)
# Nouns that are a number after "what is the" ("what is the selling price of…", "…the capacity of the plant"),
# but verbs or things elsewhere ("how does it price its services", "its biggest cost").
_EN_QUANTITY = r"(?:(?:unit |average |issue )?(?:selling )?price|capacity|volume)s?"
# "What is the gross margin", "What payout ratio…": a number asked for without 多少 / "how much".
# Words between "what is" and the measure qualify it ("the overseas gross margin", "its R&D expense ratio"); a verb
# there ("what is driving revenue") asks for reasons instead.
_QUALIFIER = r"(?:(?!\w+ing\b|behind\b|about\b)[\w&-]+\s+)"
# The measure must end the noun phrase: "the revenue outlook", "the growth strategy" are not numbers.
_PHRASE_END = r"(?=\s*(?:$|[?,.;:)]|(?:in|for|of|at|during|as|this|last|by|now|since|after|before|over|and|to|with)\b))"
_WHAT_MEASURE = re.compile(
    # a possessive name may be two capitalised words ("Haitian Ruisheng's", "Kweichow Moutai’s")
    rf"\bwhat(?:'s|\s+(?:is|was|are|were|will be))\s+(?:(?:the|its|their|(?:(?-i:[A-Z])[\w-]*\s+)?[\w-]+['’]s?)\s+)*"
    rf"{_QUALIFIER}{{0,2}}?"
    rf"(?:{_EN_MEASURE}|{_EN_QUANTITY})\b{_PHRASE_END}|"
    rf"\bwhat\s+{_QUALIFIER}{{0,2}}{_EN_MEASURE}\s+(?:does|did|do|is|was|are|were|will|has|have)\b",
    re.I,
)
# A comparison or a change of a measure between periods ("compare growth in H1 with the full year", "how did
# gross margin change from 2023 to 2024", "from what to what"): the figures of each are asked for.
_COMPARE = re.compile(
    r"\bcompare[sd]?\b|\bcomparison\b|对比|\bfrom what to what\b|从多少.{0,6}到多少|"
    r"\bhow (?:did|has|have|does|do)\b.{0,80}?\b(?:change[sd]?|move[sd]?|evolve[sd]?|shift(?:ed)?|grow|grown|"
    r"rise|risen|fall|fallen|decline[sd]?|drop(?:ped)?)\b",
    re.I,
)
_MEASURE_WORD = re.compile(
    rf"\b{_EN_MEASURE}\b|营收|收入|利润|毛利率|净利率|利润率|分红|派息|营业额|销售额|销量|市占率|份额|人数|增速|增长|目标",
    re.I,
)
# An English question mark alone does not make a question of a search-box query ("Acme 1H24 gross margin?"); a
# Chinese one does ("毛利率降低原因？").
_QUESTION_WORD = re.compile(
    r"\b(?:why|how|what|which|who|whom|when|where|does|do|did|is|are|was|were|will|can|could|should|has|"
    r"have|tell|explain|describe)\b|？|什么|怎么|怎样|为何|为啥|咋|原因|如何|吗|呢|是否|哪|谁|几|请|介绍|说说|谈谈|讲讲",
    re.I,
)
_PERIOD_NAMED = re.compile(
    r"\b(?:19|20)\d{2}\b|\bH[12]\b|\bQ[1-4]\b|full[- ]year|(?:19|20)\d{2}\s*年|季[度报]|上半年|下半年|全年", re.I
)
# How something changed, not how much it is.
# Short English words (up, from, cut) are left out: "make up", "came from" ask for levels.
_CHANGE = re.compile(
    r"增长|增速|增幅|增加|下降|减少|提升|提高|降低|上升|下滑|上涨|涨了|涨幅|下跌|跌了|跌幅|变化|变动|同比|环比|幅度|"
    r"下调|上调|改善|恶化|翻了|翻倍|收窄|扩大|回落|回升|从.+到|"
    r"\b(?:grow|grew|grown|growth|increase[sd]?|decrease[sd]?|decline[sd]?|rise|rose|risen|fall|fell|fallen|drop|"
    r"dropped|change[sd]?|improve[sd]?|expand(?:ed)?|jump(?:ed)?|narrow(?:ed)?|widen(?:ed)?|fast|faster|slower|"
    r"higher|lower|compare[sd]?|vs|versus|yoy|year-on-year|reduce[sd]?|reduction|by how much)\b|\bcut\b(?!-)",
    re.I,
)


def asks_how_much(text: str, dated: Sequence[tuple[int, str]] | None = None) -> bool:
    """Whether the question asks for a number: 多少 / how much, "what is the gross margin", or a search-box
    query naming a measure and a period ("Dahua revenue 2023 full year"). ``dated``: :func:`asked_periods` of
    ``text`` when the caller has it."""
    if _HOW_MUCH.search(text) or _WHAT_MEASURE.search(text):
        return True
    if not _MEASURE_WORD.search(text):
        return False
    if _COMPARE.search(text):
        return True
    # A search-box query is short: a sentence without a question word is a request ("…收入增长的主要驱动因素").
    short = len(text.split()) <= 8 if text.isascii() else len(text) <= 24
    named = bool(_PERIOD_NAMED.search(text) or (asked_periods(text) if dated is None else dated))
    return bool(short and named and not _QUESTION_WORD.search(text))


def asks_change(text: str) -> bool:
    """Whether the question asks how a figure changed (grew, fell, 增速) rather than what it is."""
    return bool(_CHANGE.search(text))


# "2024年上半年和前三季度", "H1 and 9M 2024": a period joined to one that names its year shares that year.
_JOIN = r"\s*(?:和|与|及|以及|、|,|，|/|&|\band\b|\bvs\.?|versus)\s*"
_PERIOD_NAME = (
    r"前三季度|第?[一二三四]\s*季度|上半年|下半年|全年|(?<![A-Za-z0-9])(?:Q[1-4]|H[12]|9M)(?![A-Za-z0-9])|"
    r"first half|second half|first (?:three|3) quarters|full[- ]year"
)
# A name followed by its own year ("H1 2024 and Q1 2025") is a dated period of its own, not a joined one.
_JOINED_AFTER = re.compile(rf"{_JOIN}(?P<name>{_PERIOD_NAME})(?!\s*(?:of\s+)?'?(?:FY\s*)?20\d\d)", re.I)
_JOINED_BEFORE = re.compile(rf"(?P<name>{_PERIOD_NAME}){_JOIN}$", re.I)
_OWN_YEAR = re.compile(r"20\d\d\s*年?\s*(?:第\s*)?$")


def _period_kind(name: str) -> str:
    word = re.sub(r"\s+", "", name.lower())
    if word in ("前三季度", "firstthreequarters", "first3quarters", "9m"):
        return "9M"
    if word in ("上半年", "firsthalf", "h1"):
        return "H1"
    if word in ("下半年", "secondhalf", "h2"):
        return "H2"
    if word in ("全年", "full-year", "fullyear"):
        return "FY"
    return f"Q{_ZH_NUM[re.search(r'[一二三四1-4]', word).group(0)]}"  # type: ignore[union-attr]


def _joined_periods(text: str, m: re.Match[str], year: int) -> list[tuple[int, str]]:
    """Periods without a year joined by 和 / and to the period ``m`` matched, which names ``year``."""
    out = []
    pos = m.end()
    while after := _JOINED_AFTER.match(text, pos):
        out.append((year, _period_kind(after["name"])))
        pos = after.end()
    head = text[: m.start()]
    # A name before the dated period shares its year only when it has none of its own ("2024年上半年和2025年…").
    while (before := _JOINED_BEFORE.search(head)) and not _OWN_YEAR.search(head[: before.start()]):
        out.append((year, _period_kind(before["name"])))
        head = head[: before.start()]
    return out


def asked_periods(text: str) -> list[tuple[int, str]]:
    """Reporting periods with a year that the question asks about: ``(2025, "Q2")``, ``(2024, "FY")``; a year
    named by itself is not one here (:func:`figure_periods` reads it as its full year when a figure is asked)."""
    return _asked_periods(text, quarter_ends(text))


def _asked_periods(text: str, ends: Sequence[tuple[int, int, tuple[int, int]]]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for pattern, read in [*_RUNS, *_ZH_RUNS]:
        for period in map(read, pattern.finditer(text)):
            if period not in out:
                out.append(period)
        # the run's last quarter is not asked by itself ("Q1-Q3 2025" is not Q3's); blanks keep the offsets
        text = pattern.sub(lambda m: " " * len(m[0]), text)
    for pattern, read in [*_EN_PERIODS, *_ZH_PERIODS]:
        for m in pattern.finditer(text):
            period = read(m)
            for p in [period, *_joined_periods(text, m, period[0])]:
                if p not in out:
                    out.append(p)
    for year, month, _ in ends:
        if (year, ENDED[month][0]) not in out:
            out.append((year, ENDED[month][0]))
    return out


def _bare_years(text: str, dated: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """The full years of the years ``text`` names without a period, a month or an event after them ("2024年营收"):
    what a question asking for a figure means by a bare year."""
    named = {year for year, _ in dated} | {year for year, _ in mentioned_months(text)}
    out: list[tuple[int, str]] = []
    for m in _YEAR.finditer(text):
        year = int(m.group(1))
        if year not in named and (year, "FY") not in [*dated, *out] and not _dated_event().match(text, m.end()):
            out.append((year, "FY"))
    return out


@cache
def _dated_event() -> re.Pattern[str]:
    """After a year: an event it dates ("2024 private placement", "2021年股权激励", "2024年公司回购"), not a period
    whose results are asked. One word, or two Chinese characters, may stand between."""
    return re.compile(
        rf"\s*(?:年度?\s*的?\s*[\u4e00-\u9fff]{{0,2}}?|(?:[A-Za-z-]+\s+)?)(?:{cue('events').pattern})(?![a-z])", re.I
    )


# How :func:`spelled_periods` writes a period: words the glossary renders as the records write them.
_SPELLED = {"H1": "H1", "H2": "H2", "9M": "first three quarters", "FY": "full year"}


def spelled_periods(text: str) -> str:
    """``text`` with each English period label written out the one way the glossary reads ("1H25" → "H1 2025",
    "1-3Q25" → "first three quarters 2025", "Q3'24" → "Q3 2024"), so a label is searched and covered as the
    period it names, not as the digits it is made of."""
    spans: list[tuple[int, int, tuple[int, str]]] = []
    for pattern, read in [*_RUNS, *_EN_PERIODS]:
        for m in pattern.finditer(text):
            if not any(m.start() < end and start < m.end() for start, end, _ in spans):
                spans.append((m.start(), m.end(), read(m)))
    out, at = [], 0
    for start, end, (year, kind) in sorted(spans):
        out += [text[at:start], f"{_SPELLED.get(kind, kind)} {year}"]
        at = end
    return "".join([*out, text[at:]])


def figure_periods(
    text: str, how_much: bool | None = None, dated: Sequence[tuple[int, str]] | None = None
) -> list[tuple[int, str]]:
    """The periods whose reported results a question asks for (a bare year as its full year), or none
    when it does not ask for a figure or asks about plans and targets. ``how_much`` and ``dated``:
    :func:`asks_how_much` and :func:`asked_periods` of ``text`` when the caller has them."""
    dated = asked_periods(text) if dated is None else list(dated)
    how_much = asks_how_much(text, dated) if how_much is None else how_much
    if not (asks_figure(text) or how_much) or _FORWARD.search(text):
        return dated
    return [*dated, *_bare_years(text, dated)]


def period_end(period: tuple[int, str]) -> str:
    """The ISO date a period ends on."""
    month, day = _PERIOD_END[period[1]]
    return f"{period[0]:04d}-{month:02d}-{day:02d}"


# Days after a period ends within which companies report and discuss it: annual reports are due four
# months after the year ends, half-year reports two months, quarterly reports one month (CSRC rules), and
# the results briefing follows within days.
_REPORT_DAYS = {"FY": 130, "Q4": 130, "H2": 130, "H1": 75, "Q2": 75, "Q1": 45, "Q3": 45, "9M": 45}


def reporting_window(period: tuple[int, str]) -> tuple[str, str]:
    """ISO dates (first, last) of the meetings that report on ``period``: from the day after it ends."""
    from datetime import date, timedelta

    end = date.fromisoformat(period_end(period))
    return (end + timedelta(days=1)).isoformat(), (end + timedelta(days=_REPORT_DAYS[period[1]])).isoformat()


# A period a sentence names without its year ("一季度公司收入增长4.01%", "今年上半年"): the kind alone.
# 三季度 inside 前三季度 is no third quarter. An analyst's label may stand against Chinese ("Q2单季度"), which Python's
# \b, taking Chinese for letters, would not allow.
_A, _Z = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
_YEARLESS = [
    (
        re.compile(
            rf"(?<!前)(?:第)?([一二三四1-4])\s*季[度报]|{_A}Q([1-4]){_Z}|{_A}([1-4])Q{_Z}|\b{_ORD}[\s-]quarter\b", re.I
        ),
        lambda m: f"Q{_ZH_NUM[m[1] or m[2] or m[3]] if m[4] is None else _EN_ORD[m[4].lower()]}",
    ),
    (re.compile(rf"上半年|{_HALF_REPORT}|{_A}(?:H1|1H){_Z}|first[\s-]half|half[\s-]year", re.I), lambda m: "H1"),
    (re.compile(rf"下半年|{_A}(?:H2|2H){_Z}|second[\s-]half", re.I), lambda m: "H2"),
    (re.compile(rf"前三季度|first (?:three|3) quarters|{_A}9M{_Z}", re.I), lambda m: "9M"),
]


# "截止三季度末，公司实现营业收入…": at a quarter's end, a flow is the year to date and a balance (存货) the
# quarter's: both kinds are named. Without its year, only after 截至: "预计9月底完成" dates a plan, not a figure.
_TO_DATE = [(re.compile(rf"(?:截至|截止)到?\s*(?:{_yearless_end(e)})"), set(ENDED[e["month"]])) for e in _ENDS_TABLE]


def sentence_periods(text: str) -> tuple[list[tuple[int, str]], set[int], set[str]]:
    """The reporting periods a sentence of a passage names: periods with a year, the years it names bare
    ("2024年公司实现营业总收入", "截至2024年底"), and the kinds of period it names without a year (Q1, H1)."""
    ends = quarter_ends(text)  # read once: the periods, the months and the quarter's ends all need them
    explicit = _asked_periods(text, ends)
    # a balance at a quarter's end is that quarter's as well as the period to date's
    explicit += [(y, k) for y, month, _ in ends for k in ENDED[month] if (y, k) not in explicit]
    named = {year for year, _ in explicit}
    bare = {int(m.group(1)) for m in _YEAR.finditer(text)} - named
    bare |= {year for year, _ in _mentioned_months(text, ends)} - named
    rest = text
    for pattern in [*_QUARTER_ENDS, *(p for p, _ in [*_RUNS, *_ZH_RUNS, *_EN_PERIODS, *_ZH_PERIODS])]:
        rest = pattern.sub(" ", rest)
    kinds = {kind for pattern, both in _TO_DATE if pattern.search(rest) for kind in both}
    for pattern, _ in _TO_DATE:
        rest = pattern.sub(" ", rest)
    kinds |= {read(m) for pattern, read in _YEARLESS for m in pattern.finditer(rest)}
    return explicit, bare, kinds


# A year with the word after it, so that a list of years ("2021年、2022年") is cut at its separators.
_YEAR_WORD = re.compile(r"(?<![\d-])20\d\d\s*(?:财年|年度?)")


def period_spans(text: str, more: Sequence[re.Pattern[str]] = ()) -> list[tuple[int, int]]:
    """Where ``text`` names what :func:`sentence_periods` reads (a period with or without its year, a year, a
    month), or matches one of ``more``, in order; mentions that touch or overlap are one ("2024年上半年")."""
    patterns = [p for p, _ in [*_RUNS, *_ZH_RUNS, *_EN_PERIODS, *_ZH_PERIODS, *_TO_DATE, *_YEARLESS]]
    patterns += _QUARTER_ENDS
    patterns += [_YEAR, _YEAR_WORD, _EN_MONTH, _EN_MONTH_AFTER, _ISO_MONTH, _ZH_MONTH, *more]
    spans = sorted(m.span() for pattern in patterns for m in pattern.finditer(text))
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def states_period(text: str, asked: list[tuple[int, str]], bare_years: Iterable[int] = ()) -> bool:
    """Whether a sentence may state a figure for one of the ``asked`` periods: it names none, or it names one
    of them (with its year, the bare year, or the kind of period without a year). A sentence about 2024 年
    does not answer a question about 2025 年一季度, nor does one about 一季度 answer one about the full year.

    ``bare_years`` are asked periods the question named by their year alone ("2024年营收", "2021年股权激励"):
    for those only the year must agree, as the year may name a plan rather than a period."""
    if not asked:
        return True
    explicit, bare, kinds = sentence_periods(text)
    if not explicit and not bare and not kinds:
        return True
    years = bare | {year for year, _ in explicit}
    loose = set(bare_years)
    for year, kind in asked:
        if year in loose and (year in years or not years):
            return True
        if (year, kind) in explicit or year in bare or (kind in kinds and not explicit and not bare):
            return True
        if kind == "FY" and any(y == year and k == "FY" for y, k in explicit):
            return True
    return False


def names_period(text: str) -> bool:
    """Whether a sentence names a reporting period, a year, or a kind of period (一季度, 上半年)."""
    explicit, bare, kinds = sentence_periods(text)
    return bool(explicit or bare or kinds)
