"""An English-Chinese dictionary for the English words of a question the finance glossary does not know.

The glossary (rag/data/glossary.json) renders the vocabulary of results and guidance; questions also use everyday
and industry words ("registered users", "wafer", "purchase orders"). Their Chinese comes from CC-CEDICT (a public,
community-maintained dictionary; ``rag/data/cedict_en.tsv``, written by ``scripts/cedict.py``): each English gloss
with the Chinese words it translates, commonest first. Only the renderings the indexed passages use are kept for
a question, so a rendering is evidence from the records' own vocabulary, never an invented word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from rag.data_files import read_text


def _stems(word: str) -> list[str]:
    """``word`` and the forms a dictionary lists it under: singular nouns, bare verbs."""
    out = [word]
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4:
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append(word[:-1])
    if word.endswith("ed") and len(word) > 4:
        out += [word[:-2], word[:-1]]
    if word.endswith("ing") and len(word) > 5:
        out += [word[:-3], word[:-3] + "e"]
    return list(dict.fromkeys(out))


class Dictionary:
    """English gloss → Chinese words, commonest first."""

    def __init__(self, entries: dict[str, list[str]]):
        self.entries = entries

    def lookup(self, word: str) -> list[str]:
        """Chinese words for ``word`` and for its singular or bare form ("orders" is also 训示, "order" 订单)."""
        out = [zh for stem in _stems(word.lower()) for zh in self.entries.get(stem, ())]
        return list(dict.fromkeys(out))

    def renderings(self, word: str, used: Callable[[str], float], unknown: float, most: int = 2) -> list[str]:
        """The ``most`` renderings of ``word`` that the indexed passages use, most used first (``used``: idf)."""
        known = [(used(zh), n, zh) for n, zh in enumerate(self.lookup(word)) if used(zh) < unknown]
        return [zh for _, _, zh in sorted(known)[:most]]

    def __len__(self) -> int:
        return len(self.entries)


def read_entries(lines: Iterable[str]) -> dict[str, list[str]]:
    """``gloss<TAB>word word ...`` lines (``#`` comments) into a mapping."""
    out: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("#") or "\t" not in line:
            continue
        gloss, words = line.rstrip("\n").split("\t", 1)
        out[gloss] = words.split()
    return out


@lru_cache(maxsize=1)
def default_dictionary() -> Dictionary:
    """The dictionary shipped with irchat (``rag/data/cedict_en.tsv``)."""
    text = read_text("cedict_en.tsv")
    return Dictionary(read_entries(text.splitlines()))
