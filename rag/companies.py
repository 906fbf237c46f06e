"""The indexed companies and the names investors call them by, for filters and for mentions in questions."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from rag.data_files import read_json, read_text
from rag.errors import ConfigError
from rag.types import Chunk


@dataclass
class Company:
    """A listed company as the index knows it."""

    stock_code: str
    name: str
    short_name: str
    aliases: list[str] = field(default_factory=list)
    latest: str = ""
    """ISO date of its newest indexed meeting: no period ending after it can be reported in its records."""

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
    """Extra names by stock code shipped in ``rag/data/companies.json`` (none: names come from the records, their
    pinyin, and the user's alias file)."""
    data = read_json("companies.json")
    return {k: list(v) for k, v in data.items() if not k.startswith("_")}


class ListedName(NamedTuple):
    """A listed company's English names and the words that name it (:func:`brand_words`)."""

    names: list[str]
    brands: list[str]
    """Words in no other listed company's names: they name it."""
    shared: list[str]
    """Words that two or three listed companies' names share (Inspur): they name it only where it is the one of
    them indexed, and the answer says how the name was read."""


@lru_cache(maxsize=1)
def english_directory() -> dict[str, ListedName]:
    """Listed Chinese companies' English names and brand words by stock code, from ``rag/data/english_names.csv``
    (investpy's table, written by ``scripts/english_names.py``; a 2022 snapshot, so later listings are missing)."""
    text = read_text("english_names.csv")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {
        row["code"]: ListedName([row["name"], row["full_name"]], row["brands"].split(), row["shared"].split())
        for row in rows
    }


# A word in more listed companies' names than this is a kind of business or a place, even where it is a name.
SHARED_MOST = 3


def brand_words(
    names: dict[str, list[str]], ordinary: Callable[[str], bool], *, shared: bool = False
) -> dict[str, list[str]]:
    """The words investors call each company by in English (Hikvision of "Hangzhou Hikvision Digital Technology
    Co Ltd", Midea of "Midea Group Co Ltd"), given every listed company's English names by stock code.

    One is among the first two words of one of the company's names, found in no other company's names (a place,
    Hangzhou, or Group is in many), of four letters or more, and not an ``ordinary`` English word
    (``scripts/english_names.py``: one token of tiktoken's 200k vocabulary, which gives frequent words one token
    each: Beauty, Rising, Lens). ``shared``: the words that two or three companies' names share instead (Inspur).
    Computed when the data file is written, not at run time (the tokenizer takes 0.4 s to load).
    """
    count: dict[str, int] = {}
    for company_names in names.values():
        for word in {w.lower() for n in company_names for w in _LATIN_WORD.findall(n)}:
            count[word] = count.get(word, 0) + 1
    fewest, most = (2, SHARED_MOST) if shared else (1, 1)
    out: dict[str, list[str]] = {}
    for code, company_names in names.items():
        brands = [
            word
            for name in company_names
            for word in _LATIN_WORD.findall(name)[:2]
            if fewest <= count[word.lower()] <= most and len(word) >= 4 and not ordinary(word)
        ]
        out[code] = list(dict.fromkeys(brands))
    return out


_LATIN_WORD = re.compile(r"[A-Za-z]+")


def read_aliases(path: Path | None) -> dict[str, list[str]]:
    """The user's alias file (``{"002415": ["Hikvision", "Hik"]}``); {} when there is none."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read the alias file {path}: {e}; fix or remove it (IRCHAT_ALIASES)") from e
    if not isinstance(data, dict) or not all(isinstance(v, list) for k, v in data.items() if not k.startswith("_")):
        raise ConfigError(f"the alias file {path} must map stock codes to lists of names")
    return {str(k): [str(n) for n in v] for k, v in data.items() if not k.startswith("_")}


def write_alias(path: Path, code: str, names: Iterable[str], *, remove: bool = False) -> dict[str, list[str]]:
    """Add (or remove) names of the company ``code`` in the alias file at ``path``; returns the file's content."""
    data = read_aliases(path)
    current = data.get(code, [])
    if remove:
        gone = {n.lower() for n in names}
        current = [n for n in current if n.lower() not in gone]
    else:
        current += [n for n in names if n.lower() not in {c.lower() for c in current}]
    if current:
        data[code] = current
    else:
        data.pop(code, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return data


# A short form that jieba's dictionary counts this often is an ordinary word ("浪潮", wave; "九天"): taken for a
# company it would match questions about something else.
ORDINARY_WORD = 300


def abbreviations(short_name: str) -> list[str]:
    """The short form investors write for a company of three or more characters: its first two (海康 for 海康威视,
    高澜 for 高澜股份), unless that is an ordinary word."""
    chinese = re.sub(r"[^\u4e00-\u9fff]", "", short_name)
    if len(chinese) < 3:
        return []
    head = chinese[:2]
    return [] if _word_frequency(head) >= ORDINARY_WORD else [head]


def _spells(word: str, short_name: str) -> bool:
    """Whether ``word`` (lower case) starts with the pinyin of the first two characters of ``short_name``, or is
    one letter off it (a swap counts as one), for pinyin of five letters or more."""
    head = _pinyin_head(short_name)
    if len(head) < 4:
        return False
    if word.startswith(head):
        return True
    if len(head) < 5:
        return False
    prefix = word[: len(head)]
    # one edit changes at most two letters of the set of letters used: most companies fail this at once
    if len(set(prefix) ^ set(head)) > 2:
        return False
    return _edits(prefix, head) <= 1


@lru_cache(maxsize=16384)
def _pinyin_head(short_name: str) -> str:
    """The pinyin of the first two Chinese characters of ``short_name`` ("" under two), computed once per name: a
    question in English is checked against every company."""
    from pypinyin import Style, lazy_pinyin

    chinese = re.sub(r"[^\u4e00-\u9fff]", "", short_name)
    if len(chinese) < 2:
        return ""
    return "".join(lazy_pinyin(chinese[:2], style=Style.NORMAL))


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _inside_a_word(text: str, start: int, name: str) -> bool:
    """Whether a two-character Chinese name found at ``start`` is the end of an ordinary word's first half
    (美的 in 完美的, 华大 in 中华大地): the character before it and its first make a common word."""
    if len(name) != 2 or not re.fullmatch(r"[\u4e00-\u9fff]{2}", name) or start == 0:
        return False
    return _word_frequency(text[start - 1] + name[0]) >= ORDINARY_WORD // 3


@lru_cache(maxsize=4096)
def _word_frequency(word: str) -> int:
    from rag.tokenize import word_frequency

    return word_frequency(word)


def _place(company: Company) -> set[str]:
    """The pinyin of the place a company's Chinese full name starts with and its short name leaves out (yangzhou
    of 扬州扬杰电子科技 / 扬杰科技): a city is in a few listed companies' English names, and in questions about anything
    there, so it names none of them."""
    from pypinyin import Style, lazy_pinyin

    full = re.sub(r"[^\u4e00-\u9fff]", "", company.name)
    return {
        "".join(lazy_pinyin(full[:k], style=Style.NORMAL))
        for k in (2, 3)
        if len(full) > k and full[:k] not in company.short_name
    }


def pinyin_names(short_name: str) -> list[str]:
    """English spellings of a company's short name that many companies use as their English name: its pinyin
    ("Haitian Ruisheng", "Tongfu"), whole or its first two characters, with and without spaces."""
    from pypinyin import Style, lazy_pinyin

    chinese = re.sub(r"[^\u4e00-\u9fff]", "", short_name)
    if len(chinese) < 2:
        return []
    syllables = lazy_pinyin(chinese, style=Style.NORMAL)
    out = []
    for words in (syllables, syllables[:2]):
        if len(words) >= 2:
            out += ["".join(words), " ".join(words)]
    # the first two syllables, then the rest as a second word ("Haitian Ruisheng")
    if len(syllables) >= 4:
        out.append("".join(syllables[:2]) + " " + "".join(syllables[2:]))
    return list(dict.fromkeys(n.capitalize() for n in out))


# A company's own web and e-mail domains, printed in its records' contact lines (tfme_stock@tfme.com for 通富微电,
# www.midea.com.cn), are often the abbreviation or brand investors call it by and no directory lists (TFME). Text
# taken from a PDF may break the suffix with a space ("www.empyrean.c om.cn").
_DOMAIN_SUFFIX = r"\.\s?(?:c\s?o\s?m|c\s?n|n\s?e\s?t|o\s?r\s?g|h\s?k)(?![A-Za-z0-9])"


def writes_domain(text: str, word: str) -> bool:
    """Whether ``text`` writes ``word`` as a web or e-mail domain's name (``@word.com``, ``www.word.cn``)."""
    return bool(re.search(rf"(?:@|(?<![A-Za-z0-9])www\.|//){re.escape(word)}{_DOMAIN_SUFFIX}", text, re.I))


def domain_words(text: str) -> list[str]:
    """Latin words of a question that could be a company's domain name: capitalised, three letters or more."""
    return list(dict.fromkeys(re.findall(r"\b[A-Z][A-Za-z0-9]{2,}\b", text)))


class CompanyDirectory:
    """Looks companies up by code, full or short name, or alias; finds them mentioned in free text."""

    def __init__(
        self, companies: Iterable[Company], proper: Iterable[str] = (), shared: dict[str, Company] | None = None
    ):
        self.companies = list(companies)
        self._shared = dict(shared or {})
        """Lower-cased English words several listed companies' names share, each with the one indexed."""
        # names matched only as written with a capital: in lower case a brand (Impulse) is likelier the plain word
        self._proper = {n.lower() for n in proper}
        entries = [(n, c) for c in self.companies for n in c.names if len(n) >= 2]
        entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._by_name = {n.lower(): c for n, c in entries}
        # Names are looked up by their folded text at each position of a text, longest first: a cost in the
        # text's length and the number of distinct name lengths, not in the number of companies (one regex
        # alternation of every name took ~50 ms a question with 8,800 companies).
        every = {n for c in self.companies for n in c.names}
        self._written: dict[str, list[str]] = {}
        for n in every:
            self._written.setdefault(_fold(n), []).append(n)
        self._every_lengths = sorted({len(k) for k in self._written}, reverse=True)
        # a company is found in a text by a name of two characters or more; Latin ones only as whole words
        self._lengths = [n for n in self._every_lengths if n >= 2]
        self._latin = {k for k, names in self._written.items() if re.match(r"[A-Za-z]", names[0])}
        self._joined = "\n".join(sorted(n.lower() for n in every))
        # English spellings of a short name's pinyin (:meth:`spellings`): each head, and for heads of five letters
        # or more each one-letter deletion of it, so a word one edit off a head shares a key with it.
        self._heads: dict[str, list[Company]] = {}
        for c in self.companies:
            head = _pinyin_head(c.short_name)
            if len(head) >= 4:
                self._heads.setdefault(head, []).append(c)
        self._head_lengths = sorted({len(h) for h in self._heads})
        self._near_heads: dict[str, set[str]] = {}
        for head in self._heads:
            if len(head) >= 5:
                for key in _deletions(head):
                    self._near_heads.setdefault(key, set()).add(head)

    @classmethod
    def from_records(cls, records: Iterable[Chunk], aliases: dict[str, list[str]] | None = None) -> CompanyDirectory:
        """Build from record-level chunks (one per indexed record) plus extra aliases by stock code, the pinyin of
        each short name and its English brand (:func:`english_directory`; a name that another indexed company also
        gets is left out)."""
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
            by_key[key].latest = max(by_key[key].latest, chunk.date_end or chunk.date)
        listed = {key: english_directory().get(c.stock_code, ListedName([], [], [])) for key, c in by_key.items()}
        places = {key: _place(c) if listed[key].brands or listed[key].shared else set() for key, c in by_key.items()}
        brands = {key: [w for w in listed[key].brands if w.lower() not in places[key]] for key in by_key}
        derived = {
            key: pinyin_names(c.short_name) + abbreviations(c.short_name) + brands[key] for key, c in by_key.items()
        }
        spelled: dict[str, list[Company]] = {}
        for key, company in by_key.items():
            for name in derived[key]:
                spelled.setdefault(name.lower(), []).append(company)
        for key, company in by_key.items():
            company.aliases += [n for n in derived[key] if len(spelled[n.lower()]) == 1 and n not in company.aliases]
        # a word other listed companies' names share names the one of them indexed, read as it with a notice
        sharing: dict[str, list[Company]] = {}
        for key, company in by_key.items():
            for word in listed[key].shared:
                if word.lower() not in places[key]:
                    sharing.setdefault(word.lower(), []).append(company)
        shared = {w: cs[0] for w, cs in sharing.items() if len(cs) == 1 and w not in spelled}
        proper = [b for names in brands.values() for b in names]
        return cls(by_key.values(), proper=proper, shared=shared)

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
        """Companies named in ``text``, in order of first mention; else the one a capitalised word spells nearly
        in pinyin (:meth:`spelled`)."""
        exact = self._exact(text)
        return exact or self.spelled(text)

    def spelled(self, text: str) -> list[Company]:
        """The company a capitalised word of ``text`` spells almost as the pinyin of its short name's first two
        characters (Goaland for 高澜 gaolan, Kematek for 珂玛 kema): many companies' English names are their
        pinyin, a letter off or with a suffix. Only a word no other company's pinyin comes as close to counts."""
        out: list[Company] = []
        for _, company in self.spellings(text):
            if all(company is not c for c in out):
                out.append(company)
        return out

    def spellings(self, text: str) -> list[tuple[str, Company]]:
        """The words :meth:`spelled` reads as a company, each with the company."""
        found: list[tuple[str, Company]] = []
        for word in re.findall(r"\b[A-Z][a-z]{3,}\b", text):
            lower = word.lower()
            close = [self._shared[lower]] if lower in self._shared else self._spelled_by(lower)
            if len(close) == 1 and all(close[0] is not c for _, c in found):
                found.append((word, close[0]))
        return found

    def _spelled_by(self, word: str) -> list[Company]:
        """The companies whose pinyin head ``word`` (lower case) spells (:func:`_spells`), found by key."""
        heads = {word[:n] for n in self._head_lengths if n <= len(word) and word[:n] in self._heads}
        for n in self._head_lengths:
            if n >= 5 and n <= len(word) + 1:
                prefix = word[:n]
                near = {h for key in _deletions(prefix) for h in self._near_heads.get(key, ())}
                heads |= {h for h in near if len(h) == n and _edits(prefix, h) <= 1}
        return list({id(c): c for h in heads for c in self._heads[h]}.values())

    def names_in(self, text: str) -> list[str]:
        """Every name of an indexed company that ``text`` contains (case-insensitive), longest first."""
        folded = _fold(text)
        found: set[str] = set()
        for i in range(len(folded)):
            for n in self._every_lengths:
                written = self._written.get(folded[i : i + n])
                if written:
                    found.update(written)
        return sorted(found, key=lambda n: (-len(n), n))

    def part_of_a_name(self, word: str) -> bool:
        """Whether ``word`` is part of an indexed company's name (case-insensitive)."""
        return bool(word) and "\n" not in word and word.lower() in self._joined

    def _exact(self, text: str) -> list[Company]:
        folded = _fold(text)
        seen: dict[int, Company] = {}
        i = 0
        while i < len(text):
            n = self._name_at(text, folded, i)
            if not n:
                i += 1
                continue
            written = text[i : i + n]
            if not (written.lower() in self._proper and not written[:1].isupper()):
                company = self._by_name.get(written.lower())
                if company is not None and not _inside_a_word(text, i, written):
                    seen.setdefault(id(company), company)
            i += n
        return list(seen.values())

    def _name_at(self, text: str, folded: str, i: int) -> int:
        """The length of the longest name at ``i`` (Latin names only as whole words: "Hik" is not in "Hiking")."""
        for n in self._lengths:
            key = folded[i : i + n]
            if len(key) < n or key not in self._written:
                continue
            if key in self._latin and (
                (i > 0 and _ascii_letter(text[i - 1])) or (i + n < len(text) and _ascii_letter(text[i + n]))
            ):
                continue
            return n
        return 0


def _ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _fold(text: str) -> str:
    """Lower case, one character for one (so positions in the folded text are positions in the text)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _deletions(word: str) -> set[str]:
    """``word`` and every string one letter shorter made by deleting one of its letters."""
    return {word, *(word[:k] + word[k + 1 :] for k in range(len(word)))}
