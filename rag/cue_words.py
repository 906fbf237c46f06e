"""Words that say how a statement stands — a change's direction, a plan, a negation — read from
``rag/data/cue_words.json`` (which says where they come from) into patterns the question analysis, the figure
reader and the draft check share."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from rag.data_files import read_json

__all__ = ["cue", "named_change"]


@cache
def _table() -> dict[str, Any]:
    return read_json("cue_words.json")


@cache
def cue(name: str) -> re.Pattern[str]:
    """The words of one list (``forward``, ``claim_up``, ``negation`` …) as one pattern, ignoring case."""
    return re.compile("|".join(_table()[name]), re.I)


@cache
def named_change() -> re.Pattern[str]:
    """A change word naming a project (产能提升项目): the change word, to be read as no change."""
    words = _table()["named_change"]
    return re.compile(f"(?:{'|'.join(words['change'])})(?={'|'.join(words['names'])})")
