"""How much of a question a passage speaks to: the idf-weighted share of the question's concepts it contains.

Dense similarity alone cannot tell "the records discuss Midea's dividends" from "the records give Midea's
per-share dividend"; a question whose rare terms (格力, 员工, 每10股) appear in no retrieved passage is
one the records most likely do not answer.

A concept is a Chinese term of the question, or an English glossary term standing for any one of its
Chinese renderings ("revenue" is present when a passage says 营业收入, 收入 or 营收), or an English name
the glossary does not know ("Dahua").
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

from rag.data_files import read_json, read_text
from rag.tokenize import tokenize

if TYPE_CHECKING:
    from rag.glossary import Glossary

# Words that ask rather than say what is asked about; month names and period codes, which the retriever reads as
# dates; words the records use interchangeably (rag/data/question_words.json, which says where they come from).
_WORDS = read_json("question_words.json")
QUESTION_WORDS = frozenset(_WORDS["question_words"]["zh"] + _WORDS["question_words"]["en"])
_DATE_WORDS = frozenset(_WORDS["date_words"])
# A Latin word, not the letters after a figure ("10G-and-above", "5G" say a speed, not a name).
_LATIN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9&.'-]*")
# Analysts' period labels with a year (FY2025, 1H24, Q3'25): the question's periods, checked by their own features.
# The year is 20xx or its last two digits from 10 to 39, so a product (H100, H200) is no period.
_PERIOD_LABEL = re.compile(r"(?:fy|[hq][1-4]|[1-4][hq])'?(?:20)?[1-3]\d|(?:20)?[1-3]\d[hq][1-4]", re.I)
_SENTENCE_START = re.compile(r"(?:^|[.?!:;\"“]\s*)([A-Za-z][\w&.'-]*)")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_CJK_PAIR = re.compile(r"[\u3400-\u9fff]{2}")
_QUESTION_RE = re.compile(
    "|".join(sorted((re.escape(w) for w in QUESTION_WORDS if not w.isascii()), key=len, reverse=True))
    + "|"
    + _WORDS["which_zh"]
    + r"|是|有|吗|呢|了|的|？|\?"
)


# What a Chinese question may open with before its subject ("截至2024年5月，", "关于"): skipped to find it.
_OPENER = re.compile(r"\s*(?:(?:截至|截止)[^，,。？?]{0,12}[，,]|截至|截止|目前|当前|现在|如今|关于|对于|请问)\s*")


# 几层 asks how many layers: 三层 answers it. 几十 / 几百 are magnitudes ("好几十亿"), not a count of a thing.
_HOW_MANY = re.compile(r"几([^\W\d十百千万亿_a-zA-Z])")
_SMALL_NUMBERS = ("两", "二", "三", "四", "五", "六", "七", "八", "九", "十", *(str(i) for i in range(2, 11)))


# A question saying one word of a group is answered by a passage saying another.
SYNONYMS: tuple[frozenset[str], ...] = tuple(frozenset(group.split()) for group in _WORDS["synonyms"])


@dataclass(frozen=True)
class Concept:
    """One thing the question asks about: present in a passage when any of ``forms`` is."""

    weight: float
    forms: tuple[str, ...]
    word: bool = True
    """False for a character pair that is not a word of the question (利率 of 毛利率): evidence, not a topic."""


@lru_cache(maxsize=16)
def _longest_first(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((n.lower(), n) for n in sorted({n for n in names if n}, key=len, reverse=True))


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str]:
    # with its possessive: the "s" of "Hikvision's" left behind would weigh as an unknown word
    return re.compile(re.escape(name) + r"(?:['’]s\b)?", re.I)


def _strip_names(text: str, names: Iterable[str]) -> str:
    # Names go before question words are cut, or the 的 of 美的 leaves a stray 美 behind. Longest first, each
    # replaced where it still occurs. A substring test skips the names the text does not contain: with hundreds of
    # companies, a re.sub for each name (re's own cache holds 512 patterns) cost ~1 s a search at 100k pairs.
    lowered = text.lower()
    for key, name in _longest_first(tuple(names)):
        if key in lowered:
            text = _name_pattern(name).sub(" ", text)
            lowered = text.lower()
    return text


def _names_in(question: str) -> set[str]:
    """Capitalised Latin words that are not the first word of a sentence: likely proper names, possessives
    stripped as the analyser strips them ("Guixiang's" is the token guixiang)."""
    first = {m.group(1) for m in _SENTENCE_START.finditer(question)}
    words = (w for w in _LATIN.findall(question) if w[:1].isupper() and w not in first)
    return {re.sub(r"'s$", "", w.lower().strip(".'")) for w in words}


def query_terms(
    question: str,
    lexical_text: str,
    known: Callable[[str], bool],
    names: Iterable[str] = (),
    rendered: Iterable[str] = (),
) -> set[str]:
    """The question's content terms: lexical tokens minus question words and company names.

    For English questions, Latin words the corpus never uses are kept only when they look like a proper
    name ("Dahua": capitalised, not opening a sentence, not a month); other English words, and those in
    ``rendered`` (the glossary already gave their Chinese), are represented by their glossary renderings.
    """
    return set(_terms(question, lexical_text, known, names, rendered))


def _terms(
    question: str, lexical_text: str, known: Callable[[str], bool], names: Iterable[str], rendered: Iterable[str]
) -> dict[str, bool]:
    """Content terms, each with whether it is a word of the question rather than a mere character pair."""
    names = list(names)
    skip = set(QUESTION_WORDS) | _DATE_WORDS
    for name in names:
        skip.update(tokenize(name))
    for word in rendered:
        skip.update(tokenize(word))
    proper = _names_in(_strip_names(question, names))
    # Cut question words out of the text first, or their bigrams ("收多" of "营收多少") count as terms.
    text = _QUESTION_RE.sub(" ", _strip_names(lexical_text, names))
    terms: dict[str, bool] = {}
    tokens = tokenize(text)
    # tokenize() gives a two-character jieba word twice (the word and its pair), a mere pair once.
    counts = Counter(tokens)
    seams = word_seams(text)
    for token in tokens:
        if token in skip or _PERIOD_LABEL.fullmatch(token):
            continue
        if token.isascii() and token.isalpha() and (len(token) < 2 or (not known(token) and token not in proper)):
            continue
        if _CJK.fullmatch(token):  # a single character says little on its own (谁, 涨, 派)
            continue
        pair = len(token) == 2 and bool(_CJK.match(token)) and counts[token] < 2
        if pair and (not known(token) or token in seams):
            # a character pair across two words: 度营 of 一季度营收 (no passage has it), 年毛 of 上半年毛利率 (some
            # passage has it, by chance of what stands next to what)
            continue
        terms[token] = not pair
    return terms


def word_seams(text: str, *, beside_single: bool = False) -> set[str]:
    """Character pairs that straddle two dictionary words of ``text`` (年毛 of 上半年|毛利率). A pair beside a
    single character is not one unless ``beside_single`` (计约 of 合计|约): jieba cuts a word it does not know
    (封测, a product's name) into single characters. Questions keep those pairs (counting them as seams cut
    leave-company-out answers by 4 points); the draft check drops them (its sentences are long and wordy)."""
    from rag.tokenize import _segmenter

    out: set[str] = set()
    for run in _CJK_RUN.findall(text):
        words = _segmenter().cut(run, hmm=False)
        for left, right in pairwise(words):
            if (len(left) >= 2 and len(right) >= 2) or (beside_single and max(len(left), len(right)) >= 2):
                out.add(left[-1] + right[0])
    return out


def question_concepts(
    question: str,
    lexical_text: str,
    idf: Callable[[str], float],
    names: Iterable[str] = (),
    glossary: Glossary | None = None,
) -> list[Concept]:
    """The question's concepts with idf weights; English glossary terms become one concept each."""
    names = list(names)
    unknown = idf("\x00")
    concepts: list[Concept] = []
    rendered: list[str] = []
    if glossary is not None:
        stripped = _strip_names(question, names)
        spans = glossary.spans(stripped)
        for term in dict.fromkeys(key for _, _, key in spans):
            forms = tuple(_norm(r) for r in glossary.terms[term] if _norm(r))
            if forms:
                # the records' interchangeable words hold for a rendering as for a Chinese question's own word:
                # "operating revenue" (营业收入) is answered by a passage saying 营业总收入 or 营收
                weight = min(form_weight(f, idf) for f in forms)
                concepts.append(Concept(weight, tuple(dict.fromkeys([*forms, *_synonyms(forms, forms)]))))
                rendered.append(term)
        # the words as written, a plural ("investors" of the key "investor") included: rendered, so no concept
        rendered += [stripped[start:end] for start, end, key in spans if key in rendered]
        # Renderings are concepts already; the rest of the lexical text is the question itself.
        lexical_text = question
    if glossary is not None and concepts:
        # Single words of a matched phrase ("gross" of "gross margin") must not count twice.
        rendered += [w for term in rendered for w in term.split()]
    terms = _terms(question, lexical_text, lambda t: idf(t) < unknown, names, rendered)
    # jieba's search mode and the character pairs cut 上半年 into 上半年, 上半, 半年 and 2024年 into 2024年,
    # 2024: one idea, which must count once. A term inside a longer term of the question is folded into it.
    longest = sorted(terms, key=len, reverse=True)
    folded: dict[str, list[str]] = {}
    for term in longest:
        host = next((t for t in folded if term in t), None)
        if host is None:
            folded[term] = [term]
        else:
            folded[host].append(term)
    for term, forms in folded.items():
        extra = _synonyms((term,), forms)
        # 几层 / 好几层 / 几家 ask how many: a passage answers with the number (三层架构, 5家工厂).
        counted = [m.group(1) for f in forms if (m := _HOW_MANY.fullmatch(f))]
        extra += [f"{n}{thing}" for thing in counted for n in _SMALL_NUMBERS]
        if counted:
            # 好几 of 好几层 is "several" of anything (好几年): the number it asks about is the concept.
            forms = [f for f in forms if f not in ("好几", "几")]
        concepts.append(Concept(max(idf(f) for f in forms), (*forms, *extra), terms[term]))
    return concepts


