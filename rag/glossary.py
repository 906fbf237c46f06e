"""A bilingual finance glossary (data in ``rag/data/glossary.json``) that renders English queries in the
Chinese words the records use, for lexical and dense search without an LLM."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from rag.data_files import read_json

_BOUNDARY_BEFORE = r"(?<![A-Za-z0-9&])"
_BOUNDARY_AFTER = r"(?![A-Za-z0-9&])"
# "public-sector", "full-year": a hyphen between words reads as a space, in keys and in questions alike.
_HYPHEN = re.compile(r"(?<=[A-Za-z])-(?=[A-Za-z])")


def _unhyphen(text: str) -> str:
    return _HYPHEN.sub(" ", text)


def _inflections(term: str) -> list[str]:
    """``term`` and its regular plural / third-person forms, so the data lists each word once."""
    forms = [term]
    if not term[-1:].isalpha():
        return forms
    if term.endswith("y") and term[-2:-1] not in "aeiou":
        forms.append(term[:-1] + "ies")
    elif term.endswith(("s", "x", "ch", "sh")):
        forms.append(term + "es")
    else:
        forms.append(term + "s")
    return forms


class Glossary:
    """English term → Chinese renderings; longest terms matched first, on word boundaries.

    Keys are matched case-insensitively with their regular plurals ("margin" also finds "margins"), except
    keys written in capitals (``"US"``, ``"IT"``), which match only as written so that "us" stays a pronoun.
    """

    def __init__(self, terms: dict[str, list[str]]):
        self.terms: dict[str, list[str]] = {}
        exact: dict[str, str] = {}  # surface form -> canonical key, case-sensitive acronyms
        folded: dict[str, str] = {}  # lower-cased surface form -> canonical key
        for raw, renderings in terms.items():
            if raw.startswith("_"):
                continue
            key = _unhyphen(raw if raw.isupper() else raw.lower())
            self.terms[key] = renderings
            if key == raw and raw.isupper():
                exact.update({raw: raw, raw + "s": raw})  # "EVs", "GPUs"
            else:
                folded[key] = key
        # Generated plurals never override a key of their own ("sales" stays "sales", not "sale" + s).
        for key in list(folded):
            for form in _inflections(key)[1:]:
                folded.setdefault(form, key)
        self._exact = exact
        self._folded = folded
        forms = sorted({*exact, *folded}, key=len, reverse=True)
        alternatives = "|".join(re.escape(f) if f in exact else "(?i:" + re.escape(f) + ")" for f in forms)
        # With no terms, "()" would match the empty string everywhere: match nothing instead.
        self._pattern = re.compile(_BOUNDARY_BEFORE + "(" + (alternatives or "(?!)") + ")" + _BOUNDARY_AFTER)

    @classmethod
    def from_file(cls, path: Path) -> Glossary:
        """Load a glossary JSON object of ``{"english": ["中文", ...]}``."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def matches(self, text: str) -> list[str]:
        """Glossary keys found in ``text``, in order, longest match at each place."""
        return [key for _, _, key in self.spans(text)]

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Where each glossary key is found in ``text``: (start, end, key), in order, longest match at each place."""
        out = []
        folded = _unhyphen(text)  # same length as ``text``: hyphens become spaces
        for m in self._pattern.finditer(folded):
            found = m.group(1)
            key = self._exact[found] if found in self._exact else self._folded[found.lower()]
            out.append((m.start(1), m.end(1), key))
        return out

    def render(self, text: str) -> list[str]:
        """Chinese renderings of the terms found in ``text``, without repeats."""
        out: list[str] = []
        for term in self.matches(text):
            for zh in self.terms[term]:
                if zh not in out:
                    out.append(zh)
        return out

    def __len__(self) -> int:
        return len(self.terms)


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    """The glossary shipped with irchat."""
    return Glossary(read_json("glossary.json"))
