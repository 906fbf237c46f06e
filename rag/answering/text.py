"""Sentences and figures of a passage: what quotes are cut from and what a figure question looks for."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.figures import Boundaries

_SENTENCE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")
_ENUM = re.compile(r"^\s*(?:[（(]?\d{1,2}[)）、.．]|[一二三四五六七八九十]+、)\s*")
# A number with a unit, or a magnitude in words (几十亿元, 数百家, 上万名): an estimate is still a figure.
_FIGURE = re.compile(
    r"\d[\d,.]*\s*(?:%|％|‰|万元|亿元|元|美元|个百分点|百分点|万|亿|倍|家|个|款|种|项|座|名|台|人|片|只|件|吨|平方米|T\b|t\b|G\b|nm\b)|"
    r"[一二三四五六七八九十百千万两]+(?:成|倍|个百分点)|"
    r"(?:[一二三四五六七八九两几数近]|(?<!成千)上)[十百千]*[万亿]+(?:多|余)?(?:美元|元)?|[十百]亿(?:元|美元)?|千亿|"
    r"[一二三四五六七八九两几数上近][十百千]+(?:多|余)?(?:家|个|款|种|项|名|台|人|座)"
)
_END = re.compile(r"[。！？；!?.…]$")


def sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, trimmed, list numbers dropped."""
    out = []
    for s in _SENTENCE.findall(text):
        s = _ENUM.sub("", s.strip())
        if len(s) > 1:
            out.append(s)
    return out


def figures(text: str) -> frozenset[str]:
    """The figures a text states, normalised (``4,369.53 万元`` → ``4369.53万元``)."""
    return frozenset(re.sub(r"[\s,]", "", m.group(0)) for m in _FIGURE.finditer(text))


def figure_clauses(sentence: str) -> list[str]:
    """Per figure a sentence states, the words about it: its clause up to the figure and the clause before (a
    change, "同比增长20%", is of the measure the clause before names)."""
    found = list(_FIGURE.finditer(sentence))
    if not found:  # most sentences state no figure: no clauses to find
        return []
    bounds = Boundaries(sentence)
    out = []
    for m in found:
        own = bounds.clause_start(m.start())
        out.append(sentence[bounds.clause_start(own - 1) if own else 0 : m.end()])
    return out


def join_quotes(quotes: list[str]) -> str:
    """Quotes joined into one passage of text; record lines ("地点：…") end without punctuation: kept apart."""
    out = ""
    for quote in quotes:
        out += ("；" if out and not _END.search(out) else "") + quote
    return out


def clip(sentence: str, limit: int = 220, around: Sequence[tuple[float, Sequence[str]]] = ()) -> str:
    """A sentence cut to ``limit`` characters. ``around``: weighted words asked (a concept's weight and forms); when
    the weightiest of those the cut leaves out is further on (a name deep in a list of participants), its
    beginning is kept and the rest cut around that word."""
    if len(sentence) <= limit:
        return sentence
    head = limit // 2
    low, kept = sentence.lower(), sentence[: limit - 1].lower()
    later = [
        (weight, at)
        for weight, forms in around
        if not any(f.lower() in kept for f in forms)
        for at in [min((low.find(f.lower()) for f in forms if f.lower() in low), default=-1)]
        if at >= 0
    ]
    if not later:
        return sentence[: limit - 1] + "…"
    at = max(later)[1]
    start = max(head, at - limit // 4)
    tail = sentence[start : start + limit - head - 2]
    return sentence[:head] + "…" + tail + ("…" if start + len(tail) < len(sentence) else "")
