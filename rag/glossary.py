"""A small bilingual finance glossary (data in ``rag/data/glossary.json``) that renders English queries
in the Chinese words the records use, for lexical search without an LLM."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path


class Glossary:
    """English term → Chinese renderings; longest terms matched first, on word boundaries."""

    def __init__(self, terms: dict[str, list[str]]):
        self.terms = {k.lower(): v for k, v in terms.items() if not k.startswith("_")}
        alternatives = sorted(self.terms, key=len, reverse=True)
        self._pattern = re.compile(
            r"(?<![a-z0-9&])(" + "|".join(re.escape(t) for t in alternatives) + r")(?![a-z0-9&])"
        )

    @classmethod
    def from_file(cls, path: Path) -> Glossary:
        """Load a glossary JSON object of ``{"english": ["中文", ...]}``."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def matches(self, text: str) -> list[str]:
        """English terms of the glossary found in ``text``, in order, longest match at each place."""
        return [m.group(1) for m in self._pattern.finditer(text.lower())]

    def render(self, text: str) -> list[str]:
        """Chinese renderings of the terms found in ``text``, without repeats."""
        out: list[str] = []
        for term in self.matches(text):
            for zh in self.terms[term]:
                if zh not in out:
                    out.append(zh)
        return out


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    """The glossary shipped with irchat."""
    data = resources.files("rag") / "data" / "glossary.json"
    return Glossary(json.loads(data.read_text(encoding="utf-8")))
