"""The indexed companies and the names investors call them by, for filters and for mentions in questions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from rag.types import Chunk


@dataclass
class Company:
    """A listed company as the index knows it."""

    stock_code: str
    name: str
    short_name: str
    aliases: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Every name it goes by, longest first."""
        names = {n for n in (self.name, self.short_name, self.stock_code, *self.aliases) if n}
        return sorted(names, key=len, reverse=True)

    def where(self) -> dict[str, Any]:
        """Store filter selecting this company's chunks."""
        return {"stock_code": self.stock_code} if self.stock_code else {"company": self.name}


@lru_cache(maxsize=1)
def default_aliases() -> dict[str, list[str]]:
    """Extra names by stock code shipped in ``rag/data/companies.json``."""
    data = json.loads((resources.files("rag") / "data" / "companies.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@dataclass(frozen=True)
class Unit:
    """A subsidiary, brand or product line of an indexed company (海康机器人, 库卡, 萤石网络): a question naming
    one asks about it, not about its parent."""

    parent: str
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Every name it goes by, longest first."""
        return sorted({self.name, *self.aliases}, key=len, reverse=True)

    @property
    def chinese_names(self) -> list[str]:
        """The names the (Chinese) records use, longest first."""
        return [n for n in self.names if not n.isascii() or n.isupper()]


@lru_cache(maxsize=1)
def default_units() -> tuple[Unit, ...]:
    """Subsidiaries and brands by parent shipped in ``rag/data/companies.json`` (key ``_subsidiaries``)."""
    data = json.loads((resources.files("rag") / "data" / "companies.json").read_text(encoding="utf-8"))
    return tuple(
        Unit(code, name, tuple(aliases))
        for code, units in data.get("_subsidiaries", {}).items()
        for name, aliases in units.items()
    )


def units_mentioned(text: str, units: Iterable[Unit] | None = None) -> list[Unit]:
    """Units named in ``text`` (any of their names; Latin ones on word boundaries), in order of mention."""
    units = default_units() if units is None else tuple(units)
    found: list[tuple[int, Unit]] = []
    for unit in units:
        for name in unit.names:
            pattern = rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])" if name.isascii() else re.escape(name)
            m = re.search(pattern, text, flags=re.IGNORECASE)
            if m:
                found.append((m.start(), unit))
                break
    return [u for _, u in sorted(found, key=lambda f: f[0])]


class CompanyDirectory:
    """Looks companies up by code, full or short name, or alias; finds them mentioned in free text."""

    def __init__(self, companies: Iterable[Company]):
        self.companies = list(companies)
        entries = [(n, c) for c in self.companies for n in c.names if len(n) >= 2]
        entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._by_name = {n.lower(): c for n, c in entries}
        if entries:
            # Latin names need word boundaries (so "Hik" is not found in "Hiking"); Chinese ones do not.
            alternatives = [
                rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])" if re.match(r"[A-Za-z]", n) else re.escape(n)
                for n, _ in entries
            ]
            self._pattern: re.Pattern[str] | None = re.compile("|".join(alternatives), re.IGNORECASE)
        else:
            self._pattern = None

    @classmethod
    def from_records(cls, records: Iterable[Chunk], aliases: dict[str, list[str]] | None = None) -> CompanyDirectory:
        """Build from record-level chunks (one per indexed record) plus extra aliases by stock code."""
        aliases = default_aliases() if aliases is None else aliases
        by_key: dict[str, Company] = {}
        for chunk in records:
            key = chunk.stock_code or chunk.company
            if key not in by_key:
                by_key[key] = Company(
                    stock_code=chunk.stock_code,
                    name=chunk.company,
                    short_name=chunk.short_name,
                    aliases=list(aliases.get(chunk.stock_code, [])),
                )
        return cls(by_key.values())

    def __len__(self) -> int:
        return len(self.companies)

    def resolve(self, name_or_code: str) -> Company | None:
        """The company with this code, name or alias (case-insensitive), or None."""
        key = name_or_code.strip().lower()
        if not key:
            return None
        found = self._by_name.get(key)
        if found is None:
            # "海天瑞声科技" or a partial full name: accept an unambiguous containment either way.
            hits = {id(c): c for n, c in self._by_name.items() if len(key) >= 2 and (key in n or n in key)}
            if len(hits) == 1:
                found = next(iter(hits.values()))
        return found

    def mentioned(self, text: str) -> list[Company]:
        """Companies named in ``text``, in order of first mention."""
        if self._pattern is None:
            return []
        seen: dict[int, Company] = {}
        for m in self._pattern.finditer(text):
            company = self._by_name.get(m.group(0).lower())
            if company is not None:
                seen.setdefault(id(company), company)
        return list(seen.values())
