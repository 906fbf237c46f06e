"""The passages' share of an LLM prompt: fit the retrieved passages into a token budget.

A local 1-3B model on a CPU reads a prompt at tens of tokens a second, and loses track of long ones. The
passages keep the order they were ranked in; when they do not fit whole, each gets a ceiling that shrinks
with its rank by :data:`RANK_DECAY` (the best-ranked passage is the likeliest answer), scaled to the largest
that lets them all fit, and a longer passage is cut to its sentences closest to the question, kept in their
own order, ``……`` where something was left out. Only when the budget cannot give every passage
:data:`MIN_PASSAGE_TOKENS` are the lowest-ranked ones left out. Tokens are tiktoken's ``o200k_base``
(:mod:`rag.tokens`), close to what Qwen's and Llama's tokenizers count for Chinese text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.lang import detect_language
from rag.protocols import Embedder
from rag.sentences import split_sentences
from rag.tokenize import tokenize
from rag.tokens import count_tokens, get_encoding
from rag.types import Hit

__all__ = ["ELLIPSIS", "MIN_PASSAGE_TOKENS", "Excerpt", "fit_passages", "passage_body"]

MIN_PASSAGE_TOKENS = 100
"""Least a passage is given (its header, ~50 tokens, and a sentence) before lower-ranked passages are left out."""
RANK_DECAY = 0.75
"""Each rank down gets this share of the ceiling of the one above: with eight long passages in 1,000 tokens,
the first gets ~280, the fifth ~90."""
ELLIPSIS = "……"
"""Stands where sentences of a passage were left out."""


@dataclass(frozen=True)
class Excerpt:
    """A passage as it goes into the prompt: whole, or cut to its best sentences."""

    hit: Hit
    text: str
    """The passage's body as sent (the answer of a Q&A pair, else the chunk's text)."""
    cut: bool = False


def passage_body(hit: Hit) -> str:
    """The part of a passage that may be cut: a pair's answer, or the whole text of an intro or record chunk."""
    c = hit.chunk
    return c.answer_text if c.kind == "qa" and c.answer_text else c.text


def fit_passages(
    question: str,
    hits: Sequence[Hit],
    budget: int,
    render: Callable[[int, Hit, str], str],
    *,
    embedder: Embedder | None = None,
) -> list[Excerpt]:
    """``hits`` in order, whole or cut, so that their rendered text (``render(i, hit, body)``, i from 1) fits
    in ``budget`` tokens; ``budget <= 0`` sends every passage whole."""
    hits = list(hits)
    whole = [Excerpt(h, passage_body(h)) for h in hits]
    if budget <= 0 or not hits:
        return whole
    full = [count_tokens(render(i, e.hit, e.text)) for i, e in enumerate(whole, 1)]
    if sum(full) <= budget:
        return whole
    heads = [count_tokens(render(i, h, "")) for i, h in enumerate(hits, 1)]
    n = len(hits)
    while True:
        caps = _ceilings(full[:n], budget)
        # Leave out the lowest-ranked passages while the last cannot have its minimum share.
        if n == 1 or caps[-1] >= min(full[n - 1], max(heads[n - 1], MIN_PASSAGE_TOKENS)):
            break
        n -= 1
    scorer = _Relevance(question, embedder)
    out = []
    for excerpt, size, head, cap in zip(whole[:n], full[:n], heads[:n], caps, strict=True):
        if size <= cap:
            out.append(excerpt)
            continue
        text = _best_sentences(excerpt.text, max(cap - head, 1), scorer)
        out.append(Excerpt(excerpt.hit, text, cut=True))
    return out


def _ceilings(sizes: list[int], budget: int) -> list[int]:
    """Each passage's share: ``min(size, c * RANK_DECAY**rank)`` for the largest ``c`` that fits the budget."""

    def shares(c: float) -> list[int]:
        return [min(s, int(c * RANK_DECAY**rank)) for rank, s in enumerate(sizes)]

    lo, hi = 0.0, float(max(sizes)) / RANK_DECAY ** (len(sizes) - 1)
    for _ in range(40):  # bisection on a real number: 40 halvings are far below a token
        mid = (lo + hi) / 2
        if sum(shares(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    return shares(lo)


def _best_sentences(text: str, limit: int, scorer: _Relevance) -> str:
    """The sentences of ``text`` closest to the question that fit in ``limit`` tokens, in their own order."""
    spans = split_sentences(text)
    if not spans:
        return _clip(text, limit)
    sentences = [text[s:e] for s, e in spans]
    scores = scorer.scores(sentences)
    top = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    # Best first; among equals, the sentences around the best one (its context), then the earliest.
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], abs(i - top), i))
    chosen: list[int] = []
    for i in order:
        trial = sorted([*chosen, i])
        if count_tokens(_join(sentences, trial)) <= limit:
            chosen = trial
        elif not chosen:  # the best sentence alone is too long: its opening words, rather than a worse sentence
            return _clip(sentences[i], limit)
    return _join(sentences, chosen)


def _join(sentences: list[str], chosen: list[int]) -> str:
    out = ""
    for k, i in enumerate(chosen):
        gap = i > 0 if k == 0 else i != chosen[k - 1] + 1
        out += (ELLIPSIS if gap else "") + sentences[i]
    if chosen and chosen[-1] != len(sentences) - 1:
        out += ELLIPSIS
    return out


def _clip(text: str, limit: int) -> str:
    enc = get_encoding()
    ids = enc.encode_ordinary(text)
    if len(ids) <= limit:
        return text
    # Cut on a character boundary: a token may end inside a multi-byte character.
    return enc.decode(ids[: max(limit - 1, 1)]).rstrip("\ufffd") + ELLIPSIS


class _Relevance:
    """How close each sentence is to the question: term overlap (Chinese), the embedder's cosine (English)."""

    def __init__(self, question: str, embedder: Embedder | None):
        self.question = question
        self.embedder = embedder if detect_language(question) == "en" else None
        self.terms = set(tokenize(question))

    def scores(self, sentences: list[str]) -> list[float]:
        if self.embedder is not None:
            q = self.embedder.embed_query(self.question)
            return [float(s) for s in np.asarray(self.embedder.embed_passages(sentences)) @ q]
        if not self.terms:
            return [0.0] * len(sentences)
        return [len(self.terms & set(tokenize(s))) / len(self.terms) for s in sentences]
