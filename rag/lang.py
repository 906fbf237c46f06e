"""Which language a question is written in: Chinese or English (the two the records are read in)."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    """``"zh"`` when the text carries Chinese characters worth reading as Chinese, else ``"en"``."""
    cjk = len(_CJK.findall(text))
    latin_words = len(_LATIN.findall(text))
    # A Chinese question often embeds Latin names (DeepSeek, AI, EBG): one CJK char per word is enough.
    if cjk == 0:
        return "en"
    return "zh" if cjk >= latin_words else "en"
