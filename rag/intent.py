"""What a question asks about beyond its words: the months it names, and whether it asks for a meeting's
metadata (who attended, when, where, what kind of event) rather than what was said."""

from __future__ import annotations

import re

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

# Asking who took part, who hosted, when, where, or what kind of event it was.
_META_EN = re.compile(
    r"\b(?:who|when|where|what date|which (?:day|date)s?|attend\w*|participa\w*|hosted|host|venue|held|"
    r"(?:which|what) (?:institutions?|funds?|investors?|analysts?|firms?|executives?|officials?)|"
    r"(?:what|which) (?:kind|type|sort) of (?:meeting|event|activity|call))\b",
    re.I,
)
_META_ZH = re.compile(
    r"谁|哪天|哪几天|哪一天|什么时候|何时|几月几日|哪里|在哪|地点|参加|参与|出席|接待|哪些机构|哪些投资者|"
    r"什么类型|什么形式|活动类别|哪种活动"
)


def mentioned_months(text: str) -> list[tuple[int, int]]:
    """(year, month) pairs the text names: "April 2024", "Apr 20, 2024", "2024-04", "2024年4月"."""
    found: list[tuple[int, int]] = []
    for m in [*_EN_MONTH.finditer(text), *_EN_MONTH_AFTER.finditer(text)]:
        found.append((int(m.group(2)), _MONTHS[m.group(1).lower()]))
    for m in [*_ISO_MONTH.finditer(text), *_ZH_MONTH.finditer(text)]:
        found.append((int(m.group(1)), int(m.group(2))))
    out: list[tuple[int, int]] = []
    for year, month in found:
        if 1 <= month <= 12 and (year, month) not in out:
            out.append((year, month))
    return out


def asks_metadata(text: str) -> bool:
    """Whether the question asks for a meeting's participants, hosts, date, place or kind."""
    return bool(_META_EN.search(text) or _META_ZH.search(text))


def in_months(date_from: str, date_to: str, months: list[tuple[int, int]]) -> bool:
    """Whether the ISO date range ``date_from``..``date_to`` overlaps any of ``months``."""
    if not date_from or not months:
        return False
    start = date_from[:7]
    end = (date_to or date_from)[:7]
    return any(start <= f"{y:04d}-{m:02d}" <= end for y, m in months)
