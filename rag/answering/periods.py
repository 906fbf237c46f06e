"""Which reporting period each sentence of a passage is about: the periods it names, else those of the dated clause
it continues after "；"."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answering.text import figures
from rag.figures import periods_at
from rag.intent import sentence_periods, states_period


def continued(asked: Sequence[tuple[int, str]], says: Sequence[str]) -> tuple[list[frozenset[str]], list[bool]]:
    """Per sentence (in order): the periods of the dated clause it continues after "；" (none when it continues none),
    and whether it is about another period than those ``asked`` — by the periods it names, else by that clause's
    ("2024年，公司实现营业收入238.82亿元；公司归母净利润6.78亿元" are both 2024's)."""
    contexts: list[frozenset[str]] = []
    other: list[bool] = []
    governing = ""
    for s in says:
        contexts.append(periods_at(governing, len(governing)) if governing else frozenset())
        explicit, bare, kinds = sentence_periods(s)
        if explicit or bare or kinds:
            other.append(bool(asked) and not states_period(s, list(asked)))
            governing = s if explicit or bare else ""  # 去年下半年, with no year, governs nothing after it
        else:
            other.append(bool(asked and governing) and not states_period(governing, list(asked)))
        if not s.endswith(("；", ";")):
            governing = ""  # a full stop ends what a dated clause governs
    return contexts, other


def figures_for(asked: Sequence[tuple[int, str]], says: Sequence[str]) -> list[bool]:
    """Per sentence of ``says`` stating a figure, whether it may be a figure of a period ``asked``."""
    _, other = continued(asked, says)
    return [not o for s, o in zip(says, other, strict=True) if figures(s)]
