"""Sentences of Chinese or English text, as spans: what draft checks, prompt excerpts and attribution compare."""

from __future__ import annotations

import re

__all__ = ["has_content", "split_sentences"]

# A sentence ends at Chinese or English end punctuation (closing quotes and brackets stay with it) or a line
# break; an English full stop only before white space, and not after a single capital ("U.S.", "J. Smith").
_SENTENCE_END = re.compile(r"[。！？!?；;]+[”’」』）)\"']*|\n+|(?<!\b[A-Z])\.(?=\s|$)[”’\")]*")
_CONTENT = re.compile(r"[\u3400-\u9fff]|[A-Za-z]{2,}")


def has_content(text: str) -> bool:
    """Whether ``text`` says anything: at least two Chinese characters or English words (not "1、" or "**")."""
    return len(_CONTENT.findall(text)) >= 2


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (Chinese and English punctuation, line breaks), trimmed; spans
    without content (:func:`has_content`) are left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if has_content(text[s:e]):
            out.append((s, e))
    return out
