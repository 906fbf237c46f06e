"""The default answerer, no LLM needed: quotes the sentences of the best passages that answer the question,
each followed by its citation, or says the records do not cover the question."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.coverage import coverage, query_terms
from rag.retriever import dedupe_pairs
from rag.tokenize import tokenize
from rag.types import Answer, Citation, Hit

# Below these cosine similarities (multilingual-e5-small; English queries over Chinese passages score
# lower) the best passage is rarely on topic. First set by hand on the gold set; `irchat eval` reports them.
DEFAULT_THRESHOLDS = {"zh": 0.86, "en": 0.80}
# Idf-weighted share of the question's terms the best passage must contain (see rag/coverage.py), set on
# the gold set so that at most ~5% of answerable questions are refused.
DEFAULT_COVERAGE = {"zh": 0.12, "en": 0.10}
# When dense and lexical retrieval agree on the top passage, a slightly lower similarity still answers.
AGREEMENT_MARGIN = 0.04
# A further passage is quoted only when its best sentence scores this share of the first passage's best.
RELATIVE = 0.8

_SENTENCE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")
_ENUM = re.compile(r"^\s*(?:[（(]?\d{1,2}[)）、.．]|[一二三四五六七八九十]+、)\s*")
_NUMERIC_ASK = re.compile(
    r"多少|几|比例|增速|增长|how (?:much|many|fast)|what (?:share|percentage|proportion)|rate|%", re.I
)
_FIGURE = re.compile(r"\d[\d,.]*\s*(?:%|％|万元|亿元|元|个百分点|万|亿|倍|家|个|T)")

NO_ANSWER = {
    "zh": "现有记录未涉及这个问题。",
    "en": "The indexed records do not cover this question.",
}
EN_LEAD = "From the records (quoted in the original Chinese):"


@dataclass
class _Scored:
    text: str
    score: float
    order: int


def sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, trimmed."""
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) > 1]


def _weight(token: str) -> float:
    # Longer Chinese words and figures carry more meaning than single characters or bigrams.
    return 1.0 + min(len(token), 6) / 3


class ExtractiveAnswerer:
    """Cited quotes from the top passages; abstains when the best passage is not similar enough."""

    mode = "extractive"

    def __init__(
        self,
        thresholds: dict[str, float] | None = None,
        *,
        max_passages: int = 3,
        max_sentences: int = 3,
        with_company: bool = False,
        idf: Callable[[str], float] | None = None,
        min_coverage: dict[str, float] | None = None,
    ):
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.max_passages = max_passages
        self.max_sentences = max_sentences
        self.with_company = with_company
        self.idf = idf
        self.min_coverage = {**DEFAULT_COVERAGE, **(min_coverage or {})}

    def threshold(self, lang: str) -> float:
        """Similarity needed to answer a question in ``lang``."""
        return self.thresholds.get(lang, min(self.thresholds.values()))

    def covered(self, hits: Sequence[Hit], lang: str = "zh") -> bool:
        """Whether the passages are close enough to the question to answer from."""
        if not hits:
            return False
        sims = [h.similarity for h in hits if h.similarity is not None]
        if not sims:  # lexical-only retrieval gives no similarity: answer from what it found
            return True
        threshold = self.threshold(lang)
        if max(sims) >= threshold:
            return True
        top = hits[0]
        agree = top.ranks.get("dense", 99) <= 3 and top.ranks.get("bm25", 99) <= 3
        return agree and (top.similarity or 0.0) >= threshold - AGREEMENT_MARGIN

    def term_coverage(self, question: str, hits: Sequence[Hit], query_text: str, names: Sequence[str]) -> float:
        """Best idf-weighted share of the question's terms found in one of the top passages."""
        if self.idf is None or not hits:
            return 1.0
        idf = self.idf
        unknown = idf("\x00")  # the idf of a token no chunk contains
        terms = query_terms(question, query_text, lambda t: idf(t) < unknown, names)
        return max(coverage(terms, h.chunk.text, idf) for h in dedupe_pairs(hits)[: self.max_passages])

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        lang: str,
        query_text: str | None = None,
        company_names: Sequence[str] = (),
    ) -> Answer:
        """Quote the best sentences of ``hits`` with citations; ``query_text`` may add glossary terms."""
        refuse = not self.covered(hits, lang)
        if not refuse:
            share = self.term_coverage(question, hits, query_text or question, company_names)
            refuse = share < self.min_coverage.get(lang, min(self.min_coverage.values()))
        if refuse:
            return Answer(question, NO_ANSWER.get(lang, NO_ANSWER["en"]), lang, self.mode, [], list(hits))
        passages = self._passages(hits, lang)
        q_tokens = set(tokenize(query_text or question))
        numeric = bool(_NUMERIC_ASK.search(question))
        picked: list[tuple[Hit, list[str]]] = []
        best_overall = 0.0
        total = 0
        for rank, hit in enumerate(passages):
            scored = self._score(hit, q_tokens, numeric)
            if not scored:
                continue
            top = max(s.score for s in scored)
            if rank == 0:
                best_overall = top
            elif top < RELATIVE * best_overall or top <= 0:
                continue
            room = self.max_sentences - total
            if room <= 0:
                break
            per = 2 if rank == 0 else 1
            chosen = sorted(sorted(scored, key=lambda s: -s.score)[: min(per, room)], key=lambda s: s.order)
            if rank > 0 or top > 0:
                chosen = [s for s in chosen if s.score > 0] or chosen[:1]
            picked.append((hit, [s.text for s in chosen]))
            total += len(chosen)
        if not picked:
            hit = passages[0]
            picked = [(hit, sentences(_body(hit))[:1] or [_body(hit)[:120]])]

        citations: list[Citation] = []
        lines: list[str] = []
        for hit, quotes in picked:
            key = hit.chunk.citation.key(self.with_company)
            if hit.chunk.citation not in citations:
                citations.append(hit.chunk.citation)
            text = "".join(_clip(q) for q in quotes)
            lines.append(f"“{text}” {key}" if lang == "en" else f"{text}{key}")
        body = "\n".join(f"- {line}" for line in lines) if lang == "en" else "\n".join(lines)
        if lang == "en":
            body = EN_LEAD + "\n" + body
        return Answer(question, body, lang, self.mode, citations, list(hits))

    def _passages(self, hits: Sequence[Hit], lang: str) -> list[Hit]:
        unique = dedupe_pairs(hits)
        if any(h.similarity is not None for h in unique):
            floor = self.threshold(lang) - AGREEMENT_MARGIN
            unique = [h for h in unique if h.similarity is None or h.similarity >= floor] or unique[:1]
        return unique[: self.max_passages]

    def _score(self, hit: Hit, q_tokens: set[str], numeric: bool) -> list[_Scored]:
        out: list[_Scored] = []
        for i, sentence in enumerate(sentences(_body(hit))):
            tokens = set(tokenize(sentence))
            score = sum(_weight(t) for t in tokens & q_tokens)
            if numeric and _FIGURE.search(sentence):
                score += 1.5
            # Earlier sentences usually carry the direct answer; later ones elaborate.
            score += 0.5 / (1 + i)
            out.append(_Scored(_ENUM.sub("", sentence), score, i))
        return out


def _body(hit: Hit) -> str:
    chunk = hit.chunk
    if chunk.kind == "record":
        return chunk.text
    return chunk.answer_text or chunk.text


def _clip(sentence: str, limit: int = 220) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"