def _synonyms(words: Iterable[str], have: Sequence[str]) -> list[str]:
    """The records' other words (:data:`SYNONYMS`) for any of ``words``, less those ``have`` holds."""
    asked = set(words)
    return [w for group in SYNONYMS if not group.isdisjoint(asked) for w in sorted(group) if w not in have]


def concept_coverage(concepts: Sequence[Concept], passage: str) -> float:
    """Idf-weighted share of ``concepts`` present in ``passage`` (1.0 when there are none)."""
    total = sum(c.weight for c in concepts)
    if not concepts or total <= 0:
        return 1.0
    absent = {id(c) for c in absent_concepts(concepts, passage)}
    return sum(c.weight for c in concepts if id(c) not in absent) / total


def absent_concepts(concepts: Sequence[Concept], passage: str) -> list[Concept]:
    """The ``concepts`` no form of which ``passage`` holds."""
    tokens = _token_set(passage)
    text = _norm(passage)
    # Chinese forms are looked up as substrings too: jieba may cut 营业收入 differently in two texts.
    return [c for c in concepts if not any(f in tokens or (_CJK.search(f) and f in text) for f in c.forms)]


def coverage(terms: set[str], passage: str, idf: Callable[[str], float]) -> float:
    """Idf-weighted share of ``terms`` that ``passage`` contains (1.0 when there are no terms)."""
    if not terms:
        return 1.0
    present = set(tokenize(passage))
    total = sum(idf(t) for t in terms)
    return sum(idf(t) for t in terms if t in present) / total if total else 1.0


