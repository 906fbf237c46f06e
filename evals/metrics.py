"""Retrieval and answer metrics as the field defines them (binary relevance), plain functions over lists."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_SPACE = re.compile(r"\s+")


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant items found in the top ``k``."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def hit_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 when any relevant item is in the top ``k`` (sentence-transformers' accuracy@k)."""
    return float(any(r in relevant for r in ranked[:k]))


def mrr_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Reciprocal rank of the first relevant item within the top ``k``, else 0."""
    for i, r in enumerate(ranked[:k], 1):
        if r in relevant:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary gains."""
    dcg = sum(1.0 / math.log2(i + 1) for i, r in enumerate(ranked[:k], 1) if r in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def citation_precision(cited: Sequence[str], expected: set[str]) -> float | None:
    """Share of an answer's citations that are expected; None when it cites nothing."""
    if not cited:
        return None
    return sum(1 for c in cited if c in expected) / len(cited)


def citation_recall(cited: Sequence[str], expected: set[str]) -> float | None:
    """Share of the expected citations the answer makes; None for a question with none expected."""
    if not expected:
        return None
    return len(set(cited) & expected) / len(expected)


def fact_coverage(answer: str, facts: Sequence[str]) -> float | None:
    """Share of the facts found in the answer, whitespace ignored; None when there are no facts."""
    if not facts:
        return None
    text = _SPACE.sub("", answer)
    return sum(1 for f in facts if _SPACE.sub("", f) in text) / len(facts)


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
