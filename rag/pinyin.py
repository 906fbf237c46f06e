"""Chinese words an English word spells in pinyin: an English question writes a Chinese place or firm the way its
name is read ("Suzhou" for 苏州, "Dongguan Guixiang" for 东莞硅翔), and the records write it in characters.

The readings come from pypinyin's character table (common characters only, GB2312); which spellings are words is
the index's business: a candidate counts only when the lexical index has it (``known``), and is built character
by character through pairs the index has, so a word of four syllables costs a few hundred lookups, not millions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

# Longest pinyin syllable (zhuang, shuang).
_LONGEST = 6
# Renderings kept for one word: a spelling shared by two words of the index (苏州 / 宿州) keeps both.
MOST = 2


@cache
def _syllables() -> dict[str, tuple[str, ...]]:
    """Toneless syllable → the common characters read so."""
    from pypinyin.pinyin_dict import pinyin_dict

    out: dict[str, list[str]] = {}
    for code, readings in pinyin_dict.items():
        ch = chr(code)
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        for reading in readings.split(","):
            plain = unicodedata.normalize("NFKD", reading).encode("ascii", "ignore").decode().replace("u:", "v")
            if plain.isalpha():
                out.setdefault(plain.lower(), []).append(ch)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


def syllables() -> frozenset[str]:
    """The toneless pinyin syllables of common characters (zhong, shan)."""
    return frozenset(_syllables())


def _splits(word: str) -> list[list[str]]:
    """Every way of cutting ``word`` into pinyin syllables."""
    table = _syllables()

    @cache
    def rest(i: int) -> list[list[str]]:
        if i == len(word):
            return [[]]
        out = []
        for j in range(i + 1, min(len(word), i + _LONGEST) + 1):
            if word[i:j] in table:
                out += [[word[i:j], *tail] for tail in rest(j)]
        return out

    return rest(0)


def spelled(
    word: str,
    known: Callable[[str], bool],
    idf: Callable[[str], float],
    most: int = MOST,
    found: Callable[[str], bool] | None = None,
) -> list[str]:
    """Words of two to four characters the index has (``known``) whose pinyin is ``word``, commonest first by
    ``idf``; [] for a word that is not pinyin. A word is one jieba's dictionary has, one of three characters or
    more that the index has (the analyser made it a word), or a pair ``found`` says the passages holding it write
    as a word (a firm's own name, 东莞硅翔's 硅翔, is in no dictionary; a pair straddling two words, 法规享有's 规享,
    is no word); its reading is pypinyin's for it as a phrase (核心 is hexin, though 核 alone has a rare reading
    kai)."""
    from pypinyin import Style, lazy_pinyin

    from rag.tokenize import word_frequency

    word = word.lower()
    if not re.fullmatch(r"[a-z]{4,24}", word):
        return []
    table = _syllables()
    hits: set[str] = set()
    for cut in _splits(word):
        if not 2 <= len(cut) <= 4:
            continue
        partial = [""]
        for syllable in cut:
            partial = [p + ch for p in partial for ch in table[syllable] if not p or known(p[-1] + ch)][:5000]
            if not partial:
                break
        hits.update(w for w in partial if known(w))
    read = [w for w in hits if "".join(lazy_pinyin(w, style=Style.NORMAL)) == word]
    words = [w for w in read if len(w) >= 3 or word_frequency(w) > 0 or (found is not None and found(w))]
    return sorted(words, key=lambda w: (idf(w), w))[:most]