@lru_cache(maxsize=4096)
def _token_set(text: str) -> frozenset[str]:
    # The same passages and sentences are measured against many concepts: cut each once.
    return frozenset(tokenize(text))


@lru_cache(maxsize=4096)
def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def form_weight(form: str, idf: Callable[[str], float]) -> float:
    """The idf weight of a Chinese rendering, as the passages would write it."""
    # A rendering the analyser cuts differently in passages (业绩说明会) still weighs what its parts weigh.
    unknown = idf("\x00")
    if form in tokenize(form) and idf(form) < unknown:
        return idf(form)
    # A Chinese rendering with a character pair no passage has (本开 of 资本开支) is never written in the
    # passages: the idea is as rare as a word never seen, not as common as its parts.
    if any(idf(form[i : i + 2]) >= unknown for i in range(len(form) - 1) if _CJK_PAIR.fullmatch(form[i : i + 2])):
        return unknown
    known = [idf(t) for t in tokenize(form) if idf(t) < unknown]
    return sum(known) / len(known) if known else unknown


_ORG_ZH = re.compile(
    r"([\u4e00-\u9fff]{2,4}?)(?:股份|集团|电器|科技|公司|控股|电子|网络|智家|汽车|银行|证券|药业|能源)"
)
_DESIGNATOR = (
    r"Technology|Technologies|Group|Holdings?|Inc|Corp|Corporation|Co|Ltd|Limited|Electric|Electronics|Appliances|"
    r"Motors|Bank|Securities|Pharmaceuticals?|Energy"
)
_ORG_EN = re.compile(rf"\b([A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*?)\s+(?:{_DESIGNATOR})\b")


# "Haier Smart Home's revenue": capitalised words before a possessive name an organisation (or a place).
_POSSESSIVE = re.compile(r"\b([A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*)['’]s\b")
# Capitalised words that name no company: question words, months, pronouns, generic nouns, and places (rag/data/
# places.json: "Swiss investors", "the Thailand plant"), each word of a several-word place by itself.
_PLACES = read_json("places.json")["places"]
_PLACE_WORDS = frozenset(w.lower() for forms in _PLACES for f in forms if f.isascii() for w in re.split(r"[\s-]+", f))
# and the smaller places a dictionary names (rag/data/place_names.txt, from CC-CEDICT: "the Rudong project")
_PLACE_WORDS |= frozenset(w for w in read_text("place_names.txt").splitlines() if w and not w.startswith("#"))
_ORDINARY = QUESTION_WORDS | _DATE_WORDS | frozenset(_WORDS["not_names"]) | _PLACE_WORDS


