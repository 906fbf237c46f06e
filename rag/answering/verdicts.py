"""Why an answer was given or refused, typed, with the plain words the user sees."""

from __future__ import annotations

from typing import Literal, get_args

Verdict = Literal[
    "answered",
    "no_passage",
    "low_confidence",
    "period_not_reported",
    "period_not_found",
    "figure_not_given",
    "ambiguous_company",
    "company_not_indexed",
]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)

_WORDS: dict[Verdict, dict[str, str]] = {
    "answered": {"zh": "", "en": ""},
    "no_passage": {
        "zh": "现有记录未涉及这个问题：没有找到相关段落。",
        "en": "The indexed records do not cover this question: no passage was found.",
    },
    "low_confidence": {
        "zh": "现有记录未涉及这个问题：找到的段落都没有回答它。",
        "en": "The indexed records do not cover this question: none of the passages found answers it.",
    },
    "period_not_reported": {
        "zh": "现有记录未涉及这个问题：所问的{period}在最新一次交流（{latest}）时尚未结束或尚未披露。",
        "en": "The indexed records do not cover this question: {period} had not been reported by the latest "
        "meeting indexed ({latest}).",
    },
    "period_not_found": {
        "zh": "现有记录未涉及这个问题：找到的相关段落都来自{period}披露之前的交流（最近一次为{latest}）。",
        "en": "The indexed records do not cover this question: the passages found on it are all from meetings before "
        "{period} was reported (the newest on {latest}).",
    },
    "figure_not_given": {
        "zh": "现有记录未涉及这个问题：相关段落没有给出所问的数字。",
        "en": "The indexed records do not cover this question: the passages on it give no figure for what is asked.",
    },
    "ambiguous_company": {
        "zh": "这个问题没有指明公司，而{companies}的记录都谈到了相关内容。请说明是哪家公司。",
        "en": "The question names no company, and the records of {companies} all discuss it. Which company do you "
        "mean?",
    },
    "company_not_indexed": {
        "zh": "现有记录未涉及这个问题：没有已索引的公司叫“{name}”，其他公司的记录也没有回答它。"
        "如果“{name}”是某家已索引公司的英文名，可用 irchat alias 代码 {name} 登记后再问。",
        "en": "The indexed records do not cover this question: no indexed company is called '{name}', and no "
        "other company's records answer it. If '{name}' is an indexed company's English name, register it with "
        "`irchat alias CODE {name}` and ask again.",
    },
}


_CLOSEST = {
    "zh": "最接近的段落（未必回答了这个问题）：{key}",
    "en": "The closest passage found, which may not answer it: {key}",
}


def closest_line(key: str, lang: str) -> str:
    """The line a refusal ends with when a passage comes close: its citation ``key``, to open and read."""
    return _CLOSEST.get(lang, _CLOSEST["en"]).format(key=key)


_ASKED = {"zh": "{key} 的提问：{asked}", "en": "{key} was asked: {asked}"}


def asked_line(key: str, asked: str, lang: str) -> str:
    """What the investor asked in the passage ``key`` names, in ``lang``: whether a pointer is worth opening."""
    return _ASKED.get(lang, _ASKED["en"]).format(key=key, asked=asked)


def explain(verdict: Verdict, lang: str, **details: str) -> str:
    """The user's words for ``verdict`` in ``lang`` (zh or en), details filled in."""
    words = _WORDS[verdict].get(lang, _WORDS[verdict]["en"])
    try:
        return words.format(**details)
    except KeyError:
        return _WORDS["low_confidence"].get(lang, _WORDS["low_confidence"]["en"])
