"""What kind of figure a question asks for (a share, money, a count, a multiple, a time, or a named unit such as
台 or GWh), and whether a text gives one: a passage on the topic that states no figure of the kind asked does not
answer "how many units were delivered"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from rag.data_files import read_json
from rag.figures import COUNTERS, WORD_COUNTER_PATTERN, WORD_COUNTERS, extract_figures
from rag.intent import asks_change, asks_how_much

__all__ = ["AskedFigure", "asked_figure", "gives"]


@dataclass(frozen=True)
class AskedFigure:
    """The figure kinds a question asks for (groups of :data:`rag.figures.FigureKind`) and a unit it names."""

    kinds: tuple[str, ...] = ()
    unit: str = ""
    """A unit asked for by name (台, 瓦, GWh), compared as written; empty when only a kind is asked."""

    def __bool__(self) -> bool:
        return bool(self.kinds or self.unit)


@cache
def _table() -> dict[str, Any]:
    return read_json("asked_figures.json")


def _phrase_pattern(phrase: str, plural: bool = False) -> str:
    """``phrase`` as a regular expression: an English one on word boundaries (and its plural when ``plural``)."""
    if not phrase.isascii():
        return re.escape(phrase)
    return rf"(?<![A-Za-z]){re.escape(phrase)}{'s?' if plural else ''}(?![A-Za-z])"


@cache
def _phrases(group: str) -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(_phrase_pattern(p), re.I), kind) for kind, words in _table()[group].items() for p in words]


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    table = _table()
    physical = "|".join(sorted(map(re.escape, table["units_zh"]), key=len, reverse=True))
    # 多少台 / 几家 / 多少GWh / 多少瓦 / 多少万只 (a magnitude before the unit, not the 千 of 千瓦); 哪几家 asks
    # which ones, 几乎 (almost) and 几何 ask nothing.
    zh_unit = re.compile(
        rf"(?:多少|(?<![几哪])几)\s*(?:个)?(?:(?!{physical})[万亿千百])?"
        rf"(?P<unit>{physical}|[{COUNTERS}](?![乎何])|{WORD_COUNTER_PATTERN}|[A-Za-z]+(?![A-Za-z&]))"
    )
    en_unit = re.compile(r"\b(?i:how many)\s+(?P<unit>[A-Za-z]{1,8})(?![\w&-])")
    return zh_unit, en_unit


# Up to twelve characters within one clause: a word asked about and the word asking for it belong together there.
_SAME_CLAUSE = r"[^，,。？?！!；;]{0,12}?"


@cache
def _amounts() -> re.Pattern[str]:
    return re.compile("|".join(_phrase_pattern(w, plural=True) for w in _table()["amounts"]), re.I)


@cache
def _share_of() -> re.Pattern[str]:
    # 占收入多少, 各占多少, 占了几成: what share one thing is of another, asked in the same clause; 占用多少资金
    # (how much capital it ties up) asks money
    words = "|".join(map(re.escape, _table()["share_of_zh"]))
    return re.compile(rf"(?:{words})(?!用){_SAME_CLAUSE}(?:多少|几成)")


@cache
def _lists() -> re.Pattern[str]:
    # 几件事是什么, 几个产品有哪些: the things counted are asked for, later in the same clause
    words = "|".join(sorted(map(re.escape, _table()["lists"]), key=len, reverse=True))
    return re.compile(rf"{_SAME_CLAUSE}(?:{words})")


def asked_figure(text: str, how_much: bool | None = None, change: bool | None = None) -> AskedFigure:
    """The kind of figure ``text`` asks for, if it asks for one; a phrase inside a longer one of another kind
    yields to it ("how many months" is a time, not a count). ``how_much``: :func:`asks_how_much` of ``text`` when
    the caller has it; ``change``: :func:`asks_change` of ``text``, likewise."""
    zh_unit, en_unit = _patterns()
    how_much = asks_how_much(text) if how_much is None else how_much
    phrases = _phrases("asks") + (_phrases("measures") if how_much else [])
    found: list[tuple[int, int, str, str]] = []
    for pattern, kind in phrases:
        found += [(m.start(), m.end(), kind, "") for m in pattern.finditer(text)]
    found += [(m.start(), m.end(), "percent", "") for m in _share_of().finditer(text)]
    asking = [(start, end) for start, end, _, _ in found]
    for pattern in (zh_unit, en_unit):
        for m in pattern.finditer(text):
            unit = m.group("unit")
            # a symbol (GWh, TOPS, P), not a capitalised name ("how many Midea factories")
            if pattern is en_unit and not (unit.isupper() or sum(ch.isupper() for ch in unit) >= 2):
                continue
            if pattern is zh_unit and _lists().match(text, m.end()):
                continue
            kind = "count" if len(unit) == 1 and (unit in COUNTERS or unit in WORD_COUNTERS) else ""
            # 几个月, 多少token: a unit inside a phrase asking a kind is that kind's
            if not any(start <= m.start() and m.end() <= end for start, end in asking):
                found.append((m.start(), m.end(), kind, unit))
    kept = [f for f in found if not any(g[0] <= f[0] and f[1] <= g[1] and g[1] - g[0] > f[1] - f[0] for g in found)]
    kinds = tuple(dict.fromkeys(kind for _, _, kind, _ in kept if kind))
    unit = next((unit for *_, unit in kept if unit), "")
    if how_much and not kinds and not unit and _amounts().search(text):
        # 净利润是多少 asks for money; 营收增长多少 is answered by the growth rate as well
        change = asks_change(text) if change is None else change
        kinds = ("money", "percent") if change else ("money",)
    return AskedFigure(kinds, unit)


# A time in years or minutes (units.json leaves them out of figures): at most three digits, 2024年 being a date.
_YEARS = re.compile(r"(?<![\d.])\d{1,3}(?:\s*[-~～至到]\s*\d{1,3})?\s*(?:多|余)?\s*(?:个)?(?:年(?![度底初末中])|分钟)")
_NUMERAL = "0-9一二三四五六七八九十两百千"


def gives(asked: AskedFigure, text: str) -> bool:
    """Whether ``text`` states a figure of the kind (or in the unit) ``asked``."""
    if asked.unit:
        group = next((g for g in _table()["same_units"] if asked.unit in g), "")
        units = f"[{group}]" if group else re.escape(asked.unit)
        flags = re.I if asked.unit.isascii() else 0
        return bool(re.search(rf"[{_NUMERAL}][\d,.]*\s*(?:多|余)?[万亿千百]?{units}", text, flags))
    if not asked.kinds:
        return False
    wanted = {g for k in asked.kinds for g in _table()["gives"][k]}
    if "duration" in wanted and _YEARS.search(text):
        return True
    return any(f.kind in wanted for f in extract_figures(text))