def named_organisations(question: str, names: Iterable[str] = (), glossary: Glossary | None = None) -> list[str]:
    """Organisations an English question names by the shape of a company name (capitalised words before
    Technology/Group... or a possessive), other than ``names`` and the glossary's terms."""
    text = _strip_names(question, names)
    found: list[str] = []
    for m in [*_ORG_EN.finditer(text), *_POSSESSIVE.finditer(text)]:
        words = [w for w in m.group(1).split() if w[:1].isupper() and not _no_name(w)]
        # "Technology" of "TCL Technology's" says what kind of name it is, not which company.
        words = [w for w in words if not re.fullmatch(_DESIGNATOR, w)]
        found += [w for w in words if glossary is None or not glossary.matches(w)]
    return list(dict.fromkeys(found))


_ACRONYM_PLURAL = re.compile(r"[A-Z]{2,}s")
_ELEMENT = "|".join(sorted(read_json("elements.json")["symbols"], key=len, reverse=True))
# A chemical formula (SiC, GaN, Al2O3): two or more element symbols with counts, one of them of two letters (so
# CNC or ASIC, whose capitals happen to be one-letter symbols, stay acronyms) and two capitals (so a capitalised
# word that happens to spell symbols, Hon of Hon Hai, stays a word).
_FORMULA = re.compile(rf"(?=[A-Za-z0-9]*[A-Z][a-z])(?=(?:[^A-Z]*[A-Z]){{2}})(?:(?:{_ELEMENT})[0-9]*){{2,}}")


def is_formula(word: str) -> bool:
    """Whether ``word`` is a chemical formula (SiC, GaN, LiFePO4) rather than a name."""
    return bool(_FORMULA.fullmatch(word))


def _no_name(word: str) -> bool:
    """A capitalised word that names no company: an ordinary word, a place, a chemical formula."""
    return word.lower() in _ORDINARY or is_formula(word)


def proper_names(question: str, names: Iterable[str] = ()) -> list[str]:
    """Capitalised Latin words of ``question`` that are not ordinary words, months or question words, as written
    (``names``, the indexed companies' own, aside)."""
    text = _strip_names(question, names)
    first = {m.group(1) for m in _SENTENCE_START.finditer(text)}
    out = []
    for raw in _LATIN.findall(text):
        w = re.sub(r"['’]s$", "", raw).strip(".'’")
        w = w[:-1] if _ACRONYM_PLURAL.fullmatch(w) else w  # "PDKs" is the plural of the PDK the records write
        # a sentence's first word is capitalised anyway; a name in it still shows inner capitals (DeepSeek)
        opens = raw in first and w[1:].lower() == w[1:]
        if len(w) >= 3 and w[:1].isupper() and not _no_name(w) and not opens:
            out.append(w)
    return list(dict.fromkeys(out))


def unknown_organisation(
    question: str,
    idf: Callable[[str], float],
    names: Iterable[str] = (),
    glossary: Glossary | None = None,
    organisations: Sequence[str] | None = None,
) -> str:
    """A company the question names that no indexed passage mentions (格力电器, Dahua Technology), else "".

    Read from the shape of a company name (a word before 股份/集团/电器..., or before Technology/Group...) or
    the word a Chinese question opens with, when the corpus never uses that word. ``organisations`` is
    :func:`named_organisations` of the same arguments when the caller has it already.
    """
    unknown = idf("\x00")
    names = list(names)
    # The Chinese shape (a word before 公司/集团...) also matches "会上公司": only words absent from the
    # corpus count, which the check below does.
    candidates = [m.group(1) for m in _ORG_ZH.finditer(_strip_names(question, names))]
    candidates += named_organisations(question, names, glossary) if organisations is None else organisations
    # A Chinese question usually opens with its subject: an unknown opening word is likely a company.
    opener = _OPENER.match(question)
    opening = re.match(r"\s*([\u4e00-\u9fff]+)", question[opener.end() if opener else 0 :])
    if opening and not any(n and opening.group(1).startswith(n) for n in names):
        words = [w for w in tokenize(opening.group(1)) if len(w) >= 2]
        candidates += [w for w in words[:1] if w not in QUESTION_WORDS]
    for word in candidates:
        tokens = tokenize(word)
        # The word itself, or for a Chinese word every pair of it, is absent from the indexed passages.
        if tokens and all(idf(t) >= unknown for t in tokens):
            return word
    return ""
