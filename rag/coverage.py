"""How much of a question a passage speaks to: the idf-weighted share of the question's terms it contains.

Dense similarity alone cannot tell "the records discuss Midea's dividends" from "the records give Midea's
per-share dividend"; a question whose rare terms (格力, 员工, 每10股) appear in no retrieved passage is
one the records most likely do not answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.tokenize import tokenize

# Words that ask rather than say what is asked about.
QUESTION_WORDS = frozenset(
    [
        "多少",
        "什么",
        "怎么",
        "怎样",
        "如何",
        "哪些",
        "哪个",
        "是否",
        "有没有",
        "为什么",
        "情况",
        "请问",
        "公司",
        "介绍",
        "一下",
        "目前",
        "现在",
        "主要",
        "具体",
        "what",
        "how",
        "much",
        "many",
        "which",
        "when",
        "where",
        "who",
        "why",
        "does",
        "did",
        "do",
        "is",
        "are",
        "was",
        "were",
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "for",
        "to",
        "and",
        "about",
        "say",
        "said",
        "its",
        "it",
        "their",
        "there",
        "any",
        "has",
        "have",
        "had",
        "will",
        "would",
        "could",
        "should",
        "can",
        "this",
        "that",
        "with",
        "from",
        "by",
        "tell",
        "me",
        "give",
        "please",
        "company",
    ]
)
_LATIN = re.compile(r"[A-Za-z][A-Za-z&.-]*")
_QUESTION_RE = re.compile(
    "|".join(sorted((re.escape(w) for w in QUESTION_WORDS if not w.isascii()), key=len, reverse=True))
    + r"|是|有|吗|呢|了|的|？|\?"
)


def query_terms(question: str, lexical_text: str, known: Callable[[str], bool], names: Iterable[str] = ()) -> set[str]:
    """The question's content terms: lexical tokens minus question words and company names.

    For English questions, Latin words the corpus never uses are kept only when capitalised (a proper
    name such as "Dahua"); other English words are represented by their glossary renderings.
    """
    skip = set(QUESTION_WORDS)
    for name in names:
        skip.update(tokenize(name))
    capitalised = {w.lower() for w in _LATIN.findall(question) if w[:1].isupper()}
    # Cut question words out of the text first, or their bigrams ("收多" of "营收多少") count as terms.
    text = _QUESTION_RE.sub(" ", lexical_text)
    terms = set()
    for token in tokenize(text):
        if token in skip:
            continue
        if token.isascii() and token.isalpha() and not known(token) and token not in capitalised:
            continue
        terms.add(token)
    return terms


def coverage(terms: set[str], passage: str, idf: Callable[[str], float]) -> float:
    """Idf-weighted share of ``terms`` that ``passage`` contains (1.0 when there are no terms)."""
    if not terms:
        return 1.0
    present = set(tokenize(passage))
    total = sum(idf(t) for t in terms)
    return sum(idf(t) for t in terms if t in present) / total if total else 1.0
