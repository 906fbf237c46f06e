"""Evaluate retrieval configurations and answers on a gold set, in one run (reports: :mod:`evals.report`)."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from evals.gold import GoldQuestion
from evals.metrics import (
    citation_precision,
    citation_recall,
    fact_coverage,
    hit_at_k,
    mean,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)
from evals.report import ANSWER_COLS, summary_table, write_report
from rag.assistant import Assistant
from rag.index import Index
from rag.retriever import HybridRetriever, dedupe_pairs
from rag.types import Hit

KS = (1, 3, 5, 10)
CONFIGS: dict[str, dict[str, Any]] = {
    "dense": {"mode": "dense", "glossary": None},
    "bm25": {"mode": "bm25", "glossary": None},
    "hybrid": {"mode": "hybrid", "glossary": None},
    "hybrid+glossary": {"mode": "hybrid", "glossary": "default"},
}
DEFAULT_CONFIGS = tuple(CONFIGS)


def citation_key(hit: Hit) -> str:
    """What a hit is compared with in the gold set: the passage it is (``002415 2024-8-17 Q3``)."""
    return hit.chunk.citation.passage


def aligned(keys: Sequence[str], expected: Sequence[str]) -> list[str]:
    """``keys`` as ``expected`` writes them: without the stock code when a gold set leaves it out (a hand-made set
    over one company, ``2024-013 Q3``)."""
    if expected and not any(_CODED.match(e) for e in expected):
        return [k.split(" ", 1)[-1] if _CODED.match(k) else k for k in keys]
    return list(keys)


_CODED = re.compile(r"^\d{6} ")


@dataclass
class RetrievalResult:
    """Per-question rankings and aggregated metrics of one configuration."""

    config: str
    ranked: dict[str, list[str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0


def _aggregate(rows: list[tuple[GoldQuestion, dict[str, float]]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for q, m in rows:
        for g in ("all", f"lang:{q.lang}", f"kind:{q.kind}"):
            groups[g].append(m)
    out: dict[str, dict[str, float]] = {}
    for g, ms in sorted(groups.items()):
        names = {n for m in ms for n in m}
        out[g] = {n: mean([m.get(n) for m in ms]) for n in sorted(names)}  # type: ignore[misc]
        out[g]["n"] = len(ms)
    return out


def evaluate_retrieval(
    index: Index,
    gold: Sequence[GoldQuestion],
    config: str,
    k: int = 10,
    key_of: Callable[[Hit], str] = citation_key,
) -> RetrievalResult:
    """Rank citations (or whatever ``key_of`` names a hit by) for every answerable gold question with one
    retriever configuration."""
    retriever = HybridRetriever(index, **CONFIGS[config])
    result = RetrievalResult(config)
    rows = []
    start = time.perf_counter()
    for q in gold:
        if not q.answerable:
            continue
        hits = dedupe_pairs(retriever.search(q.question, k=max(k, 20)))
        ranked = aligned(list(dict.fromkeys(key_of(h) for h in hits))[:k], q.expected)
        result.ranked[q.id] = ranked
        relevant = set(q.expected)
        m = {f"recall@{n}": recall_at_k(ranked, relevant, n) for n in KS}
        m.update({f"hit@{n}": hit_at_k(ranked, relevant, n) for n in KS})
        m["mrr@10"] = mrr_at_k(ranked, relevant, 10)
        m["ndcg@10"] = ndcg_at_k(ranked, relevant, 10)
        rows.append((q, m))
    result.seconds = time.perf_counter() - start
    result.metrics = _aggregate(rows)
    return result


def evaluate_answers(assistant: Assistant, gold: Sequence[GoldQuestion]) -> dict[str, Any]:
    """Ask every gold question; score citations, facts, abstention and language."""
    rows = []
    details = []
    for q in gold:
        answer = assistant.ask(q.question)
        cited = aligned([c.passage for c in answer.citations], q.expected)
        passages = set(aligned([h.chunk.citation.passage for h in answer.passages], q.expected))
        abstained = not answer.citations
        near = aligned([answer.closest.passage], q.expected) if answer.closest else []
        m: dict[str, float | None] = {
            "citation_precision": citation_precision(cited, set(q.expected)) if q.answerable else None,
            "citation_recall": citation_recall(cited, set(q.expected)),
            "fact_coverage": fact_coverage(answer.text, q.facts) if q.answerable else None,
            "abstention_accuracy": float(abstained) if not q.answerable else None,
            "false_abstention": float(abstained) if q.answerable else None,
            "language_match": float(answer.lang == q.lang),
            "citations_in_passages": float(set(cited) <= passages),
            # an answerable question refused: whether the passage it points to as the closest is a right one
            "refused_closest_right": float(bool(set(near) & set(q.expected))) if q.answerable and abstained else None,
        }
        rows.append((q, m))
        details.append(
            {
                "id": q.id,
                "question": q.question,
                "answer": answer.text,
                "cited": cited,
                "expected": q.expected,
                "mode": answer.mode,
                "reason": answer.reason,
                **m,
            }
        )
    verdicts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for q, d in zip(gold, details, strict=True):
        verdicts[q.kind][d["reason"]] += 1
    return {
        "metrics": _aggregate(rows),
        "details": details,
        "mode": assistant.mode,
        "verdicts": {k: dict(v) for k, v in sorted(verdicts.items())},
    }


def run(
    index: Index,
    gold: Sequence[GoldQuestion],
    configs: Sequence[str] = DEFAULT_CONFIGS,
    answers: bool = False,
    assistant_factory: Callable[[Index], Assistant] | None = None,
    key_of: Callable[[Hit], str] = citation_key,
    dataset: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All configurations over one index in one run, and optionally the answers.

    ``dataset`` describes where the questions came from (``{"format": "gold" | "beir", "path": ...}``)."""
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown configuration {unknown[0]!r}; choose from {list(CONFIGS)}")
    report: dict[str, Any] = {
        "questions": len(gold),
        "dataset": dataset or {"format": "gold"},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "gold": [asdict(q) for q in gold],
        "configs": {},
    }
    for config in configs:
        r = evaluate_retrieval(index, gold, config, key_of=key_of)
        report["configs"][config] = {"metrics": r.metrics, "seconds": r.seconds, "ranked": r.ranked}
    # The embedder's own name when a configuration loaded it (it may be one passed in, not the configured one).
    loaded = vars(index).get("embedder")
    report["embedder"] = loaded.name if loaded is not None else index.settings.embed_model
    if answers:
        assistant = (assistant_factory or (lambda ix: Assistant(index=ix)))(index)
        report["answers"] = evaluate_answers(assistant, gold)
    return report


MODEL_CONFIGS = ("dense", "hybrid+glossary")
"""What another embedding model is scored on: the model alone, and the default configuration with it."""


def add_model(report: dict[str, Any], other: dict[str, Any], model: str) -> None:
    """Merge the configurations of ``other`` (a run over an index embedded with ``model``) into ``report``,
    named ``<config>@<model>``, so one report compares embedding models too."""
    for config, data in other["configs"].items():
        report["configs"][f"{config}@{model}"] = data
    report.setdefault("models", {})[model] = other.get("embedder", model)


__all__ = [
    "ANSWER_COLS",
    "CONFIGS",
    "MODEL_CONFIGS",
    "add_model",
    "citation_key",
    "evaluate_answers",
    "evaluate_retrieval",
    "run",
    "summary_table",
    "write_report",
]
