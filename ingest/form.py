"""The record form's vocabulary, read once from ``ingest/data``: row labels, activity types, tick and box marks,
and the tick glyphs of symbol fonts."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any


def _load(name: str) -> dict[str, Any]:
    return json.loads((resources.files("ingest") / "data" / name).read_text(encoding="utf-8"))


_FORM = _load("form.json")

FIELD_OF: dict[str, str] = dict(_FORM["labels"])
"""Row label as printed → field of the parsed record (``skip``: a row that is not kept)."""
FORM_LABELS: tuple[str, ...] = tuple(FIELD_OF)
ACTIVITY_TYPES: tuple[str, ...] = tuple(_FORM["activity_types"])
TICKS: str = _FORM["ticks"]
BOXES: str = _FORM["boxes"]


@cache
def _symbol_fonts() -> dict[str, dict[int, str]]:
    data = _load("symbol_fonts.json")
    return {
        font.lower().replace(" ", ""): {int(code, 16): glyph for code, glyph in table.items()}
        for font, table in data.items()
        if not font.startswith("_")
    }


def symbol_glyph(ch: str, font: str) -> str | None:
    """The tick or box a symbol font (Wingdings, Wingdings 2) draws for ``ch``, or None.

    ``font`` is the PDF's font name (a subset prefix such as ``ABCDEE+`` is ignored)."""
    family = re.split(r"[,-]", font.rsplit("+", 1)[-1])[0].lower().replace(" ", "")
    table = _symbol_fonts().get(family)
    if table is None:
        return None
    code = ord(ch)
    if 0xF000 <= code <= 0xF0FF:
        code -= 0xF000
    return table.get(code)
